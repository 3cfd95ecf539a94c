package pickle

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/internal/pytest"
)

func TestJSONRoundTrip(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	ba := ByteArray("ba")
	for _, tc := range []struct {
		m    any
		json string
	}{
		{nil, `null`},
		{true, `true`},
		{int64(-5), `-5`},
		{int64(math.MaxInt64), `9223372036854775807`},
		{big70, `{"$int":"1180591620717411303424"}`},
		{1.0, `1.0`},
		{math.Copysign(0, -1), `-0.0`},
		{1e21, `1e+21`},
		{0.1, `0.1`},
		{math.NaN(), `{"$float":"nan"}`},
		{math.Inf(-1), `{"$float":"-inf"}`},
		{complex(1, math.Inf(1)), `{"$complex":[1.0,{"$float":"inf"}]}`},
		{"a\"\\\n\x00é\u2028", `"a\"\\\n\u0000é\u2028"`},
		{[]byte{0, 255}, `{"$bytes":"AP8="}`},
		{&ba, `{"$bytearray":"YmE="}`},
		{Tuple{}, `{"$tuple":[]}`},
		{Tuple{int64(1), Tuple{"x"}}, `{"$tuple":[1,{"$tuple":["x"]}]}`},
		{listOf(), `[]`},
		{listOf(nil, listOf()), `[null,[]]`},
		{setOf(int64(1), "a"), `{"$set":[1,"a"]}`},
		{dictOf(), `{}`},
		{dictOf("b", int64(1), "a", int64(2)), `{"b":1,"a":2}`},
		{dictOf("$bytes", "x"), `{"$dict":[["$bytes","x"]]}`},
		{dictOf("$a", int64(1), "b", int64(2)), `{"$a":1,"b":2}`},
		{dictOf(int64(1), "x", Tuple{nil}, "y"), `{"$dict":[[1,"x"],[{"$tuple":[null]},"y"]]}`},
		{Global{"collections", "OrderedDict"}, `{"$global":"collections:OrderedDict"}`},
		{Global{"m", "Outer.Inner"}, `{"$global":"m:Outer.Inner"}`},
		{PersistentID{ID: "k"}, `{"$persid":"k"}`},
		{newReduce(Global{"m", "f"}), `{"$object":{"callable":{"$global":"m:f"},"args":[]}}`},
		{&Object{Callable: Global{"m", "C"}, Kind: NewObjEx, Args: Tuple{int64(1)}, Kwargs: dictOf("k", int64(2)), State: nil, HasState: true,
			ListItems: []any{int64(3)}, DictItems: []Pair{{int64(4), int64(5)}}},
			`{"$object":{"callable":{"$global":"m:C"},"kind":"newobj_ex","args":[1],"kwargs":{"k":2},"state":null,"listitems":[3],"dictitems":[[4,5]]}}`},
		{&Object{Callable: Global{"m", "C"}, Kind: Inst, Args: Tuple{}}, `{"$object":{"callable":{"$global":"m:C"},"kind":"inst","args":[]}}`},
		{NewException("builtins", "KeyError", "k"), `{"$exception":{"callable":{"$global":"builtins:KeyError"},"args":["k"]}}`},
		{newReduce(gDecimal, "1.10"), `{"$decimal":"1.10"}`},
		{newReduce(gDecimal, "bogus"), `{"$object":{"callable":{"$global":"decimal:Decimal"},"args":["bogus"]}}`},
		{timedeltaModel(-1), `{"$timedelta":[-1,86399,999999]}`},
		{newReduce(gTimedelta, int64(0), int64(90000), int64(0)), `{"$object":{"callable":{"$global":"datetime:timedelta"},"args":[0,90000,0]}}`},
	} {
		got, err := ToJSON(tc.m)
		require.NoError(t, err, Repr(tc.m))
		require.Equal(t, tc.json, string(got))
		back, err := FromJSON(got)
		require.NoError(t, err, tc.json)
		again, err := ToJSON(back)
		require.NoError(t, err)
		require.Equal(t, tc.json, string(again))
		if _, isFloat := tc.m.(float64); !isFloat {
			require.Equal(t, Repr(tc.m), Repr(back), tc.json)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	l := listOf(nil)
	(*l)[0] = l
	_, err := ToJSON(l)
	require.ErrorIs(t, err, ErrJSON)
	var m any = "x"
	for range 30 {
		m = Tuple{m, m}
	}
	_, err = ToJSON(m)
	require.ErrorIs(t, err, ErrJSON)
	_, err = ToJSON(make(chan int))
	require.Error(t, err)

	for _, bad := range []string{
		``, `[`, `{"a":1`, `1 2`, `{"$nope":1}`, `{"$bytes":"!!"}`, `{"$bytes":1}`, `{"$tuple":1}`,
		`{"$set":[[1]]}`, `{"$dict":[[1]]}`, `{"$dict":[[[1],2]]}`, `{"$global":"nocolon"}`, `{"$int":"1x"}`,
		`{"$float":"x"}`, `{"$complex":[1]}`, `{"$object":{"args":[]}}`, `{"$object":{"callable":1,"bogus":1}}`,
		`{"$object":{"callable":1,"kind":"x"}}`, `{"$datetime":"2024-13-01T00:00:00"}`, `{"$datetime":"2024-01-01T00:00:00+25:00"}`,
		`{"$datetime":"2024-01-01T00:00:00[No/Such]"}`, `{"$datetime":"2024-07-01T00:00:00+01:00[Europe/Paris]"}`,
		`{"$date":"2024-02-30"}`, `{"$time":"25:00:00"}`, `{"$decimal":"x"}`, `{"$uuid":"x"}`, `{"$timedelta":[1e10,0,0]}`,
		`1e999`, `[1,]`,
	} {
		_, err := FromJSON([]byte(bad))
		require.Error(t, err, bad)
	}
	deep := make([]byte, 0, 2*maxJSONDepth+10)
	for range maxJSONDepth + 5 {
		deep = append(deep, '[')
	}
	_, err = FromJSON(deep)
	require.ErrorIs(t, err, ErrJSON)
}

func TestJSONPlainInput(t *testing.T) {
	m, err := FromJSON([]byte(` {"id": 12345, "payload": "x", "tags": ["a", "b"], "score": 1.5, "big": 123456789012345678901234567890, "when": {"$datetime": "2024-01-02T03:04:05Z"}} `))
	require.NoError(t, err)
	d := m.(*Dict)
	require.Equal(t, []any{"id", "payload", "tags", "score", "big", "when"}, d.Keys())
	id, _ := d.Get("id")
	require.Equal(t, int64(12345), id)
	b, _ := d.Get("big")
	require.IsType(t, &big.Int{}, b)
	w, _ := d.Get("when")
	require.Equal(t, `{"$datetime":"2024-01-02T03:04:05+00:00"}`, jsonOf(t, w))
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{`null`, `[1,2.5,"x",{"a":{"$tuple":[1]}}]`, `{"$dict":[[1,2]]}`, `{"$set":[1,2,1.0,true]}`,
		`{"$datetime":"2024-10-27T02:30:00+01:00[Europe/Paris]"}`, `{"$time":"01:02:03.5-02:30"}`, `{"$timedelta":[1,2,3]}`,
		`{"$object":{"callable":{"$global":"m:C"},"kind":"newobj","args":[],"state":{"a":1}}}`, `{"$exception":{"callable":{"$global":"builtins:KeyError"},"args":["k"]}}`,
		`{"$uuid":"12345678-1234-5678-1234-567812345678"}`, `{"$decimal":"-1.5e3"}`, `{"$bytes":"AP8="}`, `{"$float":"nan"}`, `{"$int":"-99999999999999999999"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := FromJSON(data)
		if err != nil {
			return
		}
		out, err := ToJSON(m)
		if err != nil {
			return // a value may be unrepresentable (e.g. too many nodes)
		}
		m2, err := FromJSON(out)
		require.NoError(t, err, "%s", out)
		out2, err := ToJSON(m2)
		require.NoError(t, err)
		require.Equal(t, string(out), string(out2))
	})
}

// checkJSONView renders CPython pickles with ToJSON, and sends FromJSON's
// values back to CPython, which must load them as the original value.
func checkJSONView(t *testing.T, h *pytest.Helper) {
	h.MustExec(t, pyClassesModule)
	type jcase struct {
		py, json string
		minMinor int
	}
	for _, c := range []jcase{
		{py: "None", json: `null`},
		{py: "[True, -1, 2.0, 'x', b'y', (1,), [], {}]", json: `[true,-1,2.0,"x",{"$bytes":"eQ=="},{"$tuple":[1]},[],{}]`},
		{py: "{'a': 1, 2: 'b'}", json: `{"$dict":[["a",1],[2,"b"]]}`},
		{py: "{'$bytes': 'not a tag'}", json: `{"$dict":[["$bytes","not a tag"]]}`},
		{py: "-2**70", json: `{"$int":"-1180591620717411303424"}`},
		{py: "[float('nan'), float('-inf'), 1e300, -0.0]", json: `[{"$float":"nan"},{"$float":"-inf"},1e+300,-0.0]`},
		{py: "complex(1, -2)", json: `{"$complex":[1.0,-2.0]}`},
		{py: "(bytearray(b'x'), {1, 2}, frozenset({3}))", json: `{"$tuple":[{"$bytearray":"eA=="},{"$set":[1,2]},{"$frozenset":[3]}]}`},
		{py: "[int, collections.OrderedDict]", json: `[{"$global":"builtins:int"},{"$global":"collections:OrderedDict"}]`},
		{py: "dt(2024,1,2,3,4,5,6)", json: `{"$datetime":"2024-01-02T03:04:05.000006"}`},
		{py: "dt(2024,1,2,tzinfo=tz(td(hours=-5)))", json: `{"$datetime":"2024-01-02T00:00:00-05:00"}`},
		{py: "dt(2024,10,27,2,30,tzinfo=Paris,fold=1)", json: `{"$datetime":"2024-10-27T02:30:00+01:00[Europe/Paris]"}`, minMinor: 9},
		{py: "(date(2024,2,29), tod(1,2,3), td(days=-1))", json: `{"$tuple":[{"$date":"2024-02-29"},{"$time":"01:02:03"},{"$timedelta":[-1,0,0]}]}`},
		{py: "[decimal.Decimal('-1.50'), uuid.UUID(int=1)]", json: `[{"$decimal":"-1.50"},{"$uuid":"00000000-0000-0000-0000-000000000001"}]`},
		{py: "KeyError('k')", json: `{"$exception":{"callable":{"$global":"builtins:KeyError"},"args":["k"]}}`},
		{py: "collections.OrderedDict([('a', 1)])", json: `{"$object":{"callable":{"$global":"collections:OrderedDict"},"args":[],"dictitems":[["a",1]]}}`},
		{py: "Point(1, 2)", json: `{"$object":{"callable":{"$global":"mpb_testmod:Point"},"kind":"newobj","args":[],"state":{"x":1,"y":2}}}`},
	} {
		if h.Py.Minor < c.minMinor {
			continue
		}
		var pickles []*string
		require.NoError(t, json.Unmarshal(h.MustExec(t, "result = py_pickles("+c.py+", 4)"), &pickles))
		m, err := Loads(unb64(t, *pickles[4]))
		require.NoError(t, err)
		js, err := ToJSON(m)
		require.NoError(t, err, c.py)
		require.Equal(t, c.json, string(js), c.py)

		back, err := FromJSON([]byte(c.json))
		require.NoError(t, err, c.json)
		enc, err := Dumps(back, 4)
		require.NoError(t, err)
		s := base64.StdEncoding.EncodeToString(enc)
		lit, err := pyJSONArg([]*string{nil, nil, nil, nil, &s, nil})
		require.NoError(t, err)
		var problems []string
		require.NoError(t, json.Unmarshal(h.MustExec(t, "result = py_check("+c.py+", "+string(lit)+")"), &problems))
		require.Empty(t, problems[4], "%s: Python loaded FromJSON(%s) differently", c.py, c.json)
	}
}
