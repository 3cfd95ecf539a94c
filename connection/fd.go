package connection

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollSlice bounds every wait on a shared descriptor, so that a context's
// end or Close is noticed within this time even with no deadline set.
const pollSlice = 50 * time.Millisecond

// fdTransport is a transport over a file descriptor that may be shared with
// another process (a pipe end or socket inherited from, or handed to, a
// Python process). It never changes the descriptor's O_NONBLOCK flag, which
// belongs to the open file and so to both processes: each call is made
// non-blocking by itself (MSG_DONTWAIT on sockets, RWF_NOWAIT on pipes), and
// waits are poll(2) calls of at most pollSlice. Other descriptors (regular
// files, terminals, or pipes on kernels refusing RWF_NOWAIT) are polled
// first and then read or written normally.
type fdTransport struct {
	f      *os.File // owns the descriptor
	fdnum  int
	closed atomic.Bool
	// nowait is 1 while reads and writes can be made non-blocking per call
	// (MSG_DONTWAIT on sockets, RWF_NOWAIT on pipes), 0 otherwise.
	nowait atomic.Int32
	sock   bool // a socket: recvfrom/sendto with MSG_DONTWAIT

	rctx, wctx context.Context
	riov, wiov unix.Iovec

	// A receiver that had to wait for the previous frame will likely wait
	// for this one too: it polls before its first read instead of making
	// a read that fails with EAGAIN first (one system call fewer).
	frameStart bool // the next Read is the first of a frame
	waited     bool // the first Read of the previous frame had to wait
	// After a short read (write), the rest has usually not arrived (has no
	// room) yet either: wait first rather than fail with EAGAIN.
	rshort, wshort bool
}

// newFdTransport wraps f without touching its mode. f's descriptor is read
// through raw system calls, never through f's own methods.
func newFdTransport(f *os.File) (*fdTransport, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	fdnum := -1
	if err := sc.Control(func(u uintptr) { fdnum = int(u) }); err != nil {
		return nil, err
	}
	t := &fdTransport{f: f, fdnum: fdnum}
	// RWF_NOWAIT is for pipes and sockets: on a regular file it may fail
	// with EAGAIN until the data is cached, which poll cannot wait for.
	var st unix.Stat_t
	if err := unix.Fstat(fdnum, &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	if m := st.Mode & unix.S_IFMT; m == unix.S_IFIFO || m == unix.S_IFSOCK {
		t.nowait.Store(1)
		t.sock = m == unix.S_IFSOCK
	}
	return t, nil
}

func (t *fdTransport) arm(ctx context.Context, read bool) error {
	if ctx.Done() != nil && ctx.Err() != nil {
		return ctxErr(ctx)
	}
	if read {
		t.rctx = ctx
		t.frameStart = true
	} else {
		t.wctx = ctx
	}
	return nil
}

func (t *fdTransport) disarm(read bool) {
	if read {
		t.rctx = nil
	} else {
		t.wctx = nil
	}
}

func (t *fdTransport) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	first := t.frameStart
	t.frameStart = false
	if (first && t.waited || t.rshort) && t.nowait.Load() == 1 {
		t.rshort = false
		if err := t.wait(t.rctx, unix.POLLIN); err != nil {
			return 0, err
		}
	}
	for {
		if t.closed.Load() {
			return 0, errClosed
		}
		n, errno := t.tryIO(p, &t.riov, false, t.rctx)
		if first {
			t.waited = errno == unix.EAGAIN
			first = false
		}
		switch errno {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			t.rshort = n < len(p)
			return n, nil
		case unix.EINTR:
		case unix.EAGAIN:
			if err := t.wait(t.rctx, unix.POLLIN); err != nil {
				return 0, err
			}
		default:
			return 0, os.NewSyscallError("read", errno)
		}
	}
}

func (t *fdTransport) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		if t.closed.Load() {
			return done, errClosed
		}
		if t.wshort && t.nowait.Load() == 1 {
			t.wshort = false
			if err := t.wait(t.wctx, unix.POLLOUT); err != nil {
				return done, err
			}
		}
		n, errno := t.tryIO(p[done:], &t.wiov, true, t.wctx)
		switch errno {
		case 0:
			done += n
			t.wshort = done < len(p)
		case unix.EINTR:
		case unix.EAGAIN:
			if err := t.wait(t.wctx, unix.POLLOUT); err != nil {
				return done, err
			}
		default:
			return done, os.NewSyscallError("write", errno)
		}
	}
	return done, nil
}

