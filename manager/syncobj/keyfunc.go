package syncobj

import (
	"math"
	"math/big"
	"math/cmplx"
	"strings"
	"unicode/utf8"

	"github.com/mpbridge/mpbridge/pickle"
)

// keyFunc turns the key of list.sort(key=...), as a client pickled it,
// into a Go function, for the builtins whose meaning is fixed: len, abs,
// str.lower, str.upper (pickled as getattr(str, name)) and
// operator.itemgetter(...). Any other key is Python code, which this
// server cannot run: NotImplementedError naming it.
func keyFunc(k any) (func(any) (any, error), error) {
	switch x := k.(type) {
	case pickle.Global:
		switch x {
		case pickle.Global{Module: "builtins", Name: "len"}:
			return pyLen, nil
		case pickle.Global{Module: "builtins", Name: "abs"}:
			return pyAbs, nil
		case pickle.Global{Module: "builtins", Name: "str.lower"}: // getattr(str, 'lower'), folded by the decoder
			return strMethod("lower", strings.ToLower), nil
		case pickle.Global{Module: "builtins", Name: "str.upper"}:
			return strMethod("upper", strings.ToUpper), nil
		}
	case *pickle.Object:
		if x.Callable == (pickle.Global{Module: "builtins", Name: "getattr"}) && len(x.Args) == 2 &&
			x.Args[0] == (pickle.Global{Module: "builtins", Name: "str"}) {
			switch x.Args[1] {
			case "lower":
				return strMethod("lower", strings.ToLower), nil
			case "upper":
				return strMethod("upper", strings.ToUpper), nil
			}
		}
		if x.Callable == (pickle.Global{Module: "operator", Name: "itemgetter"}) && len(x.Args) > 0 &&
			x.State == nil && len(x.ListItems) == 0 && len(x.DictItems) == 0 {
			return itemgetter(append([]any(nil), x.Args...)), nil
		}
	}
	return nil, notImplemented("list.sort(key=" + Repr(k) + "); the keys it runs are len, abs, str.lower, str.upper and operator.itemgetter(...)")
}

// pyLen is len().
func pyLen(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return int64(utf8.RuneCountInString(x)), nil
	case []byte:
		return int64(len(x)), nil
	case *pickle.ByteArray:
		return int64(len(*x)), nil
	case pickle.Tuple:
		return int64(len(x)), nil
	case *pickle.List:
		return int64(len(*x)), nil
	case *pickle.Dict:
		return int64(x.Len()), nil
	case *pickle.Set:
		return int64(x.Len()), nil
	case *pickle.FrozenSet:
		return int64(x.Len()), nil
	}
	return nil, typeErr("object of type '%s' has no len()", TypeName(v))
}

// pyAbs is abs() of a number.
func pyAbs(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int64:
		if x == math.MinInt64 {
			return new(big.Int).Neg(big.NewInt(x)), nil
		}
		if x < 0 {
			return -x, nil
		}
		return x, nil
	case *big.Int:
		return new(big.Int).Abs(x), nil
	case float64:
		return math.Abs(x), nil
	case complex128:
		return cmplx.Abs(x), nil
	}
	return nil, typeErr("bad operand type for abs(): '%s'", TypeName(v))
}

// strMethod is str.lower or str.upper called as a function. Go's case
// mapping is Unicode's simple one: the few characters Python maps to
// several ('ß'.upper() is 'SS') keep their own sort position.
func strMethod(name string, f func(string) string) func(any) (any, error) {
	return func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, typeErr("descriptor '%s' for 'str' objects doesn't apply to a '%s' object", name, TypeName(v))
		}
		return f(s), nil
	}
}

// itemgetter is operator.itemgetter(*items).
func itemgetter(items []any) func(any) (any, error) {
	return func(v any) (any, error) {
		if len(items) == 1 {
			return getItem(v, items[0])
		}
		out := make(pickle.Tuple, len(items))
		for i, it := range items {
			x, err := getItem(v, it)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
}

// getItem is v[key] for the built-in containers, with CPython's errors.
func getItem(v, key any) (any, error) {
	var seq []any
	var runes []rune
	kind := ""
	switch x := v.(type) {
	case pickle.Tuple:
		seq, kind = x, "tuple"
	case *pickle.List:
		seq, kind = *x, "list"
	case string:
		runes, kind = []rune(x), "string"
	case *pickle.Dict:
		if err := checkHashable(key); err != nil {
			return nil, err
		}
		if e, ok := x.Get(key); ok {
			return e, nil
		}
		return nil, keyErr(key)
	default:
		return nil, typeErr("'%s' object is not subscriptable", TypeName(v))
	}
	if _, ok := asSlice(key); ok {
		return nil, notImplemented("list.sort(key=operator.itemgetter(<slice>))")
	}
	notInt, n := kind+" indices must be integers or slices, not "+TypeName(key), len(seq)
	if kind == "string" {
		notInt, n = "string indices must be integers", len(runes) // CPython 3.11+ adds ", not '<type>'"
	}
	i, err := subscript(key, n, notInt, kind+" index out of range")
	if err != nil {
		return nil, err
	}
	if kind == "string" {
		return string(runes[i]), nil
	}
	return seq[i], nil
}
