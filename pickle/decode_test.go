package pickle

import (
	"bytes"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/stretchr/testify/require"
)

func TestLoadsValues(t *testing.T) {
	big100 := new(big.Int).Lsh(big.NewInt(1), 100)
	tests := []struct {
		name string
		data string
		want any
	}{
		{"none", "N.", nil},
		{"proto4 int", "\x80\x04K\x05.", int64(5)},
		{"binint negative", "J\xff\xff\xff\xff.", int64(-1)},
		{"binint2", "M\x00\x01.", int64(256)},
		{"long1 empty", "\x80\x02\x8a\x00.", int64(0)},
		{"long1 -1", "\x80\x02\x8a\x01\xff.", int64(-1)},
		{"long1 2**63", "\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.", new(big.Int).Lsh(big.NewInt(1), 63)},
		{"long1 -2**63", "\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80.", int64(math.MinInt64)},
		{"text int", "I-12\n.", int64(-12)},
		{"text int hex", "I0x10\n.", int64(16)},
		{"text bool true", "I01\n.", true},
		{"text bool false", "I00\n.", false},
		{"text long", "L1267650600228229401496703205376L\n.", big100},
		{"text float", "F1.5\n.", 1.5},
		{"binfloat", "G?\xf8\x00\x00\x00\x00\x00\x00.", 1.5},
		{"string", "S'a\\nb'\n.", "a\nb"},
		{"binstring", "T\x02\x00\x00\x00ab.", "ab"},
		{"short binstring", "U\x02ab.", "ab"},
		{"unicode", "Va\\u0101\n.", "aā"},
		{"binunicode", "X\x02\x00\x00\x00\xc3\xa9.", "é"},
		{"bytes", "C\x02ab.", []byte("ab")},
		{"codecs encode", "c_codecs\nencode\n(V\xe9\nVlatin1\ntR.", []byte{0xe9}},
		{"empty bytes p2", "\x80\x02c__builtin__\nbytes\n)R.", []byte{}},
		{"tuple", "(K\x01K\x02t.", Tuple{int64(1), int64(2)}},
		{"empty tuple", ").", Tuple{}},
		{"global fix imports", "c__builtin__\nlen\n.", Global{"builtins", "len"}},
		{"global proto 3 no fix", "\x80\x03c__builtin__\nlen\n.", Global{"__builtin__", "len"}},
		{"stack global", "\x80\x04\x8c\x01m\x8c\x01n\x93.", Global{"m", "n"}},
		{"complex", "c__builtin__\ncomplex\n(F1.0\nF2.0\ntR.", complex(1, 2)},
		{"getattr nested", "cbuiltins\ngetattr\n(cm\nA\nVB\ntR.", Global{"m", "A.B"}},
		{"persid", "Pabc\n.", PersistentID{"abc"}},
		{"binpersid", "K\x01Q.", PersistentID{int64(1)}},
		{"dup pop", "K\x01K\x022\x30\x30.", int64(1)},
		{"pop mark", "K\x01(K\x02K\x031.", int64(1)},
		{"pop of a mark", "K\x01(0.", int64(1)},
		{"put get", "K\x07p3\n0g3\n.", int64(7)},
		{"long binput sparse", "K\x07r\x00\x00\x01\x00j\x00\x00\x01\x00.", int64(7)},
		{"trailing data ignored", "N.garbage", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Loads([]byte(tt.data))
			require.NoError(t, err)
			require.Equal(t, tt.want, v)
		})
	}
}

