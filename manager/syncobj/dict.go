package syncobj

import (
	"context"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// Dict is a Python dict shared through a manager (SyncManager.dict):
// insertion-ordered, with Python's key semantics (1, 1.0 and True are one
// key; lists, dicts and sets cannot be keys).
type Dict struct {
	mu sync.Mutex
	d  *pickle.Dict
	// version counts changes of the key set, for the iterators.
	version uint64
}

// NewDict is dict(mapping_or_iterable=(), **kwargs).
func NewDict(args pickle.Tuple, kwargs *pickle.Dict) (*Dict, error) {
	d := &Dict{d: pickle.NewDict(0)}
	if len(args) > 1 {
		return nil, typeErr("dict expected at most 1 argument, got %d", len(args))
	}
	if err := d.update(args, kwargs); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dict) set(k, v any) error {
	if err := checkHashable(k); err != nil {
		return err
	}
	n := d.d.Len()
	if err := d.d.Set(k, v); err != nil {
		return typeErr("unhashable type: '%s'", TypeName(k))
	}
	if d.d.Len() != n {
		d.version++
	}
	return nil
}

func (d *Dict) get(k any) (any, bool, error) {
	if err := checkHashable(k); err != nil {
		return nil, false, err
	}
	v, ok := d.d.Get(k)
	return v, ok, nil
}

func (d *Dict) del(k any) (any, bool, error) {
	v, ok, err := d.get(k)
	if err != nil || !ok {
		return nil, false, err
	}
	d.d.Delete(k)
	d.version++
	return v, true, nil
}

// copyDict is a shallow copy as a new Python dict.
func copyDict(src *pickle.Dict) *pickle.Dict {
	out := pickle.NewDict(src.Len())
	for k, v := range src.All() {
		_ = out.Set(k, v)
	}
	return out
}

// Call implements [Object] with the methods of Python's dict; __iter__
// returns an *Iterator, which the manager serves as a new shared object.
func (d *Dict) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch method {
	case "__len__":
		if err := wrapperArgs(method, args, kwargs, 0); err != nil {
			return nil, err
		}
		return int64(d.d.Len()), nil
	case "__getitem__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		v, ok, err := d.get(args[0])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, keyErr(args[0])
		}
		return v, nil
	case "__setitem__":
		if err := wrapperArgs(method, args, kwargs, 2); err != nil {
			return nil, err
		}
		return nil, d.set(args[0], args[1])
	case "__delitem__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		_, ok, err := d.del(args[0])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, keyErr(args[0])
		}
		return nil, nil
	case "__contains__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		_, ok, err := d.get(args[0])
		return ok, err
	case "__iter__":
		if err := wrapperArgs(method, args, kwargs, 0); err != nil {
			return nil, err
		}
		return newDictIterator(d), nil
	case "get", "setdefault":
		if err := posArgs("dict."+method, method, args, kwargs, 1, 2); err != nil {
			return nil, err
		}
		var def any
		if len(args) == 2 {
			def = args[1]
		}
		v, ok, err := d.get(args[0])
		if err != nil || ok {
			return v, err
		}
		if method == "setdefault" {
			if err := d.set(args[0], def); err != nil {
				return nil, err
			}
		}
		return def, nil
	case "pop":
		if err := posArgs("dict.pop", "pop", args, kwargs, 1, 2); err != nil {
			return nil, err
		}
		v, ok, err := d.del(args[0])
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, keyErr(args[0])
		}
		return v, nil
	case "popitem":
		if err := noArgs("dict.popitem", args, kwargs); err != nil {
			return nil, err
		}
		if d.d.Len() == 0 {
			return nil, keyErr("popitem(): dictionary is empty")
		}
		keys := d.d.Keys()
		k := keys[len(keys)-1]
		v, _, _ := d.del(k)
		return pickle.Tuple{k, v}, nil
	case "keys", "values", "items":
		if err := noArgs("dict."+method, args, kwargs); err != nil {
			return nil, err
		}
		// The dict views travel as lists (managers.py reduces them so).
		out := make([]any, 0, d.d.Len())
		for k, v := range d.d.All() {
			switch method {
			case "keys":
				out = append(out, k)
			case "values":
				out = append(out, v)
			default:
				out = append(out, pickle.Tuple{k, v})
			}
		}
		return newPyList(out), nil
	case "copy":
		if err := noArgs("dict.copy", args, kwargs); err != nil {
			return nil, err
		}
		return copyDict(d.d), nil
	case "clear":
		if err := noArgs("dict.clear", args, kwargs); err != nil {
			return nil, err
		}
		d.d.Clear()
		d.version++
		return nil, nil
	case "update":
		if len(args) > 1 {
			return nil, typeErr("update expected at most 1 argument, got %d", len(args))
		}
		return nil, d.update(args, kwargs)
	}
	return nil, noAttr("dict", method)
}

