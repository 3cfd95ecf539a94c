package pickle

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestObjectClass(t *testing.T) {
	cls := Global{"m", "C"}
	require.Equal(t, cls, (&Object{Callable: cls, Kind: NewObj}).Class())
	require.Equal(t, cls, (&Object{Callable: cls, Kind: Reduce}).Class())
	require.Equal(t, cls, (&Object{Callable: Global{"copyreg", "_reconstructor"}, Args: Tuple{cls, Global{"builtins", "object"}, nil}}).Class())
	require.Equal(t, cls, (&Object{Callable: Global{"copyreg", "__newobj__"}, Args: Tuple{cls}}).Class())
	require.Equal(t, "m.C", cls.String())
	require.Equal(t, "NewObjEx", NewObjEx.String())
	require.Equal(t, "ObjectKind(?)", ObjectKind(99).String())
}

func TestRepr(t *testing.T) {
	l := &List{int64(1)}
	*l = append(*l, l)
	d := NewDict(0)
	_ = d.Set("k", Tuple{1.5, nil, true})
	s := NewSet(0)
	_ = s.Add("x")
	for v, want := range map[any]string{
		"it's":           `"it's"`,
		"a\n\x00é\u2028": `'a\n\x00é\u2028'`,
		1e16:             "1e+16",
		1e-5:             "1e-05",
		123456789.0:      "123456789.0",
		complex(1, -2):   "(1-2j)",
		complex(0, 2):    "2j",
		int8(-3):         "-3",
	} {
		require.Equal(t, want, Repr(v))
	}
	require.Equal(t, "-0.0", Repr(math.Copysign(0, -1)))
	require.Equal(t, "[1, [...]]", Repr(l))
	require.Equal(t, "{'k': (1.5, None, True)}", Repr(d))
	require.Equal(t, "{'x'}", Repr(s))
	require.Equal(t, "set()", Repr(NewSet(0)))
	require.Equal(t, "frozenset()", Repr(NewFrozenSet(0)))
	require.Equal(t, "b'\\x00\"'", Repr([]byte("\x00\"")))
	require.Equal(t, "bytearray(b'a')", Repr(&ByteArray{'a'}))
	require.Equal(t, "(1,)", Repr(Tuple{1}))
	require.Equal(t, "<m.C object>", Repr(&Object{Callable: Global{"m", "C"}}))
	require.Equal(t, "'\\ud800'", Repr("\xed\xa0\x80"))
}
