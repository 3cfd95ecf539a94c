package spawn

import (
	"fmt"
	"reflect"

	"github.com/mpbridge/mpbridge/pickle"
)

// walker copies a value-model tree, letting hook replace any node first.
// Shared nodes (the same *Object, *List or *Dict reached twice, as a memo
// GET makes them) stay shared in the copy, and cycles are preserved.
type walker struct {
	// hook returns (replacement, true, nil) to replace v, or (_, false,
	// nil) to let the walker copy it. path says where v is, for errors.
	hook func(v any, path string) (any, bool, error)
	memo map[any]any
}

func (w *walker) walk(v any, path string) (any, error) {
	if w.memo == nil {
		w.memo = map[any]any{}
	}
	shared := isPointer(v)
	if shared {
		if done, ok := w.memo[v]; ok {
			return done, nil
		}
	}
	if w.hook != nil {
		r, ok, err := w.hook(v, path)
		if err != nil {
			return nil, err
		}
		if ok {
			if shared {
				w.memo[v] = r
			}
			return r, nil
		}
	}
	switch x := v.(type) {
	case pickle.Tuple:
		out := make(pickle.Tuple, len(x))
		for i, e := range x {
			var err error
			if out[i], err = w.walk(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make(pickle.List, len(x))
		for i, e := range x {
			var err error
			if out[i], err = w.walk(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return &out, nil
	case *pickle.List:
		out := make(pickle.List, len(*x))
		w.memo[x] = &out
		for i, e := range *x {
			var err error
			if out[i], err = w.walk(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return &out, nil
	case map[string]any:
		out := pickle.NewDict(len(x))
		for _, k := range sortedKeys(x) {
			e, err := w.walk(x[k], fmt.Sprintf("%s[%q]", path, k))
			if err != nil {
				return nil, err
			}
			if err := out.Set(k, e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *pickle.Dict:
		out := pickle.NewDict(x.Len())
		w.memo[x] = out
		for k, e := range x.All() {
			e2, err := w.walk(e, fmt.Sprintf("%s[%s]", path, keyRepr(k)))
			if err != nil {
				return nil, err
			}
			if err := out.Set(k, e2); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *pickle.Object:
		out := &pickle.Object{Callable: x.Callable, Kind: x.Kind, HasState: x.HasState}
		w.memo[x] = out
		var err error
		if x.Args != nil {
			a, err := w.walk(x.Args, path+".args")
			if err != nil {
				return nil, err
			}
			out.Args = a.(pickle.Tuple)
		}
		if x.Kwargs != nil {
			k, err := w.walk(x.Kwargs, path+".kwargs")
			if err != nil {
				return nil, err
			}
			out.Kwargs = k.(*pickle.Dict)
		}
		if x.HasState {
			if out.State, err = w.walk(x.State, path+".state"); err != nil {
				return nil, err
			}
		}
		for i, e := range x.ListItems {
			e2, err := w.walk(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out.ListItems = append(out.ListItems, e2)
		}
		for _, kv := range x.DictItems {
			e2, err := w.walk(kv.Value, fmt.Sprintf("%s[%s]", path, keyRepr(kv.Key)))
			if err != nil {
				return nil, err
			}
			out.DictItems = append(out.DictItems, pickle.Pair{Key: kv.Key, Value: e2})
		}
		return out, nil
	}
	return v, nil
}

// isPointer reports whether v has identity (a pointer: value-model
// containers and objects, or Go objects such as an *mpqueue.Queue), so
// that reaching it twice must give the same result twice, as a pickle memo
// does.
func isPointer(v any) bool {
	return v != nil && reflect.TypeOf(v).Kind() == reflect.Pointer
}

func keyRepr(k any) string {
	if s, ok := k.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(k)
}

// global returns v's class or reconstructor when v is an object built from
// a global reference.
func global(v any) (*pickle.Object, pickle.Global, bool) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, pickle.Global{}, false
	}
	g, ok := o.Callable.(pickle.Global)
	return o, g, ok
}

// dupFdNumber reads the descriptor number of a
// multiprocessing.popen_spawn_posix._DupFd (NEWOBJ, BUILD {'fd': N}).
func dupFdNumber(v any) (int, error) {
	o, g, ok := global(v)
	if !ok || g != dupFdClass {
		if ok {
			return 0, &UnsupportedError{Name: g.Module + "." + g.Name}
		}
		return 0, corrupt("descriptor wrapper is %T, not a _DupFd", v)
	}
	st, ok := o.State.(*pickle.Dict)
	if !ok {
		return 0, corrupt("_DupFd state is %T, not a dict", o.State)
	}
	fv, _ := st.Get("fd")
	return asInt(fv, "_DupFd.fd")
}
