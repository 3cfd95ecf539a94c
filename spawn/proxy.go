package spawn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

// rebuildProxyFunc is multiprocessing.managers.RebuildProxy.
var rebuildProxyFunc = pickle.Global{Module: "multiprocessing.managers", Name: "RebuildProxy"}

func init() {
	rebuilders[rebuildProxyFunc] = rebuildProxy
	passers = append(passers, passProxy)
}

// Proxy is a manager proxy passed to a Go child: Python pickles it while
// spawning as RebuildProxy(func, token, serializer, kwds), and the child
// reconnects to the manager with the authkey in kwds (or its own), as
// RebuildProxy does. Like a proxy rebuilt during a Python child's
// bootstrap it holds no reference of its own (no incref, no decref): the
// parent's proxy keeps the referent alive.
//
// Proxy speaks the method-call channel itself (one connection, opened on
// first use, calls serialized): the manager package has no constructor
// for a proxy of an existing token yet.
type Proxy struct {
	// Class is the proxy class the parent used, e.g.
	// multiprocessing.managers.AutoProxy or DictProxy.
	Class   pickle.Global
	Token   manager.Token
	Exposed []string // kwds['exposed'] of an AutoProxy (nil otherwise)

	addr    string
	authkey []byte
	name    string

	mu   sync.Mutex
	conn *connection.Conn
}

func rebuildProxy(r *rebuilder, o *pickle.Object, path string) (any, error) {
	if len(o.Args) != 4 {
		return nil, corrupt("RebuildProxy takes 4 arguments, got %d", len(o.Args))
	}
	class, _ := o.Args[0].(pickle.Global)
	tok, err := manager.TokenFromPickle(o.Args[1])
	if err != nil {
		return nil, err
	}
	if s, _ := o.Args[2].(string); s != "pickle" {
		return nil, &UnsupportedError{Name: fmt.Sprintf("a manager proxy with serializer %v", o.Args[2])}
	}
	addr, err := addressFromPython(tok.Address)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Class: class, Token: tok, addr: addr, authkey: r.info.Authkey, name: r.info.Name}
	if kw, ok := o.Args[3].(*pickle.Dict); ok {
		if v, ok := kw.Get("authkey"); ok {
			if p.authkey, err = authkeyBytes(v); err != nil {
				return nil, err
			}
		}
		if v, ok := kw.Get("exposed"); ok && v != nil {
			if p.Exposed, err = asStrings(v, "exposed"); err != nil {
				return nil, err
			}
		}
	}
	r.onExit(func(context.Context) error { return p.Close() })
	return p, nil
}

// addressFromPython turns a Token's address into connection's textual
// form: ('host', port) → host:port, '\0name' → @name, a path as is.
func addressFromPython(v any) (string, error) {
	switch a := v.(type) {
	case pickle.Tuple:
		if len(a) == 2 {
			host, ok1 := a[0].(string)
			port, err := asInt(a[1], "port")
			if ok1 && err == nil {
				return net.JoinHostPort(host, strconv.Itoa(port)), nil
			}
		}
	case string:
		if strings.HasPrefix(a, "\x00") {
			return "@" + a[1:], nil
		}
		return a, nil
	case []byte:
		return addressFromPython(string(a))
	}
	return "", corrupt("manager address %v", v)
}

// Call invokes method on the referent (proxy._callmethod) and returns the
// result. A Python exception raised by the method is returned as a
// *pickle.Exception; a method that returns a proxy (#PROXY) is an error,
// as it is for a proxy unpickled in a Python child. If ctx ends during the
// call the connection is dropped (the next call opens a new one).
func (p *Proxy) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if args == nil {
		args = pickle.Tuple{}
	}
	if kwargs == nil {
		kwargs = pickle.NewDict(0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		c, err := connection.Dial(ctx, p.addr, p.authkey, nil)
		if err != nil {
			return nil, fmt.Errorf("spawn: proxy %s: %w", p.Token.ID, err)
		}
		if _, err := exchange(ctx, c, pickle.Tuple{nil, "accept_connection", pickle.Tuple{p.name}, pickle.NewDict(0)}); err != nil {
			c.Close()
			return nil, fmt.Errorf("spawn: proxy %s: accept_connection: %w", p.Token.ID, err)
		}
		p.conn = c
	}
	v, err := exchange(ctx, p.conn, pickle.Tuple{p.Token.ID, method, args, kwargs})
	var re *replyError
	if err != nil && !errors.As(err, &re) {
		p.conn.Close()
		p.conn = nil
	}
	return v, err
}

