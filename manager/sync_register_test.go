package manager

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/manager/syncobj"
	"github.com/mpbridge/mpbridge/pickle"
)

func TestRegisterSyncManagerTypes(t *testing.T) {
	srv := NewServer(nil)
	require.NoError(t, RegisterSyncManagerTypes(srv))
	have := map[string]bool{}
	for _, id := range srv.Typeids() {
		have[id] = true
	}
	for _, id := range []string{"Queue", "JoinableQueue", "Event", "Lock", "RLock", "Semaphore", "BoundedSemaphore",
		"Condition", "Barrier", "Pool", "list", "dict", "Value", "Array", "Namespace", "Iterator"} {
		require.True(t, have[id], id)
	}
}

func syncCall(t *testing.T, ctx context.Context, o Object, conn uint64, method string, args ...any) any {
	t.Helper()
	res, err := o.Call(withCaller(ctx, &CallerInfo{ConnID: conn}), method, pickle.Tuple(args), nil)
	require.NoError(t, err)
	return res
}

// An acquire whose reply never reached its client gives the lock back.
func TestSyncAcquireUndelivered(t *testing.T) {
	srv := NewServer(nil)
	o := wrapSync(srv, syncobj.NewLock(), []string{"acquire", "release"})
	res := syncCall(t, context.Background(), o, 1, "acquire")
	raw, ok := res.(Raw)
	require.True(t, ok)
	v, err := pickle.Loads(raw.Pickle)
	require.NoError(t, err)
	require.Equal(t, true, v)
	raw.Undelivered()
	require.IsType(t, Raw{}, syncCall(t, context.Background(), o, 2, "acquire", false))
}

// An RLock held by a connection that closes is released.
func TestSyncOwnerGone(t *testing.T) {
	srv := NewServer(nil)
	o := wrapSync(srv, syncobj.NewRLock(), []string{"acquire", "release"})
	ctx, cancel := context.WithCancel(context.Background())
	syncCall(t, ctx, o, 1, "acquire")
	syncCall(t, ctx, o, 1, "acquire")
	require.Equal(t, false, syncCall(t, context.Background(), o, 2, "acquire", false))
	cancel() // connection 1 closes
	require.Eventually(t, func() bool {
		_, isRaw := syncCall(t, context.Background(), o, 2, "acquire", false).(Raw)
		return isRaw
	}, time.Second, time.Millisecond)
}

// A dict's iterator is served as an object of its own.
func TestSyncIteratorWrapped(t *testing.T) {
	srv := NewServer(nil)
	d, err := syncobj.NewDict(nil, nil)
	require.NoError(t, err)
	o := wrapSync(srv, d, nil)
	it := syncCall(t, context.Background(), o, 1, "__iter__")
	_, ok := it.(Object)
	require.True(t, ok)
	_, isValuer := o.(Valuer)
	require.True(t, isValuer, "a dict can be copied to the client")
	_, lockValuer := wrapSync(srv, syncobj.NewLock(), nil).(Valuer)
	require.False(t, lockValuer, "a lock cannot")
}
