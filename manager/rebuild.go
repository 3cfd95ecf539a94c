package manager

import (
	"context"

	"github.com/mpbridge/mpbridge/pickle"
)

// rebuildProxyName is how every pickled proxy names its rebuilding
// function; a reply without these bytes holds no proxy.
var rebuildProxyName = []byte("RebuildProxy")

// withProxies is a #RETURN payload whose pickle mentions RebuildProxy:
// Client.result rebuilds the proxies in it.
type withProxies struct{ v any }

// plainPayload is a payload as decoded, for replies that need no proxies
// rebuilt (the server's own methods).
func plainPayload(payload any) any {
	if w, ok := payload.(withProxies); ok {
		return w.v
	}
	return payload
}

// maxRebuildDepth bounds the walk through nested containers.
const maxRebuildDepth = 200

// rebuildProxies replaces every pickled proxy in v — at the top, or inside
// tuples, lists and dict values, however deep — by a proxy of this client,
// as unpickling a result does in a Python client (RebuildProxy): a dict
// proxy's d["k"] holding a list proxy gives a *ListProxy. Each rebuilt
// proxy takes a reference of its own (incref now, decref on Close) unless
// the pickle says incref=False, and a proxy pickled twice in one value is
// rebuilt once. The token's address is replaced by the one this client
// dialled, so the object must live on this client's server, as is the
// case for every proxy a SyncManager's objects hold. Containers are
// changed in place; v is a freshly decoded value.
func (c *Client) rebuildProxies(ctx context.Context, v any) (any, error) {
	r := rebuilder{c: c, ctx: ctx, done: map[*pickle.Object]any{}, seen: map[any]bool{}}
	return r.walk(v, 0)
}

type rebuilder struct {
	c    *Client
	ctx  context.Context
	done map[*pickle.Object]any // pickled proxy → its rebuilt proxy
	seen map[any]bool           // lists and dicts already walked (cycles)
}

func (r *rebuilder) walk(v any, depth int) (any, error) {
	if depth > maxRebuildDepth {
		return v, nil
	}
	switch x := v.(type) {
	case *pickle.Object:
		if x.Callable == rebuildProxy {
			return r.proxy(x)
		}
		return v, nil
	case pickle.Tuple:
		for i, e := range x {
			ne, err := r.walk(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = ne
		}
	case *pickle.List:
		if x == nil || r.seen[x] {
			return v, nil
		}
		r.seen[x] = true
		for i, e := range *x {
			ne, err := r.walk(e, depth+1)
			if err != nil {
				return nil, err
			}
			(*x)[i] = ne
		}
	case *pickle.Dict:
		if x == nil || r.seen[x] {
			return v, nil
		}
		r.seen[x] = true
		var keys, vals []any
		for k, e := range x.All() {
			ne, err := r.walk(e, depth+1)
			if err != nil {
				return nil, err
			}
			if ne != e {
				keys, vals = append(keys, k), append(vals, ne)
			}
		}
		for i, k := range keys {
			if err := x.Set(k, vals[i]); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// proxy rebuilds one RebuildProxy(func, token, serializer, kwds).
func (r *rebuilder) proxy(o *pickle.Object) (any, error) {
	if p, ok := r.done[o]; ok {
		return p, nil
	}
	if len(o.Args) < 2 {
		return o, nil
	}
	tok, err := TokenFromPickle(o.Args[1])
	if err != nil {
		return o, nil // not a proxy after all: keep the value as decoded
	}
	var exposed []string
	incref := true
	if len(o.Args) >= 4 {
		if kw, ok := o.Args[3].(*pickle.Dict); ok {
			if e, ok := kw.Get("exposed"); ok && e != nil {
				if exposed, err = stringList(e); err != nil {
					return nil, err
				}
			}
			if b, ok := kw.Get("incref"); ok {
				if b, ok := b.(bool); ok {
					incref = b
				}
			}
		}
	}
	p, err := r.c.ProxyFor(r.ctx, tok, exposed, incref)
	if err != nil {
		return nil, err
	}
	class := ""
	if g, ok := o.Args[0].(pickle.Global); ok && g.Module == "multiprocessing.managers" {
		class = g.Name
	}
	typed := typedProxy(class, tok.Typeid, p)
	r.done[o] = typed
	return typed, nil
}

// typedProxy wraps p in the Go type of the Python proxy class CPython
// would rebuild (its SyncManager classes, and AutoProxy of a queue);
// any other class stays a *Proxy.
func typedProxy(class, typeid string, p *Proxy) any {
	switch class {
	case "DictProxy":
		return NewDictProxy(p)
	case "ListProxy":
		return NewListProxy(p)
	case "IteratorProxy":
		return NewIteratorProxy(p)
	case "ValueProxy":
		return NewValueProxy(p)
	case "ArrayProxy":
		return NewArrayProxy(p)
	case "NamespaceProxy":
		return NewNamespaceProxy(p)
	case "AcquirerProxy":
		if typeid == "RLock" {
			return NewRLockProxy(p)
		}
		return NewLockProxy(p)
	case "ConditionProxy":
		return NewConditionProxy(p)
	case "EventProxy":
		return NewEventProxy(p)
	case "BarrierProxy":
		return NewBarrierProxy(p)
	case "AutoProxy":
		if typeid == "Queue" || typeid == "JoinableQueue" {
			return NewQueueProxy(p)
		}
	}
	return p
}
