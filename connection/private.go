package connection

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// privateSocket is the transport of a socketpair end made by Pipe(true).
// While no other process can hold its descriptor it is served like a Unix
// socket made by Dial: non-blocking, in Go's poller, reading ahead. The
// first Fd or File (the descriptor is about to be shared, typically with a
// child) turns it for good into what a shared descriptor gets: blocking
// again, each call non-blocking by itself (fdTransport), never a byte read
// past a frame. Conn makes that switch (expose) with its send and receive
// locks held, so no call is in progress on either side of it.
type privateSocket struct {
	own    *pollerTransport
	shared *fdTransport // set by expose, under mu and the Conn's locks

	mu        sync.Mutex // orders expose against shutdown
	closed    bool
	isExposed atomic.Bool
}

// newPrivateSocket adopts one end of a new socketpair, which nobody else
// holds: the descriptor is made non-blocking and joins Go's poller.
func newPrivateSocket(fd int) (*privateSocket, error) {
	f := os.NewFile(uintptr(fd), "socketpair")
	nc, err := net.FileConn(f) // a duplicate, in the poller
	f.Close()
	if err != nil {
		return nil, err
	}
	own := newPollerTransport(nc, nil)
	own.readAhead.Store(true)
	return &privateSocket{own: own}, nil
}

// expose switches to shared use; the caller holds the Conn's send and
// receive locks. Input already read ahead stays buffered and is returned
// first.
func (p *privateSocket) expose() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shared != nil {
		return nil
	}
	if p.closed {
		return errClosed
	}
	p.own.readAhead.Store(false)
	fd := -1
	var derr error
	if err := p.own.rc.Control(func(u uintptr) {
		fd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return mapNetError(nil, err)
	}
	if derr != nil {
		return os.NewSyscallError("fcntl", derr)
	}
	// O_NONBLOCK belongs to the open file description, which the
	// duplicate shares: clearing it there clears it for whoever is given
	// the descriptor.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("fcntl", err)
	}
	sh, err := newFdTransport(os.NewFile(uintptr(fd), "socketpair"))
	if err != nil {
		unix.Close(fd)
		return err
	}
	_ = p.own.c.Close() // leaves the poller; the description lives on in fd
	p.shared = sh
	p.isExposed.Store(true)
	return nil
}

// exposed reports whether expose has run: the descriptor may be shared.
func (p *privateSocket) exposed() bool { return p.isExposed.Load() }

func (p *privateSocket) arm(ctx context.Context, read bool) error {
	if p.shared != nil {
		return p.shared.arm(ctx, read)
	}
	return p.own.arm(ctx, read)
}

func (p *privateSocket) disarm(read bool) {
	if p.shared != nil {
		p.shared.disarm(read)
		return
	}
	p.own.disarm(read)
}

func (p *privateSocket) Read(b []byte) (int, error) {
	if p.shared != nil && !p.own.buffered() {
		return p.shared.Read(b)
	}
	return p.own.Read(b) // after expose, only what was read ahead
}

func (p *privateSocket) Write(b []byte) (int, error) {
	if p.shared != nil {
		return p.shared.Write(b)
	}
	return p.own.Write(b)
}

func (p *privateSocket) poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if p.shared != nil {
		if p.own.buffered() {
			return true, nil
		}
		return p.shared.poll(ctx, timeout)
	}
	return p.own.poll(ctx, timeout)
}

func (p *privateSocket) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.shared != nil {
		p.shared.shutdown()
		return
	}
	p.own.shutdown()
}

func (p *privateSocket) close() error {
	if p.shared != nil {
		return p.shared.close()
	}
	return p.own.close()
}

func (p *privateSocket) fd() int {
	if p.shared != nil {
		return p.shared.fd()
	}
	return -1 // expose failed: the Conn is closed
}

func (p *privateSocket) file() (*os.File, error) {
	if p.shared == nil {
		return nil, errClosed
	}
	if p.own.buffered() {
		return nil, errReadAhead
	}
	return p.shared.file()
}
