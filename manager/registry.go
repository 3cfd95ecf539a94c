package manager

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// registration is one typeid of the server's registry:
// (callable, exposed, method_to_typeid) in CPython.
type registration struct {
	factory        Factory
	exposed        []string
	methodToTypeid map[string]string
	mttKeys        []string // method_to_typeid keys in a stable order
}

// entry is one shared object: id_to_obj[ident] in CPython.
type entry struct {
	obj            Object
	exposed        map[string]bool
	exposedList    []string
	methodToTypeid map[string]string
}

// objects is the server's table of shared objects and their reference
// counts (id_to_obj, id_to_refcount and id_to_local_proxy_obj), with
// CPython's rules: create sets the count to 1 (or adds 1 for an object
// already shared), decref at zero forgets the object.
type objects struct {
	mu      sync.Mutex
	byID    map[string]*entry
	refs    map[string]int
	local   map[string]*entry
	counter uint64
}

func (o *objects) init() {
	o.byID = map[string]*entry{}
	o.refs = map[string]int{}
	o.local = map[string]*entry{}
}

// identOf is the object's ident: its address in lower-case hex, like
// CPython's '%x' % id(obj), so that an object shared twice has one ident.
// Objects that are not pointers get a fresh counter value.
func (o *objects) identOf(obj Object) string {
	if a := objectAddr(obj); a != 0 {
		return strconv.FormatUint(uint64(a), 16)
	}
	o.counter++
	return strconv.FormatUint(o.counter, 16)
}

// add stores obj under its ident with the given exposed list and takes
// one reference, returning the ident.
func (o *objects) add(obj Object, exposed []string, mtt map[string]string) string {
	set := make(map[string]bool, len(exposed))
	for _, m := range exposed {
		set[m] = true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	ident := o.identOf(obj)
	o.byID[ident] = &entry{obj: obj, exposed: set, exposedList: exposed, methodToTypeid: mtt}
	o.refs[ident]++
	return ident
}

func (o *objects) lookup(ident string) (*entry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.byID[ident]; ok {
		return e, true
	}
	e, ok := o.local[ident]
	return e, ok
}

func (o *objects) incref(ident string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.refs[ident]; ok {
		o.refs[ident]++
		return nil
	}
	if e, ok := o.local[ident]; ok {
		o.refs[ident] = 1
		o.byID[ident] = e
		return nil
	}
	return ExcKeyError(ident)
}

func (o *objects) decref(ident string) error {
	o.mu.Lock()
	n, ok := o.refs[ident]
	if !ok {
		_, local := o.local[ident]
		o.mu.Unlock()
		if local {
			return nil
		}
		return ExcKeyError(ident)
	}
	if n <= 0 {
		o.mu.Unlock()
		return pyExc("builtins", "AssertionError", fmt.Sprintf("Id %s has refcount %d, not 1+", ident, n))
	}
	n--
	var released Object
	if n == 0 {
		delete(o.refs, ident)
		if e := o.byID[ident]; e != nil {
			released = e.obj
		}
		delete(o.byID, ident)
	} else {
		o.refs[ident] = n
	}
	o.mu.Unlock()
	if r, ok := released.(Releaser); ok {
		if _, still := o.lookup(ident); !still {
			r.Release()
		}
	}
	return nil
}

// keepLocal records that a proxy inside the server refers to ident
// (CPython's id_to_local_proxy_obj), so the object survives its external
// references while the server-side proxy exists.
func (o *objects) keepLocal(ident string) (*entry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.local[ident]; ok {
		return e, true
	}
	e, ok := o.byID[ident]
	if ok {
		o.local[ident] = e
	}
	return e, ok
}

// dropLocal forgets a local reference taken by keepLocal.
func (o *objects) dropLocal(ident string) {
	o.mu.Lock()
	delete(o.local, ident)
	o.mu.Unlock()
}

func (o *objects) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.refs)
}

// debugInfo is CPython's debug_info text.
func (o *objects) debugInfo() string {
	o.mu.Lock()
	keys := make([]string, 0, len(o.refs))
	for k := range o.refs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		s := ""
		if e := o.byID[k]; e != nil {
			s = reprOf(e.obj)
		}
		if r := []rune(s); len(r) > 75 {
			s = string(r[:75])
		}
		lines = append(lines, fmt.Sprintf("  %s:       refcount=%d\n    %s", k, o.refs[k], s))
	}
	o.mu.Unlock()
	return strings.Join(lines, "\n")
}

// reprOf is repr(obj) for a served object.
func reprOf(obj Object) string {
	if r, ok := obj.(Reprer); ok {
		return r.PyRepr()
	}
	return fmt.Sprintf("<%T object at %#x>", obj, objectAddr(obj))
}

// exposedFor computes the exposed list of a new object under reg.
func exposedFor(reg *registration, obj Object) []string {
	exposed := reg.exposed
	if exposed == nil {
		exposed = obj.Exposed()
	}
	if len(reg.mttKeys) > 0 {
		exposed = append(append([]string(nil), exposed...), reg.mttKeys...)
	}
	return exposed
}

// dedup returns names without repeats, in first-seen order (Python's
// get_methods returns tuple(set(exposed))).
func dedup(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// newRegistration validates and stores a typeid's registration.
func newRegistration(f Factory, opts *RegisterOptions) *registration {
	r := &registration{factory: f}
	if opts != nil {
		if opts.Exposed != nil {
			r.exposed = append([]string{}, opts.Exposed...)
		}
		if len(opts.MethodToTypeid) > 0 {
			r.methodToTypeid = make(map[string]string, len(opts.MethodToTypeid))
			for k, v := range opts.MethodToTypeid {
				r.methodToTypeid[k] = v
				r.mttKeys = append(r.mttKeys, k)
			}
			sort.Strings(r.mttKeys)
		}
	}
	return r
}

// create makes (or re-shares) the object of typeid from args, as
// Server.create: it returns the ident and the exposed list.
func (s *Server) create(ctx context.Context, typeid string, args pickle.Tuple, kwargs *pickle.Dict) (string, []string, error) {
	s.regMu.RLock()
	reg, ok := s.registry[typeid]
	s.regMu.RUnlock()
	if !ok {
		return "", nil, ExcKeyError(typeid)
	}
	var obj Object
	if reg.factory == nil {
		if (kwargs != nil && kwargs.Len() > 0) || len(args) != 1 {
			return "", nil, ExcValueError("Without callable, must have one non-keyword argument")
		}
		o, ok := args[0].(Object)
		if !ok {
			return "", nil, ExcTypeError(fmt.Sprintf("typeid %s has no callable and %s is not a served object", pickle.Repr(typeid), PyTypeName(args[0])))
		}
		obj = o
	} else {
		o, err := reg.factory(ctx, args, kwargs)
		if err != nil {
			return "", nil, err
		}
		if o == nil {
			return "", nil, ExcTypeError(fmt.Sprintf("factory of typeid %s returned no object", pickle.Repr(typeid)))
		}
		obj = o
	}
	exposed := exposedFor(reg, obj)
	ident := s.objs.add(obj, exposed, reg.methodToTypeid)
	return ident, exposed, nil
}
