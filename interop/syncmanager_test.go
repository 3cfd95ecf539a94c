//go:build linux

package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
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
	require.NoError(t, manager.RegisterSyncManagerTypes(srv))
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

// startSyncPyServer runs a CPython SyncManager server in-process
// (get_server().serve_forever()) and returns its address.
func startSyncPyServer(t *testing.T, py pytest.Python, key []byte) string {
	t.Helper()
	code := `
import sys, multiprocessing
from multiprocessing.managers import SyncManager
key = bytes.fromhex(sys.argv[1])
multiprocessing.current_process().authkey = key
s = SyncManager(address=("127.0.0.1", 0), authkey=key).get_server()
print(s.address[1], flush=True)
s.serve_forever()
`
	cmd := py.Command("-c", code, hex.EncodeToString(key))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	pytest.Start(t, cmd)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	return "127.0.0.1:" + strings.TrimSpace(line)
}

// goProxyTranscript drives every typed Go proxy against the server at
// addr and returns what it saw, one line per step.
func goProxyTranscript(t *testing.T, addr string, key []byte) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := manager.Dial(ctx, addr, key, nil)
	require.NoError(t, err)
	defer c.Close()
	var out []string
	rec := func(label string, v any, err error) {
		if err != nil {
			var pe *pickle.Exception
			if errors.As(err, &pe) {
				out = append(out, fmt.Sprintf("%s !! %s", label, pe.Error()))
				return
			}
			out = append(out, fmt.Sprintf("%s !! Go error: %v", label, err))
			return
		}
		out = append(out, fmt.Sprintf("%s -> %s", label, pickle.Repr(v)))
	}
	// within checks a blocking call returned no earlier than d and at most
	// 50 ms later (five tries on a busy machine).
	within := func(label string, d time.Duration, f func(ctx context.Context) (any, error), before ...func()) {
		verdict := "late"
		for range 5 {
			for _, b := range before {
				b()
			}
			start := time.Now() // before the deadline is set, so that el >= d
			cctx, ccancel := context.WithTimeout(ctx, d)
			v, err := f(cctx)
			el := time.Since(start)
			ccancel()
			res := fmt.Sprint(v)
			if err != nil {
				res = "timeout"
				if !errors.Is(err, mpbridge.ErrTimeout) {
					var pe *pickle.Exception
					if errors.As(err, &pe) {
						res = pe.Name()
					} else {
						res = err.Error()
					}
				}
			}
			if el < d-time.Millisecond {
				verdict = res + " early"
				break
			}
			if el <= d+50*time.Millisecond {
				verdict = res + " ok"
				break
			}
		}
		out = append(out, label+" == "+verdict)
	}
	n0, err := c.NumberOfObjects(ctx)
	require.NoError(t, err)

	// dict and its iterator
	d, err := c.Dict(ctx, nil)
	require.NoError(t, err)
	rec("dict set", nil, d.Set(ctx, "a", int64(1)))
	rec("dict set tuple key", nil, d.Set(ctx, pickle.Tuple{int64(1), "x"}, []byte("v")))
	v, err := d.Get(ctx, "a")
	rec("dict get", v, err)
	v, err = d.Get(ctx, "zz")
	rec("dict get missing", v, err)
	v, err = d.GetDefault(ctx, "zz", "dflt")
	rec("dict get default", v, err)
	b, err := d.Contains(ctx, "a")
	rec("dict contains", b, err)
	n, err := d.Len(ctx)
	rec("dict len", n, err)
	rec("dict update", nil, d.Update(ctx, pickle.Tuple{pickle.Tuple{"b", int64(2)}}, mgrKwargs("c", 3.5)))
	keys, err := d.Keys(ctx)
	rec("dict keys", keys, err)
	vals, err := d.Values(ctx)
	rec("dict values", vals, err)
	items, err := d.Items(ctx)
	rec("dict items", items, err)
	it, err := d.Iter(ctx)
	require.NoError(t, err)
	var iterated []any
	for {
		k, ok, err := it.Next(ctx)
		require.NoError(t, err)
		if !ok {
			break
		}
		iterated = append(iterated, k)
	}
	rec("dict iter", iterated, nil)
	require.NoError(t, it.Close())
	v, err = d.SetDefault(ctx, "a", int64(9))
	rec("dict setdefault", v, err)
	v, err = d.Pop(ctx, "b")
	rec("dict pop", v, err)
	v, err = d.Pop(ctx, "b")
	rec("dict pop missing", v, err)
	v, err = d.PopDefault(ctx, "b", nil)
	rec("dict pop default", v, err)
	k, v, err := d.PopItem(ctx)
	rec("dict popitem", pickle.Tuple{k, v}, err)
	cp, err := d.Copy(ctx)
	rec("dict copy", cp, err)
	rec("dict delete missing", nil, d.Delete(ctx, "nope"))
	rec("dict set unhashable", nil, d.Set(ctx, pickle.List{}, 1))

	// list
	l, err := c.List(ctx, int64(3), int64(1))
	require.NoError(t, err)
	rec("list append", nil, l.Append(ctx, int64(2)))
	rec("list extend", nil, l.Extend(ctx, "x", nil))
	rec("list insert", nil, l.Insert(ctx, 0, 1.5))
	vs, err := l.Values(ctx)
	rec("list values", vs, err)
	v, err = l.Get(ctx, -1)
	rec("list get -1", v, err)
	v, err = l.Get(ctx, 10)
	rec("list get 10", v, err)
	vs, err = l.Slice(ctx, nil, nil, int64(-2))
	rec("list slice", vs, err)
	rec("list sort mixed", nil, l.Sort(ctx, false))
	rec("list delete", nil, l.Delete(ctx, -1))
	rec("list remove", nil, l.Remove(ctx, "x"))
	rec("list sort", nil, l.Sort(ctx, true))
	vs, err = l.Values(ctx)
	rec("list sorted", vs, err)
	n, err = l.Index(ctx, int64(2))
	rec("list index", n, err)
	n, err = l.Index(ctx, int64(42))
	rec("list index missing", n, err)
	n, err = l.Count(ctx, 1.5)
	rec("list count", n, err)
	v, err = l.Pop(ctx, -1)
	rec("list pop", v, err)
	rec("list reverse", nil, l.Reverse(ctx))
	rec("list set", nil, l.Set(ctx, 0, "first"))
	vs, err = l.Values(ctx)
	rec("list final", vs, err)

	// nested: a dict holding the list proxy keeps the list alive, and
	// reading it back gives a list proxy, as d['l'] does in Python
	rec("nested set", nil, d.Set(ctx, "l", l))
	require.NoError(t, l.Close())
	v, err = d.Get(ctx, "l")
	rec("nested get type", PyTypeNameOf(v), err)
	if nl, ok := v.(*manager.ListProxy); ok {
		rec("nested append", nil, nl.Append(ctx, "via nested"))
		vs, err = nl.Values(ctx)
		rec("nested values", vs, err)
		require.NoError(t, nl.Close())
	}
	// deeper: a dict proxy inside a tuple inside a list (pickled twice by
	// the Go side, so rebuilt as two proxies)
	d2, err := c.Dict(ctx, mgrKwargs("inner", int64(1)))
	require.NoError(t, err)
	rec("nested deep set", nil, d.Set(ctx, "deep", &pickle.List{pickle.Tuple{"t", d2, d2}}))
	require.NoError(t, d2.Close())
	v, err = d.Get(ctx, "deep")
	if lst, ok := v.(*pickle.List); ok && len(*lst) == 1 {
		if tup, ok := (*lst)[0].(pickle.Tuple); ok && len(tup) == 3 {
			rec("nested deep types", pickle.Tuple{PyTypeNameOf(tup[1]), tup[1] == tup[2]}, err)
			if nd, ok := tup[1].(*manager.DictProxy); ok {
				iv, err := nd.Get(ctx, "inner")
				rec("nested deep get", iv, err)
				require.NoError(t, nd.Close())
			}
			if nd, ok := tup[2].(*manager.DictProxy); ok {
				require.NoError(t, nd.Close()) // its own reference, like the first
			}
		}
	} else {
		rec("nested deep get", v, err)
	}

	// Value, Array, Namespace
	val, err := c.Value(ctx, "d", 1.5)
	require.NoError(t, err)
	rec("value set", nil, val.Set(ctx, pickle.Tuple{int64(1)}))
	v, err = val.Get(ctx)
	rec("value get", v, err)
	arr, err := c.Array(ctx, "h", int64(1), int64(2))
	require.NoError(t, err)
	rec("array set", nil, arr.Set(ctx, 0, int64(7)))
	rec("array set overflow", nil, arr.Set(ctx, 0, int64(1<<20)))
	tc, avs, err := arr.Values(ctx)
	rec("array values", pickle.Tuple{tc, pickle.Tuple(avs)}, err)
	n, err = arr.Len(ctx)
	rec("array len", n, err)
	ns, err := c.Namespace(ctx, mgrKwargs("x", int64(1)))
	require.NoError(t, err)
	rec("ns set", nil, ns.Set(ctx, "y", "z"))
	v, err = ns.Get(ctx, "y")
	rec("ns get", v, err)
	v, err = ns.Get(ctx, "nope")
	rec("ns get missing", v, err)
	rec("ns delete", nil, ns.Delete(ctx, "x"))

	// Lock and semaphores
	lk, err := c.Lock(ctx)
	require.NoError(t, err)
	rec("lock acquire", nil, lk.Acquire(ctx))
	b, err = lk.TryAcquire(ctx)
	rec("lock try", b, err)
	within("lock acquire timeout", 60*time.Millisecond, func(ctx context.Context) (any, error) { return nil, lk.Acquire(ctx) })
	rec("lock release", nil, lk.Release(ctx))
	rec("lock release again", nil, lk.Release(ctx))
	bs, err := c.BoundedSemaphore(ctx, 1)
	require.NoError(t, err)
	rec("bsem over-release", nil, bs.Release(ctx))
	sem, err := c.Semaphore(ctx, 1)
	require.NoError(t, err)
	rec("sem acquire", nil, sem.Acquire(ctx))
	within("sem acquire timeout", 50*time.Millisecond, func(ctx context.Context) (any, error) { return nil, sem.Acquire(ctx) })

	// RLock: owned by the proxy that acquired it
	rl, err := c.RLock(ctx)
	require.NoError(t, err)
	other, err := rl.Clone(ctx)
	require.NoError(t, err)
	rec("rlock acquire", nil, rl.Acquire(ctx))
	rec("rlock acquire again", nil, rl.Acquire(ctx))
	b, err = other.TryAcquire(ctx)
	rec("rlock other try", b, err)
	rec("rlock other release", nil, other.Release(ctx))
	within("rlock other timeout", 50*time.Millisecond, func(ctx context.Context) (any, error) { return nil, other.Acquire(ctx) })
	rec("rlock release", nil, rl.Release(ctx))
	rec("rlock release", nil, rl.Release(ctx))
	rec("rlock over-release", nil, rl.Release(ctx))
	b, err = other.TryAcquire(ctx)
	rec("rlock other try after", b, err)
	rec("rlock other release", nil, other.Release(ctx))
	require.NoError(t, other.Close())

	// Condition: a notification reaches the waiter
	cond, err := c.Condition(ctx, nil)
	require.NoError(t, err)
	notifier, err := cond.Clone(ctx)
	require.NoError(t, err)
	_, err = cond.Wait(ctx)
	rec("cond wait unowned", nil, err)
	rec("cond notify unowned", nil, cond.Notify(ctx, 1))
	rec("cond acquire", nil, cond.Acquire(ctx))
	within("cond wait timeout", 60*time.Millisecond, func(ctx context.Context) (any, error) { return cond.Wait(ctx) })
	done := make(chan error, 1)
	go func() {
		if err := notifier.Acquire(ctx); err != nil {
			done <- err
			return
		}
		if err := notifier.Notify(ctx, 1); err != nil {
			done <- err
			return
		}
		done <- notifier.Release(ctx)
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	b, err = cond.Wait(wctx)
	wcancel()
	rec("cond notified", b, err)
	rec("cond notifier", nil, <-done)
	rec("cond release", nil, cond.Release(ctx))
	require.NoError(t, notifier.Close())
	lockForCond, err := c.Lock(ctx)
	require.NoError(t, err)
	condL, err := c.Condition(ctx, lockForCond)
	require.NoError(t, err)
	rec("cond(lock) acquire", nil, condL.Acquire(ctx))
	b, err = lockForCond.TryAcquire(ctx)
	rec("cond(lock) lock is taken", b, err)
	rec("cond(lock) release", nil, condL.Release(ctx))

	// Event
	ev, err := c.Event(ctx)
	require.NoError(t, err)
	within("event wait timeout", 50*time.Millisecond, func(ctx context.Context) (any, error) { return ev.Wait(ctx) })
	go func() { time.Sleep(30 * time.Millisecond); _ = ev.Set(context.Background()) }()
	b, err = ev.Wait(ctx)
	rec("event wait", b, err)
	b, err = ev.IsSet(ctx)
	rec("event is_set", b, err)

	// Barrier
	br, err := c.Barrier(ctx, 2, 0)
	require.NoError(t, err)
	idx := make(chan int, 2)
	for range 2 {
		go func() { i, _ := br.Wait(ctx); idx <- i }()
	}
	got := []int{<-idx, <-idx}
	sort.Ints(got)
	rec("barrier indices", fmt.Sprint(got), nil)
	n, err = br.Parties(ctx)
	rec("barrier parties", n, err)
	// the timeout breaks the barrier: each try starts from a reset one
	within("barrier timeout", 50*time.Millisecond, func(ctx context.Context) (any, error) { return br.Wait(ctx) },
		func() { _ = br.Reset(ctx) })
	b, err = br.Broken(ctx)
	rec("barrier broken", b, err)
	rec("barrier reset", nil, br.Reset(ctx))
	n, err = br.NWaiting(ctx)
	rec("barrier n_waiting", n, err)

	for _, p := range []interface{ Close() error }{d, val, arr, ns, lk, bs, sem, rl, cond, lockForCond, condL, ev, br} {
		require.NoError(t, p.Close())
	}
	require.Eventually(t, func() bool {
		n, err := c.NumberOfObjects(ctx)
		return err == nil && n == n0
	}, 5*time.Second, 10*time.Millisecond, "objects left on the server")
	return out
}

