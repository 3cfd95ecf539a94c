package spawn

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

// Proxies passed to a child carry the client's authkey and come back as
// manager proxies holding no reference; an AutoProxy of a queue comes
// back as a *manager.QueueProxy.
func TestProxyPassAndRebuild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := []byte("proxy-test-key")
	srv := manager.NewServer(&manager.ServerOptions{Authkey: key})
	require.NoError(t, manager.RegisterSyncManagerTypes(srv))
	addr := fmt.Sprintf("@mpbridge-spawn-proxy-%d-%d", os.Getpid(), time.Now().UnixNano())
	l, err := connection.Listen(ctx, addr, nil)
	require.NoError(t, err)
	go srv.Serve(ctx, l)
	defer srv.Close()
	cl, err := manager.Dial(ctx, addr, key, nil)
	require.NoError(t, err)
	defer cl.Close()
	q, err := cl.Queue(ctx, "Queue", nil, nil)
	require.NoError(t, err)
	defer q.Close()
	d, err := cl.Dict(ctx, nil)
	require.NoError(t, err)
	defer d.Close()
	ev, err := cl.Event(ctx)
	require.NoError(t, err)
	defer ev.Close()

	fds := &childFds{}
	defer fds.closeDups()
	v, err := forChild(pickle.Tuple{q, d, ev.Proxy()}, fds)
	require.NoError(t, err)
	passed := v.(pickle.Tuple)
	classes := []string{"AutoProxy", "DictProxy", "AutoProxy"}
	for i, p := range passed {
		o := p.(*pickle.Object)
		require.Equal(t, rebuildProxyFunc, o.Callable)
		require.Equal(t, classes[i], o.Args[0].(pickle.Global).Name)
		kw := o.Args[3].(*pickle.Dict)
		k, _ := kw.Get("authkey")
		got, err := authkeyBytes(k)
		require.NoError(t, err)
		require.Equal(t, key, got, "the client's authkey travels")
		keys := kw.Keys()
		require.Equal(t, "authkey", keys[0], "authkey comes first, as BaseProxy.__reduce__ sets it")
	}
	// It pickles as CPython's does.
	data, err := pickle.Dumps(passed, 4)
	require.NoError(t, err)
	decoded, err := pickle.Loads(data)
	require.NoError(t, err)

	n0, err := cl.NumberOfObjects(ctx)
	require.NoError(t, err)
	// The child's own authkey is wrong: the proxies' one is used.
	r := newRebuilder(&Info{Name: "child", Authkey: []byte("other"), TrackerFd: -1})
	args, _, err := r.arguments(decoded.(pickle.Tuple), nil)
	require.NoError(t, err)
	cq, ok := args[0].(*manager.QueueProxy)
	require.True(t, ok, "%T", args[0])
	var _ mpbridge.JoinableQueue = cq
	cd, ok := args[1].(*manager.Proxy)
	require.True(t, ok, "%T", args[1])
	ce, ok := args[2].(*manager.Proxy)
	require.True(t, ok, "an AutoProxy of an Event is no queue: %T", args[2])
	require.Same(t, cq.Client(), cd.Client(), "one client per manager")
	require.False(t, cq.Owned() || cd.Owned() || ce.Owned())
	n, err := cl.NumberOfObjects(ctx)
	require.NoError(t, err)
	require.Equal(t, n0, n, "rebuilding sends nothing")

	require.NoError(t, cq.Put(ctx, "x"))
	got, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "x", got)
	require.NoError(t, manager.NewDictProxy(cd).Set(ctx, "k", int64(1)))
	it, err := manager.NewDictProxy(cd).Iter(ctx)
	require.NoError(t, err)
	require.True(t, it.Proxy().Owned(), "a proxy a method returns is the child's own")
	require.NoError(t, it.Close())
	require.NoError(t, manager.NewEventProxy(ce).Set(ctx))
	set, err := ev.IsSet(ctx)
	require.NoError(t, err)
	require.True(t, set)

	require.NoError(t, r.release(ctx))
	n, err = cl.NumberOfObjects(ctx)
	require.NoError(t, err)
	require.Equal(t, n0, n, "closing the child's proxies drops no reference of the parent's")
	_, err = cd.Call(ctx, "__len__", nil, nil)
	require.ErrorIs(t, err, mpbridge.ErrClosed)
}

func TestIsQueue(t *testing.T) {
	tests := []struct {
		typeid  string
		exposed []string
		want    bool
	}{
		{"Queue", nil, true},
		{"JoinableQueue", nil, true},
		{"get_queue", []string{"empty", "full", "get", "get_nowait", "join", "put", "put_nowait", "qsize", "task_done"}, true},
		{"Queue", []string{"get", "put"}, false},
		{"dict", nil, false},
		{"Event", []string{"is_set", "set", "clear", "wait"}, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, isQueue(tt.typeid, tt.exposed), "%s %v", tt.typeid, tt.exposed)
	}
}
