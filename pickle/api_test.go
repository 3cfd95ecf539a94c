package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDumpsLoadsRoundTrip(t *testing.T) {
	shared := "shared string"
	inner := &List{int64(1)}
	d := NewDict(0)
	require.NoError(t, d.Set(Tuple{1, "k"}, inner))
	values := []any{
		nil, true, int64(-5), int64(1) << 40, new(big.Int).Lsh(big.NewInt(3), 200), 2.5, complex(1, -1),
		"", "é", []byte{}, []byte("abc"), &ByteArray{0, 1}, Tuple{}, Tuple{int64(1), Tuple{"x"}},
		&List{shared, shared, inner, inner}, d, Global{"collections", "OrderedDict"},
		NewException("builtins", "KeyError", "k"), PersistentID{"pid"},
		&Object{Callable: Global{"m", "C"}, Kind: NewObj, Args: Tuple{int64(1)}, State: d, HasState: true,
			ListItems: []any{int64(1)}, DictItems: []Pair{{"a", int64(2)}}},
	}
	for p := 0; p <= HighestProtocol; p++ {
		for _, v := range values {
			if o, ok := v.(*Object); ok && p < 2 {
				v = &Object{Callable: o.Callable, Kind: Reduce, Args: o.Args, State: o.State, HasState: true}
			}
			data, err := Dumps(v, p)
			require.NoError(t, err, "protocol %d: %s", p, Repr(v))
			back, err := Loads(data)
			require.NoError(t, err, "protocol %d: %s", p, Repr(v))
			require.Equal(t, Repr(v), Repr(back), "protocol %d", p)
			again, err := Dumps(back, p)
			require.NoError(t, err)
			require.Equal(t, data, again, "protocol %d: %s", p, Repr(v))
		}
	}
	// Sharing survives.
	data, err := Dumps(&List{inner, inner, shared, shared}, 4)
	require.NoError(t, err)
	v, err := Loads(data)
	require.NoError(t, err)
	l := *v.(*List)
	require.Same(t, l[0], l[1])
}

func TestDumpsErrors(t *testing.T) {
	_, err := Dumps(1, 6)
	require.Error(t, err)
	data, err := Dumps(1, -1) // negative: the highest protocol
	require.NoError(t, err)
	require.Equal(t, []byte("\x80\x05K\x01."), data)

	// A Go slice containing itself cannot be written.
	s := make([]any, 1)
	s[0] = s
	_, err = Dumps(s, 4)
	require.ErrorIs(t, err, ErrLimit)
	m := map[string]any{}
	m["m"] = m
	_, err = Dumps(m, 4)
	require.ErrorIs(t, err, ErrLimit)

	_, err = Dumps(Global{"bad\nmodule", "x"}, 2)
	require.Error(t, err)
	_, err = Dumps(Global{"modé", "x"}, 2)
	require.Error(t, err)
	_, err = Dumps(PersistentID{1}, 0)
	require.Error(t, err)
	_, err = Dumps("\xff", 0)
	require.Error(t, err)
}

func TestEncodePersistentID(t *testing.T) {
	opts := &EncodeOptions{Protocol: 2, PersistentID: func(v any) (any, bool) {
		if s, ok := v.(string); ok && s == "external" {
			return "ext-1", true
		}
		return nil, false
	}}
	data, err := DumpsOptions([]any{"external", "inline"}, opts)
	require.NoError(t, err)
	v, err := LoadsOptions(data, &DecodeOptions{PersistentLoad: func(pid any) (any, error) { return "loaded " + pid.(string), nil }})
	require.NoError(t, err)
	require.Equal(t, &List{"loaded ext-1", "inline"}, v)
	opts.Protocol = 0
	data, err = DumpsOptions("external", opts)
	require.NoError(t, err)
	require.Equal(t, []byte("Pext-1\n."), data)
}

