package pickle

import (
	"errors"
	"math"
	"math/big"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// jsonOf renders a value model for comparisons in tests.
func jsonOf(t *testing.T, m any) string {
	t.Helper()
	b, err := ToJSON(m)
	require.NoError(t, err)
	return string(b)
}

type inner struct {
	X int `pickle:"x"`
	Y int `pickle:"y,omitempty"`
}

type Embedded struct {
	E1 string
	E2 string `pickle:"e2"`
}

type outer struct {
	Name     string            `pickle:"name"`
	Skip     string            `pickle:"-"`
	Dash     string            `pickle:"-,"`
	Empty    string            `pickle:",omitempty"`
	Zero     time.Time         `pickle:",omitzero"`
	Ptr      *inner            `pickle:"ptr"`
	NilPtr   *inner            `pickle:"nil_ptr"`
	Inner    inner             `pickle:"inner"`
	Tags     []string          `pickle:"tags"`
	NilSlice []int             `pickle:"nil_slice"`
	Map      map[string]int    `pickle:"map"`
	IntKeys  map[int]string    `pickle:"int_keys"`
	Tuple    [2]int            `pickle:"tuple"`
	Hash     [4]byte           `pickle:"hash"`
	Raw      []byte            `pickle:"raw"`
	Any      any               `pickle:"any"`
	Big      *big.Int          `pickle:"big"`
	Unsigned uint64            `pickle:"unsigned"`
	F32      float32           `pickle:"f32"`
	C        complex128        `pickle:"c"`
	Addr     netip.Addr        `pickle:"addr"`
	TupleKey map[[2]int]string `pickle:"tuple_key"`
	private  int
	Embedded
}

func TestModelOfStruct(t *testing.T) {
	v := outer{
		Name: "n", Skip: "s", Dash: "d", Ptr: &inner{X: 1}, Inner: inner{X: 2, Y: 3},
		Tags: []string{"a", "b"}, Map: map[string]int{"b": 2, "a": 1}, IntKeys: map[int]string{10: "x", -1: "y"},
		Tuple: [2]int{4, 5}, Hash: [4]byte{1, 2, 3, 4}, Raw: []byte("raw"), Any: []any{1, "x"},
		Big: new(big.Int).Lsh(big.NewInt(1), 70), Unsigned: math.MaxUint64, F32: 1.5, C: 1 + 2i,
		Addr: netip.MustParseAddr("10.0.0.1"), TupleKey: map[[2]int]string{{2, 1}: "b", {1, 2}: "a"},
		private: 7, Embedded: Embedded{E1: "e1", E2: "e2"},
	}
	m, err := ModelOf(v, 4)
	require.NoError(t, err)
	require.Equal(t, `{"name":"n","-":"d","ptr":{"x":1},"nil_ptr":null,"inner":{"x":2,"y":3},"tags":["a","b"],`+
		`"nil_slice":[],"map":{"a":1,"b":2},"int_keys":{"$dict":[[-1,"y"],[10,"x"]]},"tuple":{"$tuple":[4,5]},`+
		`"hash":{"$bytes":"AQIDBA=="},"raw":{"$bytes":"cmF3"},"any":[1,"x"],"big":{"$int":"1180591620717411303424"},`+
		`"unsigned":{"$int":"18446744073709551615"},"f32":1.5,"c":{"$complex":[1.0,2.0]},"addr":"10.0.0.1",`+
		`"tuple_key":{"$dict":[[{"$tuple":[1,2]},"a"],[{"$tuple":[2,1]},"b"]]},"E1":"e1","e2":"e2"}`, jsonOf(t, m))
}

type conflictA struct{ Name string }
type conflictB struct{ Name string }
type conflictTagged struct {
	Name string `pickle:"Name"`
}
type withConflicts struct {
	conflictA
	conflictB
	ID int
}
type withTaggedWinner struct {
	conflictA
	conflictTagged
}
type withShallowWinner struct {
	conflictA
	Name int
}

func TestEmbeddingRules(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{withConflicts{conflictA{"a"}, conflictB{"b"}, 1}, `{"ID":1}`},
		{withTaggedWinner{conflictA{"a"}, conflictTagged{"t"}}, `{"Name":"t"}`},
		{withShallowWinner{conflictA{"a"}, 5}, `{"Name":5}`},
		{struct{ *Embedded }{}, `{}`},
		{struct{ *Embedded }{&Embedded{E1: "x"}}, `{"E1":"x","e2":""}`},
		// As with encoding/json, an embedded time.Time promotes MarshalText.
		{struct{ time.Time }{time.Date(2024, 1, 2, 0, 0, 0, 0, Naive)}, `"2024-01-02T00:00:00Z"`},
		{struct {
			time.Time `pickle:"when"`
		}{time.Date(2024, 1, 2, 0, 0, 0, 0, Naive)}, `"2024-01-02T00:00:00Z"`},
	} {
		m, err := ModelOf(tc.v, 4)
		require.NoError(t, err)
		require.Equal(t, tc.want, jsonOf(t, m), "%T", tc.v)
	}
}

type node struct {
	Name string
	Next *node
	Kids []*node
}