func TestLoadsContainers(t *testing.T) {
	v, err := Loads([]byte("\x80\x04]\x94(K\x01K\x02e}\x94(K\x01K\x02G?\xf0\x00\x00\x00\x00\x00\x00\x8c\x01xu\x8f\x94(K\x01\x88\x90(K\x03\x91.")) // [1,2] {1:..} set frozenset
	require.NoError(t, err)
	fs := v.(*FrozenSet)
	require.True(t, fs.Has(int64(3)))
	require.True(t, fs.Has(3.0))

	// A dict where 1 and 1.0 and True are one key: the first key stays,
	// the last value wins, as in Python.
	v, err = Loads([]byte("\x80\x04}(K\x01\x8c\x01aG?\xf0\x00\x00\x00\x00\x00\x00\x8c\x01b\x88\x8c\x01cu."))
	require.NoError(t, err)
	d := v.(*Dict)
	require.Equal(t, 1, d.Len())
	require.Equal(t, []any{int64(1)}, d.Keys())
	require.Equal(t, []any{"c"}, d.Values())

	// A list containing itself.
	v, err = Loads([]byte("\x80\x02]q\x00h\x00a."))
	require.NoError(t, err)
	l := v.(*List)
	require.Same(t, l, (*l)[0].(*List))

	// Sets at protocol 2 and frozensets decode to the same types.
	v, err = Loads([]byte("\x80\x02c__builtin__\nset\n]K\x01a\x85R."))
	require.NoError(t, err)
	require.True(t, v.(*Set).Has(int64(1)))
	v, err = Loads([]byte("\x80\x02c__builtin__\nfrozenset\n]K\x01a\x85R."))
	require.NoError(t, err)
	require.True(t, v.(*FrozenSet).Has(int64(1)))
	v, err = Loads([]byte("\x80\x02c__builtin__\nbytearray\nC\x02ab\x85R."))
	require.NoError(t, err)
	require.Equal(t, ByteArray("ab"), *v.(*ByteArray))
	v, err = Loads([]byte("\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab."))
	require.NoError(t, err)
	require.Equal(t, ByteArray("ab"), *v.(*ByteArray))
}

func TestLoadsObjects(t *testing.T) {
	// NEWOBJ of a class, then SETITEMS, APPENDS and BUILD on it.
	v, err := Loads([]byte("\x80\x02cm\nC\n)\x81(K\x01K\x02u(K\x03eK\x04b."))
	require.NoError(t, err)
	o := v.(*Object)
	require.Equal(t, Global{"m", "C"}, o.Callable)
	require.Equal(t, NewObj, o.Kind)
	require.Equal(t, []Pair{{int64(1), int64(2)}}, o.DictItems)
	require.Equal(t, []any{int64(3)}, o.ListItems)
	require.True(t, o.HasState)
	require.Equal(t, int64(4), o.State)

	// Exceptions.
	v, err = Loads([]byte("\x80\x04\x8c\x08builtins\x8c\x08KeyError\x93\x8c\x01k\x85R."))
	require.NoError(t, err)
	e := v.(*Exception)
	require.Equal(t, "KeyError('k')", e.Error())
	require.Equal(t, "builtins", e.Module())
	v, err = Loads([]byte("\x80\x04\x8c\x06_queue\x8c\x05Empty\x93)R."))
	require.NoError(t, err)
	require.ErrorIs(t, v.(error), mpbridge.ErrEmpty)
	require.NotErrorIs(t, v.(error), mpbridge.ErrFull)
	v, err = Loads([]byte("\x80\x04\x8c\x05queue\x8c\x04Full\x93)R."))
	require.NoError(t, err)
	require.ErrorIs(t, v.(error), mpbridge.ErrFull)

	// INST and OBJ.
	v, err = Loads([]byte("(K\x01im\nC\n."))
	require.NoError(t, err)
	require.Equal(t, &Object{Callable: Global{"m", "C"}, Kind: Inst, Args: Tuple{int64(1)}}, v)
	v, err = Loads([]byte("(cm\nC\nK\x01o."))
	require.NoError(t, err)
	require.Equal(t, &Object{Callable: Global{"m", "C"}, Kind: Obj, Args: Tuple{int64(1)}}, v)
}

