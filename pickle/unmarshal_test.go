package pickle

import (
	"errors"
	"math"
	"math/big"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dictOf builds a *Dict from alternating keys and values.
func dictOf(kv ...any) *Dict {
	d := NewDict(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			panic(err)
		}
	}
	return d
}

func listOf(xs ...any) *List { l := List(xs); return &l }

func TestConvertRoundTrip(t *testing.T) {
	v := outer{
		Name: "n", Ptr: &inner{X: 1}, Inner: inner{X: 2, Y: 3},
		Tags: []string{"a", "b"}, NilSlice: []int{}, Map: map[string]int{"b": 2, "a": 1}, IntKeys: map[int]string{10: "x", -1: "y"},
		Tuple: [2]int{4, 5}, Hash: [4]byte{1, 2, 3, 4}, Raw: []byte("raw"), Any: listOf(int64(1), "x"),
		Big: new(big.Int).Lsh(big.NewInt(1), 70), Unsigned: math.MaxUint64, F32: 1.5, C: 1 + 2i,
		Addr: netip.MustParseAddr("10.0.0.1"), TupleKey: map[[2]int]string{{2, 1}: "b", {1, 2}: "a"},
		Embedded: Embedded{E1: "e1", E2: "e2"},
	}
	m, err := ModelOf(v, 4)
	require.NoError(t, err)
	var got outer
	require.NoError(t, Convert(m, &got))
	// Any holds the decoded value model, not the Go []any.
	got.Any = listOf(int64(1), "x")
	require.Equal(t, v, got)
}

func TestConvertScalars(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for _, tc := range []struct {
		m    any
		dst  any // pointer to a zero value of the target type
		want any // nil: an *UnmarshalTypeError is expected
	}{
		{int64(5), new(int), 5},
		{int64(-128), new(int8), int8(-128)},
		{int64(128), new(int8), nil},
		{int64(-1), new(uint), nil},
		{int64(255), new(uint8), uint8(255)},
		{new(big.Int).SetUint64(math.MaxUint64), new(uint64), uint64(math.MaxUint64)},
		{big70, new(int64), nil},
		{big70, new(float64), 1180591620717411303424.0},
		{true, new(bool), true},
		{int64(1), new(bool), nil},
		{true, new(int), nil},
		{1.5, new(float64), 1.5},
		{int64(2), new(float64), 2.0},
		{1e300, new(float32), nil},
		{math.Inf(1), new(float32), float32(math.Inf(1))},
		{1.5, new(int), nil},
		{complex(1, 2), new(complex128), complex(1, 2)},
		{2.5, new(complex64), complex64(2.5)},
		{"s", new(string), "s"},
		{[]byte("s"), new(string), nil},
		{[]byte("b"), new([]byte), []byte("b")},
		{&ByteArray{1, 2}, new([]byte), []byte{1, 2}},
		{listOf(int64(1), int64(2)), new([]byte), []byte{1, 2}},
		{[]byte{1, 2}, new([2]byte), [2]byte{1, 2}},
		{[]byte{1, 2, 3}, new([2]byte), nil},
		{"s", new([]byte), nil},
		{Tuple{int64(1), int64(2)}, new([]int), []int{1, 2}},
		{Tuple{int64(1), int64(2)}, new([2]int), [2]int{1, 2}},
		{Tuple{int64(1)}, new([2]int), nil},
		{listOf("a"), new([]string), []string{"a"}},
		{setOf(int64(3)), new([]int), []int{3}},
		{setOf("a", "b"), new(map[string]bool), map[string]bool{"a": true, "b": true}},
		{setOf("a"), new(map[string]struct{}), map[string]struct{}{"a": {}}},
		{setOf("a"), new(map[string]int), nil},
		{dictOf("a", int64(1)), new(map[string]int), map[string]int{"a": 1}},
		{dictOf(int64(1), "a"), new(map[string]string), nil},
		{dictOf(Tuple{int64(1), "x"}, true), new(map[[2]any]bool), map[[2]any]bool{{int64(1), "x"}: true}},
		{dictOf(Tuple{int64(1)}, true), new(map[any]bool), nil}, // a tuple cannot be a Go map key
		{dictOf(int64(1), nil), new(map[int]*int), map[int]*int{1: nil}},
		{nil, new(*int), (*int)(nil)},
		{int64(3), new(*int), ptrTo(3)},
		{"10.0.0.1", new(netip.Addr), netip.MustParseAddr("10.0.0.1")},
		{"bad", new(netip.Addr), nil},
		{big70, new(big.Int), *big70},
		{int64(7), new(Decimal), Decimal("7")},
		{Global{"m", "n"}, new(Global), Global{"m", "n"}},
		{Tuple{int64(1)}, new(Tuple), Tuple{int64(1)}},
		{[]byte{1, 2}, new([]myByte), []myByte{1, 2}},
		{[]byte{1, 2}, new([2]myByte), [2]myByte{1, 2}},
		{[]byte{1, 2}, new(myBytes), myBytes{1, 2}},
	} {
		dst := reflect.ValueOf(tc.dst)
		err := Convert(tc.m, tc.dst)
		if tc.want == nil {
			var ute *UnmarshalTypeError
			require.ErrorAs(t, err, &ute, "%s into %v", Repr(tc.m), dst.Type().Elem())
			continue
		}
		require.NoError(t, err, "%s into %v", Repr(tc.m), dst.Type().Elem())
		require.Equal(t, tc.want, dst.Elem().Interface(), "%s into %v", Repr(tc.m), dst.Type().Elem())
	}
}