func TestEncoderReuse(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, p := range []int{4, 2, 0, 5} {
		enc.SetProtocol(p)
		require.NoError(t, enc.Encode(Tuple{"a", "a", &List{}}))
	}
	enc.SetOptions(nil)
	require.NoError(t, enc.Encode(1))
	dec := NewDecoder(&buf)
	for range 4 {
		v, err := dec.DecodeValue()
		require.NoError(t, err)
		require.Equal(t, "('a', 'a', [])", Repr(v))
	}
	var i int64
	var v any
	require.NoError(t, dec.Decode(&v))
	require.Equal(t, int64(1), v)
	require.ErrorIs(t, dec.Decode(i), ErrInvalidTarget)

	failing := NewEncoder(errWriter{})
	require.Error(t, failing.Encode(1))
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("write failed") }

func TestUnmarshalAny(t *testing.T) {
	var v any
	require.NoError(t, Unmarshal([]byte("K\x07."), &v))
	require.Equal(t, int64(7), v)
	require.ErrorIs(t, Unmarshal([]byte("K\x07."), nil), ErrInvalidTarget)
	require.Error(t, Unmarshal([]byte("\xff"), &v))
	data, err := Marshal("x")
	require.NoError(t, err)
	require.Equal(t, []byte("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x8c\x01x\x94."), data)
}

func TestAliasBytes(t *testing.T) {
	data, err := Dumps([]any{[]byte("abc"), "def"}, 4)
	require.NoError(t, err)
	v, err := LoadsOptions(data, &DecodeOptions{AliasBytes: true})
	require.NoError(t, err)
	b := (*v.(*List))[0].([]byte)
	require.Equal(t, []byte("abc"), b)
	require.True(t, bytes.Contains(data, b) && &data[bytes.Index(data, []byte("abc"))] == &b[0], "aliases the input")
	require.Equal(t, 3, cap(b), "capacity clipped")

	// Without the option a decoded value never aliases the input.
	v, err = Loads(data)
	require.NoError(t, err)
	b = (*v.(*List))[0].([]byte)
	b[0] = 'X'
	require.Equal(t, "abc", string(data[bytes.Index(data, []byte("bc"))-1:][:3]))
}

func TestDumpsNilPointers(t *testing.T) {
	for _, v := range []any{(*List)(nil), (*Dict)(nil), (*Set)(nil), (*FrozenSet)(nil), (*ByteArray)(nil),
		(*Object)(nil), (*Exception)(nil), (*big.Int)(nil)} {
		data, err := Dumps(v, 4)
		require.NoError(t, err, "%T", v)
		require.Equal(t, []byte("\x80\x04N."), data, "%T", v)
	}
	e := NewException("builtins", "KeyError", "k")
	data, err := Dumps(Tuple{e, &e.Object}, 4)
	require.NoError(t, err)
	v, err := Loads(data)
	require.NoError(t, err)
	require.Same(t, v.(Tuple)[0], v.(Tuple)[1], "an exception and its Object are one object")
}

// TestAppendDumps: AppendDumps adds exactly what DumpsOptions returns after
// the bytes already in dst, at every protocol and across frame boundaries,
// and allocates nothing when dst has room.
func TestAppendDumps(t *testing.T) {
	big := make([]any, 0, 20000)
	for i := range 20000 {
		big = append(big, fmt.Sprintf("item %d", i))
	}
	values := []any{nil, int64(7), "text", []byte("bytes"), Tuple{"a", &List{int64(1), 2.5}}, big}
	for proto := 0; proto <= HighestProtocol; proto++ {
		for i, v := range values {
			opts := &EncodeOptions{Protocol: proto}
			want, err := DumpsOptions(v, opts)
			require.NoError(t, err)
			for _, prefix := range [][]byte{nil, []byte("head"), make([]byte, 3, 1<<20)} {
				got, err := AppendDumps(prefix, v, opts)
				require.NoError(t, err)
				require.Equal(t, string(prefix), string(got[:len(prefix)]), "protocol %d value %d", proto, i)
				require.Equal(t, want, got[len(prefix):], "protocol %d value %d", proto, i)
			}
		}
	}
	buf := make([]byte, 0, 1024)
	var req any = Tuple{nil, "put", Tuple{"x"}}
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendDumps(buf[:0], req, nil)
	})
	require.Zero(t, allocs)
	_, err := AppendDumps([]byte("keep"), make(chan int), nil)
	require.Error(t, err)
}
