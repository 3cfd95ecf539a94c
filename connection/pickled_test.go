package connection

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

func TestSendRecv(t *testing.T) {
	ctx := context.Background()
	a, b, err := Pipe(true)
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	for _, v := range []any{nil, true, int64(42), "hi", []byte("raw"), pickle.Tuple{"echo", "hi"}, 1.5} {
		require.NoError(t, a.Send(ctx, v))
		got, err := b.Recv(ctx)
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
	// CPython's bytes for ('echo', 'hi'), PROTOCOL.md §1.4.
	require.NoError(t, a.Send(ctx, pickle.Tuple{"echo", "hi"}))
	raw, err := b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "8004950f000000000000008c046563686f948c0268699486942e", hexString(raw))

	// A message that is not a pickle: a typed error, the Conn stays usable.
	require.NoError(t, a.SendBytes(ctx, []byte("not a pickle")))
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, mpbridge.ErrCorrupt)
	require.NoError(t, a.Send(ctx, "after"))
	got, err := b.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "after", got)

	var v any
	require.NoError(t, a.Send(ctx, "typed"))
	require.NoError(t, b.RecvValue(ctx, &v))
	require.Equal(t, "typed", v)
}