func TestLoadsHooks(t *testing.T) {
	opts := &DecodeOptions{
		Find: func(module, name string) (any, error) { return module + ":" + name, nil },
		PersistentLoad: func(pid any) (any, error) {
			return Tuple{"pid", pid}, nil
		},
		Ext: func(code int) (Global, error) { return Global{"ext", "E"}, nil },
	}
	v, err := LoadsOptions([]byte("cm\nn\n."), opts)
	require.NoError(t, err)
	require.Equal(t, "m:n", v)
	v, err = LoadsOptions([]byte("Pabc\n."), opts)
	require.NoError(t, err)
	require.Equal(t, Tuple{"pid", "abc"}, v)
	v, err = LoadsOptions([]byte("\x80\x02\x82\x05."), opts)
	require.NoError(t, err)
	require.Equal(t, "ext:E", v)

	_, err = Loads([]byte("\x80\x02\x82\x05."))
	require.ErrorIs(t, err, ErrNoHook)
	_, err = Loads([]byte("\x80\x05\x97."))
	require.ErrorIs(t, err, ErrNoHook)

	bufs := [][]byte{[]byte("one"), []byte("two")}
	opts = &DecodeOptions{Buffers: func() ([]byte, error) {
		if len(bufs) == 0 {
			return nil, io.EOF
		}
		b := bufs[0]
		bufs = bufs[1:]
		return b, nil
	}}
	v, err = LoadsOptions([]byte("\x80\x05\x97\x97\x98\x86."), opts)
	require.NoError(t, err)
	require.Equal(t, Tuple{&ByteArray{'o', 'n', 'e'}, []byte("two")}, v)
	_, err = LoadsOptions([]byte("\x80\x05\x97."), opts)
	require.ErrorIs(t, err, io.EOF)
}

func TestLoadsErrors(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		err    error
		offset int64
		op     string
	}{
		{"empty", "", ErrTruncated, 0, ""},
		{"0xff", "\xff", ErrUnknownOpcode, 0, ""},
		{"no stop", "N", ErrTruncated, 1, ""},
		{"truncated arg", "\x80\x04K", ErrTruncated, 2, "BININT1"},
		{"huge frame", "\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN.", ErrTruncated, 2, "FRAME"},
		{"huge bytes", "B\xff\xff\xff\xff.", ErrTruncated, 0, "BINBYTES"},
		{"huge unicode8", "\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", ErrTruncated, 0, "BINUNICODE8"},
		{"negative binstring", "T\xff\xff\xff\xff.", ErrBadValue, 0, "BINSTRING"},
		{"stop on empty", ".", ErrStackUnderflow, 0, "STOP"},
		{"append no list", "K\x01K\x02a.", ErrBadValue, 4, "APPEND"},
		{"pop below mark", "(K\x01\x85\x30\x30\x30.", ErrStackUnderflow, 6, "POP"},
		{"tuple1 at mark", "K\x01(\x85.", ErrStackUnderflow, 3, "TUPLE1"},
		{"missing memo", "h\x05.", ErrMemoMissing, 0, "BINGET"},
		{"unhashable", "}]K\x01s.", ErrUnhashable, 4, "SETITEM"},
		{"unhashable set", "\x8f(]\x90.", ErrUnhashable, 3, "ADDITEMS"},
		{"proto 6", "\x80\x06N.", ErrBadValue, 0, "PROTO"},
		{"reduce non tuple", "cm\nn\nK\x01R.", ErrBadValue, 7, "REDUCE"},
		{"build on int", "K\x01K\x02b.", ErrBadValue, 4, "BUILD"},
		{"bad text int", "Iabc\n.", ErrBadValue, 0, "INT"},
		{"unquoted string", "Sabc\n.", ErrBadValue, 0, "STRING"},
		{"non ascii py2 str", "U\x01\xff.", ErrBadValue, 0, "SHORT_BINSTRING"},
		{"odd setitems", "}(K\x01u.", ErrBadValue, 4, "SETITEMS"},
		{"ext code 0", "\x80\x02\x82\x00.", ErrBadValue, 2, "EXT1"},
		{"stack global non str", "K\x01K\x02\x93.", ErrBadValue, 4, "STACK_GLOBAL"},
		{"huge text int", "I" + string(bytes.Repeat([]byte("9"), 5000)) + "\n.", ErrLimit, 0, "INT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Loads([]byte(tt.data))
			require.ErrorIs(t, err, tt.err)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.offset, se.Offset)
			require.Equal(t, tt.op, se.OpName)
			if tt.err != ErrLimit {
				require.ErrorIs(t, err, mpbridge.ErrCorrupt)
			} else {
				require.ErrorIs(t, err, mpbridge.ErrTooLarge)
			}
		})
	}
	_, err := Loads(nil)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestLoadsLimits(t *testing.T) {
	deep := bytes.Repeat([]byte("("), 20)
	_, err := LoadsOptions(append(deep, 'N', '.'), &DecodeOptions{MaxDepth: 10})
	require.ErrorIs(t, err, ErrLimit)

	var memo []byte
	for i := range 20 {
		memo = append(memo, 'N', 'q', byte(i))
	}
	_, err = LoadsOptions(append(memo, '.'), &DecodeOptions{MaxMemo: 10})
	require.ErrorIs(t, err, ErrLimit)

	_, err = LoadsOptions([]byte("C\x10"+string(make([]byte, 16))+"."), &DecodeOptions{MaxAlloc: 8})
	require.ErrorIs(t, err, ErrLimit)

	// A tuple whose hash is exponentially expensive: t(i+1) = (t(i), t(i)).
	p := []byte("\x80\x04K\x01\x94")
	for i := range 80 {
		p = append(p, 'h', byte(i), 'h', byte(i), 0x86, 0x94)
	}
	p = append(p, '}', 'h', 80, 'N', 's', '.')
	_, err = Loads(p)
	require.ErrorIs(t, err, ErrLimit)
}

