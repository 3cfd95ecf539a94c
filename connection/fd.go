package connection

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/internal/sharedfd"
)

// pollSlice bounds every wait on a shared descriptor, so that a context's
// end or Close is noticed within this time even with no deadline set.
const pollSlice = 50 * time.Millisecond

// fdTransport is a transport over a file descriptor that may be shared with
// another process (a pipe end or socket inherited from, or handed to, a
// Python process). It never changes the descriptor's O_NONBLOCK flag, which
// belongs to the open file and so to both processes: each read and write is
// one non-blocking call made by sharedfd, and waits are poll(2) calls of at
// most pollSlice.
type fdTransport struct {
	f      *os.File // owns the descriptor (nil: the transport itself does)
	name   string
	io     *sharedfd.FD
	closed atomic.Bool

	rctx, wctx context.Context

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
	sfd, err := sharedfd.New(fdnum)
	if err != nil {
		return nil, err
	}
	return &fdTransport{f: f, io: sfd, name: f.Name()}, nil
}

// newFdTransportFD is newFdTransport over a bare descriptor, which the
// transport then owns. Unlike os.NewFile it never puts a non-blocking
// descriptor in Go's poller.
func newFdTransportFD(fd int, name string) (*fdTransport, error) {
	sfd, err := sharedfd.New(fd)
	if err != nil {
		return nil, err
	}
	return &fdTransport{io: sfd, name: name}, nil
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
	if first && t.waited || t.rshort {
		t.rshort = false
		if err := t.wait(t.rctx, unix.POLLIN); err != nil {
			return 0, err
		}
	}
	for {
		if t.closed.Load() {
			return 0, errClosed
		}
		n, err := t.io.TryRead(p)
		if first {
			t.waited = err == unix.EAGAIN
			first = false
		}
		switch err {
		case nil:
			t.rshort = n < len(p)
			return n, nil
		case io.EOF:
			return 0, io.EOF
		case unix.EAGAIN:
			if err := t.wait(t.rctx, unix.POLLIN); err != nil {
				return 0, err
			}
		default:
			return 0, syscallError("read", err)
		}
	}
}

func (t *fdTransport) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		if t.closed.Load() {
			return done, errClosed
		}
		if t.wshort {
			t.wshort = false
			if err := t.wait(t.wctx, unix.POLLOUT); err != nil {
				return done, err
			}
		}
		n, err := t.io.TryWrite(p[done:])
		switch err {
		case nil:
			done += n
			t.wshort = done < len(p)
		case unix.EAGAIN:
			if err := t.wait(t.wctx, unix.POLLOUT); err != nil {
				return done, err
			}
		default:
			return done, syscallError("write", err)
		}
	}
	return done, nil
}

// syscallError names the call that failed with an errno; other errors
// (sharedfd's, already described) pass unchanged.
func syscallError(name string, err error) error {
	if _, ok := err.(unix.Errno); ok {
		return os.NewSyscallError(name, err)
	}
	return err
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
		ready, err := t.io.Poll(events, slice)
		if err != nil {
			return false, fmt.Errorf("connection: %w", err)
		}
		if ready {
			return true, nil
		}
	}
}

func (t *fdTransport) poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if timeout == 0 {
		return readableNow(t.io.Fd()), nil
	}
	var limit time.Time
	if timeout > 0 {
		limit = time.Now().Add(timeout)
	}
	return t.waitUntil(ctx, unix.POLLIN, limit)
}

func (t *fdTransport) shutdown() { t.closed.Store(true) }

func (t *fdTransport) close() error {
	if t.f != nil {
		return t.f.Close()
	}
	if err := unix.Close(t.io.Fd()); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

func (t *fdTransport) fd() int { return t.io.Fd() }

// file returns a duplicate of the descriptor (close-on-exec) as an *os.File.
func (t *fdTransport) file() (*os.File, error) {
	nfd, err := dupCloexec(uintptr(t.io.Fd()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), t.name), nil
}

// dupCloexec returns a close-on-exec duplicate of fd, which shares fd's
// open file description (and so its blocking mode).
func dupCloexec(fd uintptr) (int, error) {
	nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return nfd, nil
}