// PyTypeNameOf names what a proxy method returned: the Go type of a
// rebuilt proxy, the callable of a generic object.
func PyTypeNameOf(v any) string {
	switch v.(type) {
	case *manager.Proxy, *manager.ListProxy, *manager.DictProxy, *manager.QueueProxy:
		return fmt.Sprintf("%T", v)
	}
	if o, ok := v.(*pickle.Object); ok {
		if g, ok := o.Callable.(pickle.Global); ok {
			return g.Module + "." + g.Name
		}
	}
	return manager.PyTypeName(v)
}

func mgrKwargs(pairs ...any) *pickle.Dict {
	d := pickle.NewDict(len(pairs) / 2)
	for i := 0; i+1 < len(pairs); i += 2 {
		_ = d.Set(pairs[i], pairs[i+1])
	}
	return d
}

// TestSyncProxiesGoClient drives the typed Go proxies against a CPython
// SyncManager and against the Go server: both transcripts must match,
// and the CPython one must show Python's semantics.
func TestSyncProxiesGoClient(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		key := mgrKey(t)
		pyTr := goProxyTranscript(t, startSyncPyServer(t, py, key), key)
		_, host, port, gkey := startSyncGoServer(t)
		goTr := goProxyTranscript(t, net.JoinHostPort(host, port), gkey)
		require.Equal(t, strings.Join(pyTr, "\n"), strings.Join(goTr, "\n"), "Python server (expected) vs Go server (actual)")
		for _, want := range []string{
			"dict get missing !! KeyError('zz')",
			"dict iter -> ['a', (1, 'x'), 'b', 'c']",
			"list sort mixed !! TypeError(\"'<' not supported between instances of 'str' and 'int'\")",
			"rlock other release !! RuntimeError('cannot release un-acquired lock')",
			"rlock other timeout == timeout ok",
			"cond notified -> True",
			"cond wait timeout == false ok",
			"barrier timeout == BrokenBarrierError ok",
			"nested get type -> '*manager.ListProxy'",
			"nested values -> ['first', 2, 3, 'via nested']",
			"nested deep types -> ('*manager.DictProxy', False)",
			"nested deep get -> 1",
		} {
			require.Contains(t, pyTr, want)
		}
	})
}

