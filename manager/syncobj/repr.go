package syncobj

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/mpbridge/mpbridge/pickle"
)

// Repr formats a value of the pickle value model as Python's repr() does
// for the built-in types and the objects this package knows (slice,
// range, array.array, managers.Value, Namespace, exceptions, proxies);
// other objects get a "<module.Class object>" placeholder. A container
// that contains itself prints as [...] or {...}, as in Python.
func Repr(v any) string {
	r := reprState{seen: map[any]bool{}}
	r.write(v, 0)
	return r.b.String()
}

type reprState struct {
	b    strings.Builder
	seen map[any]bool
}

func (r *reprState) enter(p any) bool {
	if r.seen[p] {
		return false
	}
	r.seen[p] = true
	return true
}

func (r *reprState) items(open, close string, items []any, depth int) {
	r.b.WriteString(open)
	for i, e := range items {
		if i > 0 {
			r.b.WriteString(", ")
		}
		r.write(e, depth+1)
	}
	r.b.WriteString(close)
}

func (r *reprState) write(v any, depth int) {
	if depth > maxDepth {
		r.b.WriteString("...")
		return
	}
	b := &r.b
	switch x := v.(type) {
	case nil, bool, int64, int, *big.Int, float64, float32, complex128, string, []byte, *pickle.ByteArray:
		// Leaves: the pickle package prints them exactly as Python does.
		b.WriteString(pickle.Repr(x))
	case pickle.Tuple:
		if len(x) == 1 {
			r.items("(", ",)", x, depth)
		} else {
			r.items("(", ")", x, depth)
		}
	case *pickle.List, []any:
		l, _ := listOf(v)
		if len(l) > 0 && !r.enter(&l[0]) {
			b.WriteString("[...]")
			return
		}
		r.items("[", "]", l, depth)
		if len(l) > 0 {
			delete(r.seen, &l[0])
		}
	case *pickle.Dict:
		if !r.enter(x) {
			b.WriteString("{...}")
			return
		}
		b.WriteByte('{')
		i := 0
		for k, e := range x.All() {
			if i > 0 {
				b.WriteString(", ")
			}
			r.write(k, depth+1)
			b.WriteString(": ")
			r.write(e, depth+1)
			i++
		}
		b.WriteByte('}')
		delete(r.seen, x)
	case *pickle.Set:
		if x.Len() == 0 {
			b.WriteString("set()")
			return
		}
		r.items("{", "}", x.Items(), depth)
	case *pickle.FrozenSet:
		if x.Len() == 0 {
			b.WriteString("frozenset()")
			return
		}
		r.items("frozenset({", "})", x.Items(), depth)
	case pickle.Global:
		if x.Module == "builtins" {
			fmt.Fprintf(b, "<class '%s'>", x.Name)
		} else {
			fmt.Fprintf(b, "<class '%s.%s'>", x.Module, x.Name)
		}
	case *pickle.Exception:
		b.WriteString(pickle.Repr(x))
	case *pickle.Object:
		r.object(x, depth)
	case pickle.PersistentID:
		fmt.Fprintf(b, "<persistent id %s>", Repr(x.ID))
	default:
		fmt.Fprintf(b, "<%s object>", TypeName(v))
	}
}

func (r *reprState) object(o *pickle.Object, depth int) {
	b := &r.b
	cls := objectClass(o)
	switch cls {
	case pickle.Global{Module: "builtins", Name: "slice"}:
		args := append(pickle.Tuple{nil, nil, nil}[:0], o.Args...)
		for len(args) < 3 {
			args = append(pickle.Tuple{nil}, args...)
		}
		r.items("slice(", ")", args, depth)
		return
	case pickle.Global{Module: "builtins", Name: "range"}:
		args := o.Args
		if len(args) == 3 {
			if n, ok := toNumber(args[2]); ok && n.kind == 'i' && n.i == 1 {
				args = args[:2]
			}
		}
		r.items("range(", ")", args, depth)
		return
	case pickle.Global{Module: "array", Name: "array"}, pickle.Global{Module: "array", Name: "_array_reconstructor"}:
		if a, err := arrayFromPickle(o); err == nil {
			b.WriteString(a.repr())
			return
		}
	case pickle.Global{Module: "multiprocessing.managers", Name: "Value"}:
		if st, ok := o.State.(*pickle.Dict); ok {
			tc, _ := st.Get("_typecode")
			val, _ := st.Get("_value")
			r.items("Value(", ")", []any{tc, val}, depth)
			return
		}
	case pickle.Global{Module: "multiprocessing.managers", Name: "Namespace"}:
		if st, ok := o.State.(*pickle.Dict); ok {
			b.WriteString(namespaceRepr(st))
			return
		}
	case pickle.Global{Module: "builtins", Name: "reversed"}:
		b.WriteString("<list_reverseiterator object>")
		return
	case pickle.Global{Module: "builtins", Name: "iter"}:
		b.WriteString("<iterator object>")
		return
	case pickle.Global{Module: "multiprocessing.managers", Name: "RebuildProxy"}:
		if len(o.Args) >= 2 {
			proxy, _ := o.Args[0].(pickle.Global)
			typeid, id := tokenFields(o.Args[1])
			fmt.Fprintf(b, "<%s object, typeid %s at 0x%s>", proxy.Name, Repr(typeid), id)
			return
		}
	}
	if cls.Module == "builtins" {
		fmt.Fprintf(b, "<%s object>", cls.Name)
	} else {
		fmt.Fprintf(b, "<%s.%s object>", cls.Module, cls.Name)
	}
}

// tokenFields reads typeid and id from a pickled managers.Token.
func tokenFields(v any) (typeid any, id string) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, ""
	}
	st, ok := o.State.(pickle.Tuple)
	if !ok || len(st) != 3 {
		return nil, ""
	}
	id, _ = st[2].(string)
	return st[0], id
}