// TestLoadsMutations feeds mutated pickles to Loads: it must never panic,
// and whatever decodes must re-encode and decode to the same bytes again.
func TestLoadsMutations(t *testing.T) {
	var seeds [][]byte
	for _, v := range []any{
		Tuple{nil, "put", Tuple{map[string]any{"id": 12345, "payload": "xx", "tags": []any{"a", "b"}, "score": 1.5}}, map[string]any{}},
		[]any{int64(1) << 40, -3, 2.5, []byte("b"), &ByteArray{1}, complex(1, 2), Global{"m", "n"}},
		NewException("builtins", "KeyError", "k"),
	} {
		for p := 0; p <= HighestProtocol; p++ {
			b, err := Dumps(v, p)
			require.NoError(t, err)
			seeds = append(seeds, b)
		}
	}
	seeds = append(seeds, oldPickles...)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		in := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for range 1 + rng.IntN(4) {
			switch rng.IntN(3) {
			case 0:
				in[rng.IntN(len(in))] = byte(rng.IntN(256))
			case 1:
				i := rng.IntN(len(in))
				in = append(in[:i], in[i+1:]...)
			default:
				i := rng.IntN(len(in))
				in = append(in[:i], append([]byte{byte(rng.IntN(256))}, in[i:]...)...)
			}
			if len(in) == 0 {
				in = []byte{0}
			}
		}
		checkStable(t, in)
	}
}

// checkStable asserts the fuzz invariants on one input.
func checkStable(t *testing.T, in []byte) {
	v, err := Loads(in)
	if err != nil {
		return
	}
	for p := 0; p <= HighestProtocol; p++ {
		enc, err := Dumps(v, p)
		if err != nil {
			continue // e.g. an object needing a higher protocol
		}
		v2, err := Loads(enc)
		require.NoError(t, err, "input %q protocol %d: %q", in, p, enc)
		enc2, err := Dumps(v2, p)
		require.NoError(t, err)
		require.Equal(t, enc, enc2, "input %q protocol %d", in, p)
	}
	var v3 any
	require.NoError(t, NewDecoder(iotest.OneByteReader(bytes.NewReader(in))).Decode(&v3), "input %q", in)
}

func FuzzCoreLoads(f *testing.F) {
	for _, p := range oldPickles {
		f.Add(p)
	}
	f.Add(managerRequest)
	f.Fuzz(func(t *testing.T, in []byte) { checkStable(t, in) })
}

