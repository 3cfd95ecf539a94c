package syncobj

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// Value is multiprocessing.managers.Value: a typecode (kept, not
// checked, as in CPython) and a value of any type.
type Value struct {
	mu       sync.Mutex
	typecode any
	value    any
}

// NewValue is managers.Value(typecode, value, lock=True).
func NewValue(args pickle.Tuple, kwargs *pickle.Dict) (*Value, error) {
	v, _, err := pyfunc{name: "Value.__init__", params: []string{"typecode", "value", "lock"}, defaults: []any{true}, method: true}.bind(args, kwargs)
	if err != nil {
		return nil, err
	}
	return &Value{typecode: v[0], value: v[1]}, nil
}

// Call implements [Object]: get, set.
func (v *Value) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "get":
		if _, _, err := (pyfunc{name: "Value.get", method: true}).bind(args, kwargs); err != nil {
			return nil, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.value, nil
	case "set":
		a, _, err := pyfunc{name: "Value.set", params: []string{"value"}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.value = a[0]
		return nil, nil
	}
	return nil, noAttr("Value", method)
}

// Repr is "Value('i', 5)".
func (v *Value) Repr() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return "Value(" + Repr(v.typecode) + ", " + Repr(v.value) + ")"
}

// Value is the object as CPython pickles a managers.Value.
func (v *Value) Value() (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := pickle.NewDict(2)
	_ = st.Set("_typecode", v.typecode)
	_ = st.Set("_value", v.value)
	return &pickle.Object{
		Callable: pickle.Global{Module: "multiprocessing.managers", Name: "Value"},
		Kind:     pickle.NewObj,
		Args:     pickle.Tuple{},
		State:    st,
		HasState: true,
	}, nil
}

// Namespace is multiprocessing.managers.Namespace: attributes set and
// read by name.
type Namespace struct {
	mu    sync.Mutex
	attrs *pickle.Dict
}

// NewNamespace is managers.Namespace(**kwargs).
func NewNamespace(args pickle.Tuple, kwargs *pickle.Dict) (*Namespace, error) {
	_, kw, err := pyfunc{name: "Namespace.__init__", varKw: true, method: true}.bind(args, kwargs)
	if err != nil {
		return nil, err
	}
	if kw == nil {
		kw = pickle.NewDict(0)
	}
	return &Namespace{attrs: kw}, nil
}

// Call implements [Object]: __getattribute__, __setattr__, __delattr__.
func (n *Namespace) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch method {
	case "__getattribute__":
		name, err := oneArgName(method, args, kwargs)
		if err != nil {
			return nil, err
		}
		if v, ok := n.attrs.Get(name); ok {
			return v, nil
		}
		switch name {
		case "__dict__":
			return copyDict(n.attrs), nil
		case "__module__":
			return "multiprocessing.managers", nil
		case "__class__":
			return pickle.Global{Module: "multiprocessing.managers", Name: "Namespace"}, nil
		}
		return nil, attrErr("'Namespace' object has no attribute '%s'", name)
	case "__setattr__":
		if err := wrapperArgs(method, args, kwargs, 2); err != nil {
			return nil, err
		}
		name, ok := args[0].(string)
		if !ok {
			return nil, typeErr("attribute name must be string, not '%s'", TypeName(args[0]))
		}
		if name == "__dict__" {
			d, ok := args[1].(*pickle.Dict)
			if !ok {
				return nil, typeErr("__dict__ must be set to a dictionary, not a '%s'", TypeName(args[1]))
			}
			n.attrs = copyDict(d)
			return nil, nil
		}
		return nil, n.attrs.Set(name, args[1])
	case "__delattr__":
		name, err := oneArgName(method, args, kwargs)
		if err != nil {
			return nil, err
		}
		if !n.attrs.Delete(name) {
			return nil, attrErr("'Namespace' object has no attribute '%s'", name)
		}
		return nil, nil
	}
	return nil, noAttr("Namespace", method)
}

// namespaceRepr is Namespace.__repr__: the public attributes, sorted.
func namespaceRepr(attrs *pickle.Dict) string {
	var parts []string
	for k, v := range attrs.All() {
		if s, ok := k.(string); ok && !strings.HasPrefix(s, "_") {
			parts = append(parts, s+"="+Repr(v))
		}
	}
	slices.Sort(parts)
	return "Namespace(" + strings.Join(parts, ", ") + ")"
}

// Repr is "Namespace(a=1, b='x')".
func (n *Namespace) Repr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return namespaceRepr(n.attrs)
}

// Value is the object as CPython pickles a managers.Namespace.
func (n *Namespace) Value() (any, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return &pickle.Object{
		Callable: pickle.Global{Module: "multiprocessing.managers", Name: "Namespace"},
		Kind:     pickle.NewObj,
		Args:     pickle.Tuple{},
		State:    copyDict(n.attrs),
		HasState: true,
	}, nil
}

// Pool stands for multiprocessing.pool.Pool, which runs Python functions:
// mpbridge cannot, so every call that would run one raises
// NotImplementedError naming the limitation. close, terminate and join
// succeed, so that "with manager.Pool() as p:" exits cleanly.
type Pool struct{}

// NewPool accepts Pool's arguments and makes a Pool that runs nothing.
func NewPool(args pickle.Tuple, kwargs *pickle.Dict) (*Pool, error) {
	_, _, err := pyfunc{name: "Pool.__init__", params: []string{"processes", "initializer", "initargs", "maxtasksperchild", "context"},
		defaults: []any{nil, nil, pickle.Tuple{}, nil, nil}, method: true}.bind(args, kwargs)
	if err != nil {
		return nil, err
	}
	return &Pool{}, nil
}

// Call implements [Object].
func (p *Pool) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "close", "terminate", "join":
		return nil, nil
	case "apply", "apply_async", "map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async":
		return nil, notImplemented("Pool is not supported")
	}
	return nil, noAttr("Pool", method)
}

// Repr is the pool's repr.
func (p *Pool) Repr() string { return "<multiprocessing.pool.Pool state=RUN pool_size=0>" }
