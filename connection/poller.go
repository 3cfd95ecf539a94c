package connection

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/internal/sharedfd"
)

// aLongTimeAgo is a deadline in the past, used to interrupt a blocked call.
var aLongTimeAgo = time.Unix(1, 0)

// pollerTransport is a transport that uses Go's poller and deadlines: a
// net.Conn (sockets made by Dial and Accept belong to this process alone).
type pollerTransport struct {
	c  deadlineRW
	rc syscall.RawConn // nil when c is not a syscall.Conn (e.g. net.Pipe)

	r, w pollerArm

	// A Conn that has no descriptor to poll (net.Pipe) polls by reading
	// one byte, kept here for the next Read.
	peeked   bool
	peekByte [1]byte

	// readAhead is set for a socket this process alone reads (NewConn: a
	// Unix socket, or TCP with Options.ReadAheadTCP). A Read may then take
	// more than it was asked for, so a frame's header and payload cost one
	// read(2) instead of two, and a stream of small frames many fewer. It
	// is cleared for good when the descriptor is exposed (fd, file):
	// another process may read it then.
	readAhead  atomic.Bool
	rbuf       []byte // allocated on first use
	rpos, rend int    // rbuf[rpos:rend] is read but not yet consumed
}

// readAheadSize is the read-ahead buffer of a socket Conn: a manager
// request or reply with a ~512-byte item fits with room to spare, and a
// Read of at least this much bypasses the buffer.
const readAheadSize = 4096

// deadlineRW is what net.Conn and a pollable *os.File have in common.
type deadlineRW interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// pollerArm applies one direction's context to the stream as deadlines.
type pollerArm struct {
	mu       sync.Mutex
	ctx      context.Context
	gen      uint64 // incremented by every arm; stale AfterFuncs check it
	armed    bool
	deadline bool // a deadline was set and must be cleared
	stop     func() bool
}

func newPollerTransport(c deadlineRW) *pollerTransport {
	t := &pollerTransport{c: c}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			t.rc = rc
		}
	}
	return t
}

func (t *pollerTransport) setDeadline(read bool, d time.Time) {
	if read {
		_ = t.c.SetReadDeadline(d)
	} else {
		_ = t.c.SetWriteDeadline(d)
	}
}

func (t *pollerTransport) arm(ctx context.Context, read bool) error {
	a := &t.w
	if read {
		a = &t.r
	}
	a.ctx = ctx
	if ctx.Done() == nil {
		return nil // context.Background and friends: nothing to watch
	}
	if err := ctx.Err(); err != nil {
		a.ctx = nil
		return ctxErr(ctx)
	}
	a.mu.Lock()
	a.gen++
	gen := a.gen
	a.armed = true
	if d, ok := ctx.Deadline(); ok {
		t.setDeadline(read, d)
		a.deadline = true
	}
	a.mu.Unlock()
	a.stop = context.AfterFunc(ctx, func() {
		a.mu.Lock()
		if a.armed && a.gen == gen {
			t.setDeadline(read, aLongTimeAgo)
			a.deadline = true
		}
		a.mu.Unlock()
	})
	return nil
}

func (t *pollerTransport) disarm(read bool) {
	a := &t.w
	if read {
		a = &t.r
	}
	a.ctx = nil
	if a.stop == nil && !a.deadline {
		return // the fast path: nothing was armed
	}
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
	a.mu.Lock()
	a.armed = false
	if a.deadline {
		t.setDeadline(read, time.Time{})
		a.deadline = false
	}
	a.mu.Unlock()
}

// limitRead brings the read deadline forward to d if it is earlier than
// the one armed, and reports whether it did; disarm clears it.
func (t *pollerTransport) limitRead(ctx context.Context, d time.Time) bool {
	if cd, ok := ctx.Deadline(); ok && !d.Before(cd) {
		return false
	}
	t.r.mu.Lock()
	_ = t.c.SetReadDeadline(d)
	t.r.deadline = true
	t.r.mu.Unlock()
	return true
}