// python2Pickles are cPickle.dumps(v, p) for p = 0, 1, 2 from Python
// 2.7.18, with
//
//	class Old: pass
//	class New(object): pass
//	o = Old(); o.x = 1
//	n = New(); n.y = u'\u0101'
//	v = {'a': [1, 2L, 3.5, u'\xe9', 'str', None, True, (1, 2)],
//	     'set': set([1]), 'fs': frozenset([2]), 'old': o, 'new': n}
var python2Pickles = []string{
	"(dp1\nS'a'\n(lp2\nI1\naL2L\naF3.5\naV\xe9\naS'str'\np3\naNaI01\na(I1\nI2\ntp4\nasS'new'\np5\nccopy_reg\n_reconstructor\np6\n(c__main__\nNew\np7\nc__builtin__\nobject\np8\nNtRp9\n(dp10\nS'y'\nV\\u0101\nsbsS'set'\np11\nc__builtin__\nset\np12\n((lp13\nI1\natRp14\nsS'old'\np15\n(i__main__\nOld\np16\n(dp17\nS'x'\nI1\nsbsS'fs'\np18\nc__builtin__\nfrozenset\np19\n((lp20\nI2\natRp21\ns.",
	"}q\x01(U\x01a]q\x02(K\x01L2L\nG@\x0c\x00\x00\x00\x00\x00\x00X\x02\x00\x00\x00\xc3\xa9U\x03strq\x03NI01\n(K\x01K\x02tq\x04eU\x03newq\x05ccopy_reg\n_reconstructor\nq\x06(c__main__\nNew\nq\x07c__builtin__\nobject\nq\x08NtRq\t}q\nU\x01yX\x02\x00\x00\x00\xc4\x81sbU\x03setq\x0bc__builtin__\nset\nq\x0c(]q\rK\x01atRq\x0eU\x03oldq\x0f(c__main__\nOld\nq\x10oq\x11}q\x12U\x01xK\x01sbU\x02fsq\x13c__builtin__\nfrozenset\nq\x14(]q\x15K\x02atRq\x16u.",
	"\x80\x02}q\x01(U\x01a]q\x02(K\x01\x8a\x01\x02G@\x0c\x00\x00\x00\x00\x00\x00X\x02\x00\x00\x00\xc3\xa9U\x03strq\x03N\x88K\x01K\x02\x86q\x04eU\x03newq\x05c__main__\nNew\nq\x06)\x81q\x07}q\x08U\x01yX\x02\x00\x00\x00\xc4\x81sbU\x03setq\tc__builtin__\nset\nq\n]q\x0bK\x01a\x85Rq\x0cU\x03oldq\r(c__main__\nOld\nq\x0eoq\x0f}q\x10U\x01xK\x01sbU\x02fsq\x11c__builtin__\nfrozenset\nq\x12]q\x13K\x02a\x85Rq\x14u.",
}

func TestLoadsPython2(t *testing.T) {
	for p, data := range python2Pickles {
		v, err := Loads([]byte(data))
		require.NoError(t, err, "protocol %d", p)
		d := v.(*Dict)
		require.Equal(t, []any{"a", "new", "set", "old", "fs"}, d.Keys())
		a, _ := d.Get("a")
		require.Equal(t, &List{int64(1), int64(2), 3.5, "é", "str", nil, true, Tuple{int64(1), int64(2)}}, a)
		s, _ := d.Get("set")
		require.True(t, s.(*Set).Has(1))
		fs, _ := d.Get("fs")
		require.True(t, fs.(*FrozenSet).Has(2))
		n, _ := d.Get("new")
		newObj := n.(*Object)
		require.Equal(t, Global{"__main__", "New"}, newObj.Class())
		y, _ := newObj.State.(*Dict).Get("y")
		require.Equal(t, "ā", y)
		o, _ := d.Get("old")
		oldObj := o.(*Object)
		require.Equal(t, Global{"__main__", "Old"}, oldObj.Class())
		x, _ := oldObj.State.(*Dict).Get("x")
		require.Equal(t, int64(1), x)
		// Re-encoding keeps the shapes and is stable.
		checkStable(t, []byte(data))
	}
}

