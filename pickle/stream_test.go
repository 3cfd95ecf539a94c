package pickle

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/mpbridge/mpbridge"
	"github.com/stretchr/testify/require"
)

// TestDecoderReadsOnePickle checks that a Decoder stops right after STOP
// (leaving the next bytes unread), decodes the same from a reader giving
// one byte at a time, and reports io.EOF only at a clean boundary.
func TestDecoderReadsOnePickle(t *testing.T) {
	var stream []byte
	values := []any{nil, "a", Tuple{int64(1), "two"}, []byte("x"), int64(70000)}
	for i, v := range values {
		p, err := Dumps(v, i%6)
		require.NoError(t, err)
		stream = append(stream, p...)
	}
	big, err := Dumps(bytes.Repeat([]byte("z"), 100000), 4)
	require.NoError(t, err)
	stream = append(stream, big...)
	for _, r := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream)), iotest.HalfReader(bytes.NewReader(stream))} {
		dec := NewDecoder(r)
		for _, want := range values {
			var v any
			require.NoError(t, dec.Decode(&v))
			require.Equal(t, want, v)
		}
		var v any
		require.NoError(t, dec.Decode(&v))
		require.Len(t, v.([]byte), 100000)
		require.ErrorIs(t, dec.Decode(&v), io.EOF)
	}
	// Exactly up to STOP: the reader still holds what follows.
	r := bytes.NewReader(append([]byte("\x80\x04K\x01.rest"), big...))
	require.NoError(t, NewDecoder(r).Decode(new(any)))
	require.Equal(t, 4+len(big), r.Len())

	// Cut short.
	err = NewDecoder(bytes.NewReader(stream[:len(stream)-1])).Decode(new(any))
	require.NoError(t, err) // the first pickle is whole
	dec := NewDecoder(bytes.NewReader(big[:len(big)-10]))
	err = dec.Decode(new(any))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.ErrorIs(t, err, mpbridge.ErrCorrupt)

	// A reader error passes through.
	boom := errors.New("boom")
	err = NewDecoder(iotest.ErrReader(boom)).Decode(new(any))
	require.ErrorIs(t, err, boom)

	// A hostile frame length does not allocate beyond the limit.
	err = NewDecoder(bytes.NewReader([]byte("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f"))).Decode(new(any))
	require.ErrorIs(t, err, ErrLimit)
}
