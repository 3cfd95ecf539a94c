package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// ServerOptions configure a [Server]. The zero value is usable.
type ServerOptions struct {
	// Authkey is the key every connection must prove (Python's authkey;
	// its default there is 32 random bytes). An empty key still runs the
	// handshake, with an empty HMAC key, as a CPython manager server does.
	Authkey []byte
	// HandshakeTimeout bounds the handshake and the first request of each
	// connection (default 10s). A slow or failed handshake closes only
	// that connection.
	HandshakeTimeout time.Duration
	// RefuseShutdown makes the server answer the shutdown request with an
	// error instead of stopping.
	RefuseShutdown bool
	// MaxFrame caps the size of one request (default: the connection
	// package's default). A frame announcing more closes the connection.
	MaxFrame int64
	// Logger receives connection-level events (default: slog.Default()).
	Logger *slog.Logger
}

// Server is a manager server: Python's multiprocessing.managers.Server. It
// serves the typeids registered with Register to any number of clients,
// Python (3.8-3.13, mixed) or Go.
type Server struct {
	opts ServerOptions
	log  *slog.Logger

	regMu    sync.RWMutex
	registry map[string]*registration

	objs objects

	addrMu sync.RWMutex
	addr   any // the listener's address as a pickle value, for tokens

	connMu sync.Mutex
	conns  map[*connection.Conn]struct{}
	nextID atomic.Uint64

	stopOnce    sync.Once
	stop        chan struct{}
	shutdownReq atomic.Bool
	wg          sync.WaitGroup
}

