//go:build linux

package mpqueue

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
)

// pollSlice bounds every wait on a pipe, so that a context's end or Close
// is noticed within this long even without a deadline.
const pollSlice = 50 * time.Millisecond

// pipeEnd is one end of a queue's pipe. The descriptor may be shared with
// Python processes, so its O_NONBLOCK flag — which belongs to the open file
// description and therefore to every process — is never changed: reads and
// writes use preadv2/pwritev2 with RWF_NOWAIT, and waiting is done with
// poll(2) in bounded slices. Kernels that refuse RWF_NOWAIT on pipes get
// poll first, then a plain read, or a write of at most PIPE_BUF bytes, which
// cannot block once poll reported the pipe writable.
type pipeEnd struct {
	f         *os.File
	fd        int
	nowait    atomic.Bool
	longWaits atomic.Bool // the last wait at a frame boundary outlasted boundarySpin: sleep at once
}

func newPipeEnd(f *os.File) *pipeEnd {
	p := &pipeEnd{f: f, fd: int(f.Fd())}
	p.nowait.Store(true)
	return p
}

func (p *pipeEnd) close() error { return p.f.Close() }

// pollIn is POLLIN, readable.
const pollIn = unix.POLLIN

// pipeBuf is PIPE_BUF: writes up to this size are atomic.
const pipeBuf = 4096

// offLo, offHi are the (lo, hi) pair preadv2/pwritev2 take for offset -1:
// use and advance the file position, as read and write do (pipes have
// none). On 64-bit Linux the high word is unused.
const offLo, offHi = ^uintptr(0), uintptr(0)

// rwNowait issues preadv2 or pwritev2 with RWF_NOWAIT on iovs.
func (p *pipeEnd) rwNowait(trap uintptr, iovs []unix.Iovec) (int, error) {
	r, _, e := unix.Syscall6(trap, uintptr(p.fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)),
		offLo, offHi, unix.RWF_NOWAIT)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// nowaitRefused reports an errno meaning RWF_NOWAIT is not supported here.
func nowaitRefused(err error) bool {
	return err == unix.EOPNOTSUPP || err == unix.EINVAL || err == unix.ENOSYS
}

// tryRead reads what is available without blocking: n > 0, or 0 with
// unix.EAGAIN when the pipe is empty, or 0 with io.EOF when every write end
// is closed.
func (p *pipeEnd) tryRead(b []byte) (int, error) {
	for p.nowait.Load() {
		var iov [1]unix.Iovec
		iov[0].Base = &b[0]
		iov[0].SetLen(len(b))
		n, err := p.rwNowait(unix.SYS_PREADV2, iov[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil && nowaitRefused(err):
			p.nowait.Store(false)
			continue
		case err == nil && n == 0:
			return 0, io.EOF
		case err != nil:
			return 0, err
		}
		return n, nil
	}
	ready, err := p.poll(unix.POLLIN, 0)
	if err != nil {
		return 0, err
	}
	if !ready {
		return 0, unix.EAGAIN
	}
	return p.readReady(b)
}

// readReady reads after poll reported the pipe readable: a plain read(2),
// which may wait for the pipe's mutex (a writer copying in) but not for
// data, since this process holds the read lock and the data cannot vanish.
// (RWF_NOWAIT would fail with EAGAIN while a writer holds the mutex.)
func (p *pipeEnd) readReady(b []byte) (int, error) {
	for {
		n, err := unix.Read(p.fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err == nil && n == 0:
			return 0, io.EOF
		case err != nil:
			return 0, err
		}
		return n, nil
	}
}

// tryWrite writes as much of iovs as fits without blocking: n > 0, or 0
// with unix.EAGAIN when nothing fit. Writes of at most PIPE_BUF bytes are
// all or nothing.
func (p *pipeEnd) tryWrite(iovs []unix.Iovec) (int, error) {
	for {
		if p.nowait.Load() {
			n, err := p.rwNowait(unix.SYS_PWRITEV2, iovs)
			switch {
			case err == nil:
				return n, nil
			case err == unix.EINTR:
				continue
			case nowaitRefused(err):
				p.nowait.Store(false)
				continue
			}
			return 0, err
		}
		ready, err := p.poll(unix.POLLOUT, 0)
		if err != nil {
			return 0, err
		}
		if !ready {
			return 0, unix.EAGAIN
		}
		// A free pipe buffer holds PIPE_BUF bytes: writing that much (and
		// no more) cannot block once poll said writable.
		first := iovs[0]
		if first.Len > pipeBuf {
			first.SetLen(pipeBuf)
		}
		n, err := p.rwPlain(first)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// rwPlain is write(2) of one iovec.
func (p *pipeEnd) rwPlain(iov unix.Iovec) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(p.fd), uintptr(unsafe.Pointer(iov.Base)), uintptr(iov.Len))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// advance drops the first n bytes of iovs, returning the rest.
func advance(iovs []unix.Iovec, n int) []unix.Iovec {
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

// poll waits up to d for events on the descriptor; POLLHUP and POLLERR
// count as ready, so that the following read or write reports them.
func (p *pipeEnd) poll(events int16, d time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: events}}
	ms := int(d / time.Millisecond)
	if d > 0 && ms == 0 {
		ms = 1
	}
	for {
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		if n > 0 && fds[0].Revents&unix.POLLNVAL != 0 {
			return false, fmt.Errorf("mpqueue: poll: descriptor %d is not open: %w", p.fd, mpbridge.ErrClosed)
		}
		return n > 0, nil
	}
}

// available returns the number of bytes waiting in the pipe (FIONREAD, alias TIOCINQ).
func (p *pipeEnd) available() int {
	n, err := unix.IoctlGetInt(p.fd, unix.TIOCINQ)
	if err != nil {
		return -1
	}
	return n
}

// waiter tells a blocking pipe operation when to give up.
type waiter struct {
	ctx     context.Context
	closing <-chan struct{} // closed by Queue.Close
	stall   time.Duration   // no-progress limit once a frame has started
	nowait  bool            // give up at once when no byte is available
}

// stopReason says why a wait at a frame boundary ended without a byte
// being transferred.
type stopReason int

const (
	stopNone stopReason = iota
	stopDeadline
	stopCanceled
	stopClosed
)

// stopped reports whether a wait at a frame boundary must end now.
func (w *waiter) stopped() stopReason {
	select {
	case <-w.closing:
		return stopClosed
	default:
	}
	if w.ctx.Done() != nil && w.ctx.Err() != nil {
		return stopReasonOf(w.ctx)
	}
	return stopNone
}

// slice is how long the next poll may sleep at a frame boundary.
func (w *waiter) slice() time.Duration {
	d := pollSlice
	if dl, ok := w.ctx.Deadline(); ok {
		if r := time.Until(dl); r < d {
			d = max(r, 0)
		}
	}
	return d
}