// tryIO makes one read (or write) that does not block: recvfrom (sendto)
// with MSG_DONTWAIT on a socket, preadv2 (pwritev2) with RWF_NOWAIT on a
// pipe, or, where neither applies, a plain read (write) after poll(2)
// reported the descriptor ready.
func (t *fdTransport) tryIO(p []byte, iov *unix.Iovec, write bool, ctx context.Context) (int, syscall.Errno) {
	trap, plain, events := uintptr(unix.SYS_PREADV2), uintptr(unix.SYS_READ), int16(unix.POLLIN)
	if write {
		trap, plain, events = unix.SYS_PWRITEV2, unix.SYS_WRITE, unix.POLLOUT
	}
	buf, size := uintptr(unsafe.Pointer(&p[0])), uintptr(len(p))
	if t.sock {
		if write {
			n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(t.fdnum), buf, size, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
			return int(n), errno
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(t.fdnum), buf, size, unix.MSG_DONTWAIT, 0, 0)
		return int(n), errno
	}
	if t.nowait.Load() == 1 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		// offset -1: the file position, which pipes ignore.
		n, _, errno := unix.Syscall6(trap, uintptr(t.fdnum), uintptr(unsafe.Pointer(iov)), 1, ^uintptr(0), 0, unix.RWF_NOWAIT)
		iov.Base = nil
		if errno != unix.EOPNOTSUPP && errno != unix.EINVAL && errno != unix.ENOSYS {
			return int(n), errno
		}
		t.nowait.Store(0)
	}
	if err := t.wait(ctx, events); err != nil {
		return 0, unix.EAGAIN // the caller's own wait reports err
	}
	n, _, errno := unix.Syscall(plain, uintptr(t.fdnum), buf, size)
	return int(n), errno
}

// wait polls for events in slices of at most pollSlice until the
// descriptor is ready (or in error or hung up), ctx ends or t is closed.
func (t *fdTransport) wait(ctx context.Context, events int16) error {
	_, err := t.waitUntil(ctx, events, time.Time{})
	return err
}

// waitUntil is wait with an optional limit; it reports whether the
// descriptor became ready before the limit (a zero limit: none).
func (t *fdTransport) waitUntil(ctx context.Context, events int16, limit time.Time) (bool, error) {
	var done <-chan struct{}
	var deadline time.Time
	if ctx != nil {
		done = ctx.Done()
		deadline, _ = ctx.Deadline()
	}
	pfd := [1]unix.PollFd{{Fd: int32(t.fdnum), Events: events}}
	for {
		if t.closed.Load() {
			return false, errClosed
		}
		if done != nil {
			select {
			case <-done:
				return false, ctxErr(ctx)
			default:
			}
		}
		slice := pollSlice
		now := time.Time{}
		if !deadline.IsZero() || !limit.IsZero() {
			now = time.Now()
		}
		if !deadline.IsZero() {
			if left := deadline.Sub(now); left <= 0 {
				return false, errTimeout
			} else if left < slice {
				slice = left
			}
		}
		if !limit.IsZero() {
			left := limit.Sub(now)
			if left <= 0 {
				return false, nil
			}
			slice = min(slice, left)
		}
		ms := int((slice + time.Millisecond - 1) / time.Millisecond)
		n, err := unix.Poll(pfd[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, os.NewSyscallError("poll", err)
		}
		if n > 0 {
			if pfd[0].Revents&unix.POLLNVAL != 0 {
				return false, errors.New("connection: poll: bad file descriptor")
			}
			return true, nil
		}
	}
}

func (t *fdTransport) poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if timeout == 0 {
		return pollFd(t.fdnum, unix.POLLIN, 0), nil
	}
	var limit time.Time
	if timeout > 0 {
		limit = time.Now().Add(timeout)
	}
	return t.waitUntil(ctx, unix.POLLIN, limit)
}

func (t *fdTransport) shutdown() { t.closed.Store(true) }

func (t *fdTransport) close() error { return t.f.Close() }

func (t *fdTransport) fd() int { return t.fdnum }

// file returns a duplicate of the descriptor (close-on-exec) as an *os.File.
func (t *fdTransport) file() (*os.File, error) { return dupFile(t.f) }
