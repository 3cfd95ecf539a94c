package spawn

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

// rebuildProxyFunc is multiprocessing.managers.RebuildProxy.
var rebuildProxyFunc = pickle.Global{Module: "multiprocessing.managers", Name: "RebuildProxy"}

// autoProxyClass is multiprocessing.managers.AutoProxy.
var autoProxyClass = pickle.Global{Module: "multiprocessing.managers", Name: "AutoProxy"}

func init() {
	rebuilders[rebuildProxyFunc] = rebuildProxy
	passers = append(passers, passProxy)
}

// rebuildProxy rebuilds a manager proxy, which Python pickles while
// spawning as RebuildProxy(func, token, serializer, kwds), as RebuildProxy
// does during a child's bootstrap: a proxy of the token on a client of the
// token's address, authenticating with kwds['authkey'] (else the child's
// own authkey), holding no reference of its own (no incref, no decref: the
// parent's proxy keeps the referent alive). Proxies of one manager share
// one client. An AutoProxy of a queue becomes a *manager.QueueProxy, any
// other proxy a *manager.Proxy (wrap it with manager.NewDictProxy and the
// like for the typed API).
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
	authkey := r.info.Authkey
	var exposed []string
	if kw, ok := o.Args[3].(*pickle.Dict); ok {
		if v, ok := kw.Get("authkey"); ok {
			if authkey, err = authkeyBytes(v); err != nil {
				return nil, err
			}
		}
		if v, ok := kw.Get("exposed"); ok && v != nil {
			if exposed, err = asStrings(v, "exposed"); err != nil {
				return nil, err
			}
		}
	}
	c, err := r.managerClient(addr, authkey)
	if err != nil {
		return nil, err
	}
	// No incref: nothing is sent, the context is not used.
	p, err := c.ProxyFor(context.Background(), tok, exposed, false)
	if err != nil {
		return nil, err
	}
	if class == autoProxyClass && isQueue(tok.Typeid, exposed) {
		q := manager.NewQueueProxy(p)
		r.onExit(func(context.Context) error { return q.Close() })
		return q, nil
	}
	r.onExit(func(context.Context) error { return p.Close() })
	return p, nil
}

// queueMethods are the methods of queue.Queue a QueueProxy calls.
var queueMethods = []string{"empty", "full", "get", "get_nowait", "put", "put_nowait", "qsize"}

// isQueue reports whether an AutoProxy's referent is a queue: it exposes
// queue.Queue's methods, or, with exposed unknown, it has one of
// SyncManager's queue typeids.
func isQueue(typeid string, exposed []string) bool {
	if exposed == nil {
		return typeid == "Queue" || typeid == "JoinableQueue"
	}
	for _, m := range queueMethods {
		if !slices.Contains(exposed, m) {
			return false
		}
	}
	return true
}

// managerClient returns the child's client of the manager at addr with
// authkey, made on first use and closed when the target has returned
// (after the proxies using it, finalizers running newest first).
func (r *rebuilder) managerClient(addr string, authkey []byte) (*manager.Client, error) {
	key := addr + "\x00" + string(authkey)
	if c, ok := r.managers[key]; ok {
		return c, nil
	}
	c, err := manager.NewClient(addr, authkey, &manager.Options{Name: r.info.Name})
	if err != nil {
		return nil, err
	}
	if r.managers == nil {
		r.managers = map[string]*manager.Client{}
	}
	r.managers[key] = c
	r.onExit(func(context.Context) error { return c.Close() })
	return c, nil
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

// passProxy passes a manager proxy (*manager.Proxy, *manager.QueueProxy or
// a typed proxy such as *manager.DictProxy) to a child as CPython pickles a
// proxy while spawning: its own pickled form, RebuildProxy(class, token,
// 'pickle', kwds), with kwds['authkey'] set to the key of the proxy's
// client, so that the child reaches the manager whatever its own authkey.
func passProxy(v any) (any, bool, error) {
	var c *manager.Client
	switch x := v.(type) {
	case *manager.Proxy:
		c = x.Client()
	case *manager.QueueProxy:
		c = x.Client()
	case interface{ Proxy() *manager.Proxy }:
		c = x.Proxy().Client()
	default:
		return nil, false, nil
	}
	r, ok := v.(pickle.Reducer)
	if !ok {
		return nil, false, fmt.Errorf("spawn: %T cannot be pickled", v)
	}
	o, err := r.PickleReduce()
	if err != nil {
		return nil, false, fmt.Errorf("spawn: pickling %T: %w", v, err)
	}
	if len(o.Args) != 4 {
		return nil, false, fmt.Errorf("spawn: %T pickles as %s, not RebuildProxy(...)", v, pickle.Repr(o.Callable))
	}
	// BaseProxy.__reduce__ sets 'authkey' first, then 'exposed'.
	kw := pickle.NewDict(2)
	if err := kw.Set("authkey", authString(c.Authkey())); err != nil {
		return nil, false, err
	}
	if old, ok := o.Args[3].(*pickle.Dict); ok {
		for k, e := range old.All() {
			if err := kw.Set(k, e); err != nil {
				return nil, false, err
			}
		}
	}
	args := slices.Clone(o.Args)
	args[3] = kw
	return &pickle.Object{Callable: o.Callable, Kind: o.Kind, Args: args}, true, nil
}
