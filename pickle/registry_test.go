package pickle

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/internal/pytest"
)

// The Go side of the classes defined in pyClassesModule.
type (
	pyPoint struct {
		X int `pickle:"x"`
		Y int `pickle:"y"`
	}
	pyColor int
	pyJob   struct {
		ID   int      `pickle:"id"`
		Name string   `pickle:"name"`
		Tags []string `pickle:"tags"`
	}
	pySlotted struct {
		A any `pickle:"a"`
		B any `pickle:"b"`
	}
	pyEmpty  struct{}
	pyNamedP struct{ X, Y int }
	area     interface{ Area() int }
)

func (pyPoint) PythonClass() (string, string) { return "mpb_testmod", "Point" }
func (p pyPoint) Area() int                   { return p.X * p.Y }
func (pyEmpty) PythonClass() (string, string) { return "mpb_testmod", "Empty" }

// PickleReduce writes the namedtuple as a call P(x, y), which loads at
// every protocol (CPython writes NEWOBJ from protocol 2 on, and
// copyreg._reconstructor(P, tuple, (x, y)) below).
func (p pyNamedP) PickleReduce() (*Object, error) {
	return &Object{Callable: Global{"mpb_testmod", "P"}, Kind: Reduce, Args: Tuple{int64(p.X), int64(p.Y)}}, nil
}

// pyClassesModule defines the module mpb_testmod in a Python helper.
const pyClassesModule = `
mod = types.ModuleType('mpb_testmod')
sys.modules['mpb_testmod'] = mod
exec('''
import enum, collections, dataclasses
class Point:
    def __init__(self, x=0, y=0):
        self.x = x
        self.y = y
    def __eq__(self, o):
        return type(o) is Point and (self.x, self.y) == (o.x, o.y)
    def __repr__(self):
        return 'Point(%r, %r)' % (self.x, self.y)
class Color(enum.Enum):
    RED = 1
    GREEN = 2
P = collections.namedtuple('P', 'x y')
@dataclasses.dataclass
class Job:
    id: int
    name: str
    tags: list
class Slotted:
    __slots__ = ('a', 'b')
    def __init__(self, a=None, b=None):
        self.a = a
        self.b = b
    def __repr__(self):
        return 'Slotted(%r, %r)' % (self.a, self.b)
class Empty:
    def __repr__(self):
        return 'Empty()'
class AppError(Exception):
    pass
''', mod.__dict__)
from mpb_testmod import Point, Color, P, Job, Slotted, Empty, AppError
`

func testRegistry(t testing.TB) *Registry {
	r := NewRegistry()
	require.NoError(t, r.Register("mpb_testmod", "Point", pyPoint{}))
	require.NoError(t, r.Register("mpb_testmod", "Color", pyColor(0)))
	require.NoError(t, r.Register("mpb_testmod", "Job", &pyJob{}))
	require.NoError(t, r.Register("mpb_testmod", "Slotted", pySlotted{}))
	require.NoError(t, r.Register("mpb_testmod", "P", pyNamedP{}))
	return r
}

// checkPyClasses checks class instances both ways against Python.
func checkPyClasses(t *testing.T, h *pytest.Helper) {
	h.MustExec(t, pyClassesModule)
	r := testRegistry(t)
	checkPyCases(t, h, r, []pyCase{
		{name: "plain class", py: "Point(1, -2)", gov: pyPoint{1, -2}},
		{name: "plain class pointer", py: "Point(3, 4)", gov: &pyPoint{3, 4}},
		{name: "enum", py: "Color.GREEN", gov: pyColor(2)},
		{name: "dataclass", py: "Job(7, 'build', ['a'])", gov: pyJob{7, "build", []string{"a"}}},
		{name: "empty instance", py: "Empty()", gov: pyEmpty{}},
		{name: "namedtuple", py: "P(1, 2)", gov: pyNamedP{1, 2}, inexact: true},
		{name: "slots", py: "Slotted(1, 'x')", gov: pySlotted{int64(1), "x"}, oneWay: true, minProto: 2},
		{name: "exception", py: "AppError('boom', 2)", gov: NewException("mpb_testmod", "AppError", "boom", int64(2))},
		{name: "registered classes in any", py: "[Point(1, 2), Color.RED, Job(1, 'j', []), 3]",
			gov: []any{pyPoint{1, 2}, pyColor(1), &pyJob{1, "j", []string{}}, int64(3)}},
		{name: "registered classes in a map", py: "{'p': Point(5, 6)}", gov: map[string]any{"p": pyPoint{5, 6}}},
	})
	// A class instance into an interface it implements.
	var pickles []string
	require.NoError(t, json.Unmarshal(h.MustExec(t, "result = py_pickles(Point(2, 3))"), &pickles))
	for _, b64 := range pickles {
		var a area
		require.NoError(t, r.Unmarshal(unb64(t, b64), &a))
		require.Equal(t, 6, a.Area())
	}
	// The class of a typed target is checked.
	require.NoError(t, json.Unmarshal(h.MustExec(t, "result = py_pickles(Empty())"), &pickles))
	var p pyPoint
	err := r.Unmarshal(unb64(t, pickles[4]), &p)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, err, &ute)
	require.ErrorContains(t, err, "want an instance of mpb_testmod.Point")
}

