package syncobj

import (
	"testing"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

func pyArray(code string, data []byte) *pickle.Object {
	return &pickle.Object{Callable: pickle.Global{Module: "array", Name: "array"}, Kind: pickle.Reduce, Args: pickle.Tuple{code, data}}
}

func TestArrayCreate(t *testing.T) {
	big := bigInt("1180591620717411303424") // 1 << 70
	for _, tc := range []struct {
		args pickle.Tuple
		want string
	}{
		{tuple("i", list(int64(1), int64(-2))), "array('i', [1, -2])"},
		{tuple("d", list(int64(1), 2.5)), "array('d', [1.0, 2.5])"},
		{tuple("f", list(0.1)), "array('f', [0.10000000149011612])"},
		{tuple("f", list(1e300)), "array('f', [inf])"},
		{tuple("u", "ab"), "array('u', 'ab')"},
		{tuple("u", list()), "array('u')"},
		{tuple("b", list(true)), "array('b', [1])"},
		{tuple("i", []byte{1, 0, 0, 0}), "array('i', [1])"},
		{tuple("Q", list(bigInt("18446744073709551615"))), "array('Q', [18446744073709551615])"},
		{tuple("i", pyArray("i", []byte{2, 0, 0, 0})), "array('i', [2])"},
		{tuple("x", list()), "ValueError: bad typecode (must be b, B, u, w, h, H, i, I, l, L, q, Q, f or d)"},
		{tuple(int64(1), list()), "TypeError: array() argument 1 must be a unicode character, not int"},
		{tuple("ab", list()), "TypeError: array() argument 1 must be a unicode character, not str"},
		{tuple("b", list(int64(200))), "OverflowError: signed char is greater than maximum"},
		{tuple("b", list(int64(-200))), "OverflowError: signed char is less than minimum"},
		{tuple("B", list(int64(-1))), "OverflowError: unsigned byte integer is less than minimum"},
		{tuple("h", list(int64(1<<20))), "OverflowError: signed short integer is greater than maximum"},
		{tuple("H", list(int64(1<<20))), "OverflowError: unsigned short is greater than maximum"},
		{tuple("i", list(int64(1<<40))), "OverflowError: signed integer is greater than maximum"},
		{tuple("I", list(int64(1<<40))), "OverflowError: unsigned int is greater than maximum"},
		{tuple("I", list(int64(-1))), "OverflowError: can't convert negative value to unsigned int"},
		{tuple("l", list(big)), "OverflowError: Python int too large to convert to C long"},
		{tuple("L", list(int64(-1))), "OverflowError: can't convert negative value to unsigned int"},
		{tuple("L", list(big)), "OverflowError: Python int too large to convert to C unsigned long"},
		{tuple("q", list(big)), "OverflowError: int too big to convert"},
		{tuple("Q", list(int64(-1))), "OverflowError: can't convert negative int to unsigned"},
		{tuple("Q", list(big)), "OverflowError: int too big to convert"},
		{tuple("h", list(big)), "OverflowError: Python int too large to convert to C long"},
		{tuple("i", list("a")), "TypeError: 'str' object cannot be interpreted as an integer"},
		{tuple("i", list(1.5)), "TypeError: 'float' object cannot be interpreted as an integer"},
		{tuple("d", list("a")), "TypeError: must be real number, not str"},
		{tuple("d", list(nil)), "TypeError: must be real number, not NoneType"},
		{tuple("u", list(int64(1))), "TypeError: array item must be unicode character"},
		{tuple("u", list("ab")), "TypeError: array item must be unicode character"},
		{tuple("i", "abc"), "TypeError: cannot use a str to initialize an array with typecode 'i'"},
		{tuple("i", []byte("abc")), "ValueError: bytes length not a multiple of item size"},
		{tuple("i", nil), "TypeError: 'NoneType' object is not iterable"},
		{tuple("i", int64(5)), "TypeError: 'int' object is not iterable"},
		{tuple("i"), "TypeError: Array() missing 1 required positional argument: 'sequence'"},
	} {
		a, err := NewArray(tc.args, nil)
		got := ""
		if err != nil {
			got = describe(nil, err)
		} else {
			got = a.Repr()
		}
		require.Equal(t, tc.want, got, Repr(tc.args))
	}
}

func TestArrayMethods(t *testing.T) {
	a := mustObj[*Array](t)(NewArray(tuple("h", list(int64(1), int64(2), int64(3))), nil))
	runSteps(t, a, []step{
		{method: "__len__", want: "OK 3"},
		{method: "__getitem__", args: tuple(int64(-1)), want: "OK 3"},
		{method: "__getitem__", args: tuple(int64(5)), want: "IndexError: array index out of range"},
		{method: "__getitem__", args: tuple("x"), want: "TypeError: array indices must be integers"},
		{method: "__getitem__", args: tuple(slice(nil, nil, int64(2))), want: "OK array('h', [1, 3])"},
		{method: "__setitem__", args: tuple(int64(5), int64(1)), want: "IndexError: array assignment index out of range"},
		{method: "__setitem__", args: tuple(int64(0), int64(1<<20)), want: "OverflowError: signed short integer is greater than maximum"},
		{method: "__setitem__", args: tuple(int64(0), int64(-7)), want: "OK None", state: "array('h', [-7, 2, 3])"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(1), nil), list(int64(1))), want: "TypeError: can only assign array (not \"list\") to array slice"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(1), nil), pyArray("i", []byte{1, 0, 0, 0})), want: "TypeError: bad argument type for built-in operation"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(3), int64(2)), pyArray("h", []byte{1, 0})), want: "ValueError: attempt to assign array of size 1 to extended slice of size 2"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(1), nil), pyArray("h", []byte{9, 0, 8, 0})), want: "OK None", state: "array('h', [9, 8, 2, 3])"},
		{method: "__setitem__", args: tuple(slice(nil, nil, int64(-2)), pyArray("h", []byte{1, 0, 2, 0})), want: "OK None", state: "array('h', [9, 2, 2, 1])"},
	})
	v, err := a.Value()
	require.NoError(t, err)
	o := v.(*pickle.Object)
	require.Equal(t, pickle.Tuple{"h", []byte{9, 0, 2, 0, 2, 0, 1, 0}}, o.Args)
}

func TestArrayReconstructor(t *testing.T) {
	// array._array_reconstructor(array.array, 'i', 8, b'\x01\x00\x00\x00'),
	// as pickle (not multiprocessing) writes arrays at protocol 3+.
	o := &pickle.Object{Callable: pickle.Global{Module: "array", Name: "_array_reconstructor"}, Kind: pickle.Reduce,
		Args: pickle.Tuple{pickle.Global{Module: "array", Name: "array"}, "i", int64(8), []byte{1, 0, 0, 0}}}
	items, err := Iterate(o)
	require.NoError(t, err)
	require.Equal(t, []any{int64(1)}, items)
	// big-endian doubles, code 17
	o.Args = pickle.Tuple{pickle.Global{Module: "array", Name: "array"}, "d", int64(17), []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}}
	require.Equal(t, "array('d', [1.5])", Repr(o))
}