// NewServer returns a server with an empty registry.
func NewServer(opts *ServerOptions) *Server {
	s := &Server{registry: map[string]*registration{}, conns: map[*connection.Conn]struct{}{}, stop: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.HandshakeTimeout <= 0 {
		s.opts.HandshakeTimeout = 10 * time.Second
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.objs.init()
	return s
}

// Register adds typeid to the registry, as BaseManager.register(typeid,
// callable, exposed=..., method_to_typeid=...). A nil factory registers a
// typeid only used for method results (method_to_typeid), whose object is
// the result itself. Registering a typeid again replaces it.
func (s *Server) Register(typeid string, factory Factory, opts *RegisterOptions) {
	reg := newRegistration(factory, opts)
	s.regMu.Lock()
	s.registry[typeid] = reg
	s.regMu.Unlock()
}

// Typeids lists the registered typeids.
func (s *Server) Typeids() []string {
	s.regMu.RLock()
	defer s.regMu.RUnlock()
	out := make([]string, 0, len(s.registry))
	for k := range s.registry {
		out = append(out, k)
	}
	return out
}

// RegisterQueue registers typeid as a name for the one queue q: every
// create returns the same object, like Python's
// register('get_queue', callable=lambda: q).
func (s *Server) RegisterQueue(typeid string, q *Queue) {
	s.Register(typeid, func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (Object, error) {
		if _, err := (Signature{Name: "<lambda>"}).Bind(args, kwargs); err != nil {
			return nil, err
		}
		return q, nil
	}, nil)
}

// Lookup returns the live object with the given ident.
func (s *Server) Lookup(ident string) (Object, bool) {
	e, ok := s.objs.lookup(ident)
	if !ok || e.obj == nil {
		return nil, false
	}
	return e.obj, true
}

// KeepLocal marks ident as referenced from inside the server (a proxy
// stored in a served container, CPython's id_to_local_proxy_obj): the
// object stays reachable by incref after its external count reaches zero.
// The token's address does not matter: an ident of this server refers to
// its object whatever address the client dialled.
func (s *Server) KeepLocal(ident string) (Object, bool) {
	e, ok := s.objs.keepLocal(ident)
	if !ok {
		return nil, false
	}
	return e.obj, true
}

// DropLocal undoes KeepLocal.
func (s *Server) DropLocal(ident string) { s.objs.dropLocal(ident) }

// NumberOfObjects is the number of objects with a reference count above
// zero, as the number_of_objects request returns.
func (s *Server) NumberOfObjects() int { return s.objs.count() }

// Address is the listener's address as the pickle value Python uses
// (('host', port), a path or an abstract name), as put in tokens.
func (s *Server) Address() any {
	s.addrMu.RLock()
	defer s.addrMu.RUnlock()
	return s.addr
}

// ShutdownRequested reports whether a client's shutdown request stopped
// the server.
func (s *Server) ShutdownRequested() bool { return s.shutdownReq.Load() }

// Done is closed when the server stops (Close or a shutdown request).
func (s *Server) Done() <-chan struct{} { return s.stop }

// Close stops the server: the listeners stop accepting and every
// connection is closed, cancelling the calls in progress.
func (s *Server) Close() error {
	s.connMu.Lock()
	s.stopOnce.Do(func() { close(s.stop) })
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	return nil
}

// Listen opens a listener on addr (HOST:PORT, /path or @name) set up for
// Serve: a backlog of 128 and, on TCP, read-ahead (a client sends its next
// request only after the reply, so a request's header and payload can come
// in one read(2); see connection.Options.ReadAheadTCP). It does not
// authenticate: Serve does.
func Listen(ctx context.Context, addr string) (*connection.Listener, error) {
	return connection.Listen(ctx, addr, &connection.ListenOptions{Backlog: 128,
		Options: connection.Options{ReadAheadTCP: true}})
}

// ListenAndServe listens on addr (HOST:PORT, /path or @name) with Listen
// and serves until ctx is done or the server stops.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	l, err := Listen(ctx, addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, l)
}

// Serve accepts connections on l and serves each on its own goroutine
// until ctx is done or the server stops (Close, or a client's shutdown
// request). l must not authenticate (its Authkey nil): the server runs the
// handshake itself on each connection, as CPython's does. Serve closes l
// and waits for the connection goroutines before it returns; the result is
// nil after Close or a shutdown request, else the context's error or the
// listener's.
func (s *Server) Serve(ctx context.Context, l *connection.Listener) error {
	s.addrMu.Lock()
	if s.addr == nil {
		s.addr = l.Addr().Python()
	}
	s.addrMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		l.Close()
		close(stopped)
	}()
	var err error
	delay := 5 * time.Millisecond
	for {
		c, aerr := l.Accept(ctx)
		if aerr != nil {
			select {
			case <-s.stop:
			case <-ctx.Done():
				err = ctx.Err()
			default:
				if isTemporary(aerr) {
					s.log.Warn("manager: accept", "err", aerr)
					time.Sleep(delay)
					delay = min(2*delay, time.Second)
					continue
				}
				err = aerr
			}
			break
		}
		delay = 5 * time.Millisecond
		if !s.track(c) {
			c.Close()
			break
		}
		go s.handle(ctx, c)
	}
	cancel()
	<-stopped
	s.Close()
	s.wg.Wait()
	return err
}

// ServeConn serves one connection that was accepted elsewhere (a custom
// listener, an inherited socket, one end of connection.Pipe) exactly as
// Serve serves each of its connections: handshake, one request, and the
// method-call loop after accept_connection. It returns when the
// connection closes, ctx is done or the server stops.
func (s *Server) ServeConn(ctx context.Context, c *connection.Conn) {
	if !s.track(c) {
		c.Close()
		return
	}
	s.handle(ctx, c)
}

func isTemporary(err error) bool {
	if errors.Is(err, mpbridge.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, mpbridge.ErrAuthentication)
}

func (s *Server) track(c *connection.Conn) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	select {
	case <-s.stop:
		return false
	default:
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1) // under connMu: Close closes stop under it, before any Wait
	return true
}

func (s *Server) untrack(c *connection.Conn) {
	s.connMu.Lock()
	delete(s.conns, c)
	s.connMu.Unlock()
	c.Close()
}