// TestSyncManagerDeadClient kills a Python client that holds an RLock and
// is blocked acquiring a Lock on the Go server: the RLock is released and
// the blocked acquire is cancelled without taking the Lock. (CPython's
// server keeps the RLock for the dead thread and later hands the Lock to
// it: the Go server differs here on purpose.)
func TestSyncManagerDeadClient(t *testing.T) {
	for _, py := range pytest.Pick(t) {
		t.Run("py"+py.Version, func(t *testing.T) {
			_, host, port, key := startSyncGoServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := manager.Dial(ctx, net.JoinHostPort(host, port), key, nil)
			require.NoError(t, err)
			defer c.Close()
			lk, err := c.Lock(ctx)
			require.NoError(t, err)
			rl, err := c.RLock(ctx)
			require.NoError(t, err)
			require.NoError(t, lk.Acquire(ctx))
			code := `
import sys, time
from multiprocessing.managers import Token, AcquirerProxy
addr = (sys.argv[1], int(sys.argv[2])); key = bytes.fromhex(sys.argv[3])
rl = AcquirerProxy(Token("RLock", addr, sys.argv[4]), "pickle", authkey=key)
lk = AcquirerProxy(Token("Lock", addr, sys.argv[5]), "pickle", authkey=key)
rl.acquire(); rl.acquire()
print("held", flush=True)
lk.acquire()
print("got the lock", flush=True)
time.sleep(60)
`
			cmd := py.Command("-c", code, host, port, hex.EncodeToString(key), rl.Proxy().Token().ID, lk.Proxy().Token().ID)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			pytest.Start(t, cmd)
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "held\n", line)
			ok, err := rl.TryAcquire(ctx)
			require.NoError(t, err)
			require.False(t, ok, "the Python client holds the RLock")
			time.Sleep(100 * time.Millisecond) // its acquire of the Lock is now blocked
			pytest.Kill(cmd)
			require.Eventually(t, func() bool {
				ok, err := rl.TryAcquire(ctx)
				return err == nil && ok
			}, 5*time.Second, 10*time.Millisecond, "the dead client's RLock was not released")
			require.NoError(t, rl.Release(ctx))
			require.NoError(t, lk.Release(ctx))
			ok, err = lk.TryAcquire(ctx)
			require.NoError(t, err)
			require.True(t, ok, "the dead client's cancelled acquire took the Lock")
			require.NoError(t, lk.Release(ctx))
		})
	}
}
