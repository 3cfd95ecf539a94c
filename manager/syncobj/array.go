package syncobj

import (
	"context"
	"encoding/binary"
	"math"
	"math/big"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mpbridge/mpbridge/pickle"
)

// arrayType describes one array.array typecode on Linux x86-64.
type arrayType struct {
	code byte
	size int
	kind byte // 's' signed int, 'u' unsigned int, 'f' float, 'c' character
	// for ints: the range and CPython's OverflowError texts
	min      int64
	max      uint64
	low, big string // below min / above max
	huge     string // beyond what the C conversion takes at all
	hugeNeg  string
}

const (
	msgCLong   = "Python int too large to convert to C long"
	msgCULong  = "Python int too large to convert to C unsigned long"
	msgNegUint = "can't convert negative value to unsigned int"
)

var arrayTypes = map[byte]*arrayType{
	'b': {code: 'b', size: 1, kind: 's', min: math.MinInt8, max: math.MaxInt8, low: "signed char is less than minimum", big: "signed char is greater than maximum", huge: msgCLong, hugeNeg: msgCLong},
	'B': {code: 'B', size: 1, kind: 'u', min: 0, max: math.MaxUint8, low: "unsigned byte integer is less than minimum", big: "unsigned byte integer is greater than maximum", huge: msgCLong, hugeNeg: msgCLong},
	'h': {code: 'h', size: 2, kind: 's', min: math.MinInt16, max: math.MaxInt16, low: "signed short integer is less than minimum", big: "signed short integer is greater than maximum", huge: msgCLong, hugeNeg: msgCLong},
	'H': {code: 'H', size: 2, kind: 'u', min: 0, max: math.MaxUint16, low: "unsigned short is less than minimum", big: "unsigned short is greater than maximum", huge: msgCLong, hugeNeg: msgCLong},
	'i': {code: 'i', size: 4, kind: 's', min: math.MinInt32, max: math.MaxInt32, low: "signed integer is less than minimum", big: "signed integer is greater than maximum", huge: msgCLong, hugeNeg: msgCLong},
	'I': {code: 'I', size: 4, kind: 'u', min: 0, max: math.MaxUint32, low: msgNegUint, big: "unsigned int is greater than maximum", huge: msgCULong, hugeNeg: msgNegUint},
	'l': {code: 'l', size: 8, kind: 's', min: math.MinInt64, max: math.MaxInt64, low: msgCLong, big: msgCLong, huge: msgCLong, hugeNeg: msgCLong},
	'L': {code: 'L', size: 8, kind: 'u', min: 0, max: math.MaxUint64, low: msgNegUint, big: msgCULong, huge: msgCULong, hugeNeg: msgNegUint},
	'q': {code: 'q', size: 8, kind: 's', min: math.MinInt64, max: math.MaxInt64, low: "int too big to convert", big: "int too big to convert", huge: "int too big to convert", hugeNeg: "int too big to convert"},
	'Q': {code: 'Q', size: 8, kind: 'u', min: 0, max: math.MaxUint64, low: "can't convert negative int to unsigned", big: "int too big to convert", huge: "int too big to convert", hugeNeg: "can't convert negative int to unsigned"},
	'f': {code: 'f', size: 4, kind: 'f'},
	'd': {code: 'd', size: 8, kind: 'f'},
	'u': {code: 'u', size: 4, kind: 'c'},
	'w': {code: 'w', size: 4, kind: 'c'},
}

// arrayData is the content of an array.array: items normalised to int64
// (signed), uint64 (unsigned), float64 (rounded to float32 for 'f') or
// rune.
type arrayData struct {
	t     *arrayType
	items []any
}