// handle runs one connection: handshake, one server-function request, and
// for accept_connection the method-call loop (Server.handle_request).
func (s *Server) handle(ctx context.Context, c *connection.Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	if s.opts.MaxFrame > 0 {
		c.SetMaxFrame(s.opts.MaxFrame)
	}
	info := &CallerInfo{ConnID: s.nextID.Add(1)}
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	defer cancel()
	err := connection.DeliverChallenge(hctx, c, s.opts.Authkey)
	if err == nil {
		err = connection.AnswerChallenge(hctx, c, s.opts.Authkey)
	}
	if err != nil {
		s.log.Debug("manager: handshake failed", "conn", info.ConnID, "err", err)
		if errors.Is(err, mpbridge.ErrAuthentication) {
			// CPython sends a #TRACEBACK after its #FAILURE#.
			exc := pyExc("multiprocessing.context", "AuthenticationError", "digest received was wrong")
			s.send(hctx, c, KindTraceback, formatTraceback("_handle_request", exc))
		}
		return
	}
	frame, err := c.RecvBytes(hctx, 0)
	if err != nil {
		s.log.Debug("manager: no request", "conn", info.ConnID, "err", err)
		return
	}
	cancel()
	req, exc, err := decodeRequest(frame)
	if err != nil {
		s.log.Debug("manager: bad request", "conn", info.ConnID, "err", err)
		s.send(ctx, c, KindTraceback, formatTraceback("_handle_request", pyExc("_pickle", "UnpicklingError", err.Error())))
		return
	}
	if exc != nil {
		s.send(ctx, c, KindTraceback, formatTraceback("_handle_request", exc))
		return
	}
	name, _ := req.method.(string)
	if !isPublic(name) {
		s.send(ctx, c, KindTraceback, formatTraceback("_handle_request",
			pyExc("builtins", "AssertionError", pickle.Repr(req.method)+" unrecognized")))
		return
	}
	if req.callErr != nil {
		s.send(ctx, c, KindTraceback, formatTraceback(name, req.callErr))
		return
	}
	if name == "accept_connection" {
		a, err := (Signature{Name: "Server.accept_connection", Params: []string{"name"}}).Bind(req.args, req.kwargs)
		if err != nil {
			s.send(ctx, c, KindTraceback, formatTraceback(name, asPyException(err)))
			return
		}
		info.Name, _ = a[0].(string)
		if !s.send(ctx, c, KindReturn, nil) {
			return
		}
		s.serveClient(ctx, c, info)
		return
	}
	if name == "shutdown" {
		s.shutdown(ctx, c, req)
		return
	}
	res, err := s.serverFunc(ctx, name, req.args, req.kwargs)
	if err != nil {
		s.send(ctx, c, KindTraceback, formatTraceback(name, asPyException(err)))
		return
	}
	s.send(ctx, c, KindReturn, res)
}

var publicFuncs = []string{"shutdown", "create", "accept_connection", "get_methods",
	"debug_info", "number_of_objects", "dummy", "incref", "decref"}

func isPublic(name string) bool {
	for _, p := range publicFuncs {
		if p == name {
			return true
		}
	}
	return false
}

