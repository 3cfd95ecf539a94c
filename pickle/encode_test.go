package pickle

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/stretchr/testify/require"
)

// plainCases are Python expressions of plain data (and objects whose shape
// the decoder records) whose pickles must survive decode → encode byte for
// byte, at every protocol, for every installed Python.
var plainCases = []string{
	`None`, `True`, `False`, `[True, False, None]`,
	`0`, `1`, `255`, `256`, `65535`, `65536`, `-1`, `-128`, `-129`, `-256`, `-257`,
	`2**31-1`, `2**31`, `-2**31`, `-2**31-1`, `2**32`, `2**63-1`, `2**63`, `-2**63`, `-2**63-1`,
	`2**64`, `-2**64`, `2**127`, `-2**127`, `2**2040`, `-2**2040`, `2**2048 + 12345`, `-(2**2048) - 1`,
	`[-(2**k) for k in range(0, 70, 7)]`, `[2**k - 1 for k in range(0, 70, 7)]`,
	`0.0`, `-0.0`, `1.5`, `1e16`, `1e15`, `1e-5`, `1e-4`, `123456789.0`, `1e300`, `5e-324`,
	`float('inf')`, `float('-inf')`, `float('nan')`, `0.1`, `1/3`, `-2.5e-10`, `1e22`, `1.7976931348623157e308`,
	`''`, `'a'`, `'abc'`, `'é'`, `'ā'`, `'😀'`, `'a\\b\nc\r\x00\x1a\u0101\U0001F600'`, `'x' * 255`, `'x' * 256`,
	`'é' * 200`, `'\ud800'`, `'a\udcffb'`, `"it's"`, `'say "hi"'`, `'\x7f\x80\x9f'`,
	`b''`, `b'a'`, `b'\x00\xff'`, `bytes(range(256))`, `b'x' * 256`, `[b'ab', b'cd', b'ab']`,
	`bytearray()`, `bytearray(b'a')`, `bytearray(b'abc')`, `[bytearray(b'ab'), b'ab']`, `bytearray(range(256))`,
	`()`, `(1,)`, `(1, 2)`, `(1, 2, 3)`, `(1, 2, 3, 4)`, `((), ((),), (((),),))`, `[(), ()]`,
	`[]`, `[1]`, `[1, 2]`, `list(range(1000))`, `list(range(1001))`, `list(range(2001))`, `list(range(2000))`,
	`{}`, `{'a': 1}`, `{'a': 1, 'b': 2}`, `{i: str(i) for i in range(1000)}`, `{i: i for i in range(1001)}`,
	`{i: None for i in range(2000)}`, `{(1, 2): 'tuple key', frozenset({1}): 'fs key', None: 0, b'k': 1}`,
	`set()`, `{1}`, `{1, 2, 3}`, `set(range(1000))`, `set(range(1001))`, `set(range(2500))`,
	`frozenset()`, `frozenset({1})`, `frozenset({'a', 'b'})`, `frozenset(range(1500))`,
	`[frozenset(), frozenset()]`, `{frozenset({1, 2}): {3}}`,
	`1j`, `complex(1.5, -2)`, `[1j, 2j]`, `[1j, bytearray(b'x'), int]`,
	`int`, `[int, str, int]`, `len`, `[len, 'builtins', 'len']`, `KeyError('k')`, `ValueError('a', 1)`,
	`(None, 'put', ({'id': 12345, 'payload': 'x'*400, 'tags': ['a','b'], 'score': 1.5},), {})`,
	`'x' * 70000`, `b'y' * 70000`, `['a', b'x'*100000, 'b']`, `bytearray(b'z' * 70000)`,
	`['x' * 40000, 'y' * 40000]`, `[b'q' * 30000] * 3`, `list(range(30000))`,
	`[s, s, (s,)]`, `[t, t]`, `[l, l]`, `rec_list`, `rec_dict`, `rec_tuple`, `[rec_tuple, rec_tuple]`,
	`rec_obj`, `cls_inst`, `slots_inst`, `od`, `dd`, `decimal.Decimal('1.10')`, `datetime.datetime(2024, 1, 2, 3, 4, 5, 6)`,
	`datetime.date(2024, 1, 2)`, `datetime.timedelta(1, 2, 3)`, `uuid.UUID(int=12345678901234567890)`,
	`collections.Counter('abracadabra')`, `nested(30)`, `queue.Empty()`, `queue.Full()`, `kw_inst`, `mylist`, `mydict`,
	`Outer.Inner`, `Outer.Inner()`, `[Outer, Outer.Inner, Outer.Inner]`,
}