func ptrTo[T any](v T) *T { return &v }

type (
	myByte  uint8
	myBytes []byte
)

func setOf(xs ...any) *Set {
	s := NewSet(len(xs))
	for _, x := range xs {
		if err := s.Add(x); err != nil {
			panic(err)
		}
	}
	return s
}

func TestConvertNoneLeavesValues(t *testing.T) {
	v := struct {
		N int
		S []int
		M map[string]int
		P *int
		A any
	}{1, []int{1}, map[string]int{"a": 1}, ptrTo(1), 1}
	require.NoError(t, Convert(dictOf("N", nil, "S", nil, "M", nil, "P", nil, "A", nil), &v))
	require.Equal(t, 1, v.N)
	require.Nil(t, v.S)
	require.Nil(t, v.M)
	require.Nil(t, v.P)
	require.Nil(t, v.A)
}

func TestConvertStructMatching(t *testing.T) {
	type target struct {
		UserID   int
		FullName string `pickle:"name"`
		Ignored  int    `pickle:"-"`
	}
	var v target
	require.NoError(t, Convert(dictOf("user_id", int64(7), "name", "Ann", "Ignored", int64(3), "extra", int64(1), int64(5), "non-str key"), &v))
	require.Equal(t, target{UserID: 7, FullName: "Ann"}, v)

	// Embedded pointers are allocated when one of their fields is set.
	var e struct {
		*Embedded
		ID int
	}
	require.NoError(t, Convert(dictOf("E1", "x", "ID", int64(1)), &e))
	require.Equal(t, "x", e.E1)
}

func TestConvertObjects(t *testing.T) {
	type pt struct {
		X, Y int
	}
	for _, tc := range []struct {
		name string
		m    any
		want pt
	}{
		{"newobj+build", &Object{Callable: Global{"m", "P"}, Kind: NewObj, Args: Tuple{}, State: dictOf("X", int64(1), "Y", int64(2)), HasState: true}, pt{1, 2}},
		{"reconstructor", newInstance(Global{"m", "P"}, dictOf("X", int64(1), "Y", int64(2)), 1), pt{1, 2}},
		{"slots", &Object{Callable: Global{"m", "P"}, Kind: NewObj, Args: Tuple{}, State: Tuple{nil, dictOf("X", int64(1), "Y", int64(2))}, HasState: true}, pt{1, 2}},
		{"dict and slots", &Object{Callable: Global{"m", "P"}, Kind: NewObj, Args: Tuple{}, State: Tuple{dictOf("X", int64(1)), dictOf("Y", int64(2))}, HasState: true}, pt{1, 2}},
		{"namedtuple", &Object{Callable: Global{"m", "P"}, Kind: NewObj, Args: Tuple{int64(1), int64(2)}}, pt{1, 2}},
		{"namedtuple extra args", newReduce(Global{"m", "P"}, int64(1), int64(2), int64(3)), pt{1, 2}},
		{"kwargs", &Object{Callable: Global{"m", "P"}, Kind: NewObjEx, Args: Tuple{}, Kwargs: dictOf("X", int64(1), "Y", int64(2))}, pt{1, 2}},
		{"dictitems", &Object{Callable: Global{"m", "P"}, Args: Tuple{}, DictItems: []Pair{{"X", int64(1)}, {"Y", int64(2)}}}, pt{1, 2}},
	} {
		var v pt
		require.NoError(t, Convert(tc.m, &v), tc.name)
		require.Equal(t, tc.want, v, tc.name)
	}
	var v pt
	err := Convert(&Object{Callable: Global{"m", "P"}, Kind: NewObj, Args: Tuple{}, State: Tuple{int64(1), int64(2), int64(3)}, HasState: true}, &v)
	require.ErrorContains(t, err, "implement Unpickler")
}

