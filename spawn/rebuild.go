package spawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

// rebuildFunc turns one pickled multiprocessing object into its Go
// counterpart inside a child.
type rebuildFunc func(r *rebuilder, o *pickle.Object, path string) (any, error)

// connectionRebuilder is multiprocessing.connection.rebuild_connection.
var connectionRebuilder = pickle.Global{Module: "multiprocessing.connection", Name: "rebuild_connection"}

// rebuilders maps the class or reconstructor of each multiprocessing
// object a Go child can rebuild to the function that rebuilds it.
var rebuilders = map[pickle.Global]rebuildFunc{
	connectionRebuilder: rebuildConnection,
	authStringClass:     rebuildAuthString,
}

// rebuilder rebuilds the arguments of a Go child's target.
type rebuilder struct {
	info *Info
	w    walker
	// finalizers run when the target has returned (flushing queues, as a
	// Python child's exit function does), in reverse order.
	finalizers []func(context.Context) error
	// managers are the clients of the managers whose proxies were
	// rebuilt, by address and authkey.
	managers map[string]*manager.Client
}

func newRebuilder(info *Info) *rebuilder {
	r := &rebuilder{info: info}
	r.w.hook = r.hook
	return r
}

// arguments rebuilds the target's positional and keyword arguments.
func (r *rebuilder) arguments(args pickle.Tuple, kwargs *pickle.Dict) ([]any, map[string]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := r.w.walk(a, fmt.Sprintf("args[%d]", i))
		if err != nil {
			return nil, nil, err
		}
		out[i] = v
	}
	kw := map[string]any{}
	if kwargs != nil {
		for k, v := range kwargs.All() {
			name, ok := k.(string)
			if !ok {
				return nil, nil, corrupt("keyword %v is not a str", k)
			}
			v2, err := r.w.walk(v, "kwargs["+keyRepr(name)+"]")
			if err != nil {
				return nil, nil, err
			}
			kw[name] = v2
		}
	}
	return out, kw, nil
}

// Rebuild rebuilds one value decoded from a spawn pickle the way a Go
// child rebuilds its target's arguments: multiprocessing objects become
// their mpbridge counterparts, other values are copied. It is exported for
// tools that decode spawn pickles themselves; info supplies the authkey
// proxies need when they carry none (nil is allowed when there are none).
// Manager proxies are rebuilt as in a child's bootstrap, holding no
// reference; close their clients (p.Client().Close()) when done.
func Rebuild(v any, info *Info) (any, error) {
	if info == nil {
		info = &Info{TrackerFd: -1}
	}
	return newRebuilder(info).w.walk(v, "value")
}

func (r *rebuilder) hook(v any, path string) (any, bool, error) {
	o, g, ok := global(v)
	if !ok {
		return nil, false, nil
	}
	if f, ok := rebuilders[g]; ok {
		out, err := f(r, o, path)
		if err != nil {
			var ue *UnsupportedError
			if errors.As(err, &ue) && ue.Path == "" {
				ue.Path = path
			}
			return nil, false, fmt.Errorf("%s (%s.%s): %w", path, g.Module, g.Name, err)
		}
		return out, true, nil
	}
	if isMultiprocessing(g.Module) {
		return nil, false, &UnsupportedError{Name: g.Module + "." + g.Name, Path: path}
	}
	return nil, false, nil
}

// isMultiprocessing reports whether module belongs to multiprocessing,
// whose objects mean nothing to a Go child unless a rebuilder knows them.
func isMultiprocessing(module string) bool {
	return module == "multiprocessing" || strings.HasPrefix(module, "multiprocessing.") ||
		module == "_multiprocessing"
}

// onExit registers a finalizer run after the target returns.
func (r *rebuilder) onExit(f func(context.Context) error) {
	r.finalizers = append(r.finalizers, f)
}

// release runs the finalizers, newest first, and returns the first error.
func (r *rebuilder) release(ctx context.Context) error {
	var first error
	for i := len(r.finalizers) - 1; i >= 0; i-- {
		if err := r.finalizers[i](ctx); err != nil && first == nil {
			first = err
		}
	}
	r.finalizers = nil
	return first
}

// rebuildConnection is connection.rebuild_connection(df, readable,
// writable): a Conn over the inherited descriptor.
func rebuildConnection(r *rebuilder, o *pickle.Object, path string) (any, error) {
	if len(o.Args) != 3 {
		return nil, corrupt("rebuild_connection takes 3 arguments, got %d", len(o.Args))
	}
	fd, err := dupFdNumber(o.Args[0])
	if err != nil {
		return nil, err
	}
	readable, err1 := asBool(o.Args[1], "readable")
	writable, err2 := asBool(o.Args[2], "writable")
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return connection.FromFile(os.NewFile(uintptr(fd), fmt.Sprintf("connection-%d", fd)), readable, writable, nil)
}

// rebuildAuthString turns an AuthenticationString into its bytes.
func rebuildAuthString(r *rebuilder, o *pickle.Object, path string) (any, error) {
	return authkeyBytes(o)
}