// serverFunc runs the public functions other than accept_connection and
// shutdown.
func (s *Server) serverFunc(ctx context.Context, name string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	bind := func(params ...string) ([]any, error) {
		return Signature{Name: "Server." + name, Params: params}.Bind(args, kwargs)
	}
	switch name {
	case "dummy":
		_, err := bind()
		return nil, err
	case "debug_info":
		if _, err := bind(); err != nil {
			return nil, err
		}
		return s.objs.debugInfo(), nil
	case "number_of_objects":
		if _, err := bind(); err != nil {
			return nil, err
		}
		return int64(s.objs.count()), nil
	case "incref", "decref":
		a, err := bind("ident")
		if err != nil {
			return nil, err
		}
		ident, ok := a[0].(string)
		if !ok {
			return nil, ExcKeyError(a[0])
		}
		if name == "incref" {
			return nil, s.objs.incref(ident)
		}
		return nil, s.objs.decref(ident)
	case "get_methods":
		a, err := bind("token")
		if err != nil {
			return nil, err
		}
		tok, err := TokenFromPickle(a[0])
		if err != nil {
			return nil, pyExc("builtins", "AttributeError", fmt.Sprintf("'%s' object has no attribute 'id'", PyTypeName(a[0])))
		}
		e, ok := s.objs.lookup(tok.ID)
		if !ok {
			return nil, ExcKeyError(tok.ID)
		}
		return toTuple(dedup(e.exposedList)), nil
	case "create":
		// typeid is positional-only from 3.9; 3.8 also accepted it as a
		// keyword (deprecated), which its own clients never send.
		var typeid any
		switch {
		case len(args) > 0:
			typeid, args = args[0], args[1:]
		case kwargs != nil:
			if v, ok := kwargs.Get("typeid"); ok {
				typeid = v
				k2 := pickle.NewDict(kwargs.Len())
				for k, v := range kwargs.All() {
					if k != "typeid" {
						_ = k2.Set(k, v)
					}
				}
				kwargs = k2
			}
		}
		if typeid == nil {
			return nil, ExcTypeError("Server.create() missing 1 required positional argument: 'typeid'")
		}
		tid, ok := typeid.(string)
		if !ok {
			return nil, ExcKeyError(typeid)
		}
		ident, exposed, err := s.create(ctx, tid, args, kwargs)
		if err != nil {
			return nil, err
		}
		return pickle.Tuple{ident, toTuple(exposed)}, nil
	}
	return nil, pyExc("builtins", "AssertionError", pickle.Repr(name)+" unrecognized")
}

func toTuple(names []string) pickle.Tuple {
	t := make(pickle.Tuple, len(names))
	for i, n := range names {
		t[i] = n
	}
	return t
}

// shutdown answers the shutdown request: ('#RETURN', None) twice, as
// CPython's server does (once from shutdown itself, once from the generic
// handler), then stops the server.
func (s *Server) shutdown(ctx context.Context, c *connection.Conn, req request) {
	if _, err := (Signature{Name: "Server.shutdown"}).Bind(req.args, req.kwargs); err != nil {
		s.send(ctx, c, KindTraceback, formatTraceback("shutdown", asPyException(err)))
		return
	}
	if s.opts.RefuseShutdown {
		s.log.Info("manager: refused a shutdown request")
		s.send(ctx, c, KindTraceback, formatTraceback("shutdown",
			pyExc("builtins", "PermissionError", "this mpbridge server refuses shutdown requests")))
		return
	}
	s.log.Info("manager: shutdown requested by a client")
	s.send(ctx, c, KindReturn, nil)
	s.send(ctx, c, KindReturn, nil)
	s.shutdownReq.Store(true)
	go s.Close()
}

// send writes one reply; a reply that cannot be pickled is replaced by
// #UNSERIALIZABLE with the pickling error, as in CPython. It reports
// whether the write succeeded.
func (s *Server) send(ctx context.Context, c *connection.Conn, kind string, payload any) bool {
	return c.SendBytes(ctx, s.replyBytes(kind, payload)) == nil
}

func (s *Server) replyBytes(kind string, payload any) []byte {
	data, err := encodeReply(kind, payload)
	if err != nil {
		data, err = encodeReply(KindUnserializable, formatTraceback("send", ExcTypeError(err.Error())))
		if err != nil { // cannot happen: a str always pickles
			panic(err)
		}
	}
	return data
}