const plainSetup = `
import pickle, base64, json, sys, collections, datetime, decimal, uuid, queue
s = 'shared' + str(len(sys.argv))
t = (1, [2])
l = [1, 2]
rec_list = []; rec_list.append(rec_list)
rec_dict = {}; rec_dict['self'] = rec_dict
rec_tuple = ([],); rec_tuple[0].append(rec_tuple)
class C:
    def __init__(self): self.a = 1; self.b = [self]
class S:
    __slots__ = ('x', 'y')
    def __init__(self): self.x = 1; self.y = 'two'
class K:
    def __new__(cls, *args, **kw): return super().__new__(cls)
    def __getnewargs_ex__(self): return ((1,), {'k': 2})
class ML(list): pass
class MD(dict): pass
mylist = ML([1, 2, 3]); mylist.attr = 'x'
mydict = MD(a=1); 
rec_obj = C()
cls_inst = C()
slots_inst = S()
kw_inst = K()
od = collections.OrderedDict([('a', 1), ('b', 2)])
dd = collections.defaultdict(list, {'a': [1]})
def nested(n):
    v = 0
    for i in range(n):
        v = [v] if i % 3 == 0 else ((v,) if i % 3 == 1 else {'k': v})
    return v
class Outer:
    class Inner:
        pass
import types
testmod = types.ModuleType('testmod')
sys.modules['testmod'] = testmod
for name in ('C', 'S', 'K', 'ML', 'MD', 'Outer'):
    globals()[name].__module__ = 'testmod'
    setattr(testmod, name, globals()[name])
Outer.Inner.__module__ = 'testmod'
`

// pythonPickles runs the cases through py and returns the base64 of
// pickle.dumps(case, p) for p in 0..5 (or "" where CPython fails).
func pythonPickles(t *testing.T, py pytest.Python, setup string, cases []string) [][][]byte {
	var b strings.Builder
	b.WriteString(setup)
	b.WriteString("\ncases = [\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "    lambda: (%s),\n", c)
	}
	b.WriteString(`]
out = []
for c in cases:
    row = []
    for p in range(6):
        try:
            row.append(base64.b64encode(pickle.dumps(c(), p)).decode())
        except Exception as e:
            row.append('')
    out.append(row)
print(json.dumps(out))
`)
	raw := py.Run(t, b.String())
	var rows [][]string
	require.NoError(t, json.Unmarshal(raw, &rows))
	require.Len(t, rows, len(cases))
	res := make([][][]byte, len(rows))
	for i, row := range rows {
		res[i] = make([][]byte, len(row))
		for p, s := range row {
			if s == "" {
				continue
			}
			data, err := base64.StdEncoding.DecodeString(s)
			require.NoError(t, err)
			res[i][p] = data
		}
	}
	return res
}

// TestReencodeMatchesCPython decodes CPython's pickle of every plain case
// at every protocol and re-encodes it: the bytes must be identical.
func TestReencodeMatchesCPython(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		pickles := pythonPickles(t, py, plainSetup, plainCases)
		for i, c := range plainCases {
			require.NotNil(t, pickles[i][HighestProtocol], "CPython cannot pickle %s", c)
			for p, data := range pickles[i] {
				if data == nil {
					continue
				}
				v, err := Loads(data)
				require.NoError(t, err, "case %s protocol %d", c, p)
				if (strings.Contains(c, "Outer.Inner") || c == "kw_inst") && p < 4 && py.Minor < 13 {
					// Below protocol 4 a nested name (a nested class, or
					// the cls.__new__ of __getnewargs_ex__) is written as
					// getattr(parent, name) the way CPython 3.13 does (see
					// saveGlobal); 3.8–3.12 also memoized the steps.
					// Stable, not byte-exact.
					checkStable(t, data)
					continue
				}
				out, err := Dumps(v, p)
				require.NoError(t, err, "case %s protocol %d", c, p)
				if string(out) != string(data) {
					var want, got strings.Builder
					_ = Disassemble(&want, data, nil)
					_ = Disassemble(&got, out, nil)
					t.Fatalf("case %s protocol %d: re-encoding differs\nwant %q\ngot  %q\nwant:\n%s\ngot:\n%s", c, p, clipBytes(data), clipBytes(out), clipLines(want.String()), clipLines(got.String()))
				}
			}
		}
	})
}

