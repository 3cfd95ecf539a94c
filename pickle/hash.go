package pickle

import (
	"hash/maphash"
	"math"
	"math/big"
	"math/bits"
	"unsafe"
)

// Python key semantics over the value model.
//
// Two keys are equal when Python would find them equal: numbers compare by
// value across int, float, complex, bool and every Go integer kind (1, 1.0,
// True and big.NewInt(1) are one key), str only equals str, bytes only
// bytes, tuples element by element, frozensets as sets, globals by module
// and name, and objects, exceptions and persistent ids ... by identity
// (pointer) or by value as noted on hashKey. Lists, dicts, sets and
// bytearrays are unhashable.
//
// NaN: CPython finds a NaN key only through object identity, and a pickle
// never shares float objects, so every NaN decoded is a distinct key. Here
// NaN is never equal to anything, including itself: a dict may hold any
// number of NaN keys, and Get(NaN) never finds one.
//
// Hashing and comparing is bounded: nesting deeper than the depth limit or
// more than a budget of visited nodes (a tuple of tuples sharing children
// can be exponentially large while its pickle is small) fails with ErrLimit.

var hashSeed = maphash.MakeSeed()

// hashKeyWord mixes integers; it is drawn from the seed once.
var hashKeyWord = maphash.Comparable(hashSeed, uint64(0x243f6a8885a308d3)) | 1

// Distinct starting points per kind, so that (1,) and frozenset({1}) and
// b"1" and "1" rarely collide.
const (
	tagNone   = 0x9e3779b97f4a7c15
	tagStr    = 0xc2b2ae3d27d4eb4f
	tagBytes  = 0x165667b19e3779f9
	tagTuple  = 0xd6e8feb86659fd93
	tagFset   = 0xa0761d6478bd642f
	tagGlobal = 0xe7037ed1a0b428db
	tagPtr    = 0x8ebc6af09c88c6e3
	tagNaN    = 0x589965cc75374cc3
	tagFloat  = 0x1d8e4e27c47d124f
	tagPID    = 0x9c0e8b1e5f0d4f4b
)

func mix(x uint64) uint64 {
	x ^= hashKeyWord
	hi, lo := bits.Mul64(x, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

func hashInt(i int64) uint64 { return mix(uint64(i)) }

// hstate carries the limits of one hash or comparison.
type hstate struct {
	budget int
	nan    uint64 // counter giving each top-level NaN key its own hash
}

func (st *hstate) spend(depth int) error {
	st.budget--
	if st.budget < 0 || depth > DefaultMaxDepth {
		return detail(ErrLimit, "dict key too deeply nested or too large")
	}
	return nil
}

// number is the canonical form of a numeric key.
type number struct {
	kind uint8 // numInt, numBig, numFloat
	nan  bool  // real or imaginary part is NaN
	i    int64
	b    *big.Int
	f    float64 // numFloat: a non-integral or infinite float
	im   float64 // imaginary part (0 for non-complex)
}

const (
	numInt = iota
	numBig
	numFloat
)

// toNumber reports whether v is a number and returns its canonical form.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case int64:
		return number{kind: numInt, i: x}, true
	case int:
		return number{kind: numInt, i: int64(x)}, true
	case bool:
		if x {
			return number{kind: numInt, i: 1}, true
		}
		return number{kind: numInt}, true
	case float64:
		return floatNumber(x), true
	case *big.Int:
		if x == nil {
			return number{}, false
		}
		return bigNumber(x), true
	case big.Int:
		return bigNumber(&x), true
	case int8:
		return number{kind: numInt, i: int64(x)}, true
	case int16:
		return number{kind: numInt, i: int64(x)}, true
	case int32:
		return number{kind: numInt, i: int64(x)}, true
	case uint:
		return uintNumber(uint64(x)), true
	case uint8:
		return number{kind: numInt, i: int64(x)}, true
	case uint16:
		return number{kind: numInt, i: int64(x)}, true
	case uint32:
		return number{kind: numInt, i: int64(x)}, true
	case uint64:
		return uintNumber(x), true
	case uintptr:
		return uintNumber(uint64(x)), true
	case float32:
		return floatNumber(float64(x)), true
	case complex128:
		n := floatNumber(real(x))
		n.im = imag(x)
		n.nan = n.nan || math.IsNaN(n.im)
		return n, true
	case complex64:
		n := floatNumber(float64(real(x)))
		n.im = float64(imag(x))
		n.nan = n.nan || math.IsNaN(n.im)
		return n, true
	}
	return number{}, false
}

func uintNumber(u uint64) number {
	if u <= math.MaxInt64 {
		return number{kind: numInt, i: int64(u)}
	}
	return number{kind: numBig, b: new(big.Int).SetUint64(u)}
}

func bigNumber(b *big.Int) number {
	if b.IsInt64() {
		return number{kind: numInt, i: b.Int64()}
	}
	return number{kind: numBig, b: b}
}

func floatNumber(f float64) number {
	switch {
	case math.IsNaN(f):
		return number{kind: numFloat, f: f, nan: true}
	case math.IsInf(f, 0) || f != math.Trunc(f):
		return number{kind: numFloat, f: f}
	case f >= -(1<<63) && f < 1<<63:
		return number{kind: numInt, i: int64(f)}
	}
	b, _ := big.NewFloat(f).Int(nil)
	return number{kind: numBig, b: b}
}

