package pickle

import "unsafe"

// Boxing without an allocation per value.
//
// Converting a string, an int64, a float64 or a slice to an interface
// allocates a copy of the value on the heap, one allocation per Python
// object for the commonest objects of all. The decoder avoids that by
// storing such values in slabs (one allocation per chunk of values) and
// making each interface point at its slot, which is exactly what the
// runtime's own conversion does with a freshly allocated slot. A slab slot
// is written once, before its interface exists, and never again, so the
// values stay immutable as interface values must. Small ints and
// one-character strings come from static tables, as CPython's small int
// and latin-1 character caches do.

// eface is the layout of an empty interface.
type eface struct {
	typ, data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	typeString  = typeOf("")
	typeInt64   = typeOf(int64(0))
	typeFloat64 = typeOf(float64(0))
	typeTuple   = typeOf(Tuple(nil))
	typeBytes   = typeOf([]byte(nil))
)

// makeAny returns the interface of type typ whose value is at data.
func makeAny(typ, data unsafe.Pointer) (v any) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ = typ
	e.data = data
	return v
}

const (
	smallIntMin = -256
	smallIntMax = 1024
)

// smallInts backs the boxes of the ints in [smallIntMin, smallIntMax).
var smallInts = func() (t [smallIntMax - smallIntMin]int64) {
	for i := range t {
		t[i] = int64(i + smallIntMin)
	}
	return t
}()

// latin1Strs holds the 256 one-character strings U+0000..U+00FF, which
// CPython shares as singletons.
var latin1Strs = func() (t [256]string) {
	for i := range t {
		t[i] = string(rune(i))
	}
	return t
}()

var emptyTuple any = Tuple{}

// boxes is a set of slabs owned by one decode.
type boxes struct {
	strs   []string
	words  []uint64
	tuples []Tuple
	bytes  [][]byte
}

// slabSize is the size of the next chunk of a slab whose last chunk had n
// slots: doubling from 4 up to 1024.
func slabSize(n int) int {
	return min(max(2*n, 4), 1024)
}

// Tuples of up to four items are allocated together with their boxed
// header: one allocation per tuple.
type (
	tuple1 struct {
		hdr Tuple
		arr [1]any
	}
	tuple2 struct {
		hdr Tuple
		arr [2]any
	}
	tuple3 struct {
		hdr Tuple
		arr [3]any
	}
	tuple4 struct {
		hdr Tuple
		arr [4]any
	}
)

// newTuple returns a tuple of n (> 0) zero items and its interface value.
func (b *boxes) newTuple(n int) (Tuple, any) {
	var hdr *Tuple
	switch n {
	case 1:
		p := new(tuple1)
		p.hdr, hdr = p.arr[:], &p.hdr
	case 2:
		p := new(tuple2)
		p.hdr, hdr = p.arr[:], &p.hdr
	case 3:
		p := new(tuple3)
		p.hdr, hdr = p.arr[:], &p.hdr
	case 4:
		p := new(tuple4)
		p.hdr, hdr = p.arr[:], &p.hdr
	default:
		t := make(Tuple, n)
		return t, b.tuple(t)
	}
	return *hdr, makeAny(typeTuple, unsafe.Pointer(hdr))
}

func (b *boxes) str(s string) any {
	if len(s) <= 2 {
		if len(s) == 0 {
			return ""
		}
		if c := s[0]; len(s) == 1 && c < 0x80 {
			return makeAny(typeString, unsafe.Pointer(&latin1Strs[c]))
		} else if len(s) == 2 && (c == 0xc2 || c == 0xc3) && s[1]&0xc0 == 0x80 {
			return makeAny(typeString, unsafe.Pointer(&latin1Strs[(c&3)<<6|s[1]&0x3f]))
		}
	}
	if len(b.strs) == cap(b.strs) {
		// Strings are the commonest objects: the first chunk has 8 slots.
		b.strs = make([]string, 0, slabSize(max(4, cap(b.strs))))
	}
	b.strs = append(b.strs, s)
	return makeAny(typeString, unsafe.Pointer(&b.strs[len(b.strs)-1]))
}

func (b *boxes) word() *uint64 {
	if len(b.words) == cap(b.words) {
		b.words = make([]uint64, 0, slabSize(cap(b.words)))
	}
	b.words = b.words[:len(b.words)+1]
	return &b.words[len(b.words)-1]
}

func (b *boxes) int(i int64) any {
	if i >= smallIntMin && i < smallIntMax {
		return makeAny(typeInt64, unsafe.Pointer(&smallInts[i-smallIntMin]))
	}
	p := b.word()
	*p = uint64(i)
	return makeAny(typeInt64, unsafe.Pointer(p))
}

func (b *boxes) float(f float64) any {
	p := b.word()
	*(*float64)(unsafe.Pointer(p)) = f
	return makeAny(typeFloat64, unsafe.Pointer(p))
}

func (b *boxes) tuple(t Tuple) any {
	if len(t) == 0 {
		return emptyTuple
	}
	if len(b.tuples) == cap(b.tuples) {
		b.tuples = make([]Tuple, 0, slabSize(cap(b.tuples)))
	}
	b.tuples = append(b.tuples, t)
	return makeAny(typeTuple, unsafe.Pointer(&b.tuples[len(b.tuples)-1]))
}

func (b *boxes) bytes_(p []byte) any {
	if len(b.bytes) == cap(b.bytes) {
		b.bytes = make([][]byte, 0, slabSize(cap(b.bytes)))
	}
	b.bytes = append(b.bytes, p)
	return makeAny(typeBytes, unsafe.Pointer(&b.bytes[len(b.bytes)-1]))
}