// convert checks and normalises one item, with CPython's exceptions.
func (t *arrayType) convert(v any) (any, error) {
	switch t.kind {
	case 'c':
		s, ok := v.(string)
		if !ok || utf8.RuneCountInString(s) != 1 {
			return nil, typeErr("array item must be unicode character")
		}
		r, _ := utf8.DecodeRuneInString(s)
		return r, nil
	case 'f':
		n, ok := toNumber(v)
		if !ok || n.kind == 'c' {
			return nil, typeErr("must be real number, not %s", TypeName(v))
		}
		f := n.f
		switch n.kind {
		case 'i':
			f = float64(n.i)
		case 'b':
			f, _ = new(big.Float).SetInt(n.b).Float64()
			if math.IsInf(f, 0) {
				return nil, overflowErr("int too large to convert to float")
			}
		}
		if t.code == 'f' {
			f = float64(float32(f))
		}
		return f, nil
	}
	n, ok := toNumber(v)
	if !ok || n.kind == 'f' || n.kind == 'c' {
		return nil, typeErr("'%s' object cannot be interpreted as an integer", TypeName(v))
	}
	if n.kind == 'b' {
		if n.b.Sign() < 0 {
			return nil, overflowErr("%s", t.hugeNeg)
		}
		if t.kind == 'u' && t.size == 8 && n.b.IsUint64() {
			return n.b.Uint64(), nil
		}
		return nil, overflowErr("%s", t.huge)
	}
	if n.i < t.min {
		return nil, overflowErr("%s", t.low)
	}
	if n.i > 0 && uint64(n.i) > t.max {
		return nil, overflowErr("%s", t.big)
	}
	if t.kind == 'u' {
		return uint64(n.i), nil
	}
	return n.i, nil
}

// pyItem is an item in the pickle value model.
func pyItem(v any) any {
	switch x := v.(type) {
	case uint64:
		if x > math.MaxInt64 {
			return new(big.Int).SetUint64(x)
		}
		return int64(x)
	case rune:
		return string(x)
	}
	return v
}

func (a *arrayData) values() []any {
	out := make([]any, len(a.items))
	for i, v := range a.items {
		out[i] = pyItem(v)
	}
	return out
}

// bytes is array.tobytes(), little-endian.
func (a *arrayData) bytes() []byte {
	out := make([]byte, 0, len(a.items)*a.t.size)
	for _, v := range a.items {
		var u uint64
		switch x := v.(type) {
		case int64:
			u = uint64(x)
		case uint64:
			u = x
		case rune:
			u = uint64(uint32(x))
		case float64:
			if a.t.size == 4 {
				u = uint64(math.Float32bits(float32(x)))
			} else {
				u = math.Float64bits(x)
			}
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], u)
		out = append(out, buf[:a.t.size]...)
	}
	return out
}

// frombytes decodes items of the array's type from little-endian bytes.
func (a *arrayData) frombytes(b []byte) error {
	size := a.t.size
	if len(b)%size != 0 {
		return valueErr("bytes length not a multiple of item size")
	}
	if len(a.items)+len(b)/size > maxItems {
		return memoryErr()
	}
	for i := 0; i < len(b); i += size {
		var buf [8]byte
		copy(buf[:], b[i:i+size])
		u := binary.LittleEndian.Uint64(buf[:])
		var v any
		switch a.t.kind {
		case 's':
			shift := 64 - 8*size
			v = int64(u<<shift) >> shift
		case 'u':
			v = u
		case 'c':
			v = rune(uint32(u))
		case 'f':
			if size == 4 {
				v = float64(math.Float32frombits(uint32(u)))
			} else {
				v = math.Float64frombits(u)
			}
		}
		a.items = append(a.items, v)
	}
	return nil
}

// reduce is the array as managers.py's reducer pickles it:
// array.array(typecode, bytes).
func (a *arrayData) reduce() *pickle.Object {
	return &pickle.Object{
		Callable: pickle.Global{Module: "array", Name: "array"},
		Kind:     pickle.Reduce,
		Args:     pickle.Tuple{string(rune(a.t.code)), a.bytes()},
	}
}

func (a *arrayData) repr() string {
	var b strings.Builder
	b.WriteString("array('")
	b.WriteByte(a.t.code)
	b.WriteByte('\'')
	if len(a.items) > 0 {
		b.WriteString(", ")
		if a.t.kind == 'c' {
			var s strings.Builder
			for _, r := range a.items {
				s.WriteRune(r.(rune))
			}
			b.WriteString(pickle.Repr(s.String()))
		} else {
			b.WriteString(Repr(newPyList(a.values())))
		}
	}
	b.WriteByte(')')
	return b.String()
}

