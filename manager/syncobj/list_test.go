package syncobj

import (
	"github.com/mpbridge/mpbridge/pickle"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestListMethods(t *testing.T) {
	big := bigInt("1000000000000000000000000000000")
	l := mustObj[*List](t)(NewList(tuple(list(int64(1), int64(2), int64(3))), nil))
	runSteps(t, l, []step{
		{method: "__len__", want: "OK 3"},
		{method: "__getitem__", args: tuple(int64(-1)), want: "OK 3"},
		{method: "__getitem__", args: tuple(int64(7)), want: "IndexError: list index out of range"},
		{method: "__getitem__", args: tuple("a"), want: "TypeError: list indices must be integers or slices, not str"},
		{method: "__getitem__", args: tuple(1.0), want: "TypeError: list indices must be integers or slices, not float"},
		{method: "__getitem__", args: tuple(big), want: "IndexError: cannot fit 'int' into an index-sized integer"},
		{method: "__getitem__", args: tuple(true), want: "OK 2"},
		{method: "__getitem__", args: tuple(slice(int64(1), nil, nil)), want: "OK [2, 3]"},
		{method: "__getitem__", args: tuple(slice(nil, nil, int64(-1))), want: "OK [3, 2, 1]"},
		{method: "__getitem__", args: tuple(slice(big, nil, nil)), want: "OK []"},
		{method: "__getitem__", args: tuple(slice(nil, nil, int64(0))), want: "ValueError: slice step cannot be zero"},
		{method: "__getitem__", args: tuple(slice("a", nil, nil)), want: "TypeError: slice indices must be integers or None or have an __index__ method"},
		{method: "__getitem__", args: tuple(), want: "TypeError: expected 1 argument, got 0"},
		{method: "index", args: tuple(int64(5)), want: "ValueError: 5 is not in list"},
		{method: "index", args: tuple("a"), want: "ValueError: 'a' is not in list"},
		{method: "index", args: tuple(2.0), want: "OK 1"},
		{method: "index", args: tuple(int64(1), int64(1)), want: "ValueError: 1 is not in list"},
		{method: "index", args: tuple(int64(1), "a"), want: "TypeError: slice indices must be integers or have an __index__ method"},
		{method: "index", args: tuple(int64(1), big), want: "ValueError: 1 is not in list"},
		{method: "remove", args: tuple(int64(5)), want: "ValueError: list.remove(x): x not in list"},
		{method: "pop", args: tuple(int64(7)), want: "IndexError: pop index out of range"},
		{method: "pop", args: tuple("a"), want: "TypeError: 'str' object cannot be interpreted as an integer"},
		{method: "pop", args: tuple(big), want: "OverflowError: Python int too large to convert to C ssize_t"},
		{method: "pop", kwargs: kw("index", int64(1)), want: "TypeError: list.pop() takes no keyword arguments"},
		{method: "insert", args: tuple(int64(1)), want: "TypeError: insert expected 2 arguments, got 1"},
		{method: "count", args: tuple(), want: "TypeError: list.count() takes exactly one argument (0 given)"},
		{method: "append", args: tuple(), want: "TypeError: list.append() takes exactly one argument (0 given)"},
		{method: "extend", args: tuple(int64(1)), want: "TypeError: 'int' object is not iterable"},
		{method: "extend", args: tuple(nil), want: "TypeError: 'NoneType' object is not iterable"},
		{method: "__mul__", args: tuple("a"), want: "TypeError: 'str' object cannot be interpreted as an integer"},
		{method: "__mul__", args: tuple(big), want: "OverflowError: cannot fit 'int' into an index-sized integer"},
		{method: "__mul__", args: tuple(int64(2)), want: "OK [1, 2, 3, 1, 2, 3]"},
		{method: "__rmul__", args: tuple(int64(-1)), want: "OK []"},
		{method: "__rmul__", args: tuple(1.5), want: "TypeError: 'float' object cannot be interpreted as an integer"},
		{method: "__add__", args: tuple(tuple(int64(1))), want: "TypeError: can only concatenate list (not \"tuple\") to list"},
		{method: "__add__", args: tuple(list("x")), want: "OK [1, 2, 3, 'x']"},
		{method: "__setitem__", args: tuple(int64(7), int64(1)), want: "IndexError: list assignment index out of range"},
		{method: "__delitem__", args: tuple(int64(7)), want: "IndexError: list assignment index out of range"},
		{method: "__delitem__", args: tuple("a"), want: "TypeError: list indices must be integers or slices, not str"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(3), int64(2)), list(int64(1))), want: "ValueError: attempt to assign sequence of size 1 to extended slice of size 2"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(1), nil), int64(5)), want: "TypeError: can only assign an iterable"},
		{method: "__setitem__", args: tuple(slice(int64(0), int64(3), int64(2)), int64(5)), want: "TypeError: must assign iterable to extended slice"},
		{method: "__contains__", args: tuple(int64(3)), want: "OK True"},
		{method: "__contains__", args: tuple(), want: "TypeError: expected 1 argument, got 0"},
		{method: "__reversed__", args: tuple(int64(1)), want: "TypeError: list.__reversed__() takes no arguments (1 given)"},
		{method: "sort", args: tuple(int64(1)), want: "TypeError: sort() takes no positional arguments"},
		{method: "sort", kwargs: kw("foo", int64(1)), want: "TypeError: sort() got an unexpected keyword argument 'foo'"},
		{method: "sort", kwargs: kw("key", "len"), want: "NotImplementedError: mpbridge cannot run Python code: list.sort(key='len'); the keys it runs are len, abs, str.lower, str.upper and operator.itemgetter(...)"},
		{method: "nosuch", want: "GoError: AttributeError: 'list' object has no attribute 'nosuch'"},
	})
	require.Equal(t, "[1, 2, 3]", l.Repr())
}