// update is dict.update(E, **F): E a mapping or an iterable of pairs.
// Items already inserted when an error occurs stay, as in Python.
func (d *Dict) update(args pickle.Tuple, kwargs *pickle.Dict) error {
	if len(args) == 1 {
		if m, ok := mappingItems(args[0]); ok {
			for _, p := range m {
				if err := d.set(p.Key, p.Value); err != nil {
					return err
				}
			}
		} else {
			seq, err := Iterate(args[0])
			if err != nil {
				return err
			}
			for i, e := range seq {
				pair, err := Iterate(e)
				if err != nil {
					return typeErr("cannot convert dictionary update sequence element #%d to a sequence", i)
				}
				if len(pair) != 2 {
					return valueErr("dictionary update sequence element #%d has length %d; 2 is required", i, len(pair))
				}
				if err := d.set(pair[0], pair[1]); err != nil {
					return err
				}
			}
		}
	}
	for k, v := range kwItems(kwargs) {
		if err := d.set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// mappingItems returns the items of a value Python treats as a mapping
// (it has keys()): a dict, or a pickled OrderedDict, defaultdict or
// Counter.
func mappingItems(v any) ([]pickle.Pair, bool) {
	switch x := v.(type) {
	case *pickle.Dict:
		out := make([]pickle.Pair, 0, x.Len())
		for k, v := range x.All() {
			out = append(out, pickle.Pair{Key: k, Value: v})
		}
		return out, true
	case *pickle.Object:
		switch objectClass(x) {
		case pickle.Global{Module: "collections", Name: "OrderedDict"},
			pickle.Global{Module: "collections", Name: "defaultdict"},
			pickle.Global{Module: "collections", Name: "Counter"}:
			out := append([]pickle.Pair(nil), x.DictItems...)
			if st, ok := x.State.(*pickle.Dict); ok && objectClass(x).Name == "Counter" {
				for k, v := range st.All() {
					out = append(out, pickle.Pair{Key: k, Value: v})
				}
			}
			return out, true
		}
	}
	return nil, false
}

// Repr is repr(dict).
func (d *Dict) Repr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Repr(d.d)
}

// Value is a copy of the dict.
func (d *Dict) Value() (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return copyDict(d.d), nil
}

// Iterator is the shared object a dict proxy's __iter__ returns (typeid
// Iterator): Python's dict_keyiterator, served over the wire.
type Iterator struct {
	mu      sync.Mutex
	d       *Dict
	keys    []any // the keys when iteration started
	pos     int
	size    int    // the dict's length when iteration started
	version uint64 // the dict's key-set version when iteration started
	broken  bool   // the dict changed size: every next raises
	done    bool
}

func newDictIterator(d *Dict) *Iterator {
	return &Iterator{d: d, keys: d.d.Keys(), size: d.d.Len(), version: d.version}
}

// Call implements [Object]: __next__. Python's dict_keyiterator has no
// send, throw or close, so those are missing attributes, as in CPython.
func (it *Iterator) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "__next__":
		if err := wrapperArgs(method, args, kwargs, 0); err != nil {
			return nil, err
		}
		return it.next()
	}
	return nil, noAttr("dict_keyiterator", method)
}

func stopIteration() error { return exc("StopIteration") }

func (it *Iterator) next() (any, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.done {
		return nil, stopIteration()
	}
	d := it.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if it.broken || d.d.Len() != it.size {
		it.broken = true
		return nil, runtimeErr("dictionary changed size during iteration")
	}
	changed := d.version != it.version
	for it.pos < len(it.keys) {
		k := it.keys[it.pos]
		it.pos++
		if !changed {
			return k, nil
		}
		if _, ok := d.d.Get(k); ok {
			return k, nil
		}
	}
	if changed {
		it.done = true
		return nil, runtimeErr("dictionary keys changed during iteration")
	}
	it.done = true
	it.keys = nil
	return nil, stopIteration()
}

// Repr is the iterator's repr, without CPython's address.
func (it *Iterator) Repr() string { return "<dict_keyiterator object>" }

// Value is the iterator as CPython pickles it: iter(remaining keys).
func (it *Iterator) Value() (any, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	return &pickle.Object{
		Callable: pickle.Global{Module: "builtins", Name: "iter"},
		Kind:     pickle.Reduce,
		Args:     pickle.Tuple{newPyList(append([]any(nil), it.keys[it.pos:]...))},
	}, nil
}