// newArrayData is array.array(typecode, initializer).
func newArrayData(typecode, init any, hasInit bool) (*arrayData, error) {
	s, ok := typecode.(string)
	if !ok || utf8.RuneCountInString(s) != 1 {
		return nil, typeErr("array() argument 1 must be a unicode character, not %s", TypeName(typecode))
	}
	t := arrayTypes[s[0]]
	if t == nil || len(s) != 1 {
		return nil, valueErr("bad typecode (must be b, B, u, w, h, H, i, I, l, L, q, Q, f or d)")
	}
	a := &arrayData{t: t}
	if !hasInit {
		return a, nil
	}
	switch x := init.(type) {
	case string:
		if t.kind != 'c' {
			return nil, typeErr("cannot use a str to initialize an array with typecode '%c'", t.code)
		}
		for _, r := range x {
			a.items = append(a.items, r)
		}
		return a, nil
	case []byte, *pickle.ByteArray:
		b, _ := bytesOf(x)
		return a, a.frombytes(b)
	case *pickle.Object:
		if other, err := arrayFromPickle(x); err == nil {
			if (other.t.kind == 'c') != (t.kind == 'c') {
				if other.t.kind == 'c' {
					return nil, typeErr("cannot use a unicode array to initialize an array with typecode '%c'", t.code)
				}
			}
			return a, a.extend(other.values())
		}
	}
	items, err := Iterate(init)
	if err != nil {
		return nil, err
	}
	return a, a.extend(items)
}

func (a *arrayData) extend(items []any) error {
	if len(a.items)+len(items) > maxItems {
		return memoryErr()
	}
	for _, v := range items {
		c, err := a.t.convert(v)
		if err != nil {
			return err
		}
		a.items = append(a.items, c)
	}
	return nil
}

// machine format codes of array._array_reconstructor
var mformats = map[int64]struct {
	size            int
	signed, isFloat bool
	bigEndian, utf  bool
}{
	0: {1, false, false, false, false}, 1: {1, true, false, false, false},
	2: {2, false, false, false, false}, 3: {2, false, false, true, false},
	4: {2, true, false, false, false}, 5: {2, true, false, true, false},
	6: {4, false, false, false, false}, 7: {4, false, false, true, false},
	8: {4, true, false, false, false}, 9: {4, true, false, true, false},
	10: {8, false, false, false, false}, 11: {8, false, false, true, false},
	12: {8, true, false, false, false}, 13: {8, true, false, true, false},
	14: {4, false, true, false, false}, 15: {4, false, true, true, false},
	16: {8, false, true, false, false}, 17: {8, false, true, true, false},
	18: {2, false, false, false, true}, 19: {2, false, false, true, true},
	20: {4, false, false, false, true}, 21: {4, false, false, true, true},
}

// arrayFromPickle reads an array.array from any of the forms it is
// pickled as: array.array(typecode, bytes) (multiprocessing's reducer),
// array.array(typecode, list) (protocols 0-2) and
// array._array_reconstructor(array.array, typecode, mformat, bytes)
// (protocols 3+).
func arrayFromPickle(o *pickle.Object) (*arrayData, error) {
	g, _ := o.Callable.(pickle.Global)
	switch {
	case g == pickle.Global{Module: "array", Name: "array"} && o.Kind == pickle.Reduce && (len(o.Args) == 1 || len(o.Args) == 2):
		if len(o.Args) == 1 {
			return newArrayData(o.Args[0], nil, false)
		}
		return newArrayData(o.Args[0], o.Args[1], true)
	case g == pickle.Global{Module: "array", Name: "_array_reconstructor"} && len(o.Args) == 4:
		tc, _ := o.Args[1].(string)
		code, _ := o.Args[2].(int64)
		raw, ok := o.Args[3].([]byte)
		mf, known := mformats[code]
		if !ok || !known {
			return nil, valueErr("third argument must be a valid machine format code.")
		}
		a, err := newArrayData(tc, nil, false)
		if err != nil {
			return nil, err
		}
		if len(raw)%mf.size != 0 {
			return nil, valueErr("string length not a multiple of item size")
		}
		items := make([]any, 0, len(raw)/mf.size)
		for i := 0; i < len(raw); i += mf.size {
			var buf [8]byte
			chunk := raw[i : i+mf.size]
			if mf.bigEndian {
				for j := range chunk {
					buf[j] = chunk[len(chunk)-1-j]
				}
			} else {
				copy(buf[:], chunk)
			}
			u := binary.LittleEndian.Uint64(buf[:])
			switch {
			case mf.utf:
				items = append(items, string(rune(uint32(u))))
			case mf.isFloat && mf.size == 4:
				items = append(items, float64(math.Float32frombits(uint32(u))))
			case mf.isFloat:
				items = append(items, math.Float64frombits(u))
			case mf.signed:
				shift := 64 - 8*mf.size
				items = append(items, int64(u<<shift)>>shift)
			default:
				items = append(items, pyItem(u))
			}
		}
		return a, a.extend(items)
	}
	return nil, typeErr("not an array")
}

