package manager

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// Options configure a [Client]. A nil *Options means the defaults.
type Options struct {
	// Conn configures every connection (frame cap, handshake timeout).
	// The client always sets ReadAheadTCP on its own copy: it sends a
	// request only after the previous reply, so reading ahead saves a
	// read(2) a reply and never costs.
	Conn *connection.Options
	// MaxIdle is how many idle method-call connections the client keeps
	// for reuse (default 32). Busy connections are not limited: every
	// concurrently blocked caller has its own, as every Python thread has.
	MaxIdle int
	// Name is sent with accept_connection, where Python sends the process
	// and thread name (default "mpbridge-go-PID").
	Name string
}

// Client is a connection to a manager server, Python's BaseManager after
// connect(). It is safe for concurrent use: server functions (create,
// incref, decref, ...) each use a fresh connection, as CPython's client
// does, and method calls use pooled long-lived channels, one per call in
// progress.
type Client struct {
	addr    connection.Address
	authkey []byte
	copts   *connection.Options
	maxIdle int
	name    string

	mu     sync.Mutex
	idle   []*connection.Conn
	closed bool
	seq    atomic.Uint64
}

// Dial connects to the manager server at addr (HOST:PORT, /path or @name)
// with authkey and checks it with the dummy request, as BaseManager.connect
// does.
func Dial(ctx context.Context, addr string, authkey []byte, opts *Options) (*Client, error) {
	c, err := NewClient(addr, authkey, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Dummy(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// NewClient returns a client of the manager server at addr without
// connecting: the first call connects, as a proxy unpickled in another
// process does (it has no manager object, only the token's address and an
// authkey). A wrong address or authkey shows at that first call.
func NewClient(addr string, authkey []byte, opts *Options) (*Client, error) {
	a, err := connection.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("manager: dial: %w", err)
	}
	c := &Client{addr: a, authkey: append([]byte{}, authkey...), maxIdle: 32,
		name: "mpbridge-go-" + strconv.Itoa(os.Getpid())}
	copts := connection.Options{}
	if opts != nil && opts.Conn != nil {
		copts = *opts.Conn
	}
	copts.ReadAheadTCP = true
	c.copts = &copts
	if opts != nil {
		if opts.MaxIdle > 0 {
			c.maxIdle = opts.MaxIdle
		}
		if opts.Name != "" {
			c.name = opts.Name
		}
	}
	return c, nil
}

// Address returns the server's address.
func (c *Client) Address() connection.Address { return c.addr }

// Authkey returns a copy of the key the client authenticates with. A
// proxy pickled while spawning a child carries it (kwds['authkey'] in
// CPython's BaseProxy.__reduce__), so that the child reaches the server
// whatever its own authkey is; package spawn does that for Go parents.
func (c *Client) Authkey() []byte { return append([]byte{}, c.authkey...) }

// Close closes the idle method-call connections; calls in progress finish
// on their own connections, which are then closed. Close the proxies first:
// a closed client sends no decref.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, ch := range idle {
		ch.Close()
	}
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) dial(ctx context.Context) (*connection.Conn, error) {
	conn, err := connection.Dial(ctx, c.addr.String(), c.authkey, c.copts)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	return conn, nil
}

// roundTrip sends one request frame and reads one reply.
func roundTrip(ctx context.Context, conn *connection.Conn, req []byte) (kind string, payload any, err error) {
	if err := conn.SendBytes(ctx, req); err != nil {
		return "", nil, err
	}
	return recvReply(ctx, conn)
}

func recvReply(ctx context.Context, conn *connection.Conn) (kind string, payload any, err error) {
	frame, err := conn.RecvBytes(ctx, 0)
	if err != nil {
		return "", nil, err
	}
	return decodeReply(frame)
}

