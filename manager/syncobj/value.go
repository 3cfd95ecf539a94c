package syncobj

import (
	"bytes"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/mpbridge/mpbridge/pickle"
)

// TypeName is the Python type name of a value of the pickle value model,
// as type(v).__name__ prints it.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int:
		return "int"
	case float32, float64:
		return "float"
	case complex64, complex128:
		return "complex"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *pickle.ByteArray:
		return "bytearray"
	case pickle.Tuple:
		return "tuple"
	case *pickle.List, []any:
		return "list"
	case *pickle.Dict, map[string]any:
		return "dict"
	case *pickle.Set:
		return "set"
	case *pickle.FrozenSet:
		return "frozenset"
	case pickle.Global:
		return "type"
	case *pickle.Exception:
		return x.Name()
	case *pickle.Object:
		return objectClass(x).Name
	}
	return "object"
}

// objectClass is the class an object was pickled as (builtins.object
// when the pickle does not name one).
func objectClass(o *pickle.Object) pickle.Global {
	if g, ok := o.Class().(pickle.Global); ok {
		return g
	}
	return pickle.Global{Module: "builtins", Name: "object"}
}

// isGlobalObject reports whether v is an object made by calling the
// global module.name.
func isGlobalObject(v any, module, name string) (*pickle.Object, bool) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, false
	}
	g, ok := o.Callable.(pickle.Global)
	return o, ok && g.Module == module && g.Name == name
}

// number is a Python int, bool, float or complex.
type number struct {
	kind byte // 'i' int64, 'b' big, 'f' float, 'c' complex
	i    int64
	b    *big.Int
	f    float64
	c    complex128
}

func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return number{kind: 'i', i: 1}, true
		}
		return number{kind: 'i'}, true
	case int64:
		return number{kind: 'i', i: x}, true
	case int:
		return number{kind: 'i', i: int64(x)}, true
	case int32:
		return number{kind: 'i', i: int64(x)}, true
	case uint64:
		if x > math.MaxInt64 {
			return number{kind: 'b', b: new(big.Int).SetUint64(x)}, true
		}
		return number{kind: 'i', i: int64(x)}, true
	case *big.Int:
		if x.IsInt64() {
			return number{kind: 'i', i: x.Int64()}, true
		}
		return number{kind: 'b', b: x}, true
	case float64:
		return number{kind: 'f', f: x}, true
	case float32:
		return number{kind: 'f', f: float64(x)}, true
	case complex128:
		return number{kind: 'c', c: x}, true
	}
	return number{}, false
}

func (n number) bigInt() *big.Int {
	if n.kind == 'b' {
		return n.b
	}
	return big.NewInt(n.i)
}

// cmpReal compares two real numbers exactly, as Python compares int and
// float; ok is false when a NaN makes them unordered.
func cmpReal(a, b number) (c int, ok bool) {
	switch {
	case a.kind == 'i' && b.kind == 'i':
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	case a.kind != 'f' && b.kind != 'f':
		return a.bigInt().Cmp(b.bigInt()), true
	case a.kind == 'f' && b.kind == 'f':
		switch {
		case math.IsNaN(a.f) || math.IsNaN(b.f):
			return 0, false
		case a.f < b.f:
			return -1, true
		case a.f > b.f:
			return 1, true
		}
		return 0, true
	case a.kind == 'f':
		c, ok := cmpReal(b, a)
		return -c, ok
	}
	// a is an int, b a float.
	if math.IsNaN(b.f) {
		return 0, false
	}
	if math.IsInf(b.f, 0) {
		if b.f > 0 {
			return -1, true
		}
		return 1, true
	}
	if a.kind == 'i' && a.i > -(1<<53) && a.i < 1<<53 {
		fa := float64(a.i)
		switch {
		case fa < b.f:
			return -1, true
		case fa > b.f:
			return 1, true
		}
		return 0, true
	}
	fb := new(big.Float).SetFloat64(b.f)
	fa := new(big.Float).SetInt(a.bigInt())
	return fa.Cmp(fb), true
}