func TestListMutations(t *testing.T) {
	l := mustObj[*List](t)(NewList(nil, nil))
	runSteps(t, l, []step{
		{method: "append", args: tuple(int64(3)), want: "OK None", state: "[3]"},
		{method: "extend", args: tuple("ab"), want: "OK None", state: "[3, 'a', 'b']"},
		{method: "extend", args: tuple([]byte{1, 2}), want: "OK None", state: "[3, 'a', 'b', 1, 2]"},
		{method: "insert", args: tuple(int64(-100), nil), want: "OK None", state: "[None, 3, 'a', 'b', 1, 2]"},
		{method: "insert", args: tuple(int64(100), 1.5), want: "OK None", state: "[None, 3, 'a', 'b', 1, 2, 1.5]"},
		{method: "pop", want: "OK 1.5", state: "[None, 3, 'a', 'b', 1, 2]"},
		{method: "pop", args: tuple(int64(0)), want: "OK None", state: "[3, 'a', 'b', 1, 2]"},
		{method: "remove", args: tuple(true), want: "OK None", state: "[3, 'a', 'b', 2]"},
		{method: "count", args: tuple("a"), want: "OK 1"},
		{method: "reverse", want: "OK None", state: "[2, 'b', 'a', 3]"},
		{method: "__delitem__", args: tuple(slice(nil, nil, int64(2))), want: "OK None", state: "['b', 3]"},
		{method: "__setitem__", args: tuple(slice(int64(1), int64(1), nil), tuple(int64(7), int64(8))), want: "OK None", state: "['b', 7, 8, 3]"},
		{method: "__setitem__", args: tuple(slice(nil, nil, int64(-2)), list("x", "y")), want: "OK None", state: "['b', 'y', 8, 'x']"},
		{method: "__setitem__", args: tuple(slice(int64(1), nil, nil), list()), want: "OK None", state: "['b']"},
		{method: "__imul__", args: tuple(int64(3)), want: "OK ['b', 'b', 'b']", state: "['b', 'b', 'b']"},
		{method: "__delitem__", args: tuple(slice(nil, nil, int64(-1))), want: "OK None", state: "[]"},
		{method: "pop", want: "IndexError: pop from empty list"},
		{method: "extend", args: tuple(dict("k", int64(1), "j", int64(2))), want: "OK None", state: "['k', 'j']"},
		{method: "__reversed__", want: "OK <list_reverseiterator object>"},
		{method: "__iadd__", args: tuple(list(int64(1))), want: "OK ['k', 'j', 1]"},
	})
}

func TestListSort(t *testing.T) {
	for _, tc := range []struct {
		items   []any
		reverse bool
		want    string
	}{
		{[]any{int64(3), 1.5, true, int64(-2)}, false, "OK None [-2, True, 1.5, 3]"},
		{[]any{int64(3), 1.5, true, int64(-2)}, true, "OK None [3, 1.5, True, -2]"},
		{[]any{"b", "a", "c"}, false, "OK None ['a', 'b', 'c']"},
		{[]any{tuple(int64(1), "b"), tuple(int64(1), "a"), tuple(int64(0), "z")}, false, "OK None [(0, 'z'), (1, 'a'), (1, 'b')]"},
		{[]any{int64(1), "a"}, false, "TypeError: '<' not supported between instances of 'str' and 'int'"},
		{[]any{"a", int64(1), int64(2)}, false, "TypeError: '<' not supported between instances of 'int' and 'str'"},
		{[]any{nil, nil}, false, "TypeError: '<' not supported between instances of 'NoneType' and 'NoneType'"},
		{[]any{tuple(int64(1), "a"), tuple(int64(1), int64(2))}, false, "TypeError: '<' not supported between instances of 'int' and 'str'"},
		{[]any{int64(1), dict()}, false, "TypeError: '<' not supported between instances of 'dict' and 'int'"},
		{[]any{[]byte("b"), "a"}, false, "TypeError: '<' not supported between instances of 'str' and 'bytes'"},
		{[]any{tuple(), list()}, false, "TypeError: '<' not supported between instances of 'list' and 'tuple'"},
		{[]any{int64(1), complex(1, 2)}, false, "TypeError: '<' not supported between instances of 'complex' and 'int'"},
		{[]any{list(int64(2)), list(int64(1), int64(5))}, false, "OK None [[1, 5], [2]]"},
		{[]any{bigInt("100000000000000000000"), 1e20, int64(5)}, false, "OK None [5, 100000000000000000000, 1e+20]"},
	} {
		l := &List{items: tc.items}
		res, err := l.Call(t.Context(), nil, "sort", nil, kw("reverse", tc.reverse))
		got := describe(res, err)
		if err == nil {
			got += " " + l.Repr()
		}
		require.Equal(t, tc.want, got, Repr(list(tc.items...)))
	}
}