// TestBatchItemsSizes checks that lists, dicts and sets written in batches
// of 1000 are allocated once with their final size.
func TestBatchItemsSizes(t *testing.T) {
	for _, n := range []int{1000, 1001, 2500, 10000} {
		l := make([]any, n)
		for i := range l {
			if i%3 == 0 {
				l[i] = Tuple{i, []any{i}}
			} else {
				l[i] = i
			}
		}
		d := NewDict(n)
		s := NewSet(n)
		for i := range n {
			_ = d.Set(i, &List{i})
			_ = s.Add(i)
		}
		for _, v := range []any{l, d, s} {
			data, err := Dumps(v, 4)
			require.NoError(t, err)
			back, err := Loads(data)
			require.NoError(t, err)
			switch x := back.(type) {
			case *List:
				require.Equal(t, n, cap(*x))
			case *Dict:
				require.Equal(t, n, cap(x.t.entries))
			case *Set:
				require.Equal(t, n, cap(x.t.entries))
			default:
				t.Fatalf("%T decoded as %T", v, back)
			}
		}
	}
}

// TestLoadsLinearTime decodes inputs built to make a careless decoder
// quadratic; each must finish quickly.
func TestLoadsLinearTime(t *testing.T) {
	batch := append([]byte("]("), bytes.Repeat([]byte("N"), batchSize)...)
	batch = append(batch, 'e')
	var nested []byte // lists whose first batch of 1000 holds the next list
	for range 200 {
		nested = append(nested, append([]byte("]("), bytes.Repeat([]byte("N"), batchSize-1)...)...)
	}
	for range 200 {
		nested = append(nested, 'e', 'a')
	}
	inputs := map[string][]byte{
		"many first batches": append(append([]byte("("), bytes.Repeat(batch, 300)...), 't', '.'),
		"nested batches":     append(nested, '.'),
		"deep marks":         append(append(bytes.Repeat([]byte("("), 999), bytes.Repeat([]byte("1"), 999)...), 'N', '.'),
		"many puts":          append(bytes.Repeat([]byte("Nr\xff\xff\xff\x7f0"), 50000), 'N', '.'),
		"dup":                append(append([]byte("(N"), bytes.Repeat([]byte("2"), 200000)...), 't', '.'),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, _ = Loads(in)
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// TestTextIntBase0: INT reads its literal as C's strtol(s, 0) first and
// then as Python's int(s, 0); LONG only as int(s, 0). The expectations are
// CPython 3.8's and 3.12's pickle.loads (a fuzz run found "010" decoded
// as 8 by LONG, where CPython raises).
func TestTextIntBase0(t *testing.T) {
	big20, _ := new(big.Int).SetString("99999999999999999999", 10)
	cases := []struct {
		in   string
		want any // nil: CPython raises ValueError
	}{
		{"I010\n.", int64(8)}, {"I0x10\n.", int64(16)}, {"I-010\n.", int64(-8)}, {"I+010\n.", int64(8)},
		{"I 7\n.", int64(7)}, {"I0b11\n.", int64(3)}, {"I1_0\n.", int64(10)}, {"I0o17\n.", int64(15)},
		{"I00\n.", false}, {"I0x_1f\n.", int64(31)}, {"I99999999999999999999\n.", big20},
		{"I0_17\n.", nil}, {"I0100000000000000000000000\n.", nil},
		{"L010\n.", nil}, {"L0x10L\n.", int64(16)}, {"L00\n.", int64(0)}, {"L-0x10\n.", int64(-16)},
		{"L1_000L\n.", int64(1000)}, {"L0_0\n.", int64(0)}, {"L 12 \n.", int64(12)},
	}
	for _, c := range cases {
		v, err := Loads([]byte(c.in))
		if c.want == nil {
			require.ErrorIs(t, err, ErrBadValue, "%q", c.in)
			continue
		}
		require.NoError(t, err, "%q", c.in)
		if b, ok := c.want.(*big.Int); ok {
			require.Equal(t, 0, b.Cmp(v.(*big.Int)), "%q", c.in)
			continue
		}
		require.Equal(t, c.want, v, "%q", c.in)
	}
}