// decodeReply decodes (kind, payload).
func decodeReply(frame []byte) (string, any, error) {
	v, err := pickle.Loads(frame)
	if err != nil {
		return "", nil, fmt.Errorf("manager: reply: %w", err)
	}
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return "", nil, fmt.Errorf("manager: reply is not a (kind, payload) pair but %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	kind, ok := t[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("manager: reply kind is %s: %w", PyTypeName(t[0]), mpbridge.ErrCorrupt)
	}
	if kind == KindReturn && bytes.Contains(frame, rebuildProxyName) {
		// Maybe a pickled proxy inside: Client.result rebuilds it.
		return kind, withProxies{t[1]}, nil
	}
	return kind, t[1], nil
}

// replyError converts a reply that is not #RETURN into an error, as
// convert_to_error does.
func replyError(kind string, payload any) error {
	switch kind {
	case KindError:
		return errorFromReply(payload)
	case KindTraceback, KindUnserializable:
		s, ok := payload.(string)
		if !ok {
			return fmt.Errorf("manager: result %s (kind %q) is not str: %w", pickle.Repr(payload), kind, mpbridge.ErrCorrupt)
		}
		return newRemoteError(kind, s)
	}
	return fmt.Errorf("manager: unrecognized message type %q: %w", kind, mpbridge.ErrCorrupt)
}

// ServerCall calls one of the server's public functions on a connection
// of its own (dispatch(conn, None, funcname, args, kwds) in CPython) and
// returns the #RETURN payload.
func (c *Client) ServerCall(ctx context.Context, funcname string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	req, err := encodeRequest(nil, funcname, args, kwargs)
	if err != nil {
		return nil, err
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	kind, payload, err := roundTrip(ctx, conn, req)
	if err != nil {
		return nil, fmt.Errorf("manager: %s: %w", funcname, err)
	}
	if kind != KindReturn {
		return nil, replyError(kind, payload)
	}
	return plainPayload(payload), nil
}

// Dummy checks that the server answers and accepts the authkey.
func (c *Client) Dummy(ctx context.Context) error {
	_, err := c.ServerCall(ctx, "dummy", nil, nil)
	return err
}

// NumberOfObjects returns how many shared objects the server holds.
func (c *Client) NumberOfObjects(ctx context.Context) (int, error) {
	v, err := c.ServerCall(ctx, "number_of_objects", nil, nil)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("manager: number_of_objects returned %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	return int(n), nil
}

// DebugInfo returns the server's debug_info text (one entry per object
// with its reference count).
func (c *Client) DebugInfo(ctx context.Context) (string, error) {
	v, err := c.ServerCall(ctx, "debug_info", nil, nil)
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	return s, nil
}

// Incref adds a reference to the object ident.
func (c *Client) Incref(ctx context.Context, ident string) error {
	_, err := c.ServerCall(ctx, "incref", pickle.Tuple{ident}, nil)
	return err
}

// Decref drops a reference to the object ident; at zero the server
// forgets the object.
func (c *Client) Decref(ctx context.Context, ident string) error {
	_, err := c.ServerCall(ctx, "decref", pickle.Tuple{ident}, nil)
	return err
}

// GetMethods returns the exposed methods of the object of tok.
func (c *Client) GetMethods(ctx context.Context, tok Token) ([]string, error) {
	v, err := c.ServerCall(ctx, "get_methods", pickle.Tuple{tok.Pickle()}, nil)
	if err != nil {
		return nil, err
	}
	return stringList(v)
}

// Shutdown asks the server to stop. A server that already stopped before
// answering counts as success (the reply may be lost as it exits).
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.ServerCall(ctx, "shutdown", nil, nil)
	return err
}

func stringList(v any) ([]string, error) {
	items, ok := seqItems(v)
	if !ok {
		return nil, fmt.Errorf("manager: expected a tuple of str, got %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("manager: expected str, got %s: %w", PyTypeName(it), mpbridge.ErrCorrupt)
		}
		out[i] = s
	}
	return out, nil
}

// Create makes a new shared object of typeid on the server (a manager's
// typeid method, e.g. m.Queue() or m.get_queue()) and returns a proxy for
// it holding one reference. Close the proxy to drop it.
func (c *Client) Create(ctx context.Context, typeid string, args pickle.Tuple, kwargs *pickle.Dict) (*Proxy, error) {
	v, err := c.ServerCall(ctx, "create", append(pickle.Tuple{typeid}, args...), kwargs)
	if err != nil {
		return nil, err
	}
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return nil, fmt.Errorf("manager: create returned %s: %w", pickle.Repr(v), mpbridge.ErrCorrupt)
	}
	ident, ok := t[0].(string)
	if !ok {
		return nil, fmt.Errorf("manager: create returned ident %s: %w", pickle.Repr(t[0]), mpbridge.ErrCorrupt)
	}
	exposed, err := stringList(t[1])
	if err != nil {
		return nil, err
	}
	return c.newProxy(Token{Typeid: typeid, Address: c.addr.Python(), ID: ident}, exposed), nil
}