func TestConvertErrorPath(t *testing.T) {
	type item struct {
		Size int8 `pickle:"size"`
	}
	var v struct {
		Items []item          `pickle:"items"`
		Meta  map[string]int8 `pickle:"meta"`
	}
	err := Convert(dictOf("items", listOf(dictOf("size", int64(1)), dictOf("size", int64(300)))), &v)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "items[1].size", ute.Path)
	require.Equal(t, "int 300", ute.Value)
	require.Equal(t, reflect.TypeFor[int8](), ute.Type)
	require.EqualError(t, err, "pickle: cannot unmarshal Python int 300 into Go value of type int8 at items[1].size")

	err = Convert(dictOf("meta", dictOf("k", "v")), &v)
	require.ErrorAs(t, err, &ute)
	require.Equal(t, `meta["k"]`, ute.Path)
	require.Equal(t, "str", ute.Value)

	require.ErrorIs(t, Convert(int64(1), v), ErrInvalidTarget)
	require.ErrorIs(t, Convert(int64(1), (*int)(nil)), ErrInvalidTarget)
}

func TestConvertSharingAndCycles(t *testing.T) {
	type n struct {
		Name string
		Next *n
		Kids []*n
	}
	shared := dictOf("Name", "shared")
	root := dictOf("Name", "root")
	require.NoError(t, root.Set("Next", root))
	require.NoError(t, root.Set("Kids", listOf(shared, shared)))
	var p *n
	require.NoError(t, Convert(root, &p))
	require.Same(t, p, p.Next, "a dict cycle becomes a pointer cycle")
	require.Same(t, p.Kids[0], p.Kids[1], "a shared dict becomes one pointer")

	// A cycle with no pointer to close it is an error, not a hang.
	l := listOf(nil)
	(*l)[0] = l
	type rec []rec
	var r rec
	err := Convert(l, &r)
	require.ErrorIs(t, err, errCycle)
	// Into any it is kept as it is.
	var a any
	require.NoError(t, Convert(l, &a))
	require.Same(t, l, a)

	// Shared values are converted once: 2^40 paths, 40 conversions.
	var m any = "leaf"
	for range 40 {
		m = Tuple{m, m}
	}
	type deep [2]any
	var big [][]any
	require.NoError(t, Convert(Tuple{m}, &big))
	require.Len(t, big, 1)
}

// shape decodes itself from a tuple, as a class with __setstate__ would.
type shape struct{ sides int }

func (s *shape) Unpickle(v any) error {
	o, ok := v.(*Object)
	if !ok || !o.HasState {
		return errors.New("want an object with state")
	}
	n, ok := o.State.(int64)
	if !ok {
		return errors.New("want an int state")
	}
	s.sides = int(n)
	return nil
}

func TestConvertUnpickler(t *testing.T) {
	var s shape
	require.NoError(t, Convert(&Object{Callable: Global{"m", "Shape"}, Kind: NewObj, Args: Tuple{}, State: int64(4), HasState: true}, &s))
	require.Equal(t, 4, s.sides)
	var ps []*shape
	err := Convert(listOf("x"), &ps)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "[0]", ute.Path)
	require.ErrorContains(t, err, "want an object with state")
}

func TestConvertInterfaces(t *testing.T) {
	var e error
	exc := NewException("builtins", "KeyError", "k")
	require.NoError(t, Convert(exc, &e))
	require.Same(t, exc, e)
	var s interface{ String() string }
	require.ErrorAs(t, Convert(int64(1), &s), new(*UnmarshalTypeError))
	var a any
	require.NoError(t, Convert(dictOf("a", int64(1)), &a))
	require.IsType(t, &Dict{}, a)
	var tm time.Time
	require.ErrorAs(t, Convert("2024-01-01", &tm), new(*UnmarshalTypeError))
}

type pyRecord struct {
	ID      int            `pickle:"id"`
	Payload string         `pickle:"payload"`
	Tags    []string       `pickle:"tags"`
	Score   float64        `pickle:"score"`
	When    time.Time      `pickle:"when"`
	Blob    []byte         `pickle:"blob"`
	Pair    [2]int         `pickle:"pair"`
	Opt     *int           `pickle:"opt"`
	Meta    map[string]int `pickle:"meta"`
	Nested  inner          `pickle:"nested"`
	Skipped string         `pickle:"skipped,omitempty"`
}

