package spawn

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Func is a Go function a Python parent can run as a multiprocessing
// Process target. args are the Process's positional arguments, rebuilt:
// multiprocessing objects become their mpbridge counterparts (see
// Rebuild), everything else is in the pickle package's value model.
// kwargs are its keyword arguments, rebuilt likewise.
//
// Returning nil exits the child with status 0; returning an error exits
// with status 1 after a traceback-like report on stderr, unless the error
// is (or wraps) an *ExitError, whose code is used instead. A panic is
// reported like an error. ctx carries the child's Info and is cancelled
// when the parent process goes away.
type Func func(ctx context.Context, args []any, kwargs map[string]any) error

// Registry maps Python target names ("module.qualname", as the parent
// pickles the target) to Go functions.
type Registry struct {
	mu    sync.RWMutex
	funcs map[string]Func
}

// DefaultRegistry is the registry used by Register and Run.
var DefaultRegistry = &Registry{}

// Register adds fn under the Python name of the target it stands for,
// e.g. "tasks.resize" for the function resize of module tasks, or
// "tasks.Worker.run" style qualified names. It panics if name is empty,
// fn is nil or name is already registered, like http.Handle.
func (r *Registry) Register(name string, fn Func) {
	if name == "" || fn == nil {
		panic("spawn: Register with an empty name or a nil function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.funcs == nil {
		r.funcs = map[string]Func{}
	}
	if _, dup := r.funcs[name]; dup {
		panic(fmt.Sprintf("spawn: target %q registered twice", name))
	}
	r.funcs[name] = fn
}

// Lookup returns the function registered under name.
func (r *Registry) Lookup(name string) (Func, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.funcs[name]
	return fn, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Register adds fn to DefaultRegistry under name.
func Register(name string, fn Func) { DefaultRegistry.Register(name, fn) }
