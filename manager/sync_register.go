package manager

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mpbridge/mpbridge/manager/syncobj"
	"github.com/mpbridge/mpbridge/pickle"
)

// RegisterSyncManagerTypes registers on srv every typeid of Python's
// multiprocessing.managers.SyncManager, served by Go objects with Python's
// semantics: Queue and JoinableQueue (a new [Queue] per create, as
// queue.Queue(maxsize=0)), Event, Lock, RLock, Semaphore,
// BoundedSemaphore, Condition, Barrier, Pool (which refuses to run
// Python code), list, dict, Value, Array, Namespace, and Iterator (what
// iterating a dict proxy creates). With them a Go server is a drop-in for
// the server process multiprocessing.Manager() starts. It never fails;
// the error result lets `mpbridge serve` list it among its default
// registrations.
func RegisterSyncManagerTypes(srv *Server) error {
	for _, typeid := range []string{"Queue", "JoinableQueue"} {
		srv.Register(typeid, func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (Object, error) {
			v, err := (Signature{Name: "Queue.__init__", Params: []string{"maxsize"}, Defaults: []any{int64(0)}}).Bind(args, kwargs)
			if err != nil {
				return nil, err
			}
			n, ok := v[0].(int64)
			if !ok {
				if b, isBool := v[0].(bool); isBool {
					n, ok = map[bool]int64{false: 0, true: 1}[b], true
				}
			}
			if !ok {
				return nil, ExcTypeError(fmt.Sprintf("'>' not supported between instances of '%s' and 'int'", PyTypeName(v[0])))
			}
			return NewQueue(int(n)), nil
		}, nil)
	}
	for _, t := range syncobj.Types() {
		opts := &RegisterOptions{Exposed: t.Exposed, MethodToTypeid: t.MethodToTypeid}
		if t.New == nil {
			srv.Register(t.Typeid, nil, opts)
			continue
		}
		newObj := t.New
		srv.Register(t.Typeid, func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (Object, error) {
			keepNestedProxies(srv, args, kwargs)
			obj, err := newObj(args, kwargs, func(v any) (syncobj.Object, bool) { return resolveProxy(srv, v) })
			if err != nil {
				return nil, err
			}
			return wrapSync(srv, obj, t.Exposed), nil
		}, opts)
	}
	return nil
}

// syncObject serves a syncobj.Object: the caller's connection is its
// owner, shared objects it returns (a dict's iterator) are served in
// turn, and proxies of this server's objects that arrive as arguments
// keep their objects alive, as CPython's id_to_local_proxy_obj does.
type syncObject struct {
	srv     *Server
	obj     syncobj.Object
	exposed []string

	mu      sync.Mutex
	holders map[uint64]bool // connections that may hold an RLock or Condition
}

// syncValueObject is a syncObject whose referent can be copied to the
// client (#GETVALUE); a syncObject alone answers it #UNSERIALIZABLE, as
// CPython does for a lock.
type syncValueObject struct{ *syncObject }

func wrapSync(srv *Server, obj syncobj.Object, exposed []string) Object {
	s := &syncObject{srv: srv, obj: obj, exposed: exposed}
	if _, ok := obj.(syncobj.Valuer); ok {
		return syncValueObject{s}
	}
	return s
}

// PyValue implements Valuer.
func (s syncValueObject) PyValue() (any, error) { return s.obj.(syncobj.Valuer).Value() }

// Exposed implements Object.
func (s *syncObject) Exposed() []string { return s.exposed }

// PyRepr implements Reprer.
func (s *syncObject) PyRepr() string {
	if r, ok := s.obj.(syncobj.Reprer); ok {
		return r.Repr()
	}
	return fmt.Sprintf("<%T object>", s.obj)
}

// MayBlock implements Blocker, asking the object (only acquire and the
// waits of the synchronization types can block).
func (s *syncObject) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	if b, ok := s.obj.(syncobj.Blocker); ok {
		return b.MayBlock(method, args, kwargs)
	}
	return false
}