// channel returns an idle method-call connection or opens a new one
// (handshake, then accept_connection).
func (c *Client) channel(ctx context.Context) (*connection.Conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("manager: client: %w", mpbridge.ErrClosed)
	}
	if n := len(c.idle); n > 0 {
		conn := c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return conn, nil
	}
	c.mu.Unlock()
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	name := c.name + "|conn-" + strconv.FormatUint(c.seq.Add(1), 10)
	req, err := encodeRequest(nil, "accept_connection", pickle.Tuple{name}, nil)
	if err == nil {
		var kind string
		var payload any
		kind, payload, err = roundTrip(ctx, conn, req)
		if err == nil && kind != KindReturn {
			err = replyError(kind, payload)
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("manager: accept_connection: %w", err)
	}
	return conn, nil
}

// release returns a healthy channel to the pool.
func (c *Client) release(conn *connection.Conn) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < c.maxIdle {
		c.idle = append(c.idle, conn)
		conn = nil
	}
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// callMethod sends (ident, method, args, kwds) on a pooled channel and
// returns the raw reply. A channel whose call failed or was cancelled is
// closed, never reused, since its reply may still be on the way.
func (c *Client) callMethod(ctx context.Context, ident, method string, args pickle.Tuple, kwargs *pickle.Dict) (string, any, error) {
	req, err := encodeRequest(ident, method, args, kwargs)
	if err != nil {
		return "", nil, fmt.Errorf("manager: %s: %w", method, err)
	}
	return c.callRaw(ctx, req, method)
}

func (c *Client) callRaw(ctx context.Context, req []byte, method string) (string, any, error) {
	conn, err := c.channel(ctx)
	if err != nil {
		return "", nil, err
	}
	kind, payload, err := roundTrip(ctx, conn, req)
	if err != nil {
		conn.Close()
		return "", nil, fmt.Errorf("manager: %s: %w", method, err)
	}
	c.release(conn)
	return kind, payload, nil
}

// result converts a method reply into the value Call returns: the
// #RETURN payload (with the proxies pickled in it rebuilt, as unpickling
// does in Python), a new *Proxy for #PROXY, or an error.
func (c *Client) result(ctx context.Context, kind string, payload any) (any, error) {
	switch kind {
	case KindReturn:
		if w, ok := payload.(withProxies); ok {
			return c.rebuildProxies(ctx, w.v)
		}
		return payload, nil
	case KindProxy:
		t, ok := payload.(pickle.Tuple)
		if !ok || len(t) != 2 {
			return nil, fmt.Errorf("manager: #PROXY payload %s: %w", pickle.Repr(payload), mpbridge.ErrCorrupt)
		}
		exposed, err := stringList(t[0])
		if err != nil {
			return nil, err
		}
		tok, err := TokenFromPickle(t[1])
		if err != nil {
			return nil, err
		}
		// As BaseProxy._callmethod: the token's address is replaced by the
		// one this client reached the server at.
		tok.Address = c.addr.Python()
		return c.newProxy(tok, exposed), nil
	}
	return nil, replyError(kind, payload)
}
