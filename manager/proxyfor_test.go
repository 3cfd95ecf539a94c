package manager

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// syncServer serves SyncManager's typeids with testKey.
func syncServer(t *testing.T) *testServer {
	t.Helper()
	srv := NewServer(&ServerOptions{Authkey: testKey})
	require.NoError(t, RegisterSyncManagerTypes(srv))
	return startServer(t, srv)
}

// refcount reads ident's reference count from debug_info (0 once the
// server forgot it).
func refcount(t *testing.T, c *Client, ident string) int {
	t.Helper()
	info, err := c.DebugInfo(context.Background())
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(ident) + `: +refcount=(\d+)$`).FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

func TestProxyFor(t *testing.T) {
	ts := syncServer(t)
	ctx := context.Background()
	c := dial(t, ts.addr)
	d, err := c.Dict(ctx, nil)
	require.NoError(t, err)
	tok := d.Proxy().Token()
	require.Equal(t, 1, refcount(t, c, tok.ID))

	// A second client, as another process has: the token's address is
	// replaced by the client's.
	c2, err := NewClient(ts.addr, c.Authkey(), nil)
	require.NoError(t, err)
	defer c2.Close()
	foreign := tok
	foreign.Address = pickle.Tuple{"0.0.0.0", int64(1)}

	tests := []struct {
		name   string
		incref bool
		during int // refcount while the proxy is open
	}{
		{"incref", true, 2},
		{"bootstrap, no reference", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c2.ProxyFor(ctx, foreign, d.Proxy().Exposed(), tt.incref)
			require.NoError(t, err)
			require.Equal(t, tt.incref, p.Owned())
			require.Equal(t, tok, p.Token())
			require.Equal(t, tt.during, refcount(t, c, tok.ID))
			pd := NewDictProxy(p)
			require.NoError(t, pd.Set(ctx, "k", int64(7)))
			v, err := d.Get(ctx, "k")
			require.NoError(t, err)
			require.Equal(t, int64(7), v)
			// A method returning a proxy works through a rebuilt proxy.
			it, err := pd.Iter(ctx)
			require.NoError(t, err)
			k, ok, err := it.Next(ctx)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "k", k)
			require.NoError(t, it.Close())
			require.NoError(t, pd.Close())
			require.Equal(t, 1, refcount(t, c, tok.ID))
			_, err = p.Call(ctx, "__len__", nil, nil)
			require.ErrorIs(t, err, mpbridge.ErrClosed)
		})
	}

	_, err = c2.ProxyFor(ctx, Token{Typeid: "dict"}, nil, false)
	require.ErrorIs(t, err, mpbridge.ErrCorrupt)
	_, err = c2.ProxyFor(ctx, Token{Typeid: "dict", ID: "deadbeef"}, nil, true)
	var re *RemoteError
	require.ErrorAs(t, err, &re, "incref of an unknown ident fails")
	require.NoError(t, d.Close())
	require.Equal(t, 0, refcount(t, c, tok.ID))
}

func TestNewClientConnectsLazily(t *testing.T) {
	// Nothing listens there: NewClient succeeds, the first call fails.
	c, err := NewClient("@mpbridge-nobody-listens", testKey, nil)
	require.NoError(t, err)
	p, err := c.ProxyFor(context.Background(), Token{Typeid: "Queue", ID: "1"}, nil, false)
	require.NoError(t, err)
	_, err = p.Call(context.Background(), "qsize", nil, nil)
	require.Error(t, err)
	require.Equal(t, testKey, c.Authkey())
	c.Authkey()[0] = 'X'
	require.Equal(t, testKey, c.Authkey(), "Authkey returns a copy")
}

func TestProxyPickleReduce(t *testing.T) {
	tok := Token{Typeid: "Queue", Address: pickle.Tuple{"127.0.0.1", int64(5000)}, ID: "7f"}
	c, err := NewClient("127.0.0.1:5000", testKey, nil)
	require.NoError(t, err)
	tests := []struct {
		name    string
		v       pickle.Reducer
		class   string
		exposed any
	}{
		{"auto with exposed", must(c.ProxyFor(context.Background(), tok, []string{"get", "put"}, false)), "AutoProxy", pickle.Tuple{"get", "put"}},
		{"auto, exposed unknown", must(c.ProxyFor(context.Background(), tok, nil, false)), "AutoProxy", nil},
		{"queue", NewQueueProxy(must(c.ProxyFor(context.Background(), tok, nil, false))), "AutoProxy", nil},
		{"dict", NewDictProxy(must(c.ProxyFor(context.Background(), tok, nil, false))), "DictProxy", "absent"},
		{"rlock", NewRLockProxy(must(c.ProxyFor(context.Background(), tok, nil, false))), "AcquirerProxy", "absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.v.PickleReduce()
			require.NoError(t, err)
			require.Equal(t, pickle.Global{Module: "multiprocessing.managers", Name: "RebuildProxy"}, o.Callable)
			require.Len(t, o.Args, 4)
			require.Equal(t, pickle.Global{Module: "multiprocessing.managers", Name: tt.class}, o.Args[0])
			got, err := TokenFromPickle(o.Args[1])
			require.NoError(t, err)
			require.Equal(t, tok, got)
			require.Equal(t, "pickle", o.Args[2])
			kw := o.Args[3].(*pickle.Dict)
			e, ok := kw.Get("exposed")
			if tt.exposed == "absent" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.exposed, e)
			// It survives a pickle round trip.
			data, err := pickle.Dumps(o, 4)
			require.NoError(t, err)
			_, err = pickle.Loads(data)
			require.NoError(t, err)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
