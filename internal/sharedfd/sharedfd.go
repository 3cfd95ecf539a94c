// Package sharedfd reads and writes a file descriptor that may be shared
// with another process (a pipe or socket inherited from, or handed to, a
// Python process) without ever blocking and without touching its
// O_NONBLOCK flag, which belongs to the open file description and so to
// every process holding it (Python's recv_bytes fails with
// BlockingIOError if it is set).
//
// Each call is made non-blocking by itself: recvfrom/sendto with
// MSG_DONTWAIT on sockets, preadv2/pwritev2 with RWF_NOWAIT on pipes. Other
// descriptors (regular files, terminals), and pipes on kernels that refuse
// RWF_NOWAIT, are polled with a zero timeout first and then read normally,
// or written at most PIPE_BUF bytes at a time, which cannot block once
// poll reported the descriptor writable. Waiting is left to the caller,
// through Poll, so that each package keeps its own rules for when to give
// up (mpqueue's stall detection, connection's context deadlines).
//
// An FD does not own its descriptor: closing it is the caller's business.
package sharedfd

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
)

// PipeBuf is PIPE_BUF: writes to a pipe of at most this size are atomic.
const PipeBuf = 4096

// FD is a descriptor read and written one non-blocking call at a time.
// Its methods may be called from several goroutines; serialising reads
// (and writes) is the caller's job.
type FD struct {
	fd   int
	sock bool
	// nowait is set while calls can be made non-blocking by themselves
	// (sockets, and pipes until the kernel refuses RWF_NOWAIT).
	nowait atomic.Bool
}

// New returns an FD for fd, which it inspects (fstat) but does not change.
func New(fd int) (*FD, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	f := &FD{fd: fd}
	// RWF_NOWAIT is for pipes and sockets: on a regular file it may fail
	// with EAGAIN until the data is cached, which poll cannot wait for.
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		f.sock = true
		f.nowait.Store(true)
	case unix.S_IFIFO:
		f.nowait.Store(true)
	}
	return f, nil
}

// Fd returns the descriptor.
func (f *FD) Fd() int { return f.fd }

// Plain makes every later call poll first and then read or write plainly
// (a write of at most PipeBuf bytes), as on a kernel that refuses
// RWF_NOWAIT; tests use it to run that path.
func (f *FD) Plain() {
	f.nowait.Store(false)
	f.sock = false
}

// The non-blocking calls (MSG_DONTWAIT, RWF_NOWAIT) go through
// RawSyscall, which skips the runtime's entersyscall/exitsyscall: they
// never wait for data or room (a pipe's RWF_NOWAIT even fails rather than
// wait for the pipe's mutex), so there is no blocked thread whose P the
// scheduler would need to hand off. It saved ~10% of a socketpair Conn's
// 512-byte send/receive and of its 64 KiB round trip (A/B, three runs).
// Calls that may wait (ReadReady, the poll-then-write fallback, Poll) stay
// on Syscall.

// offLo, offHi are the (lo, hi) pair preadv2/pwritev2 take for offset -1:
// use the file position, as read and write do (pipes have none).
const offLo, offHi = ^uintptr(0), uintptr(0)

// refused reports an errno meaning RWF_NOWAIT is not supported here.
func refused(e unix.Errno) bool {
	return e == unix.EOPNOTSUPP || e == unix.EINVAL || e == unix.ENOSYS
}

// TryRead reads what is available without blocking: n > 0, or 0 with
// unix.EAGAIN when nothing is, or 0 with io.EOF at end of file.
func (f *FD) TryRead(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for f.nowait.Load() {
		var r uintptr
		var e unix.Errno
		if f.sock {
			r, _, e = unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(f.fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_DONTWAIT, 0, 0)
		} else {
			iov := unix.Iovec{Base: &p[0]}
			iov.SetLen(len(p))
			r, _, e = unix.RawSyscall6(unix.SYS_PREADV2, uintptr(f.fd), uintptr(unsafe.Pointer(&iov)), 1, offLo, offHi, unix.RWF_NOWAIT)
		}
		switch {
		case e == unix.EINTR:
			continue
		case e != 0 && !f.sock && refused(e):
			f.nowait.Store(false)
			continue
		case e != 0:
			return 0, e
		case r == 0:
			return 0, io.EOF
		}
		return int(r), nil
	}
	ready, err := f.Poll(unix.POLLIN, 0)
	if err != nil {
		return 0, err
	}
	if !ready {
		return 0, unix.EAGAIN
	}
	return f.ReadReady(p)
}