// Array is array.array shared through a manager (SyncManager.Array).
type Array struct {
	mu sync.Mutex
	a  *arrayData
}

// NewArray is managers.Array(typecode, sequence, lock=True).
func NewArray(args pickle.Tuple, kwargs *pickle.Dict) (*Array, error) {
	v, _, err := pyfunc{name: "Array", params: []string{"typecode", "sequence", "lock"}, defaults: []any{true}}.bind(args, kwargs)
	if err != nil {
		return nil, err
	}
	a, err := newArrayData(v[0], v[1], true)
	if err != nil {
		return nil, err
	}
	return &Array{a: a}, nil
}

// Call implements [Object]: __len__, __getitem__, __setitem__.
func (ar *Array) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	a := ar.a
	switch method {
	case "__len__":
		if err := wrapperArgs(method, args, kwargs, 0); err != nil {
			return nil, err
		}
		return int64(len(a.items)), nil
	case "__getitem__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		if s, ok := asSlice(args[0]); ok {
			start, _, step, count, err := s.indices(len(a.items))
			if err != nil {
				return nil, err
			}
			out := &arrayData{t: a.t, items: make([]any, count)}
			for i := range out.items {
				out.items[i] = a.items[start+i*step]
			}
			return out.reduce(), nil
		}
		i, err := arrayIndex(args[0], len(a.items), "array index out of range")
		if err != nil {
			return nil, err
		}
		return pyItem(a.items[i]), nil
	case "__setitem__":
		if err := wrapperArgs(method, args, kwargs, 2); err != nil {
			return nil, err
		}
		if s, ok := asSlice(args[0]); ok {
			return nil, ar.setSlice(s, args[1])
		}
		i, err := arrayIndex(args[0], len(a.items), "array assignment index out of range")
		if err != nil {
			return nil, err
		}
		v, err := a.t.convert(args[1])
		if err != nil {
			return nil, err
		}
		a.items[i] = v
		return nil, nil
	}
	return nil, noAttr("array.array", method)
}

func arrayIndex(key any, n int, outOfRange string) (int, error) {
	return subscript(key, n, "array indices must be integers", outOfRange)
}

func (ar *Array) setSlice(s pySlice, value any) error {
	a := ar.a
	o, ok := value.(*pickle.Object)
	var other *arrayData
	if ok {
		other, _ = arrayFromPickle(o)
	}
	if other == nil {
		return typeErr("can only assign array (not \"%s\") to array slice", TypeName(value))
	}
	if other.t != a.t {
		return typeErr("bad argument type for built-in operation")
	}
	start, stop, step, count, err := s.indices(len(a.items))
	if err != nil {
		return err
	}
	if step == 1 {
		stop = max(stop, start)
		if len(a.items)-(stop-start)+len(other.items) > maxItems {
			return memoryErr()
		}
		a.items = append(a.items[:start:start], append(other.items, a.items[stop:]...)...)
		return nil
	}
	if len(other.items) != count {
		return valueErr("attempt to assign array of size %d to extended slice of size %d", len(other.items), count)
	}
	for i, v := range other.items {
		a.items[start+i*step] = v
	}
	return nil
}

// Repr is "array('i', [1, 2])".
func (ar *Array) Repr() string {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.a.repr()
}

// Value is the array as managers.py pickles it.
func (ar *Array) Value() (any, error) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.a.reduce(), nil
}

// ArrayValues reads a pickled array.array (in any of the forms it is
// pickled as) and returns its typecode and items in the pickle value
// model.
func ArrayValues(v any) (typecode string, items []any, err error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return "", nil, typeErr("not an array: %s", TypeName(v))
	}
	a, err := arrayFromPickle(o)
	if err != nil {
		return "", nil, err
	}
	return string(rune(a.t.code)), a.values(), nil
}