func (t *pollerTransport) Read(p []byte) (int, error) {
	if t.peeked && len(p) > 0 {
		p[0] = t.peekByte[0]
		t.peeked = false
		return 1, nil
	}
	if t.rpos < t.rend {
		n := copy(p, t.rbuf[t.rpos:t.rend])
		t.rpos += n
		return n, nil
	}
	if len(p) >= readAheadSize || len(p) == 0 || !t.readAhead.Load() {
		n, err := t.c.Read(p)
		return n, mapNetError(t.r.ctx, err)
	}
	if t.rbuf == nil {
		t.rbuf = make([]byte, readAheadSize)
	}
	n, err := t.c.Read(t.rbuf)
	t.rpos, t.rend = 0, n
	m := copy(p, t.rbuf[:n])
	t.rpos = m
	if m > 0 {
		return m, nil // an error comes back on the next Read
	}
	return 0, mapNetError(t.r.ctx, err)
}

// buffered reports whether read-ahead input is waiting.
func (t *pollerTransport) buffered() bool { return t.rpos < t.rend }

func (t *pollerTransport) Write(p []byte) (int, error) {
	n, err := t.c.Write(p)
	return n, mapNetError(t.w.ctx, err)
}

func (t *pollerTransport) poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if t.peeked || t.buffered() {
		return true, nil
	}
	if t.rc != nil && timeout == 0 {
		return t.pollNow()
	}
	if err := t.arm(ctx, true); err != nil {
		return false, err
	}
	defer t.disarm(true)
	byTimeout := false
	if timeout >= 0 {
		byTimeout = t.limitRead(ctx, time.Now().Add(timeout))
	}
	var err error
	if t.rc != nil {
		ready := false
		rerr := t.rc.Read(func(fd uintptr) bool {
			ready = readableNow(int(fd))
			return ready
		})
		if ready {
			return true, nil
		}
		err = rerr
	} else {
		var n int
		n, err = t.c.Read(t.peekByte[:])
		if n == 1 {
			t.peeked = true
			return true, nil
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return true, nil // EOF or an error: a read will report it
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if ctx.Err() != nil {
			return false, ctxErr(ctx)
		}
		if !byTimeout {
			return false, errTimeout // the context's deadline, a little early
		}
		return false, nil // the poll timeout
	}
	if err != nil {
		return false, mapNetError(ctx, err)
	}
	return false, nil
}

// pollNow checks for input without waiting.
func (t *pollerTransport) pollNow() (bool, error) {
	ready := false
	err := t.rc.Control(func(fd uintptr) { ready = readableNow(int(fd)) })
	if err != nil {
		return false, mapNetError(nil, err)
	}
	return ready, nil
}

func (t *pollerTransport) shutdown() { _ = t.c.Close() }

func (t *pollerTransport) close() error { return nil } // shutdown closed c

func (t *pollerTransport) fd() int {
	t.readAhead.Store(false) // the caller may hand the descriptor on
	if t.rc == nil {
		return -1
	}
	fd := -1
	_ = t.rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

func (t *pollerTransport) file() (*os.File, error) {
	t.readAhead.Store(false) // from now on, read exactly
	if t.buffered() {
		return nil, errReadAhead
	}
	if f, ok := t.c.(interface{ File() (*os.File, error) }); ok {
		return f.File()
	}
	return nil, errors.New("connection: the connection has no file descriptor")
}

// errReadAhead refuses to hand out a descriptor whose input this process
// has already read ahead.
var errReadAhead = errors.New("connection: input already read ahead from the descriptor would be lost; receive it before taking the descriptor")

// readableNow reports whether fd is readable (or in error or hung up) now.
func readableNow(fd int) bool {
	ready, err := sharedfd.Poll(fd, unix.POLLIN, 0)
	return err == nil && ready
}