func clipBytes(b []byte) []byte {
	if len(b) > 400 {
		return b[:400]
	}
	return b
}

func clipLines(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 60 {
		lines = append(lines[:60], "...")
	}
	return strings.Join(lines, "\n")
}

// goCases pair a Go value with the Python expression of the equal value
// built without aliasing: Dumps must give CPython's bytes.
var goCases = []struct {
	v  any
	py string
}{
	{nil, `None`}, {true, `True`}, {false, `False`},
	{0, `0`}, {int8(-5), `-5`}, {int16(300), `300`}, {int32(-70000), `-70000`}, {int64(1 << 40), `2**40`},
	{uint(7), `7`}, {uint8(255), `255`}, {uint16(65535), `65535`}, {uint32(1 << 31), `2**31`},
	{uint64(1<<64 - 1), `2**64-1`}, {int64(-1 << 63), `-2**63`},
	{new(big.Int).Lsh(big.NewInt(1), 100), `2**100`}, {new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 100)), `-2**100`},
	{1.5, `1.5`}, {float32(0.25), `0.25`}, {complex(1, 2), `complex(1, 2)`},
	{"", `''`}, {"héllo", `'héllo'`}, {[]byte("ab"), `b'ab'`}, {[]byte{}, `b''`},
	{[]any{1, "a", []any{}}, `[1, 'a', []]`},
	{[]any{"a", "a", "é", "é"}, `['a', 'a', 'é', 'é']`},
	{[]any{[]byte{}, []byte{}}, `[b'', b'']`},
	{map[string]any{"b": 2, "a": 1}, `{'a': 1, 'b': 2}`},
	{Tuple{1, Tuple{}, Tuple{2}}, `(1, (), (2,))`},
	{&List{1, 2}, `[1, 2]`},
	{&ByteArray{1, 2}, `bytearray(b'\x01\x02')`},
	{Global{"collections", "OrderedDict"}, `collections.OrderedDict`},
	{NewException("builtins", "KeyError", "k"), `KeyError('k')`},
	{[]any{Global{"builtins", "int"}, Global{"builtins", "str"}}, `[int, str]`},
	{&Object{Callable: Global{"__main__", "K"}, Kind: NewObjEx, Args: Tuple{1}, Kwargs: kwK}, `K()`},
	{&Object{Callable: Global{"__main__", "P"}, Kind: NewObj, State: map[string]any{"a": 1}}, `P()`},
}

var kwK = func() *Dict {
	d := NewDict(1)
	_ = d.Set("k", 2)
	return d
}()

const goSetup = `
import pickle, base64, json, collections
class K:
    def __new__(cls, *args, **kw): return super().__new__(cls)
    def __getnewargs_ex__(self): return ((1,), {'k': 2})
class P:
    def __init__(self): self.a = 1
`

func TestDumpsGoValuesMatchCPython(t *testing.T) {
	cases := make([]string, len(goCases))
	for i, c := range goCases {
		cases[i] = c.py
	}
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		pickles := pythonPickles(t, py, goSetup, cases)
		for i, c := range goCases {
			for p, want := range pickles[i] {
				if c.py == "K()" && p < 4 && py.Minor < 13 {
					continue // the nested cls.__new__: see TestReencodeMatchesCPython
				}
				got, err := Dumps(c.v, p)
				require.NoError(t, err, "case %s protocol %d", c.py, p)
				require.Equal(t, want, got, "case %s protocol %d", c.py, p)
			}
		}
	})
}
