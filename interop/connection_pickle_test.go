package interop

import (
	"bytes"
	"context"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// connValue is one value exchanged as a pickle: its Python expression, the
// Go value (value model) and Python's repr of it. Values with noEq do not
// compare equal in Python (exceptions); big ones are checked without repr.
type connValue struct {
	expr string
	go_  func() any
	repr string
	noEq bool
}

func connValues() []connValue {
	big70, _ := new(big.Int).SetString("1180591620717411303424", 10)
	dict := func() any {
		d := pickle.NewDict(2)
		_ = d.Set("a", int64(1))
		_ = d.Set("b", &pickle.List{int64(2)})
		return d
	}
	set := func() any {
		s := pickle.NewSet(3)
		for _, k := range []int64{1, 2, 3} {
			_ = s.Add(k)
		}
		return s
	}
	fset := func() any { s := pickle.NewFrozenSet(1); _ = s.Add("x"); return s }
	many := func() any {
		l := make(pickle.List, 10000)
		for i := range l {
			l[i] = int64(i)
		}
		return &l
	}
	ba := pickle.ByteArray("ab")
	return []connValue{
		{expr: "None", go_: func() any { return nil }, repr: "None"},
		{expr: "True", go_: func() any { return true }, repr: "True"},
		{expr: "42", go_: func() any { return int64(42) }, repr: "42"},
		{expr: "-(1 << 40)", go_: func() any { return int64(-1 << 40) }, repr: "-1099511627776"},
		{expr: "1 << 70", go_: func() any { return big70 }, repr: "1180591620717411303424"},
		{expr: "1.5", go_: func() any { return 1.5 }, repr: "1.5"},
		{expr: "'h\\xe9llo \\u2603'", go_: func() any { return "héllo ☃" }, repr: "'héllo ☃'"},
		{expr: "b'\\x00\\xff'", go_: func() any { return []byte{0, 0xff} }, repr: "b'\\x00\\xff'"},
		{expr: "bytearray(b'ab')", go_: func() any { return &ba }, repr: "bytearray(b'ab')"},
		{expr: "('echo', 'hi')", go_: func() any { return pickle.Tuple{"echo", "hi"} }, repr: "('echo', 'hi')"},
		{expr: "[1, 'a', None]", go_: func() any { return &pickle.List{int64(1), "a", nil} }, repr: "[1, 'a', None]"},
		{expr: "{'a': 1, 'b': [2]}", go_: dict, repr: "{'a': 1, 'b': [2]}"},
		{expr: "{1, 2, 3}", go_: set, repr: "{1, 2, 3}"},
		{expr: "frozenset({'x'})", go_: fset, repr: "frozenset({'x'})"},
		{expr: "(1+2j)", go_: func() any { return complex(1, 2) }, repr: "(1+2j)"},
		{expr: "KeyError('k')", go_: func() any { return pickle.NewException("builtins", "KeyError", "k") }, repr: "KeyError('k')", noEq: true},
		{expr: "list(range(10000))", go_: many},
		{expr: "b'x' * (1 << 20)", go_: func() any { return bytes.Repeat([]byte("x"), 1<<20) }},
	}
}

// connPickles exchanges pickled values with the peer over a Go Listener
// and Python Client: Go to Python (checked with == in Python), Python to Go
// (checked with pickle.Repr against Python's repr) and round trips; then a
// Python parent sends them through a Go child that decodes and re-encodes
// them.
func connPickles(t *testing.T, ctx context.Context, p *connPeer, fdecho string) {
	l, err := connection.Listen(ctx, "127.0.0.1:0", &connection.ListenOptions{Authkey: connKey})
	require.NoError(t, err)
	defer l.Close()
	client := p.start("client", map[string]any{"address": l.Addr().PythonRepr(), "authkey": b64(connKey)})
	c, err := l.Accept(ctx)
	require.NoError(t, err)
	defer c.Close()
	var cid int
	require.NoError(t, p.wait(ctx, client, &cid))
	defer p.call(ctx, "close", map[string]any{"cid": cid}, nil)

	var eqExprs []string
	for _, v := range connValues() {
		t.Run(v.expr, func(t *testing.T) {
			checkGo := func(got any) {
				t.Helper()
				if v.repr != "" {
					require.Equal(t, v.repr, pickle.Repr(got))
					return
				}
				require.Equal(t, pickle.Repr(v.go_()), pickle.Repr(got))
			}
			// Go -> Python.
			require.NoError(t, c.Send(ctx, v.go_()))
			if v.noEq {
				var r string
				p.must(t, ctx, "recv", map[string]any{"cid": cid}, &r)
				require.Equal(t, v.repr, r)
			} else {
				p.must(t, ctx, "check", map[string]any{"cid": cid, "expr": v.expr}, nil)
			}
			// Python -> Go.
			p.must(t, ctx, "send", map[string]any{"cid": cid, "expr": v.expr}, nil)
			got, err := c.Recv(ctx)
			require.NoError(t, err)
			checkGo(got)
			// Go -> Python -> Go.
			echo := p.start("echo", map[string]any{"cid": cid, "count": 1})
			require.NoError(t, c.Send(ctx, v.go_()))
			got, err = c.Recv(ctx)
			require.NoError(t, err)
			checkGo(got)
			require.NoError(t, p.wait(ctx, echo, nil))
		})
		if !v.noEq {
			eqExprs = append(eqExprs, v.expr)
		}
	}
	t.Run("PyParentGoChild", func(t *testing.T) {
		var res struct {
			RC     int    `json:"rc"`
			Stderr string `json:"stderr"`
			Got    []any  `json:"got"`
		}
		p.must(t, ctx, "spawn", map[string]any{"argv": []string{fdecho}, "duplex": true, "sizes": []int{},
			"objects": eqExprs, "env": map[string]string{"MPB_RAW_COUNT": "0"}}, &res)
		require.Equal(t, 0, res.RC, res.Stderr)
		require.Len(t, res.Got, len(eqExprs))
	})
}
