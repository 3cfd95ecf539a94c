package manager

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/pickle"
)

// TestRebuildNestedProxies: proxies stored in a shared list, a shared dict
// (under a self-referencing list) and a queue come back as typed proxies
// that take their own references, and the server's objects go back to
// their number once the proxies are closed.
func TestRebuildNestedProxies(t *testing.T) {
	ctx := context.Background()
	srv := NewServer(&ServerOptions{Authkey: testKey})
	require.NoError(t, RegisterSyncManagerTypes(srv))
	ts := startServer(t, srv)
	c := dial(t, ts.addr)
	n0, err := c.NumberOfObjects(ctx)
	require.NoError(t, err)

	inner, err := c.Dict(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, inner.Set(ctx, "k", "v"))
	outer, err := c.List(ctx)
	require.NoError(t, err)
	cyc := &pickle.List{}
	*cyc = append(*cyc, cyc, inner) // a list holding itself and the proxy
	require.NoError(t, outer.Append(ctx, cyc))
	q, err := c.Queue(ctx, "Queue", nil, nil)
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, pickle.Tuple{"job", inner}))
	require.NoError(t, inner.Close())

	v, err := outer.Get(ctx, 0)
	require.NoError(t, err)
	got, ok := v.(*pickle.List)
	require.True(t, ok, "%T", v)
	require.Len(t, *got, 2)
	require.Same(t, got, (*got)[0], "the cycle survives")
	d1, ok := (*got)[1].(*DictProxy)
	require.True(t, ok, "%T", (*got)[1])
	x, err := d1.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", x)

	item, err := q.Get(ctx)
	require.NoError(t, err)
	d2, ok := item.(pickle.Tuple)[1].(*DictProxy)
	require.True(t, ok, "%T", item.(pickle.Tuple)[1])
	require.NoError(t, d2.Set(ctx, "k2", int64(2)))
	n, err := d1.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "both proxies name one dict")

	require.NoError(t, d1.Close())
	require.NoError(t, d2.Close())
	require.NoError(t, outer.Close())
	require.NoError(t, q.Close())
	require.Eventually(t, func() bool {
		n, err := c.NumberOfObjects(ctx)
		return err == nil && n == n0
	}, 5*time.Second, 10*time.Millisecond)

	// A value that only mentions the name is returned as it is.
	l2, err := c.List(ctx, "RebuildProxy")
	require.NoError(t, err)
	defer l2.Close()
	v, err = l2.Get(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "RebuildProxy", v)
}