// Call implements Object.
func (s *syncObject) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	caller, _ := CallerFromContext(ctx)
	keepNestedProxies(s.srv, args, kwargs)
	res, err := s.obj.Call(ctx, caller.ConnID, method, args, kwargs)
	if err != nil {
		var na *syncobj.NoAttributeError
		if errors.As(err, &na) {
			return nil, fmt.Errorf("%w: %s", ErrNoMethod, na.Error())
		}
		return nil, err
	}
	if method == "acquire" && res == true {
		s.watchOwner(ctx, caller.ConnID)
		// A lock taken for a client that is gone before the reply reaches
		// it is given back (CPython's server would keep it taken).
		return Raw{Pickle: pickledTrue, Undelivered: func() {
			_, _ = s.obj.Call(context.Background(), caller.ConnID, "release", nil, nil)
		}}, nil
	}
	if o, ok := res.(syncobj.Object); ok {
		return wrapSync(s.srv, o, iteratorExposed), nil
	}
	return res, nil
}

// watchOwner makes the RLock or Condition release what a connection
// still holds when the connection closes (CPython's server would keep it
// locked forever). ctx is the connection's: it ends when the connection
// does.
func (s *syncObject) watchOwner(ctx context.Context, conn uint64) {
	r, ok := s.obj.(syncobj.Releaser)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holders[conn] {
		return
	}
	if s.holders == nil {
		s.holders = map[uint64]bool{}
	}
	s.holders[conn] = true
	context.AfterFunc(ctx, func() {
		r.ReleaseOwner(conn)
		s.mu.Lock()
		delete(s.holders, conn)
		s.mu.Unlock()
	})
}

// iteratorExposed is what IteratorProxy exposes: the only shared objects
// that methods of SyncManager's types return are iterators.
var iteratorExposed = []string{"__next__", "send", "throw", "close"}

// pickledTrue is True as a protocol 2 pickle.
var pickledTrue = []byte{0x80, 0x02, 0x88, '.'}

var rebuildProxy = pickle.Global{Module: "multiprocessing.managers", Name: "RebuildProxy"}

// proxyIdent returns the ident in a pickled proxy,
// RebuildProxy(func, Token(typeid, address, id), serializer, kwds).
func proxyIdent(v any) (string, bool) {
	o, ok := v.(*pickle.Object)
	if !ok || o.Callable != rebuildProxy || len(o.Args) < 2 {
		return "", false
	}
	tok, err := TokenFromPickle(o.Args[1])
	if err != nil {
		return "", false
	}
	return tok.ID, true
}

// resolveProxy returns the object of this server a pickled proxy refers
// to, whatever address the client dialled.
func resolveProxy(srv *Server, v any) (syncobj.Object, bool) {
	ident, ok := proxyIdent(v)
	if !ok {
		return nil, false
	}
	obj, ok := srv.KeepLocal(ident)
	if !ok {
		return nil, false
	}
	switch x := obj.(type) {
	case *syncObject:
		return x.obj, true
	case syncValueObject:
		return x.obj, true
	}
	return nil, false
}

// keepNestedProxies marks every object of this server that a pickled
// proxy among the arguments refers to as referenced from inside the
// server, as unpickling such a proxy in CPython's server does
// (RebuildProxy stores it in id_to_local_proxy_obj): a dict that holds a
// list proxy keeps the list alive after the client's proxies are gone.
func keepNestedProxies(srv *Server, args pickle.Tuple, kwargs *pickle.Dict) {
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 100 {
			return
		}
		switch x := v.(type) {
		case pickle.Tuple:
			for _, e := range x {
				walk(e, depth+1)
			}
		case *pickle.List:
			for _, e := range *x {
				walk(e, depth+1)
			}
		case *pickle.Dict:
			for k, e := range x.All() {
				walk(k, depth+1)
				walk(e, depth+1)
			}
		case *pickle.Object:
			if ident, ok := proxyIdent(x); ok {
				srv.KeepLocal(ident)
				return
			}
			walk(x.Args, depth+1)
			walk(x.State, depth+1)
			for _, e := range x.ListItems {
				walk(e, depth+1)
			}
			for _, p := range x.DictItems {
				walk(p.Key, depth+1)
				walk(p.Value, depth+1)
			}
		}
	}
	walk(args, 0)
	if kwargs != nil {
		walk(kwargs, 0)
	}
}
