package syncobj

import (
	"github.com/mpbridge/mpbridge/pickle"
)

// Resolver returns the live shared object of this server that a value
// refers to (a pickled proxy whose token names one of its objects), or
// false. Constructors that take shared objects as arguments, such as
// Condition(lock), use it.
type Resolver func(v any) (Object, bool)

// Type is one SyncManager typeid: how to make its objects and what its
// Python proxy sees, as SyncManager.register records it.
type Type struct {
	// Typeid is the name clients create objects by, e.g. "dict".
	Typeid string
	// New makes an object from the arguments of a create request. It is
	// nil for typeids that only method results create (Iterator).
	New func(args pickle.Tuple, kwargs *pickle.Dict, resolve Resolver) (Object, error)
	// Exposed are the methods the proxy may call, in the order of the
	// proxy class's _exposed_ (the order CPython's create reply lists).
	Exposed []string
	// MethodToTypeid maps methods whose result becomes a new shared
	// object to that object's typeid.
	MethodToTypeid map[string]string
	// Proxy is the name of the Python proxy class in
	// multiprocessing.managers, e.g. "DictProxy".
	Proxy string
}

// Types returns every SyncManager typeid this package implements, in the
// order SyncManager registers them: Event, Lock, RLock, Semaphore,
// BoundedSemaphore, Condition, Barrier, Pool, list, dict, Value, Array,
// Namespace and Iterator. (Queue and JoinableQueue are package manager's;
// AsyncResult only a Pool could create.)
func Types() []Type {
	acquirer := []string{"acquire", "release"}
	return []Type{
		{Typeid: "Event", Proxy: "EventProxy", Exposed: []string{"is_set", "set", "clear", "wait"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				if _, _, err := (pyfunc{name: "Event.__init__", method: true}).bind(args, kwargs); err != nil {
					return nil, err
				}
				return NewEvent(), nil
			}},
		{Typeid: "Lock", Proxy: "AcquirerProxy", Exposed: acquirer,
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				if err := noArgs("allocate_lock", args, kwargs); err != nil {
					return nil, err
				}
				return NewLock(), nil
			}},
		{Typeid: "RLock", Proxy: "AcquirerProxy", Exposed: acquirer,
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				if len(args) > 0 || kwLen(kwargs) > 0 {
					return nil, typeErr("RLock() takes no arguments")
				}
				return NewRLock(), nil
			}},
		{Typeid: "Semaphore", Proxy: "AcquirerProxy", Exposed: acquirer,
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewSemaphore(false, args, kwargs))
			}},
		{Typeid: "BoundedSemaphore", Proxy: "AcquirerProxy", Exposed: acquirer,
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewSemaphore(true, args, kwargs))
			}},
		{Typeid: "Condition", Proxy: "ConditionProxy", Exposed: []string{"acquire", "release", "wait", "notify", "notify_all"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, resolve Resolver) (Object, error) {
				v, _, err := pyfunc{name: "Condition.__init__", params: []string{"lock"}, defaults: []any{nil}, method: true}.bind(args, kwargs)
				if err != nil {
					return nil, err
				}
				var lock Object
				if v[0] != nil {
					var ok bool
					if resolve != nil {
						lock, ok = resolve(v[0])
					}
					if !ok {
						if _, isObj := v[0].(*pickle.Object); !isObj {
							return nil, attrErr("'%s' object has no attribute 'acquire'", TypeName(v[0]))
						}
						return nil, exc("NotImplementedError", "mpbridge: a Condition's lock must be a Lock or an RLock of the same manager")
					}
				}
				return nonNil(NewCondition(lock))
			}},
		{Typeid: "Barrier", Proxy: "BarrierProxy", Exposed: []string{"__getattribute__", "wait", "abort", "reset"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewBarrier(args, kwargs))
			}},
		{Typeid: "Pool", Proxy: "PoolProxy",
			Exposed: []string{"apply", "apply_async", "close", "imap", "imap_unordered", "join", "map", "map_async", "starmap", "starmap_async", "terminate"},
			MethodToTypeid: map[string]string{
				"apply_async": "AsyncResult", "map_async": "AsyncResult", "starmap_async": "AsyncResult",
				"imap": "Iterator", "imap_unordered": "Iterator",
			},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewPool(args, kwargs))
			}},
		{Typeid: "list", Proxy: "ListProxy",
			Exposed: []string{"__add__", "__contains__", "__delitem__", "__getitem__", "__len__", "__mul__", "__reversed__", "__rmul__", "__setitem__",
				"append", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort", "__imul__"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewList(args, kwargs))
			}},
		{Typeid: "dict", Proxy: "DictProxy",
			Exposed: []string{"__contains__", "__delitem__", "__getitem__", "__iter__", "__len__", "__setitem__", "clear", "copy", "get", "items",
				"keys", "pop", "popitem", "setdefault", "update", "values"},
			MethodToTypeid: map[string]string{"__iter__": "Iterator"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewDict(args, kwargs))
			}},
		{Typeid: "Value", Proxy: "ValueProxy", Exposed: []string{"get", "set"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewValue(args, kwargs))
			}},
		{Typeid: "Array", Proxy: "ArrayProxy", Exposed: []string{"__len__", "__getitem__", "__setitem__"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewArray(args, kwargs))
			}},
		{Typeid: "Namespace", Proxy: "NamespaceProxy", Exposed: []string{"__getattribute__", "__setattr__", "__delattr__"},
			New: func(args pickle.Tuple, kwargs *pickle.Dict, _ Resolver) (Object, error) {
				return nonNil(NewNamespace(args, kwargs))
			}},
		{Typeid: "Iterator", Proxy: "IteratorProxy", Exposed: []string{"__next__", "send", "throw", "close"}},
	}
}

// nonNil converts a typed constructor result to an Object, keeping a nil
// pointer from becoming a non-nil interface.
func nonNil[T Object](o T, err error) (Object, error) {
	if err != nil {
		return nil, err
	}
	return o, nil
}