func numEqual(a, b number) bool {
	if a.kind == 'c' || b.kind == 'c' {
		ac, bc := a.complex(), b.complex()
		if imag(ac) != imag(bc) {
			return false
		}
		ra, rb := a, b
		if a.kind == 'c' {
			ra = number{kind: 'f', f: real(ac)}
		}
		if b.kind == 'c' {
			rb = number{kind: 'f', f: real(bc)}
		}
		c, ok := cmpReal(ra, rb)
		return ok && c == 0
	}
	c, ok := cmpReal(a, b)
	return ok && c == 0
}

func (n number) complex() complex128 {
	switch n.kind {
	case 'c':
		return n.c
	case 'f':
		return complex(n.f, 0)
	case 'i':
		return complex(float64(n.i), 0)
	}
	f, _ := new(big.Float).SetInt(n.b).Float64()
	return complex(f, 0)
}

// maxDepth bounds recursion into nested containers, as Python's recursion
// limit does (a list that contains itself).
const maxDepth = 500

func recursionErr(what string) error {
	return exc("RecursionError", "maximum recursion depth exceeded "+what)
}

// Equal reports Python's a == b for values of the pickle value model:
// numbers by value across int, float, bool and complex, str, bytes and
// bytearray by content, tuples, lists and dicts element by element, sets
// as sets. Other objects are equal when they were pickled identically.
// NaN is unequal to itself (identity never survives the wire). The error
// is the RecursionError of a container that contains itself.
func Equal(a, b any) (bool, error) { return equal(a, b, 0) }

func equal(a, b any, depth int) (bool, error) {
	if depth > maxDepth {
		return false, recursionErr("in comparison")
	}
	if na, ok := toNumber(a); ok {
		nb, ok := toNumber(b)
		return ok && numEqual(na, nb), nil
	}
	switch x := a.(type) {
	case nil:
		return b == nil, nil
	case string:
		y, ok := b.(string)
		return ok && x == y, nil
	case []byte, *pickle.ByteArray:
		bx, _ := bytesOf(a)
		by, ok := bytesOf(b)
		return ok && bytes.Equal(bx, by), nil
	case pickle.Tuple:
		y, ok := b.(pickle.Tuple)
		if !ok {
			return false, nil
		}
		return seqEqual(x, y, depth)
	case *pickle.List, []any:
		y, ok := listOf(b)
		if !ok {
			return false, nil
		}
		xl, _ := listOf(a)
		if sameList(xl, y) {
			return true, nil
		}
		return seqEqual(xl, y, depth)
	case *pickle.Dict:
		y, ok := b.(*pickle.Dict)
		if !ok {
			return false, nil
		}
		return dictEqual(x, y, depth)
	case *pickle.Set, *pickle.FrozenSet:
		xs, _ := setItems(a)
		ys, ok := setItems(b)
		if !ok || len(xs) != len(ys) {
			return false, nil
		}
		return subset(xs, b), nil
	case pickle.Global:
		y, ok := b.(pickle.Global)
		return ok && x == y, nil
	case *pickle.Exception:
		y, ok := b.(*pickle.Exception)
		if !ok {
			return false, nil
		}
		return x == y, nil
	case *pickle.Object:
		y, ok := b.(*pickle.Object)
		if !ok {
			return false, nil
		}
		return objectEqual(x, y, depth)
	case pickle.PersistentID:
		y, ok := b.(pickle.PersistentID)
		if !ok {
			return false, nil
		}
		return equal(x.ID, y.ID, depth+1)
	}
	return false, nil
}

func sameList(a, b []any) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func seqEqual(x, y []any, depth int) (bool, error) {
	if len(x) != len(y) {
		return false, nil
	}
	for i := range x {
		eq, err := equal(x[i], y[i], depth+1)
		if err != nil || !eq {
			return false, err
		}
	}
	return true, nil
}

func dictEqual(x, y *pickle.Dict, depth int) (bool, error) {
	if x == y {
		return true, nil
	}
	if x.Len() != y.Len() {
		return false, nil
	}
	for k, v := range x.All() {
		w, ok := y.Get(k)
		if !ok {
			return false, nil
		}
		eq, err := equal(v, w, depth+1)
		if err != nil || !eq {
			return false, err
		}
	}
	return true, nil
}