// ReadReady is a plain read(2), for use after Poll reported the
// descriptor readable by a caller that alone reads it (a queue reader
// holding its read lock), so the data cannot vanish: it may wait for a
// pipe's mutex while a writer copies in, where RWF_NOWAIT would fail with
// EAGAIN, but not for data. It returns io.EOF at end of file.
func (f *FD) ReadReady(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// TryWrite is TryWritev of one buffer.
func (f *FD) TryWrite(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var iov [1]unix.Iovec
	return f.TryWritev(AppendIovec(iov[:0], p))
}

// TryWritev writes as much of iovs as fits without blocking: n > 0, or 0
// with unix.EAGAIN when nothing fit. A pipe write of at most PipeBuf bytes
// is all or nothing. Writing to a socket whose peer has gone fails with
// EPIPE, never raises SIGPIPE.
func (f *FD) TryWritev(iovs []unix.Iovec) (int, error) {
	if len(iovs) == 0 {
		return 0, nil
	}
	for {
		if f.nowait.Load() {
			var r uintptr
			var e unix.Errno
			switch {
			case f.sock && len(iovs) == 1: // sendto is the cheaper call
				r, _, e = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(f.fd), uintptr(unsafe.Pointer(iovs[0].Base)), uintptr(iovs[0].Len), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
			case f.sock:
				msg := unix.Msghdr{Iov: &iovs[0]}
				msg.SetIovlen(len(iovs))
				r, _, e = unix.RawSyscall(unix.SYS_SENDMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
			default:
				r, _, e = unix.RawSyscall6(unix.SYS_PWRITEV2, uintptr(f.fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)), offLo, offHi, unix.RWF_NOWAIT)
			}
			switch {
			case e == 0:
				return int(r), nil
			case e == unix.EINTR:
				continue
			case !f.sock && refused(e):
				f.nowait.Store(false)
				continue
			}
			return 0, e
		}
		ready, err := f.Poll(unix.POLLOUT, 0)
		if err != nil {
			return 0, err
		}
		if !ready {
			return 0, unix.EAGAIN
		}
		// A free pipe buffer holds PIPE_BUF bytes: writing that much (and
		// no more) cannot block once poll said writable.
		first := iovs[0]
		if first.Len > PipeBuf {
			first.SetLen(PipeBuf)
		}
		r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(f.fd), uintptr(unsafe.Pointer(first.Base)), uintptr(first.Len))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Poll waits up to d (rounded up to a millisecond; d <= 0: not at all) for
// events on the descriptor and reports whether any came. POLLHUP and
// POLLERR count as ready, so that the following read or write reports
// them; a descriptor that is not open is an error matching
// mpbridge.ErrClosed.
func (f *FD) Poll(events int16, d time.Duration) (bool, error) {
	return Poll(f.fd, events, d)
}

// Poll is FD.Poll for any descriptor.
func Poll(fd int, events int16, d time.Duration) (bool, error) {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	ms := 0
	if d > 0 {
		ms = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	for {
		n, err := unix.Poll(pfd[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, os.NewSyscallError("poll", err)
		}
		if n > 0 && pfd[0].Revents&unix.POLLNVAL != 0 {
			return false, fmt.Errorf("poll: descriptor %d is not open: %w", fd, mpbridge.ErrClosed)
		}
		return n > 0, nil
	}
}

// Available returns the number of bytes waiting to be read (FIONREAD), or
// -1 if the descriptor cannot tell.
func (f *FD) Available() int {
	n, err := unix.IoctlGetInt(f.fd, unix.TIOCINQ)
	if err != nil {
		return -1
	}
	return n
}

// AppendIovec appends an iovec for b to iovs, unless b is empty.
func AppendIovec(iovs []unix.Iovec, b []byte) []unix.Iovec {
	if len(b) == 0 {
		return iovs
	}
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	return append(iovs, iov)
}

// Advance drops the first n bytes of iovs, returning the rest; it changes
// the iovec that is cut in the middle in place.
func Advance(iovs []unix.Iovec, n int) []unix.Iovec {
	for n > 0 && len(iovs) > 0 {
		if uint64(n) >= iovs[0].Len {
			n -= int(iovs[0].Len)
			iovs = iovs[1:]
			continue
		}
		iovs[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(iovs[0].Base), n))
		iovs[0].Len -= uint64(n)
		n = 0
	}
	return iovs
}
