package manager

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// Proxy refers to one shared object on a manager server, as Python's
// BaseProxy/AutoProxy does. It normally holds one reference on the server,
// dropped by Close (or, as a safety net, after the Proxy is garbage
// collected); a proxy made by [Client.ProxyFor] without incref holds none.
// It is safe for concurrent use: each call in progress has its own
// connection.
type Proxy struct {
	client  *Client
	token   Token
	exposed []string
	owned   bool // holds a reference: Close sends decref

	mu      sync.Mutex
	closed  bool
	cleanup runtime.Cleanup
}

// decrefOnGC is what a forgotten proxy's cleanup needs: no pointer back to
// the Proxy.
type decrefOnGC struct {
	client *Client
	ident  string
}

// newProxy returns a proxy that owns one reference already counted on
// the server.
func (c *Client) newProxy(tok Token, exposed []string) *Proxy {
	p := &Proxy{client: c, token: tok, exposed: exposed, owned: true}
	p.cleanup = runtime.AddCleanup(p, func(d decrefOnGC) {
		go func() {
			if d.client.isClosed() {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = d.client.Decref(ctx, d.ident)
		}()
	}, decrefOnGC{c, tok.ID})
	return p
}

// ProxyFor returns a proxy of the existing object tok names, as
// unpickling a proxy does (CPython's RebuildProxy). The token's address is
// replaced by the client's, which must reach the same server. exposed is
// the list of methods the server allows (nil: unknown; [Client.GetMethods]
// asks the server). Nothing is sent unless incref is true.
//
// With incref the proxy takes a reference of its own (incref now, decref
// on Close), as RebuildProxy does in general. Without it the proxy holds
// none and Close sends nothing, as for a proxy rebuilt during a spawned
// child's bootstrap: the parent's proxy keeps the object alive, so such a
// proxy must not outlive it.
func (c *Client) ProxyFor(ctx context.Context, tok Token, exposed []string, incref bool) (*Proxy, error) {
	if tok.ID == "" {
		return nil, fmt.Errorf("manager: proxy of %s: empty ident: %w", tok, mpbridge.ErrCorrupt)
	}
	tok.Address = c.addr.Python()
	exposed = slices.Clone(exposed)
	if !incref {
		return &Proxy{client: c, token: tok, exposed: exposed}, nil
	}
	if err := c.Incref(ctx, tok.ID); err != nil {
		return nil, err
	}
	return c.newProxy(tok, exposed), nil
}

// Token returns the proxy's token (typeid, server address, ident).
func (p *Proxy) Token() Token { return p.token }

// Exposed returns the methods the server allows on the object (nil if
// unknown, see [Client.ProxyFor]).
func (p *Proxy) Exposed() []string { return slices.Clone(p.exposed) }

// Owned reports whether the proxy holds a reference on the server (see
// [Client.ProxyFor]).
func (p *Proxy) Owned() bool { return p.owned }

// PickleReduce makes the proxy picklable as CPython pickles an AutoProxy
// outside of spawning: RebuildProxy(AutoProxy, token, 'pickle',
// {'exposed': names}) (exposed None when unknown, so that the receiver
// asks the server). Wrap the proxy in a typed proxy (NewDictProxy, ...)
// to pickle it as that proxy class.
func (p *Proxy) PickleReduce() (*pickle.Object, error) {
	kw := pickle.NewDict(1)
	var names any
	if p.exposed != nil {
		names = toTuple(p.exposed)
	}
	if err := kw.Set("exposed", names); err != nil {
		return nil, err
	}
	return rebuildProxyObject("AutoProxy", p.token, kw), nil
}

// rebuildProxyObject is RebuildProxy(managers.class, tok, 'pickle', kwds).
func rebuildProxyObject(class string, tok Token, kwds *pickle.Dict) *pickle.Object {
	return &pickle.Object{
		Callable: rebuildProxy,
		Kind:     pickle.Reduce,
		Args: pickle.Tuple{
			pickle.Global{Module: "multiprocessing.managers", Name: class},
			tok.Pickle(),
			"pickle",
			kwds,
		},
	}
}

// Client returns the client the proxy belongs to.
func (p *Proxy) Client() *Client { return p.client }

// Call invokes method on the referent with Python arguments (nil args and
// kwargs mean none) and returns its result in the pickle value model. A
// method listed in the typeid's method_to_typeid returns a new *Proxy. A
// Python exception raised by the method is returned as a
// *pickle.Exception (errors.Is(err, mpbridge.ErrEmpty) holds for
// queue.Empty); failures the server reports as text are *RemoteError.
//
// If ctx ends while the call is in progress, Call returns at once and the
// connection is dropped; a Python server thread blocked in that call stays
// blocked until the call completes on its own (a Go server cancels it).
// Methods such as queue get are better called with a timeout argument, as
// QueueProxy does.
func (p *Proxy) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	kind, payload, err := p.client.callMethod(ctx, p.token.ID, method, args, kwargs)
	if err != nil {
		return nil, err
	}
	return p.client.result(ctx, kind, payload)
}

// Repr returns repr() of the referent (the __repr__ fallback every server
// supports).
func (p *Proxy) Repr(ctx context.Context) (string, error) {
	v, err := p.Call(ctx, "__repr__", nil, nil)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("manager: __repr__ returned %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	return s, nil
}

// GetValue returns a copy of the referent (proxy._getvalue()).
func (p *Proxy) GetValue(ctx context.Context) (any, error) {
	return p.Call(ctx, "#GETVALUE", nil, nil)
}

func (p *Proxy) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("manager: proxy %s: %w", p.token.ID, mpbridge.ErrClosed)
	}
	return nil
}

// Close drops the proxy's reference on the server (decref), if it holds
// one. Closing twice is not an error.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cleanup.Stop()
	p.mu.Unlock()
	if !p.owned || p.client.isClosed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.client.Decref(ctx, p.token.ID)
}

// String describes the proxy like Python's BaseProxy.__repr__.
func (p *Proxy) String() string {
	return fmt.Sprintf("<Proxy object, typeid %s, id %s>", pickle.Repr(p.token.Typeid), p.token.ID)
}