// pyContainerCases are structs, maps, slices and ints, checked against
// Python by TestPythonMapping.
func pyContainerCases() []pyCase {
	rec := pyRecord{ID: 12345, Payload: "data", Tags: []string{"a", "b"}, Score: 1.5,
		When: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Blob: []byte{0, 1}, Pair: [2]int{1, 2},
		Meta: map[string]int{"a": 1, "b": 2}, Nested: inner{X: 1}}
	return []pyCase{
		{name: "struct", py: "{'id': 12345, 'payload': 'data', 'tags': ['a', 'b'], 'score': 1.5, 'when': dt(2024,1,2,3,4,5,tzinfo=tz.utc), " +
			"'blob': b'\\x00\\x01', 'pair': (1, 2), 'opt': None, 'meta': {'a': 1, 'b': 2}, 'nested': {'x': 1}}", gov: rec},
		{name: "pointer to struct", py: "{'id': 1, 'payload': '', 'tags': [], 'score': 0.0, 'when': dt(1,1,1), 'blob': b'', 'pair': (0, 0), " +
			"'opt': 7, 'meta': {}, 'nested': {'x': 0}}", gov: &pyRecord{ID: 1, Tags: []string{}, When: time.Date(1, 1, 1, 0, 0, 0, 0, Naive),
			Blob: []byte{}, Opt: ptrTo(7), Meta: map[string]int{}}},
		{name: "int keys", py: "{-1: 'y', 10: 'x'}", gov: map[int]string{10: "x", -1: "y"}},
		{name: "tuple keys", py: "{(1, 2): 'a', (2, 1): 'b'}", gov: map[[2]int]string{{2, 1}: "b", {1, 2}: "a"}},
		{name: "nested slices", py: "[[1, 2], [], [3]]", gov: [][]int8{{1, 2}, {}, {3}}},
		{name: "bytes list", py: "[b'a', b'', b'\\xff']", gov: [][]byte{[]byte("a"), {}, {0xff}}},
		{name: "uint64 max", py: "2**64-1", gov: uint64(math.MaxUint64)},
		{name: "int64 min", py: "-2**63", gov: int64(math.MinInt64)},
		{name: "big int", py: "-2**100", gov: new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 100))},
		{name: "float32", py: "0.25", gov: float32(0.25)},
		{name: "any", py: "[None, True, 1, 2.5, 'x', b'y', (1,), {'k': [1]}]", inexact: true,
			gov: []any{nil, true, int64(1), 2.5, "x", []byte("y"), Tuple{int64(1)}, dictOf("k", listOf(int64(1)))}},
		{name: "set into map", oneWay: true, py: "{1, 2, 3}", gov: map[int]bool{1: true, 2: true, 3: true}},
		{name: "frozenset into slice", oneWay: true, py: "frozenset([5])", gov: []int{5}},
		{name: "bytearray into bytes", oneWay: true, py: "bytearray(b'ab')", gov: []byte("ab")},
		{name: "tuple into slice", oneWay: true, py: "(1, 'a')", gov: []any{int64(1), "a"}},
		{name: "nested dict into map of any", oneWay: true, py: "{'a': {'b': 1}}", gov: map[string]any{"a": dictOf("b", int64(1))}},
	}
}

// fuzzTarget has a field of every kind the mapping layer handles.
type fuzzTarget struct {
	I   int8
	U   uint16
	F   float32
	S   string
	B   []byte
	A   [2]int
	L   []string
	M   map[string]int
	MK  map[[2]int]bool
	Set map[string]struct{}
	P   *fuzzTarget
	T   time.Time
	D   time.Duration
	Dt  Date
	Tod TimeOfDay
	Dec Decimal
	ID  UUID
	Any any
	C   complex128
	Big *big.Int
	E   error
	Emb
}

type Emb struct{ X *int }

// FuzzUnmarshalStruct decodes arbitrary pickles into a typed struct. It
// must never panic or hang, and whatever decodes must encode and decode
// again to the same bytes.
func FuzzUnmarshalStruct(f *testing.F) {
	seed := fuzzTarget{I: -1, U: 2, F: 1.5, S: "s", B: []byte("b"), A: [2]int{1, 2}, L: []string{"x"}, M: map[string]int{"k": 1},
		MK: map[[2]int]bool{{1, 2}: true}, Set: map[string]struct{}{"a": {}}, P: &fuzzTarget{S: "child"},
		T: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.FixedZone("X", 3600)), D: time.Second, Dt: Date{2024, 1, 2},
		Tod: TimeOfDay{Hour: 1, Zone: time.UTC}, Dec: "1.5", ID: UUID{1}, Any: Tuple{int64(1)}, C: 1i, Big: big.NewInt(-7),
		E: NewException("builtins", "KeyError", "k"), Emb: Emb{X: ptrTo(3)}}
	for p := 0; p <= HighestProtocol; p++ {
		data, err := Dumps(seed, p)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("\x80\x04\x95f\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02id\x94K\x07\x8c\x09user_name\x94\x8c\x03ann\x94\x8c\x05roles\x94]\x94\x8c\x05admin\x94a\x8c\x09last_seen\x94\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\x0a\x07\xe8\x05\x06\x07\x08\x09\x00\x00\x00\x94\x85\x94R\x94u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fuzzTarget
		if err := Unmarshal(data, &v); err != nil {
			return
		}
		b1, err := Marshal(v)
		require.NoError(t, err)
		var w fuzzTarget
		require.NoError(t, Unmarshal(b1, &w))
		b2, err := Marshal(w)
		require.NoError(t, err)
		require.Equal(t, b1, b2)
	})
}
