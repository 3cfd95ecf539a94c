package connection

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMaxPending bounds, by default, the connections a Listener holds
// between the kernel's accept and the caller's Accept: those being
// authenticated plus those authenticated and waiting.
const DefaultMaxPending = 64

// ListenOptions configures Listen. A nil *ListenOptions means the defaults.
type ListenOptions struct {
	// Authkey, when non-nil, makes every accepted connection authenticate
	// (deliver a challenge, then answer one) before Accept returns it. An
	// empty non-nil key authenticates with an empty HMAC key, as CPython
	// 3.13 does; 3.12 and older skip the handshake for an empty key.
	Authkey []byte
	// Backlog is the kernel's listen backlog (Python's backlog argument);
	// zero keeps the system's default (somaxconn).
	Backlog int
	// MaxPending bounds the connections being authenticated or waiting for
	// Accept (DefaultMaxPending when zero). When it is reached the
	// listener stops accepting until Accept takes one, and further clients
	// wait in the kernel's backlog.
	MaxPending int
	// OnHandshakeError, if set, is called (from the handshake's
	// goroutine) with each failed handshake; the connection is already
	// closed. CPython's accept raises such errors; a Go Listener drops
	// the connection and keeps serving the others.
	OnHandshakeError func(remote net.Addr, err error)
	// Options apply to every accepted Conn; HandshakeTimeout bounds each
	// handshake.
	Options
}

// Listener accepts connections like Python's
// multiprocessing.connection.Listener. Connections are accepted in the
// background and each handshake runs in its own goroutine under
// Options.HandshakeTimeout, so a stalled or misconfigured client never
// delays the others; Accept hands out only authenticated Conns. All methods
// may be called from several goroutines at once.
type Listener struct {
	ln      net.Listener
	addr    Address
	authkey []byte
	opts    ListenOptions

	ready chan *Conn
	slots chan struct{}
	ctx   context.Context // canceled by Close: ends the handshakes
	stop  context.CancelFunc
	wg    sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
	mu        sync.Mutex
	loopErr   error // why the accept loop stopped, if not Close
	loopDone  chan struct{}
}

// Listen binds addr (the textual form: HOST:PORT, /path or @name) and
// starts accepting. A Unix socket file is removed when the Listener is
// closed; binding fails if it already exists. ctx bounds the bind only.
func Listen(ctx context.Context, addr string, opts *ListenOptions) (*Listener, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	var o ListenOptions
	if opts != nil {
		o = *opts
	}
	o.Options = o.Options.withDefaults()
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, a.Network, a.Addr)
	if err != nil {
		return nil, fmt.Errorf("connection: listen %s: %w", a, err)
	}
	if o.Backlog > 0 {
		if err := setBacklog(ln, o.Backlog); err != nil {
			ln.Close()
			return nil, fmt.Errorf("connection: listen %s: backlog: %w", a, err)
		}
	}
	l := &Listener{
		ln:       ln,
		addr:     addressOf(ln.Addr()),
		authkey:  o.Authkey,
		opts:     o,
		ready:    make(chan *Conn),
		slots:    make(chan struct{}, o.MaxPending),
		loopDone: make(chan struct{}),
	}
	l.ctx, l.stop = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// setBacklog calls listen(2) again on the listening socket, which on Linux
// only changes the backlog.
func setBacklog(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	return lerr
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	defer close(l.loopDone)
	var backoff time.Duration
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		nc, err := l.ln.Accept()
		if err != nil {
			<-l.slots
			if l.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) ||
				errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) {
				// Transient: back off as net/http does and retry.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
				case <-l.ctx.Done():
					return
				}
				continue
			}
			l.mu.Lock()
			l.loopErr = fmt.Errorf("connection: accept on %s: %w", l.addr, err)
			l.mu.Unlock()
			return
		}
		backoff = 0
		l.wg.Add(1)
		go l.serve(nc)
	}
}

// serve authenticates one connection and hands it to Accept.
func (l *Listener) serve(nc net.Conn) {
	defer l.wg.Done()
	defer func() { <-l.slots }()
	c := NewConn(nc, &l.opts.Options)
	if l.authkey != nil {
		ctx, cancel := l.ctx, context.CancelFunc(func() {})
		if d := l.opts.HandshakeTimeout; d > 0 {
			ctx, cancel = context.WithTimeout(l.ctx, d)
		}
		err := DeliverChallenge(ctx, c, l.authkey)
		if err == nil {
			err = AnswerChallenge(ctx, c, l.authkey)
		}
		cancel()
		if err != nil {
			c.Close()
			if f := l.opts.OnHandshakeError; f != nil && l.ctx.Err() == nil {
				f(nc.RemoteAddr(), err)
			}
			return
		}
	}
	select {
	case l.ready <- c:
	case <-l.ctx.Done():
		c.Close()
	}
}

// Accept waits for the next authenticated connection. It fails with an
// error wrapping mpbridge.ErrClosed once the Listener is closed, or with the
// error that stopped the accept loop.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	if l.ctx.Err() != nil {
		return nil, errClosed
	}
	select {
	case c := <-l.ready:
		return c, nil
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	case <-l.ctx.Done():
		return nil, errClosed
	case <-l.loopDone:
		// The loop stopped; a handshake may still deliver.
		select {
		case c := <-l.ready:
			return c, nil
		default:
		}
		l.mu.Lock()
		err := l.loopErr
		l.mu.Unlock()
		if err == nil {
			err = errClosed
		}
		return nil, err
	}
}

// Addr returns the bound address, with the port chosen by the system when
// port 0 was asked for.
func (l *Listener) Addr() Address { return l.addr }

// Close stops accepting, closes the listening socket (removing a Unix
// socket file), abandons handshakes in progress and closes connections not
// yet taken by Accept. It waits for the Listener's goroutines to end.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.stop()
		l.closeErr = l.ln.Close()
		l.wg.Wait()
	})
	return l.closeErr
}

// Dial connects to addr (HOST:PORT, /path or @name) as Python's
// Client(address, authkey=authkey) does: with a non-nil authkey it answers
// the server's challenge, then delivers its own. The handshake is bounded
// by opts.HandshakeTimeout as well as ctx. On failure the connection is
// closed.
func Dial(ctx context.Context, addr string, authkey []byte, opts *Options) (*Conn, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, a.Network, a.Addr)
	if err != nil {
		return nil, fmt.Errorf("connection: dial %s: %w", a, err)
	}
	c := NewConn(nc, opts)
	if authkey == nil {
		return c, nil
	}
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if t := c.opts.HandshakeTimeout; t > 0 {
		hctx, cancel = context.WithTimeout(ctx, t)
	}
	defer cancel()
	err = AnswerChallenge(hctx, c, authkey)
	if err == nil {
		err = DeliverChallenge(hctx, c, authkey)
	}
	if err != nil {
		c.Close()
		var ae *AuthError
		if len(authkey) == 0 && errors.As(err, &ae) && ae.Kind == AuthTimeout {
			ae.Reason += " (a CPython 3.12 or older Listener with authkey=b'' does not authenticate)"
		}
		return nil, err
	}
	return c, nil
}