func TestRegister(t *testing.T) {
	r := testRegistry(t)
	typ, ok := r.TypeOf("mpb_testmod", "Job")
	require.True(t, ok)
	require.Equal(t, reflect.TypeFor[*pyJob](), typ)
	m, n, ok := r.ClassOf(reflect.TypeFor[pyJob]())
	require.True(t, ok)
	require.Equal(t, "mpb_testmod.Job", m+"."+n)
	m, n, ok = r.ClassOf(reflect.TypeFor[*pyEmpty]())
	require.True(t, ok, "PythonClass types need no registration")
	require.Equal(t, "mpb_testmod.Empty", m+"."+n)
	_, _, ok = r.ClassOf(reflect.TypeFor[int]())
	require.False(t, ok)

	// Same pair twice is fine; a conflict is an error.
	require.NoError(t, r.Register("mpb_testmod", "Point", pyPoint{}))
	require.Error(t, r.Register("mpb_testmod", "Point", pyJob{}))
	require.Error(t, r.Register("other", "Point", pyPoint{}), "pyPoint's PythonClass names mpb_testmod.Point")
	require.Error(t, r.Register("", "X", 1))
	require.Error(t, r.Register("m", "X", nil))
	// A second class for one Go type decodes, and the type encodes as the first.
	require.NoError(t, r.Register("old_module", "Color", pyColor(0)))
	var c pyColor
	require.NoError(t, r.Convert(newReduce(Global{"old_module", "Color"}, int64(2)), &c))
	require.Equal(t, pyColor(2), c)
	mod, _, _ := r.ClassOf(reflect.TypeFor[pyColor]())
	require.Equal(t, "mpb_testmod", mod)
	require.NoError(t, r.Register("m", "ByType", reflect.TypeFor[pySlotted]()))

	// The package-level Register panics on a conflict, as gob.Register does.
	type onlyInDefault struct{}
	Register("mpb_registry_test", "X", onlyInDefault{})
	require.Panics(t, func() { Register("mpb_registry_test", "X", pyJob{}) })
}

func TestRegistryDecodeIntoAny(t *testing.T) {
	r := testRegistry(t)
	job := &Object{Callable: Global{"mpb_testmod", "Job"}, Kind: NewObj, Args: Tuple{},
		State: dictOf("id", int64(1), "name", "n", "tags", listOf()), HasState: true}
	// Registered as *pyJob: shared instances stay shared.
	var v []any
	require.NoError(t, r.Convert(listOf(job, job, Global{"mpb_testmod", "Job"}), &v))
	require.Len(t, v, 3)
	require.Same(t, v[0], v[1])
	require.Equal(t, &pyJob{1, "n", []string{}}, v[0])
	require.Equal(t, Global{"mpb_testmod", "Job"}, v[2], "a class reference stays a Global")
	// An unregistered class stays an *Object; a registered one nested in a
	// value-model container is not converted.
	var a any
	unknown := newReduce(Global{"m", "Unknown"})
	require.NoError(t, r.Convert(unknown, &a))
	require.Same(t, unknown, a)
	l := listOf(job)
	require.NoError(t, r.Convert(dictOf("l", l), &a))
	got, _ := a.(*Dict).Get("l")
	require.Same(t, l, got)
	// Into an interface the registered type does not implement.
	var ar area
	require.ErrorContains(t, r.Convert(job, &ar), "does not implement")
	// A registered non-struct type needs exactly one argument.
	var c pyColor
	require.Error(t, r.Convert(newReduce(Global{"mpb_testmod", "Color"}), &c))
}

func TestRegistryEncode(t *testing.T) {
	r := testRegistry(t)
	m, err := r.ModelOf([]any{pyJob{ID: 1}, &pyJob{ID: 2}, pyColor(1)}, 4)
	require.NoError(t, err)
	require.Equal(t, `[{"$object":{"callable":{"$global":"mpb_testmod:Job"},"kind":"newobj","args":[],"state":{"id":1,"name":"","tags":[]}}},`+
		`{"$object":{"callable":{"$global":"mpb_testmod:Job"},"kind":"newobj","args":[],"state":{"id":2,"name":"","tags":[]}}},`+
		`{"$object":{"callable":{"$global":"mpb_testmod:Color"},"args":[1]}}]`, jsonOf(t, m))
	// A shared registered pointer is one Python object, cycles included.
	type linked struct {
		Next *linked `pickle:"next"`
	}
	require.NoError(t, r.Register("m", "Linked", linked{}))
	n := &linked{}
	n.Next = n
	m, err = r.ModelOf(n, 4)
	require.NoError(t, err)
	o := m.(*Object)
	next, _ := o.State.(*Dict).Get("next")
	require.Same(t, o, next)
	// Not registered in DefaultRegistry: a plain dict.
	m, err = ModelOf(pyJob{ID: 1}, 4)
	require.NoError(t, err)
	require.Equal(t, `{"id":1,"name":"","tags":[]}`, jsonOf(t, m))
}

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}
