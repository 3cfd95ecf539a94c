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

// pairTransport is the transport of an end of a Pipe. Pipe's descriptors
// are close-on-exec, so until Fd or File hands one out both ends are this
// process's alone, and the channel joins two goroutines. Meanwhile each end
// is served like a Unix socket from Dial: non-blocking, in Go's poller
// (where one goroutine wakes another without an OS thread's round trip),
// the read end reading ahead.
//
// Once either end's descriptor is handed out, the other end's peer may be
// another process, and a goroutine parked in Go's poller is woken by
// another process's write more slowly than a thread waiting in poll(2)
// (BenchmarkPipeWithPython): both ends then switch for good to the shared
// path (fdTransport, over a duplicate of the descriptor) and leave the
// poller, whose wake-ups for every arrival would only cost. The end handed
// out switches with its Conn's send and receive locks held, and its
// descriptor becomes blocking again, as the process given it expects. The
// other end switches then too if neither lock is held, else each direction
// at its next call; the poller's copy of the descriptor is closed, and the
// descriptor made blocking again, as soon as no call can be waiting in the
// poller (both locks free).
type pairTransport struct {
	own   *pollerTransport
	link  *pairLink
	name  string
	locks [2]*sync.Mutex // the Conn's receive and send locks

	mu        sync.Mutex // orders the switch against shutdown
	closed    bool
	retired   atomic.Bool // own has left the poller (closed)
	handedOut atomic.Bool // expose has run: this end's descriptor may be shared
	shared    atomic.Pointer[fdTransport]

	// The transport armed for each direction (own or shared), set by arm
	// under the Conn's lock for that direction.
	rUse, wUse transport
}

// pairLink is what the two ends of a Pipe share.
type pairLink struct {
	exposed atomic.Bool // a descriptor of the pair has been handed out
	ends    [2]*pairTransport
}

// pairConns makes the two Conns of a new pipe or socketpair, whose
// descriptors are close-on-exec and nobody else's; it closes fds on failure.
func pairConns(fds [2]int, duplex bool) (*Conn, *Conn, error) {
	link := &pairLink{}
	for i, fd := range fds {
		tr, err := newPairTransport(fd, duplex, link)
		if err != nil {
			for j := i + 1; j < 2; j++ {
				unix.Close(fds[j])
			}
			if i == 1 {
				link.ends[0].shutdown()
				link.ends[0].close()
			}
			return nil, nil, err
		}
		link.ends[i] = tr
	}
	c1 := newConn(link.ends[0], true, duplex, nil)
	c2 := newConn(link.ends[1], duplex, true, nil)
	for i, c := range []*Conn{c1, c2} {
		link.ends[i].locks = [2]*sync.Mutex{&c.recvMu, &c.sendMu}
	}
	return c1, c2, nil
}

// newPairTransport adopts fd, one end of a new socketpair or pipe: it is
// made non-blocking and joins Go's poller. It takes fd over (closing it on
// failure).
func newPairTransport(fd int, duplex bool, link *pairLink) (*pairTransport, error) {
	var own *pollerTransport
	name := "pipe"
	if duplex {
		name = "socketpair"
		f := os.NewFile(uintptr(fd), name)
		nc, err := net.FileConn(f) // a non-blocking duplicate, in the poller
		f.Close()
		if err != nil {
			return nil, err
		}
		own = newPollerTransport(nc)
	} else {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("fcntl", err)
		}
		own = newPollerTransport(os.NewFile(uintptr(fd), name)) // pollable
	}
	own.readAhead.Store(true)
	return &pairTransport{own: own, link: link, name: name}, nil
}

// use returns the transport for the next call in one direction (the
// caller holds that direction's lock): own until the pair is exposed,
// shared after (own again if the switch failed: the descriptor could not
// be duplicated, or the Conn is closed).
func (p *pairTransport) use(read bool) transport {
	if p.retired.Load() {
		return p.shared.Load()
	}
	if !p.link.exposed.Load() {
		return p.own
	}
	sh, err := p.switchShared()
	if err != nil {
		return p.own
	}
	other := p.locks[1] // this is a receive: is a send in progress?
	if !read {
		other = p.locks[0]
	}
	if other.TryLock() {
		_ = p.retire() // on failure the descriptor stays non-blocking: nobody else holds it
		other.Unlock()
	}
	return sh
}