func TestModelOfSharingAndCycles(t *testing.T) {
	shared := &node{Name: "shared"}
	root := &node{Name: "root", Kids: []*node{shared, shared}}
	root.Next = root
	m, err := ModelOf(root, 4)
	require.NoError(t, err)
	d := m.(*Dict)
	next, _ := d.Get("Next")
	require.Same(t, d, next, "a pointer cycle becomes a dict cycle")
	kids, _ := d.Get("Kids")
	l := *kids.(*List)
	require.Same(t, l[0], l[1], "a shared pointer becomes one shared dict")

	// A map and a slice that contain themselves.
	mm := map[string]any{}
	mm["self"] = mm
	m, err = ModelOf(mm, 4)
	require.NoError(t, err)
	self, _ := m.(*Dict).Get("self")
	require.Same(t, m, self)
	s := []any{nil}
	s[0] = s
	m, err = ModelOf(s, 4)
	require.NoError(t, err)
	require.Same(t, m, (*m.(*List))[0])

	type P *P
	var p P
	p = &p
	_, err = ModelOf(p, 4)
	var uve *UnsupportedValueError
	require.ErrorAs(t, err, &uve)
}

func TestModelOfErrors(t *testing.T) {
	type withChan struct {
		Items []struct{ C chan int }
	}
	_, err := ModelOf(withChan{Items: make([]struct{ C chan int }, 2)}, 4)
	var ute *UnsupportedTypeError
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "Items[0].C", ute.Path)
	require.Contains(t, err.Error(), "chan int")

	_, err = ModelOf(map[string]func(){"f": func() {}}, 4)
	require.ErrorAs(t, err, &ute)
	require.Equal(t, `[f]`, ute.Path)

	_, err = ModelOf(struct{ T time.Time }{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, 4)
	var uve *UnsupportedValueError
	require.ErrorAs(t, err, &uve)
	require.Equal(t, "T", uve.Path)

	_, err = ModelOf(Decimal("1.2.3"), 4)
	require.ErrorAs(t, err, &uve)

	// A key Python cannot hash.
	_, err = ModelOf(map[any]int{&node{}: 1}, 4)
	require.Error(t, err)
}

type celsius float64

func (celsius) PythonClass() (string, string) { return "weather", "Celsius" }

type point struct {
	X, Y int
}

func (point) PythonClass() (string, string) { return "geometry", "Point" }

type emptyClass struct{}

func (emptyClass) PythonClass() (string, string) { return "m", "Empty" }

type reduced struct{ v int }

func (r reduced) PickleReduce() (*Object, error) {
	if r.v < 0 {
		return nil, errors.New("negative")
	}
	return newReduce(Global{"m", "make"}, int64(r.v)), nil
}

func TestModelOfClasses(t *testing.T) {
	for _, tc := range []struct {
		v        any
		protocol int
		want     string
	}{
		{point{1, 2}, 4, `{"$object":{"callable":{"$global":"geometry:Point"},"kind":"newobj","args":[],"state":{"X":1,"Y":2}}}`},
		{&point{1, 2}, 2, `{"$object":{"callable":{"$global":"geometry:Point"},"kind":"newobj","args":[],"state":{"X":1,"Y":2}}}`},
		{point{1, 2}, 1, `{"$object":{"callable":{"$global":"copyreg:_reconstructor"},"args":[{"$global":"geometry:Point"},{"$global":"builtins:object"},null],"state":{"X":1,"Y":2}}}`},
		{emptyClass{}, 4, `{"$object":{"callable":{"$global":"m:Empty"},"kind":"newobj","args":[]}}`},
		{celsius(21.5), 4, `{"$object":{"callable":{"$global":"weather:Celsius"},"args":[21.5]}}`},
		{reduced{3}, 4, `{"$object":{"callable":{"$global":"m:make"},"args":[3]}}`},
		{[]any{reduced{3}}, 4, `[{"$object":{"callable":{"$global":"m:make"},"args":[3]}}]`},
	} {
		m, err := ModelOf(tc.v, tc.protocol)
		require.NoError(t, err)
		require.Equal(t, tc.want, jsonOf(t, m), "%#v", tc.v)
	}
	_, err := ModelOf(reduced{-1}, 4)
	require.ErrorContains(t, err, "negative")
}

func TestModelOfPassesValueModel(t *testing.T) {
	d := NewDict(0)
	require.NoError(t, d.Set(Tuple{int64(1)}, "x"))
	for _, v := range []any{d, Tuple{int64(1)}, Global{"a", "b"}, &Object{Callable: Global{"a", "b"}}, NewException("builtins", "KeyError", "k")} {
		m, err := ModelOf(v, 4)
		require.NoError(t, err)
		require.Equal(t, v, m)
	}
}

func TestModelOfNamedScalars(t *testing.T) {
	type myInt int16
	type myStr string
	type myBytes []byte
	type myList []myInt
	for _, tc := range []struct {
		v    any
		want string
	}{
		{myInt(-3), `-3`},
		{myStr("s"), `"s"`},
		{myBytes("b"), `{"$bytes":"Yg=="}`},
		{myList{1, 2}, `[1,2]`},
		{uint8(255), `255`},
		{[]myByte{1}, `{"$bytes":"AQ=="}`},
		{[2]myByte{1, 2}, `{"$bytes":"AQI="}`},
		{struct {
			I any        `pickle:",omitzero"`
			T *time.Time `pickle:",omitzero"`
		}{}, `{}`},
		{float32(0.5), `0.5`},
		{complex64(1i), `{"$complex":[0.0,1.0]}`},
		{*big.NewInt(5), `5`},
		{map[bool]int{true: 1, false: 0}, `{"$dict":[[false,0],[true,1]]}`},
		{map[float64]int{2.5: 1, -1: 0}, `{"$dict":[[-1.0,0],[2.5,1]]}`},
	} {
		m, err := ModelOf(tc.v, 4)
		require.NoError(t, err)
		require.Equal(t, tc.want, jsonOf(t, m), "%#v", tc.v)
	}
}
