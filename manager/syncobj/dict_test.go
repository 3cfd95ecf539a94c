package syncobj

import (
	"testing"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

func TestDictMethods(t *testing.T) {
	d := mustObj[*Dict](t)(NewDict(tuple(list(tuple("a", int64(1)), list("b", int64(2)))), kw("c", int64(3))))
	require.Equal(t, "{'a': 1, 'b': 2, 'c': 3}", d.Repr())
	runSteps(t, d, []step{
		{method: "__len__", want: "OK 3"},
		{method: "__getitem__", args: tuple("a"), want: "OK 1"},
		{method: "__getitem__", args: tuple("z"), want: "KeyError: 'z'"},
		{method: "__getitem__", args: tuple(list()), want: "TypeError: unhashable type: 'list'"},
		{method: "__getitem__", args: tuple(tuple(int64(1), dict())), want: "TypeError: unhashable type: 'dict'"},
		{method: "__setitem__", args: tuple(int64(1), "one"), want: "OK None"},
		{method: "__setitem__", args: tuple(1.0, "uno"), want: "OK None", state: "{'a': 1, 'b': 2, 'c': 3, 1: 'uno'}"},
		{method: "__getitem__", args: tuple(true), want: "OK 'uno'"},
		{method: "__contains__", args: tuple("b"), want: "OK True"},
		{method: "__contains__", args: tuple(list()), want: "TypeError: unhashable type: 'list'"},
		{method: "__delitem__", args: tuple("zz"), want: "KeyError: 'zz'"},
		{method: "__delitem__", args: tuple(int64(1)), want: "OK None", state: "{'a': 1, 'b': 2, 'c': 3}"},
		{method: "get", args: tuple("a"), want: "OK 1"},
		{method: "get", args: tuple("x"), want: "OK None"},
		{method: "get", args: tuple("x", int64(9)), want: "OK 9"},
		{method: "get", want: "TypeError: get expected at least 1 argument, got 0"},
		{method: "get", args: tuple(int64(1), int64(2), int64(3)), want: "TypeError: get expected at most 2 arguments, got 3"},
		{method: "setdefault", args: tuple("a", int64(5)), want: "OK 1"},
		{method: "setdefault", args: tuple("d"), want: "OK None", state: "{'a': 1, 'b': 2, 'c': 3, 'd': None}"},
		{method: "setdefault", want: "TypeError: setdefault expected at least 1 argument, got 0"},
		{method: "pop", args: tuple("d"), want: "OK None"},
		{method: "pop", args: tuple("d"), want: "KeyError: 'd'"},
		{method: "pop", args: tuple("d", "dflt"), want: "OK 'dflt'"},
		{method: "pop", want: "TypeError: pop expected at least 1 argument, got 0"},
		{method: "popitem", want: "OK ('c', 3)", state: "{'a': 1, 'b': 2}"},
		{method: "keys", want: "OK ['a', 'b']"},
		{method: "values", want: "OK [1, 2]"},
		{method: "items", want: "OK [('a', 1), ('b', 2)]"},
		{method: "copy", want: "OK {'a': 1, 'b': 2}"},
		{method: "copy", args: tuple(int64(1)), want: "TypeError: dict.copy() takes no arguments (1 given)"},
		{method: "update", args: tuple(list(tuple(int64(1), int64(2), int64(3)))), want: "ValueError: dictionary update sequence element #0 has length 3; 2 is required"},
		{method: "update", args: tuple(list(int64(1))), want: "TypeError: cannot convert dictionary update sequence element #0 to a sequence"},
		{method: "update", args: tuple(int64(1)), want: "TypeError: 'int' object is not iterable"},
		{method: "update", args: tuple(dict(int64(1), int64(2)), dict()), want: "TypeError: update expected at most 1 argument, got 2"},
		{method: "update", args: tuple(list("xy")), kwargs: kw("b", int64(20)), want: "OK None", state: "{'a': 1, 'b': 20, 'x': 'y'}"},
		{method: "update", args: tuple(dict("a", nil)), want: "OK None", state: "{'a': None, 'b': 20, 'x': 'y'}"},
		{method: "clear", want: "OK None", state: "{}"},
		{method: "popitem", want: "KeyError: 'popitem(): dictionary is empty'"},
	})
	v, err := d.Value()
	require.NoError(t, err)
	require.Equal(t, 0, v.(*pickle.Dict).Len())
}

func TestDictIterator(t *testing.T) {
	d := mustObj[*Dict](t)(NewDict(nil, kw("a", int64(1), "b", int64(2))))
	res, err := d.Call(t.Context(), nil, "__iter__", nil, nil)
	require.NoError(t, err)
	it := res.(*Iterator)
	runSteps(t, it, []step{
		{method: "__next__", want: "OK 'a'"},
		{method: "__next__", args: tuple(int64(1)), want: "TypeError: expected 0 arguments, got 1"},
		{method: "send", args: tuple(int64(1)), want: "GoError: AttributeError: 'dict_keyiterator' object has no attribute 'send'"},
		{method: "__next__", want: "OK 'b'"},
		{method: "__next__", want: "StopIteration: "},
		{method: "__next__", want: "StopIteration: "},
	})
	// Changing the size while iterating is an error, and stays one.
	res, _ = d.Call(t.Context(), nil, "__iter__", nil, nil)
	it = res.(*Iterator)
	runSteps(t, it, []step{{method: "__next__", want: "OK 'a'"}})
	runSteps(t, d, []step{{method: "__setitem__", args: tuple("c", int64(3)), want: "OK None"}})
	runSteps(t, it, []step{
		{method: "__next__", want: "RuntimeError: dictionary changed size during iteration"},
		{method: "__next__", want: "RuntimeError: dictionary changed size during iteration"},
	})
	v, err := it.Value()
	require.NoError(t, err)
	require.Equal(t, "<iterator object>", Repr(v))
}

func TestValueNamespacePool(t *testing.T) {
	v := mustObj[*Value](t)(NewValue(tuple("i", int64(5)), nil))
	runSteps(t, v, []step{
		{method: "get", want: "OK 5", state: "Value('i', 5)"},
		{method: "set", args: tuple("x"), want: "OK None", state: "Value('i', 'x')"},
		{method: "set", want: "TypeError: Value.set() missing 1 required positional argument: 'value'"},
		{method: "get", args: tuple(int64(1)), want: "TypeError: Value.get() takes 1 positional argument but 2 were given"},
	})
	_, err := NewValue(tuple("i"), nil)
	require.Equal(t, "TypeError: Value.__init__() missing 1 required positional argument: 'value'", describe(nil, err))
	gv, err := v.Value()
	require.NoError(t, err)
	require.Equal(t, "Value('i', 'x')", Repr(gv))

	n := mustObj[*Namespace](t)(NewNamespace(nil, kw("b", int64(2), "a", "x", "_h", int64(0))))
	runSteps(t, n, []step{
		{method: "__getattribute__", args: tuple("a"), want: "OK 'x'", state: "Namespace(a='x', b=2)"},
		{method: "__getattribute__", args: tuple("z"), want: "AttributeError: 'Namespace' object has no attribute 'z'"},
		{method: "__setattr__", args: tuple("z", list()), want: "OK None"},
		{method: "__delattr__", args: tuple("a"), want: "OK None", state: "Namespace(b=2, z=[])"},
		{method: "__delattr__", args: tuple("a"), want: "AttributeError: 'Namespace' object has no attribute 'a'"},
		{method: "__getattribute__", args: tuple("__dict__"), want: "OK {'b': 2, '_h': 0, 'z': []}"},
		{method: "__getattribute__", args: tuple(int64(1)), want: "TypeError: attribute name must be string, not 'int'"},
	})
	_, err = NewNamespace(tuple(int64(1)), nil)
	require.Equal(t, "TypeError: Namespace.__init__() takes 1 positional argument but 2 were given", describe(nil, err))

	p := mustObj[*Pool](t)(NewPool(tuple(int64(4)), nil))
	runSteps(t, p, []step{
		{method: "map", args: tuple(pickle.Global{Module: "builtins", Name: "abs"}, list(int64(-1))), want: "NotImplementedError: mpbridge cannot run Python code: Pool is not supported"},
		{method: "apply_async", want: "NotImplementedError: mpbridge cannot run Python code: Pool is not supported"},
		{method: "close", want: "OK None"},
		{method: "terminate", want: "OK None"},
	})
}
