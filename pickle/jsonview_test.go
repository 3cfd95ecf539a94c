package pickle

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
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