// serveClient is the method-call loop of an accept_connection channel
// (Server.serve_client). Calls are answered in order. A call that may
// block runs on its own goroutine while this one keeps reading, so that a
// client that closes the connection cancels its blocked call; a call that
// returns at once runs inline.
func (s *Server) serveClient(ctx context.Context, c *connection.Conn, info *CallerInfo) {
	cctx, cancel := context.WithCancel(withCaller(ctx, info))
	defer cancel()
	// Reads and writes are interrupted by closing the connection (the
	// server does on Close), so they need no cancellable context, which
	// costs a registration per frame.
	bg := context.Background()
	// Requests are decoded (and their values copied) before the next one
	// is read, so one buffer serves them all.
	buf := make([]byte, 4096)
	var inflight chan struct{}
	var observers map[*entry]ConnObserver
	defer func() {
		if inflight != nil {
			<-inflight
		}
		for _, o := range observers {
			o.ConnClosed(*info)
		}
	}()
	for {
		frame, err := recvInto(bg, c, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
				s.log.Debug("manager: channel closed", "conn", info.ConnID, "name", info.Name, "err", err)
			}
			cancel()
			return
		}
		if inflight != nil { // a pipelined request: answer in order
			<-inflight
			inflight = nil
		}
		call, reply := s.prepareCall(frame)
		if reply != nil {
			if c.SendBytes(bg, reply) != nil {
				return
			}
			continue
		}
		if o, ok := call.e.obj.(ConnObserver); ok && observers[call.e] == nil {
			if observers == nil {
				observers = map[*entry]ConnObserver{}
			}
			observers[call.e] = o
		}
		if !call.mayBlock() {
			reply, res := s.runCall(cctx, call)
			if err := c.SendBytes(bg, reply); err != nil {
				undelivered(res)
				return
			}
			continue
		}
		if in, ok := call.e.obj.(Inliner); ok {
			if res, err, done := in.TryCall(cctx, call.method, call.req.args, call.req.kwargs); done {
				reply, res := s.finishCall(cctx, call, res, err)
				if err := c.SendBytes(bg, reply); err != nil {
					undelivered(res)
					return
				}
				continue
			}
		}
		done := make(chan struct{})
		inflight = done
		go func() {
			defer close(done)
			reply, res := s.runCall(cctx, call)
			if cctx.Err() != nil { // the client is gone: do not lose res
				undelivered(res)
				return
			}
			if err := c.SendBytes(bg, reply); err != nil {
				undelivered(res)
				c.Close()
			}
		}()
	}
}

// recvInto reads one frame into buf, or into a new slice when it is longer.
func recvInto(ctx context.Context, c *connection.Conn, buf []byte) ([]byte, error) {
	n, err := c.RecvBytesInto(ctx, buf)
	if err == nil {
		return buf[:n], nil
	}
	var long *connection.BufferTooShortError
	if errors.As(err, &long) {
		return long.Msg, nil
	}
	return nil, err
}

func undelivered(res any) {
	if r, ok := res.(Raw); ok && r.Undelivered != nil {
		r.Undelivered()
	}
}

// call is a method call ready to run.
type call struct {
	method string
	e      *entry
	req    request
}

func (c *call) mayBlock() bool {
	if c.req.callErr != nil {
		return false
	}
	if b, ok := c.e.obj.(Blocker); ok {
		return b.MayBlock(c.method, c.req.args, c.req.kwargs)
	}
	return true
}

// prepareCall decodes a method-call request and finds its object. Errors
// come back as a ready reply.
func (s *Server) prepareCall(frame []byte) (*call, []byte) {
	req, exc, err := decodeRequest(frame)
	if err != nil {
		return nil, s.replyBytes(KindTraceback, formatTraceback("serve_client", pyExc("_pickle", "UnpicklingError", err.Error())))
	}
	if exc != nil {
		return nil, s.replyBytes(KindTraceback, formatTraceback("serve_client", exc))
	}
	ident, _ := req.id.(string)
	e, ok := s.objs.lookup(ident)
	if !ok || e.obj == nil {
		if ident == "0" {
			return nil, s.replyBytes(KindTraceback, formatTraceback("serve_client", ExcValueError("not enough values to unpack (expected 3, got 2)")))
		}
		return nil, s.replyBytes(KindTraceback, formatTraceback("serve_client", ExcKeyError(req.id)))
	}
	method, ok := req.method.(string)
	if !ok || !e.exposed[method] {
		return nil, s.fallback(e, req.method, fmt.Sprintf("method %s of %s object is not in exposed=%s",
			pickle.Repr(req.method), typeRepr(e.obj), setRepr(e.exposedList)))
	}
	return &call{method: method, e: e, req: req}, nil
}

