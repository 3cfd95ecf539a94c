package pickle

import (
	"fmt"
	"reflect"
	"sync"
)

// PythonClass is implemented by Go types that marshal as an instance of a
// Python class. A struct encodes the way CPython pickles a plain class
// instance at protocol 2 and above, NEWOBJ cls () then BUILD with the
// fields as the instance __dict__ (copyreg._reconstructor below protocol
// 2); any other type encodes as REDUCE cls (value,), the shape of an
// enum.Enum member. The receiving Python process must be able to import
// module.name. Decoding into the type itself needs nothing more; decoding
// into an interface (any included) needs the type registered with
// Register as well.
type PythonClass interface {
	PythonClass() (module, name string)
}

// Reducer is implemented by Go types that choose their pickled form
// themselves, the way Python's __reduce__ does: the returned object is
// encoded as is (callable, args, state, items). Its Go values are
// converted like any other.
type Reducer interface {
	PickleReduce() (*Object, error)
}

// Unpickler is implemented by Go types that decode themselves: Unpickle
// receives the decoded value (value model: an *Object for a class
// instance, a string for a str, and so on) and stores it in the receiver.
type Unpickler interface {
	Unpickle(v any) error
}

// Registry maps Python classes to Go types, like encoding/gob's Register
// and gopickle's FindClass. When decoding, an instance of a registered
// class becomes a value of the Go type wherever the target is an interface
// (any, or an interface the Go type implements), and is checked against
// the class wherever the target is that Go type. When encoding, a value of
// a registered Go type (or a pointer to one) is written as an instance of
// its class (see PythonClass for the shape).
//
// Unmarshal and Decoder.Decode into a *any store the decoded value model
// unchanged, registered classes included; Registry.Unmarshal and Convert
// into a *any apply the registry to that top-level value too.
//
// A Registry also holds the ZonePolicy for times in named zones. It is
// safe for concurrent use. The package-level functions use
// DefaultRegistry; it is the only global state of the package.
type Registry struct {
	mu      sync.RWMutex
	classes map[Global]reflect.Type // Python class → Go type as registered (T or *T)
	types   map[reflect.Type]Global // Go type with pointers removed → Python class
	zones   ZonePolicy
}

// NewRegistry returns an empty registry with the ZoneInfo policy.
func NewRegistry() *Registry {
	return &Registry{classes: map[Global]reflect.Type{}, types: map[reflect.Type]Global{}}
}

// DefaultRegistry is the registry used by Register, Marshal, Unmarshal,
// the Encoder and the Decoder.
var DefaultRegistry = NewRegistry()

// Register maps the Python class module.name to the Go type of goType (a
// value of the type, or a reflect.Type). Registering *T decodes instances
// as *T in interface targets; registering T stores T. Either way both T
// and *T encode as the class. Registering the same pair twice is allowed;
// mapping a class to a second Go type, or a Go type that implements
// PythonClass to a different class, is an error. Several classes may map
// to one Go type; it encodes as the first.
func (r *Registry) Register(module, name string, goType any) error {
	if module == "" || name == "" {
		return fmt.Errorf("pickle: Register: empty module or class name")
	}
	t, ok := goType.(reflect.Type)
	if !ok {
		t = reflect.TypeOf(goType)
	}
	if t == nil {
		return fmt.Errorf("pickle: Register %s.%s: nil Go type", module, name)
	}
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	g := Global{module, name}
	if pc, ok := reflect.Zero(base).Interface().(PythonClass); ok && base.Kind() != reflect.Interface {
		if m, n := pc.PythonClass(); m != module || n != name {
			return fmt.Errorf("pickle: Register %s.%s: %v says it is %s.%s", module, name, base, m, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.classes[g]; ok && old != t {
		return fmt.Errorf("pickle: Register %s.%s: already registered as %v", module, name, old)
	}
	r.classes[g] = t
	if _, ok := r.types[base]; !ok {
		r.types[base] = g
	}
	return nil
}

// Register maps the Python class module.name to goType's Go type in
// DefaultRegistry. It panics on a conflicting registration, as
// encoding/gob.Register does; use DefaultRegistry.Register for an error.
func Register(module, name string, goType any) {
	if err := DefaultRegistry.Register(module, name, goType); err != nil {
		panic(err)
	}
}

// TypeOf returns the Go type registered for the Python class module.name.
func (r *Registry) TypeOf(module, name string) (reflect.Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.classes[Global{module, name}]
	return t, ok
}

// ClassOf returns the Python class a Go type encodes as: the one it was
// registered with, or the one its PythonClass method names.
func (r *Registry) ClassOf(t reflect.Type) (module, name string, ok bool) {
	g, ok := r.classFor(t)
	return g.Module, g.Name, ok
}

func (r *Registry) classFor(t reflect.Type) (Global, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.mu.RLock()
	g, ok := r.types[t]
	r.mu.RUnlock()
	if ok {
		return g, true
	}
	if t.Kind() != reflect.Interface && (t.Implements(pythonClassType) || reflect.PointerTo(t).Implements(pythonClassType)) {
		m, n := reflect.New(t).Interface().(PythonClass).PythonClass()
		return Global{m, n}, true
	}
	return Global{}, false
}

// decodesTo reports whether class g is registered to Go type t (or *t).
func (r *Registry) decodesTo(g Global, t reflect.Type) bool {
	r.mu.RLock()
	rt, ok := r.classes[g]
	r.mu.RUnlock()
	for ok && rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	return ok && rt == t
}

// SetZonePolicy sets how times in named zones encode (ZoneInfo by default).
func (r *Registry) SetZonePolicy(p ZonePolicy) {
	r.mu.Lock()
	r.zones = p
	r.mu.Unlock()
}

// ZonePolicy returns the policy set with SetZonePolicy.
func (r *Registry) ZonePolicy() ZonePolicy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.zones
}

// ModelOf converts the Go value v to the value model, as the encoder does
// before writing a pickle at the given protocol. Values already in the
// value model are returned unchanged.
func (r *Registry) ModelOf(v any, protocol int) (any, error) {
	e := newGoEncoder(r, protocol)
	return e.model(reflect.ValueOf(v))
}

// Convert stores the value-model value m (as returned by Loads) in the Go
// value v points to, as Unmarshal does after decoding.
func (r *Registry) Convert(m any, v any) error {
	rv, err := targetValue(v)
	if err != nil {
		return err
	}
	return newGoDecoder(r).assign(m, rv)
}

// Marshal encodes v at DefaultProtocol using this registry.
func (r *Registry) Marshal(v any) ([]byte, error) {
	m, err := r.ModelOf(v, DefaultProtocol)
	if err != nil {
		return nil, err
	}
	return Dumps(m, DefaultProtocol)
}

// Unmarshal decodes one pickle into v using this registry.
func (r *Registry) Unmarshal(data []byte, v any) error {
	m, err := Loads(data)
	if err != nil {
		return err
	}
	return r.Convert(m, v)
}

// ModelOf converts v to the value model using DefaultRegistry.
func ModelOf(v any, protocol int) (any, error) { return DefaultRegistry.ModelOf(v, protocol) }

// Convert stores the value-model value m in *v using DefaultRegistry.
func Convert(m any, v any) error { return DefaultRegistry.Convert(m, v) }

var (
	pythonClassType = reflect.TypeFor[PythonClass]()
	reducerType     = reflect.TypeFor[Reducer]()
	unpicklerType   = reflect.TypeFor[Unpickler]()
)