// switchShared makes the shared transport, over a duplicate of the
// descriptor.
func (p *pairTransport) switchShared() (*fdTransport, error) {
	if sh := p.shared.Load(); sh != nil {
		return sh, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if sh := p.shared.Load(); sh != nil {
		return sh, nil
	}
	if p.closed {
		return nil, errClosed
	}
	p.own.readAhead.Store(false)
	fd := -1
	var derr error
	if err := p.own.rc.Control(func(u uintptr) { fd, derr = dupCloexec(u) }); err != nil {
		return nil, mapNetError(nil, err)
	}
	if derr != nil {
		return nil, derr
	}
	// Not os.NewFile: the description is non-blocking here, and NewFile
	// would put the duplicate in Go's poller, whose wake-ups at every
	// arrival are what the switch is to shed.
	sh, err := newFdTransportFD(fd, p.name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	p.shared.Store(sh)
	return sh, nil
}

// retire closes own's descriptor, which takes it out of the poller (the
// description lives on in shared's), and makes the descriptor blocking
// again, as a descriptor Conn's always is. The caller holds both of the
// Conn's locks, so no call is waiting in own; what own read ahead stays
// buffered.
func (p *pairTransport) retire() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	sh := p.shared.Load()
	if p.retired.Load() || sh == nil {
		return nil
	}
	_ = p.own.c.Close()
	p.retired.Store(true)
	// O_NONBLOCK belongs to the open file description, which a duplicate
	// handed out shares: clearing it here clears it for whoever gets one.
	if err := unix.SetNonblock(sh.fd(), false); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	return nil
}

// retireIfIdle switches this end for good if no call of its Conn is in
// progress.
func (p *pairTransport) retireIfIdle() {
	for _, l := range p.locks {
		if !l.TryLock() {
			return
		}
		defer l.Unlock()
	}
	if _, err := p.switchShared(); err == nil {
		_ = p.retire()
	}
}

// exposed reports whether expose has run on this end.
func (p *pairTransport) exposed() bool { return p.handedOut.Load() }

// expose readies this end's descriptor to be handed out; the caller holds
// the Conn's send and receive locks, so no call is in progress. Input
// already read ahead stays buffered and is returned first. The other end
// switches too if it can at once.
func (p *pairTransport) expose() error {
	p.link.exposed.Store(true)
	if _, err := p.switchShared(); err != nil {
		return err
	}
	if err := p.retire(); err != nil {
		return err
	}
	p.handedOut.Store(true)
	for _, o := range p.link.ends {
		if o != p {
			o.retireIfIdle()
		}
	}
	return nil
}

func (p *pairTransport) arm(ctx context.Context, read bool) error {
	tr := p.use(read)
	if read {
		p.rUse = tr
	} else {
		p.wUse = tr
	}
	return tr.arm(ctx, read)
}

func (p *pairTransport) disarm(read bool) {
	if read {
		p.rUse.disarm(read)
	} else {
		p.wUse.disarm(read)
	}
}

func (p *pairTransport) Read(b []byte) (int, error) {
	if p.rUse != p.own && p.own.buffered() {
		return p.own.Read(b) // what was read ahead before the switch
	}
	return p.rUse.Read(b)
}

func (p *pairTransport) Write(b []byte) (int, error) { return p.wUse.Write(b) }

func (p *pairTransport) poll(ctx context.Context, timeout time.Duration) (bool, error) {
	if p.own.buffered() {
		return true, nil
	}
	return p.use(true).poll(ctx, timeout)
}

func (p *pairTransport) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.own.shutdown() // a second Close of a retired own is harmless
	if sh := p.shared.Load(); sh != nil {
		sh.shutdown()
	}
}

func (p *pairTransport) close() error {
	err := p.own.close()
	if sh := p.shared.Load(); sh != nil {
		if cerr := sh.close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (p *pairTransport) fd() int {
	if sh := p.shared.Load(); sh != nil {
		return sh.fd()
	}
	return -1 // expose failed: the Conn is closed
}

func (p *pairTransport) file() (*os.File, error) {
	sh := p.shared.Load()
	if sh == nil {
		return nil, errClosed
	}
	if p.own.buffered() {
		return nil, errReadAhead
	}
	return sh.file()
}
