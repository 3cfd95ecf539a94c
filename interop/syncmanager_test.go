//go:build linux

package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/manager"
)

// syncScenarios are the scenarios of scripts/syncmanager_peer.py.
var syncScenarios = []string{"concurrent", "dict", "dict_iter", "list", "locks", "nested", "refcount", "value_array_namespace"}

// startSyncGoServer serves every SyncManager typeid from Go on a local
// TCP port, as `mpbridge serve` does.
func startSyncGoServer(t testing.TB) (srv *manager.Server, host, port string, key []byte) {
	t.Helper()
	key = mgrKey(t)
	srv = manager.NewServer(&manager.ServerOptions{Authkey: key})
	manager.RegisterSyncManagerTypes(srv)
	ctx, cancel := context.WithCancel(context.Background())
	l, err := connection.Listen(ctx, "127.0.0.1:0", &connection.ListenOptions{Backlog: 128})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	host, port, err = net.SplitHostPort(l.Addr().Addr)
	require.NoError(t, err)
	return srv, host, port, key
}

type syncTranscripts struct {
	Version string `json:"version"`
	Results map[string]struct {
		Go []string `json:"go"`
		Py []string `json:"py"`
	} `json:"results"`
}

// runSyncPeer runs the peer script to completion and decodes its output.
func runSyncPeer(t *testing.T, py pytest.Python, host, port string, key []byte, scenarios ...string) syncTranscripts {
	t.Helper()
	args := append([]string{pytest.Script("syncmanager_peer.py"), host, port, hex.EncodeToString(key)}, scenarios...)
	cmd := py.Command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	pytest.Start(t, cmd)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		require.NoError(t, err, "peer failed:\n%s", errb.String())
	case <-time.After(4 * time.Minute):
		pytest.Kill(cmd)
		t.Fatalf("peer hung; stderr:\n%s", errb.String())
	}
	var tr syncTranscripts
	require.NoError(t, json.Unmarshal(out.Bytes(), &tr), "peer output: %s\nstderr: %s", out.String(), errb.String())
	t.Logf("peer %s timings:\n%s", tr.Version, errb.String())
	return tr
}

// TestSyncManagerMatchesCPython runs the same SyncManager scenarios from
// Python clients against the Go server and against a CPython
// SyncManager, for every installed Python, and requires identical
// transcripts: every return value, every exception type and message,
// timeouts honoured within 50 ms, several processes on locks,
// conditions, barriers and events, nested proxies and reference counts.
func TestSyncManagerMatchesCPython(t *testing.T) {
	slots := make(chan struct{}, 2) // two versions at a time on a 2-core machine
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		t.Parallel()
		slots <- struct{}{}
		defer func() { <-slots }()
		srv, host, port, key := startSyncGoServer(t)
		tr := runSyncPeer(t, py, host, port, key)
		var names []string
		for name := range tr.Results {
			names = append(names, name)
		}
		sort.Strings(names)
		require.Equal(t, syncScenarios, names)
		for _, name := range names {
			res := tr.Results[name]
			t.Run(name, func(t *testing.T) {
				require.NotEmpty(t, res.Go)
				for _, l := range res.Go {
					require.NotContains(t, l, "CRASH", "the scenario crashed against the Go server")
				}
				require.Equal(t, strings.Join(res.Py, "\n"), strings.Join(res.Go, "\n"),
					"transcripts differ: Python server (expected) vs Go server (actual)")
			})
		}
		// Every proxy the peer made is gone: the Go server holds nothing.
		require.Eventually(t, func() bool { return srv.NumberOfObjects() == 0 }, 5*time.Second, 10*time.Millisecond,
			"objects left: %d", srv.NumberOfObjects())
	})
}

// TestSyncManagerPoolRefuses checks that a Pool on the Go server answers
// with the NotImplementedError naming the limitation (a CPython server
// would run the function, so this is not a transcript comparison).
func TestSyncManagerPoolRefuses(t *testing.T) {
	for _, py := range pytest.Pick(t) {
		t.Run("py"+py.Version, func(t *testing.T) {
			_, host, port, key := startSyncGoServer(t)
			code := `
import sys, multiprocessing
from multiprocessing.managers import SyncManager
key = bytes.fromhex(sys.argv[3])
m = SyncManager(address=(sys.argv[1], int(sys.argv[2])), authkey=key); m.connect()
with m.Pool(2) as p:
    try:
        p.map(abs, [-1])
    except NotImplementedError as e:
        print("NotImplementedError:", e)
    try:
        p.apply_async(abs, (-1,))
    except NotImplementedError as e:
        print("NotImplementedError:", e)
`
			out := py.Run(t, code, host, port, hex.EncodeToString(key))
			require.Equal(t, "NotImplementedError: mpbridge cannot run Python code: Pool is not supported\n"+
				"NotImplementedError: mpbridge cannot run Python code: Pool is not supported\n", string(out))
		})
	}
}