func typeRepr(obj Object) string {
	if _, ok := obj.(*Queue); ok {
		return "<class 'queue.Queue'>"
	}
	return fmt.Sprintf("<class '%T'>", obj)
}

func setRepr(names []string) string {
	names = dedup(names)
	if len(names) == 0 {
		return "set()"
	}
	s := "{"
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += pickle.Repr(n)
	}
	return s + "}"
}

// fallback answers a method that is not exposed (or not implemented):
// __str__, __repr__ and #GETVALUE work on every object; anything else is
// the chained AttributeError/KeyError traceback CPython produces.
func (s *Server) fallback(e *entry, method any, why string) []byte {
	name, _ := method.(string)
	switch name {
	case "__str__", "__repr__":
		return s.replyBytes(KindReturn, reprOf(e.obj))
	case "#GETVALUE":
		v, ok := e.obj.(Valuer)
		if !ok {
			return s.replyBytes(KindUnserializable, formatTraceback("send",
				ExcTypeError(fmt.Sprintf("cannot pickle %s object", pickle.Repr(PyTypeNameOfObject(e.obj))))))
		}
		val, err := v.PyValue()
		if err != nil {
			return s.replyBytes(KindTraceback, formatTraceback("fallback_getvalue", asPyException(err)))
		}
		return s.replyBytes(KindReturn, val)
	}
	return s.replyBytes(KindTraceback, formatChained("serve_client",
		pyExc("builtins", "AttributeError", why), ExcKeyError(method)))
}

// PyTypeNameOfObject is the Python type name a served object reports.
func PyTypeNameOfObject(obj Object) string {
	if _, ok := obj.(*Queue); ok {
		return "Queue"
	}
	return fmt.Sprintf("%T", obj)
}

// runCall invokes the method and builds the reply: #RETURN, #ERROR, or
// #PROXY for a method in method_to_typeid. It also returns the raw result
// so that an undelivered one can be taken back.
func (s *Server) runCall(ctx context.Context, c *call) ([]byte, any) {
	if c.req.callErr != nil {
		return s.replyBytes(KindError, c.req.callErr), nil
	}
	res, err := c.e.obj.Call(ctx, c.method, c.req.args, c.req.kwargs)
	return s.finishCall(ctx, c, res, err)
}

// finishCall builds the reply of a call that returned (res, err).
func (s *Server) finishCall(ctx context.Context, c *call, res any, err error) ([]byte, any) {
	if errors.Is(err, ErrNoMethod) {
		return s.fallback(c.e, c.method, fmt.Sprintf("%s object has no attribute %s",
			pickle.Repr(PyTypeNameOfObject(c.e.obj)), pickle.Repr(c.method))), nil
	}
	if err != nil {
		return s.replyBytes(KindError, asPyException(err)), nil
	}
	if typeid := c.e.methodToTypeid[c.method]; typeid != "" {
		ident, exposed, err := s.create(ctx, typeid, pickle.Tuple{res}, nil)
		if err != nil {
			return s.replyBytes(KindTraceback, formatTraceback("serve_client", asPyException(err))), nil
		}
		tok := Token{Typeid: typeid, Address: s.Address(), ID: ident}
		return s.replyBytes(KindProxy, pickle.Tuple{toTuple(exposed), tok.Pickle()}), nil
	}
	return s.replyBytes(KindReturn, res), res
}