func TestSortMatchesStableSort(t *testing.T) {
	// Long lists go through the merge phase: the result must be the
	// stable sort by key, equal keys keeping their order.
	for _, n := range []int{63, 64, 65, 200, 1000} {
		items := make([]any, n)
		for i := range items {
			items[i] = tuple(int64((i*7919)%13), int64(i))
		}
		require.NoError(t, sortValues(items, false))
		for i := 1; i < n; i++ {
			a, b := items[i-1].(pickle.Tuple), items[i].(pickle.Tuple)
			lt, err := Less(b, a)
			require.NoError(t, err)
			require.False(t, lt, "n=%d i=%d %s > %s", n, i, Repr(a), Repr(b))
		}
	}
}

// TestListSortKey: the builtin keys run on the server, with CPython's
// results, stability and errors; Python code does not.
func TestListSortKey(t *testing.T) {
	g := func(m, n string) pickle.Global { return pickle.Global{Module: m, Name: n} }
	red := func(c pickle.Global, args ...any) *pickle.Object {
		return &pickle.Object{Callable: c, Args: pickle.Tuple(args)}
	}
	lower := red(g("builtins", "getattr"), g("builtins", "str"), "lower")
	upperFolded := g("builtins", "str.upper") // how the manager decoder hands getattr(str, "upper") over
	ig := func(items ...any) *pickle.Object { return red(g("operator", "itemgetter"), items...) }
	cases := []struct {
		items []any
		key   any
		rev   bool
		want  string
	}{
		{[]any{"ccc", "a", "bb", "", "dd"}, g("builtins", "len"), false, "OK ['', 'a', 'bb', 'dd', 'ccc']"},
		{[]any{"ccc", "a", "bb", "", "dd"}, g("builtins", "len"), true, "OK ['ccc', 'bb', 'dd', 'a', '']"},
		{[]any{int64(-3), 2.5, int64(-1), true}, g("builtins", "abs"), false, "OK [-1, True, 2.5, -3]"},
		{[]any{"b", "A", "c", "B"}, lower, false, "OK ['A', 'b', 'B', 'c']"},
		{[]any{"b", "A", "c", "B"}, upperFolded, true, "OK ['c', 'b', 'B', 'A']"},
		{[]any{tuple(int64(1), "b"), tuple(int64(2), "a"), tuple(int64(0), "b")}, ig(int64(1)), false, "OK [(2, 'a'), (1, 'b'), (0, 'b')]"},
		{[]any{tuple(int64(1), "b"), tuple(int64(2), "a"), tuple(int64(0), "b")}, ig(int64(1), int64(0)), false, "OK [(2, 'a'), (0, 'b'), (1, 'b')]"},
		{[]any{tuple(int64(1), "b"), tuple(int64(2), "a")}, ig(int64(-1)), false, "OK [(2, 'a'), (1, 'b')]"},
		{[]any{int64(1), "a"}, g("builtins", "len"), false, "TypeError: object of type 'int' has no len()"},
		{[]any{"a", int64(1)}, g("builtins", "abs"), false, "TypeError: bad operand type for abs(): 'str'"},
		{[]any{int64(1)}, lower, false, "TypeError: descriptor 'lower' for 'str' objects doesn't apply to a 'int' object"},
		{[]any{tuple(int64(1)), tuple(int64(1), int64(2))}, ig(int64(1)), false, "IndexError: tuple index out of range"},
		{[]any{tuple(int64(1)), int64(5)}, ig(int64(0)), false, "TypeError: 'int' object is not subscriptable"},
		{[]any{tuple(int64(1)), tuple(int64(2))}, ig("x"), false, "TypeError: tuple indices must be integers or slices, not str"},
		{[]any{int64(1), "a"}, g("builtins", "str"), false, "NotImplementedError: mpbridge cannot run Python code: list.sort(key=<class 'str'>); the keys it runs are len, abs, str.lower, str.upper and operator.itemgetter(...)"},
	}
	for _, c := range cases {
		l := mustObj[*List](t)(NewList(tuple(list(c.items...)), nil))
		kwargs := kw("key", c.key)
		if c.rev {
			kwargs = kw("key", c.key, "reverse", true)
		}
		want := c.want
		if want[:2] == "OK" {
			runSteps(t, l, []step{{method: "sort", kwargs: kwargs, want: "OK None"}, {method: "__getitem__", args: tuple(slice(nil, nil, nil)), want: want}})
		} else {
			before := "OK " + Repr(list(c.items...))
			runSteps(t, l, []step{{method: "sort", kwargs: kwargs, want: want}, {method: "__getitem__", args: tuple(slice(nil, nil, nil)), want: before}})
		}
	}
}