func objectEqual(x, y *pickle.Object, depth int) (bool, error) {
	if x == y {
		return true, nil
	}
	if x.Kind != y.Kind || x.HasState != y.HasState || len(x.ListItems) != len(y.ListItems) || len(x.DictItems) != len(y.DictItems) {
		return false, nil
	}
	pairs := [][2]any{{x.Callable, y.Callable}, {x.Args, y.Args}, {x.State, y.State}}
	if x.Kwargs != nil || y.Kwargs != nil {
		if x.Kwargs == nil || y.Kwargs == nil {
			return false, nil
		}
		pairs = append(pairs, [2]any{x.Kwargs, y.Kwargs})
	}
	for i := range x.ListItems {
		pairs = append(pairs, [2]any{x.ListItems[i], y.ListItems[i]})
	}
	for i := range x.DictItems {
		pairs = append(pairs, [2]any{x.DictItems[i].Key, y.DictItems[i].Key}, [2]any{x.DictItems[i].Value, y.DictItems[i].Value})
	}
	for _, p := range pairs {
		eq, err := equal(p[0], p[1], depth+1)
		if err != nil || !eq {
			return false, err
		}
	}
	return true, nil
}

func bytesOf(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case *pickle.ByteArray:
		if x == nil {
			return nil, true
		}
		return *x, true
	}
	return nil, false
}

func listOf(v any) ([]any, bool) {
	switch x := v.(type) {
	case *pickle.List:
		if x == nil {
			return nil, true
		}
		return *x, true
	case []any:
		return x, true
	}
	return nil, false
}

func setItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case *pickle.Set:
		return x.Items(), true
	case *pickle.FrozenSet:
		return x.Items(), true
	}
	return nil, false
}

// subset reports whether every item is in the set s.
func subset(items []any, s any) bool {
	for _, it := range items {
		switch y := s.(type) {
		case *pickle.Set:
			if !y.Has(it) {
				return false
			}
		case *pickle.FrozenSet:
			if !y.Has(it) {
				return false
			}
		}
	}
	return true
}

// Less reports Python's a < b, the only comparison list.sort uses, or the
// TypeError Python raises for values that have no order ("'<' not
// supported between instances of 'str' and 'int'").
func Less(a, b any) (bool, error) { return less(a, b, 0) }

func less(a, b any, depth int) (bool, error) {
	if depth > maxDepth {
		return false, recursionErr("in comparison")
	}
	na, aNum := toNumber(a)
	nb, bNum := toNumber(b)
	if aNum && bNum && na.kind != 'c' && nb.kind != 'c' {
		c, ok := cmpReal(na, nb)
		return ok && c < 0, nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x < y, nil
		}
	case []byte, *pickle.ByteArray:
		if by, ok := bytesOf(b); ok {
			bx, _ := bytesOf(a)
			return bytes.Compare(bx, by) < 0, nil
		}
	case pickle.Tuple:
		if y, ok := b.(pickle.Tuple); ok {
			return seqLess(x, y, depth)
		}
	case *pickle.List, []any:
		if y, ok := listOf(b); ok {
			xl, _ := listOf(a)
			return seqLess(xl, y, depth)
		}
	case *pickle.Set, *pickle.FrozenSet:
		if ys, ok := setItems(b); ok {
			xs, _ := setItems(a)
			return len(xs) < len(ys) && subset(xs, b), nil
		}
	}
	return false, typeErr("'<' not supported between instances of '%s' and '%s'", TypeName(a), TypeName(b))
}

// seqLess compares sequences lexicographically: the first items that
// differ decide, else the shorter is less.
func seqLess(x, y []any, depth int) (bool, error) {
	for i := 0; i < len(x) && i < len(y); i++ {
		eq, err := equal(x[i], y[i], depth+1)
		if err != nil {
			return false, err
		}
		if !eq {
			return less(x[i], y[i], depth+1)
		}
	}
	return len(x) < len(y), nil
}