func (n *number) hash() uint64 {
	var h uint64
	switch n.kind {
	case numInt:
		h = hashInt(n.i)
	case numBig:
		h = maphash.Bytes(hashSeed, n.b.Bytes())
		if n.b.Sign() < 0 {
			h = ^h
		}
	default:
		h = mix(math.Float64bits(n.f) ^ tagFloat)
	}
	if n.im != 0 {
		h = mix(h ^ math.Float64bits(n.im))
	}
	return h
}

func (n *number) equal(m *number) bool {
	if n.nan || m.nan || n.kind != m.kind || n.im != m.im {
		return false
	}
	switch n.kind {
	case numInt:
		return n.i == m.i
	case numBig:
		return n.b.Cmp(m.b) == 0
	}
	return n.f == m.f
}

// identity returns the pointer that is the identity of a value hashed by
// identity (objects and exceptions), or nil.
func identity(v any) unsafe.Pointer {
	switch x := v.(type) {
	case *Object:
		return unsafe.Pointer(x)
	case *Exception:
		if x != nil {
			return unsafe.Pointer(&x.Object)
		}
	}
	return nil
}

// hashKey returns the hash of a key, or ErrUnhashable.
func hashKey(k any, st *hstate, depth int) (uint64, error) {
	switch x := k.(type) {
	case string:
		return maphash.String(hashSeed, x) ^ tagStr, nil
	case int64:
		return hashInt(x), nil
	case nil:
		return tagNone, nil
	case []byte:
		return maphash.Bytes(hashSeed, x) ^ tagBytes, nil
	case Tuple:
		if err := st.spend(depth); err != nil {
			return 0, err
		}
		h := uint64(tagTuple)
		for _, e := range x {
			eh, err := hashElem(e, st, depth+1)
			if err != nil {
				return 0, err
			}
			h = mix(h ^ eh)
		}
		return h, nil
	case *FrozenSet:
		if x == nil {
			return tagNone, nil
		}
		if err := st.spend(depth); err != nil {
			return 0, err
		}
		return x.hashValue(st, depth)
	case Global:
		return maphash.String(hashSeed, x.Module) ^ mix(maphash.String(hashSeed, x.Name)^tagGlobal), nil
	case PersistentID:
		if err := st.spend(depth); err != nil {
			return 0, err
		}
		h, err := hashElem(x.ID, st, depth+1)
		return mix(h ^ tagPID), err
	}
	if p := identity(k); p != nil {
		return mix(uint64(uintptr(p)) ^ tagPtr), nil
	}
	if n, ok := toNumber(k); ok {
		if n.nan {
			// Never equal to anything: spread NaN keys over the table.
			st.nan++
			return mix(tagNaN + st.nan), nil
		}
		return n.hash(), nil
	}
	if isNilPointer(k) {
		return tagNone, nil
	}
	return 0, detail(ErrUnhashable, "unhashable type %s", typeName(k))
}

// hashElem hashes a value nested in a tuple, frozenset or persistent id.
// A NaN there hashes to a constant: such keys never compare equal anyway.
func hashElem(k any, st *hstate, depth int) (uint64, error) {
	if f, ok := k.(float64); ok && f != f {
		return tagNaN, nil
	}
	return hashKey(k, st, depth)
}

// keysEqual reports whether two hashable keys are equal in Python.
func keysEqual(a, b any, st *hstate, depth int) (bool, error) {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y, nil
	case int64:
		if y, ok := b.(int64); ok {
			return x == y, nil
		}
	case nil:
		return b == nil || isNilPointer(b), nil
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y), nil
	case Tuple:
		y, ok := b.(Tuple)
		if !ok || len(x) != len(y) {
			return false, nil
		}
		if err := st.spend(depth); err != nil {
			return false, err
		}
		for i := range x {
			eq, err := keysEqual(x[i], y[i], st, depth+1)
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case *FrozenSet:
		if x == nil {
			return b == nil || isNilPointer(b), nil
		}
		y, ok := b.(*FrozenSet)
		if !ok || y == nil {
			return false, nil
		}
		if err := st.spend(depth); err != nil {
			return false, err
		}
		return x.t.sameKeys(&y.t, st, depth+1)
	case Global:
		y, ok := b.(Global)
		return ok && x == y, nil
	case PersistentID:
		y, ok := b.(PersistentID)
		if !ok {
			return false, nil
		}
		if err := st.spend(depth); err != nil {
			return false, err
		}
		return keysEqual(x.ID, y.ID, st, depth+1)
	}
	if p := identity(a); p != nil {
		return p == identity(b), nil
	}
	if isNilPointer(a) {
		return b == nil || isNilPointer(b), nil
	}
	n, ok := toNumber(a)
	if !ok {
		return false, nil
	}
	m, ok := toNumber(b)
	if !ok {
		return false, nil
	}
	return n.equal(&m), nil
}

// isNilPointer reports whether v is a nil pointer of a value-model type,
// which the encoder writes as None.
func isNilPointer(v any) bool {
	switch x := v.(type) {
	case *List:
		return x == nil
	case *Dict:
		return x == nil
	case *Set:
		return x == nil
	case *FrozenSet:
		return x == nil
	case *ByteArray:
		return x == nil
	case *Object:
		return x == nil
	case *Exception:
		return x == nil
	case *big.Int:
		return x == nil
	}
	return false
}