// replyError is a reply other than #RETURN.
type replyError struct{ kind, text string }

func (e *replyError) Error() string {
	return fmt.Sprintf("spawn: manager replied %s: %s", e.kind, e.text)
}

// exchange sends one request and reads its reply.
func exchange(ctx context.Context, c *connection.Conn, req pickle.Tuple) (any, error) {
	if err := c.Send(ctx, req); err != nil {
		return nil, err
	}
	v, err := c.Recv(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return nil, corrupt("manager reply %s", pickle.Repr(v))
	}
	kind, _ := t[0].(string)
	switch kind {
	case "#RETURN":
		return t[1], nil
	case "#ERROR":
		if e, ok := t[1].(error); ok {
			return nil, e
		}
		return nil, &replyError{kind, pickle.Repr(t[1])}
	case "#PROXY":
		return nil, &replyError{kind, "a method returning a proxy cannot be called through a proxy rebuilt in a child"}
	}
	s, _ := t[1].(string)
	return nil, &replyError{kind, s}
}

// Put calls put(item), with a timeout from ctx's deadline (queue.Full
// becomes an error wrapping mpbridge.ErrFull).
func (p *Proxy) Put(ctx context.Context, item any) error {
	_, err := p.Call(ctx, "put", pickle.Tuple{item}, timeoutKwargs(ctx))
	return err
}

// Get calls get(), with a timeout from ctx's deadline (queue.Empty
// becomes an error wrapping mpbridge.ErrEmpty).
func (p *Proxy) Get(ctx context.Context) (any, error) {
	return p.Call(ctx, "get", nil, timeoutKwargs(ctx))
}

// timeoutKwargs is {'timeout': seconds left} when ctx has a deadline.
func timeoutKwargs(ctx context.Context) *pickle.Dict {
	kw := pickle.NewDict(1)
	if d, ok := ctx.Deadline(); ok {
		kw.Set("timeout", math.Max(0, time.Until(d).Seconds()))
	}
	return kw
}

// Close closes the proxy's connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
	return nil
}

// String describes the proxy like BaseProxy.__repr__.
func (p *Proxy) String() string {
	return fmt.Sprintf("<%s object, typeid %s at pid %d>", p.Class.Name, pickle.Repr(p.Token.Typeid), os.Getpid())
}

// autoProxyClass is multiprocessing.managers.AutoProxy.
var autoProxyClass = pickle.Global{Module: "multiprocessing.managers", Name: "AutoProxy"}

// passProxy passes a Go manager proxy to a child as an AutoProxy of its
// token and exposed methods. No authkey travels (the manager package does
// not reveal the client's): the child connects with its own authkey, so
// set Process.Authkey to the manager's key.
func passProxy(v any) (any, bool, error) {
	var tok manager.Token
	var exposed []string
	switch x := v.(type) {
	case *manager.Proxy:
		tok, exposed = x.Token(), x.Exposed()
	case *manager.QueueProxy:
		tok, exposed = x.Token(), x.Exposed()
	case *Proxy:
		tok, exposed = x.Token, x.Exposed
	default:
		return nil, false, nil
	}
	kw := pickle.NewDict(1)
	if exposed != nil {
		names := make(pickle.Tuple, len(exposed))
		for i, n := range exposed {
			names[i] = n
		}
		kw.Set("exposed", names)
	}
	return &pickle.Object{Callable: rebuildProxyFunc, Kind: pickle.Reduce,
		Args: pickle.Tuple{autoProxyClass, tok.Pickle(), "pickle", kw}}, true, nil
}