// checkHashable returns Python's TypeError for a value that cannot be a
// dict key or set member: a list, dict, set or bytearray, also inside a
// tuple.
func checkHashable(v any) error {
	switch x := v.(type) {
	case *pickle.List, []any, *pickle.Dict, *pickle.Set, *pickle.ByteArray, map[string]any:
		return typeErr("unhashable type: '%s'", TypeName(v))
	case pickle.Tuple:
		for _, e := range x {
			if err := checkHashable(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Truthy is Python's bool(v): None, False, zero and empty containers are
// false, everything else true.
func Truthy(v any) bool {
	if n, ok := toNumber(v); ok {
		switch n.kind {
		case 'i':
			return n.i != 0
		case 'b':
			return n.b.Sign() != 0
		case 'f':
			return n.f != 0
		}
		return n.c != 0
	}
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []byte, *pickle.ByteArray:
		b, _ := bytesOf(v)
		return len(b) != 0
	case pickle.Tuple:
		return len(x) != 0
	case *pickle.List, []any:
		l, _ := listOf(v)
		return len(l) != 0
	case *pickle.Dict:
		return x.Len() != 0
	case *pickle.Set:
		return x.Len() != 0
	case *pickle.FrozenSet:
		return x.Len() != 0
	}
	return true
}

// Iterate returns the items Python's iter(v) yields, for the iterable
// types of the value model: list, tuple, str (one-character strs), bytes
// and bytearray (ints), dict (keys), set, frozenset, and the pickled
// objects range, array.array and collections.deque. Anything else is
// Python's TypeError "'int' object is not iterable" (or, for an object
// Python might iterate, a TypeError saying mpbridge cannot).
func Iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case *pickle.List, []any:
		l, _ := listOf(v)
		return append([]any(nil), l...), nil
	case pickle.Tuple:
		return append([]any(nil), x...), nil
	case string:
		out := make([]any, 0, utf8.RuneCountInString(x))
		for i := 0; i < len(x); {
			_, n := utf8.DecodeRuneInString(x[i:])
			out = append(out, strings.Clone(x[i:i+n]))
			i += n
		}
		return out, nil
	case []byte, *pickle.ByteArray:
		b, _ := bytesOf(v)
		out := make([]any, len(b))
		for i, c := range b {
			out[i] = int64(c)
		}
		return out, nil
	case *pickle.Dict:
		return x.Keys(), nil
	case *pickle.Set:
		return x.Items(), nil
	case *pickle.FrozenSet:
		return x.Items(), nil
	case *pickle.Object:
		return iterateObject(x)
	case nil, bool, int64, int, *big.Int, float64, complex128, pickle.Global:
		return nil, typeErr("'%s' object is not iterable", TypeName(v))
	}
	return nil, typeErr("'%s' object is not iterable", TypeName(v))
}

func iterateObject(o *pickle.Object) ([]any, error) {
	cls := objectClass(o)
	switch cls {
	case pickle.Global{Module: "builtins", Name: "range"}:
		return iterateRange(o.Args)
	case pickle.Global{Module: "array", Name: "array"}, pickle.Global{Module: "array", Name: "_array_reconstructor"}:
		a, err := arrayFromPickle(o)
		if err != nil {
			return nil, err
		}
		return a.values(), nil
	case pickle.Global{Module: "collections", Name: "deque"}:
		if len(o.Args) > 0 {
			items, err := Iterate(o.Args[0])
			if err != nil {
				return nil, err
			}
			return append(items, o.ListItems...), nil
		}
		return append([]any(nil), o.ListItems...), nil
	}
	return nil, typeErr("mpbridge cannot iterate over a '%s' object", cls.Name)
}

func iterateRange(args pickle.Tuple) ([]any, error) {
	var r [3]int64
	r[2] = 1
	if len(args) == 1 {
		args = pickle.Tuple{int64(0), args[0]}
	}
	if len(args) < 2 || len(args) > 3 {
		return nil, typeErr("range expected at most 3 arguments, got %d", len(args))
	}
	for i, a := range args {
		n, ok := toNumber(a)
		if !ok || n.kind != 'i' {
			return nil, typeErr("mpbridge cannot iterate over this range")
		}
		r[i] = n.i
	}
	if r[2] == 0 {
		return nil, valueErr("range() arg 3 must not be zero")
	}
	var n int64
	if r[2] > 0 && r[1] > r[0] {
		n = (r[1] - r[0] + r[2] - 1) / r[2]
	} else if r[2] < 0 && r[0] > r[1] {
		n = (r[0] - r[1] - r[2] - 1) / -r[2]
	}
	if n < 0 || n > maxItems {
		return nil, memoryErr()
	}
	out := make([]any, n)
	for i := range out {
		out[i] = r[0] + int64(i)*r[2]
	}
	return out, nil
}
