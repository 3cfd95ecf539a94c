//go:build linux

package interop

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

// mgrKey returns a fresh random authkey.
func mgrKey(t testing.TB) []byte {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// mgrGoServer serves a Go manager with the shared queues get_queue
// (unbounded) and get_bounded (maxsize 2) on a local TCP port.
type mgrGoServer struct {
	srv     *manager.Server
	addr    string
	key     []byte
	queue   *manager.Queue
	bounded *manager.Queue
}

func startMgrGoServer(t testing.TB, addr string) *mgrGoServer {
	t.Helper()
	s := &mgrGoServer{key: mgrKey(t), queue: manager.NewQueue(0), bounded: manager.NewQueue(2)}
	s.srv = manager.NewServer(&manager.ServerOptions{Authkey: s.key})
	s.srv.RegisterQueue("get_queue", s.queue)
	s.srv.RegisterQueue("get_bounded", s.bounded)
	ctx, cancel := context.WithCancel(context.Background())
	l, err := connection.Listen(ctx, addr, &connection.ListenOptions{Backlog: 128})
	require.NoError(t, err)
	s.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// pyAddr is the Python expression of a textual address.
func pyAddr(t testing.TB, addr string) string {
	a, err := connection.ParseAddress(addr)
	require.NoError(t, err)
	return a.PythonRepr()
}

// mgrConnectCode connects a BaseManager client named m in a helper.
func mgrConnectCode(addr string, key []byte, typeids ...string) string {
	var b strings.Builder
	b.WriteString("import queue, time, sys, threading\nfrom multiprocessing.managers import BaseManager\n")
	b.WriteString("class M(BaseManager): pass\n")
	for _, t := range typeids {
		fmt.Fprintf(&b, "M.register(%q)\n", t)
	}
	fmt.Fprintf(&b, "m = M(address=%s, authkey=bytes.fromhex(%q))\nm.connect()\nresult = 1\n", addr, hex.EncodeToString(key))
	return b.String()
}

func execJSON(t *testing.T, h *pytest.Helper, code string, out any) {
	t.Helper()
	raw := h.MustExec(t, code)
	require.NoError(t, json.Unmarshal(raw, out), "%s", raw)
}

// Python clients of every version use a Go server exactly as a Python
// BaseManager server with a shared get_queue.
func TestManagerGoServesPython(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		s := startMgrGoServer(t, "127.0.0.1:0")
		h := pytest.NewHelper(t, py)
		h.MustExec(t, mgrConnectCode(pyAddr(t, s.addr), s.key, "get_queue", "get_bounded"))

		var basic []any
		execJSON(t, h, `
q = m.get_queue()
r = []
q.put('hello'); q.put({'a': [1, 2.5, None]}); q.put_nowait((1, 'x'))
r.append(q.qsize()); r.append(q.empty()); r.append(q.full())
r.append(q.get()); r.append(q.get(timeout=1)); r.append(list(q.get_nowait()))
t0 = time.monotonic()
try:
    q.get(timeout=0.2)
except queue.Empty:
    r.append(['empty', time.monotonic() - t0])
try:
    q.get_nowait()
except queue.Empty:
    r.append('empty-nowait')
try:
    q.get(False)
except queue.Empty:
    r.append('empty-noblock')
r.append(str(q).startswith('<queue.Queue object at 0x'))
result = r
`, &basic)
		require.Len(t, basic, 10)
		require.Equal(t, []any{3.0, false, false, "hello", map[string]any{"a": []any{1.0, 2.5, nil}}, []any{1.0, "x"}}, basic[:6])
		el := basic[6].([]any)
		require.Equal(t, "empty", el[0])
		require.GreaterOrEqual(t, el[1].(float64), 0.19)
		require.Less(t, el[1].(float64), 3.0)
		require.Equal(t, []any{"empty-nowait", "empty-noblock", true}, basic[7:])

		var bounded []any
		execJSON(t, h, `
b = m.get_bounded()
r = []
b.put(1); b.put_nowait(2)
r.append(b.full())
t0 = time.monotonic()
try:
    b.put(3, timeout=0.2)
except queue.Full:
    r.append(['full', time.monotonic() - t0])
try:
    b.put_nowait(3)
except queue.Full:
    r.append('full-nowait')
try:
    b.put(3, block=False)
except queue.Full:
    r.append('full-noblock')
try:
    b.put(3, True, -1)
except ValueError as e:
    r.append(str(e))
# a blocked put released by a get in another thread
th = threading.Thread(target=lambda: b.put(3))
th.start(); time.sleep(0.1)
r.append(b.get()); th.join(5); r.append(th.is_alive())
r.append([b.get(), b.get()])
for _ in range(3): b.task_done()
try:
    b.task_done()
except ValueError as e:
    r.append(str(e))
b.join()
r.append('joined')
result = r
`, &bounded)
		require.Equal(t, true, bounded[0])
		require.Equal(t, "full", bounded[1].([]any)[0])
		require.GreaterOrEqual(t, bounded[1].([]any)[1].(float64), 0.19)
		require.Equal(t, []any{"full-nowait", "full-noblock", "'timeout' must be a non-negative number",
			1.0, false, []any{2.0, 3.0}, "task_done() called too many times", "joined"}, bounded[2:])

		// join waits for task_done from another client (the Go side).
		var joined []any
		h.MustExec(t, "for _ in range(3): q.task_done()\nq.put('job'); jt = threading.Thread(target=q.join); jt.start(); result = 1")
		ctx := context.Background()
		v, err := s.queue.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "job", v)
		execJSON(t, h, "jt.join(0.2); result = [jt.is_alive()]", &joined)
		require.Equal(t, []any{true}, joined)
		require.NoError(t, s.queue.TaskDone(ctx))
		execJSON(t, h, "jt.join(5); result = [jt.is_alive()]", &joined)
		require.Equal(t, []any{false}, joined)

		// Values cross intact both ways.
		require.NoError(t, s.queue.Put(ctx, pickle.Tuple{int64(1) << 40, []byte("\x00\xff"), "é"}))
		var vals []any
		execJSON(t, h, "v = q.get(timeout=5); result = [v[0], list(v[1]), v[2], type(v).__name__]", &vals)
		require.Equal(t, []any{float64(int64(1) << 40), []any{0.0, 255.0}, "é", "tuple"}, vals)

		// Large items (several pickle frames, a big bytes outside any
		// frame) cross through the spliced reply both ways.
		big := make([]byte, 300000)
		for i := range big {
			big[i] = byte(i * 7)
		}
		list := make(pickle.List, 20000)
		for i := range list {
			list[i] = fmt.Sprintf("item-%d", i)
		}
		require.NoError(t, s.queue.Put(ctx, pickle.Tuple{big, &list}))
		execJSON(t, h, `
import hashlib
v = q.get(timeout=5)
q.put([v[0][::-1], v[1][-1]])
result = [len(v[0]), hashlib.sha256(v[0]).hexdigest(), len(v[1]), v[1][12345]]`, &vals)
		require.Equal(t, float64(len(big)), vals[0])
		require.Equal(t, fmt.Sprintf("%x", sha256.Sum256(big)), vals[1])
		require.Equal(t, []any{20000.0, "item-12345"}, vals[2:])
		back, err := s.queue.Get(ctx)
		require.NoError(t, err)
		bl := back.(*pickle.List)
		require.Len(t, (*bl)[0], len(big))
		require.Equal(t, big[len(big)-1], (*bl)[0].([]byte)[0])
		require.Equal(t, "item-19999", (*bl)[1])

		// The server's bookkeeping matches Python's: one object per queue.
		var n []any
		execJSON(t, h, "result = [m._number_of_objects()]", &n)
		require.Equal(t, []any{2.0}, n)
		execJSON(t, h, "del q, b\nimport gc; gc.collect(); result = [m._number_of_objects()]", &n)
		require.Equal(t, []any{0.0}, n)

		if py.Minor >= 13 {
			var sd []any
			execJSON(t, h, `
q = m.get_queue()
q.put('left')
q.shutdown()
r = []
try:
    q.put('x')
except queue.ShutDown:
    r.append('put-shutdown')
r.append(q.get())
try:
    q.get(timeout=1)
except queue.ShutDown:
    r.append('get-shutdown')
result = r
`, &sd)
			require.Equal(t, []any{"put-shutdown", "left", "get-shutdown"}, sd)
		}
	})
}

// mgrPyServer starts scripts/manager_peer.py serve and returns its address.
func startMgrPyServer(t testing.TB, py pytest.Python, kind string, maxsize int, key []byte) string {
	t.Helper()
	cmd := py.Command(pytest.Script("manager_peer.py"), "serve", "--kind", kind,
		"--maxsize", fmt.Sprint(maxsize), "--authkey-hex", hex.EncodeToString(key))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	pytest.Start(t, cmd)
	sc := bufio.NewScanner(out)
	require.True(t, sc.Scan(), "python server did not start")
	var hello struct{ Address string }
	require.NoError(t, json.Unmarshal(sc.Bytes(), &hello))
	return hello.Address
}

// A Go client uses Python BaseManager and SyncManager servers.
func TestManagerGoJoinsPython(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		ctx := context.Background()
		key := mgrKey(t)

		// A plain BaseManager server with the shared get_queue.
		baddr := startMgrPyServer(t, py, "base", 0, key)
		bc, err := manager.Dial(ctx, baddr, key, nil)
		require.NoError(t, err)
		bq, err := bc.Queue(ctx, "get_queue", nil, nil)
		require.NoError(t, err)
		require.NoError(t, bq.Put(ctx, map[string]any{"k": []any{int64(1), "two"}}))
		bv, err := bq.Get(ctx)
		require.NoError(t, err)
		bd, ok := bv.(*pickle.Dict)
		require.True(t, ok, "%T", bv)
		k, _ := bd.Get("k")
		require.Equal(t, &pickle.List{int64(1), "two"}, k)
		var bre *manager.RemoteError
		_, err = bc.Create(ctx, "Queue", nil, nil)
		require.ErrorAs(t, err, &bre, "BaseManager has no Queue typeid")
		require.Equal(t, "KeyError", bre.Type)

		// A proxy rebuilt from the token (RebuildProxy) on another client
		// takes a reference of its own with incref, none without.
		refcount := func() string {
			info, err := bc.DebugInfo(ctx)
			require.NoError(t, err)
			return regexp.MustCompile(`refcount=\d+`).FindString(info)
		}
		require.Equal(t, "refcount=1", refcount())
		bc2, err := manager.NewClient(baddr, bc.Authkey(), nil)
		require.NoError(t, err)
		for _, incref := range []bool{true, false} {
			rp, err := bc2.ProxyFor(ctx, bq.Token(), bq.Exposed(), incref)
			require.NoError(t, err)
			want := map[bool]string{true: "refcount=2", false: "refcount=1"}[incref]
			require.Equal(t, want, refcount())
			rq := manager.NewQueueProxy(rp)
			require.NoError(t, rq.Put(ctx, incref))
			bv, err = bq.Get(ctx)
			require.NoError(t, err)
			require.Equal(t, incref, bv)
			require.NoError(t, rq.Close())
			require.Equal(t, "refcount=1", refcount())
		}
		require.NoError(t, bc2.Close())
		require.NoError(t, bq.Close())
		require.NoError(t, bc.Close())

		addr := startMgrPyServer(t, py, "sync", 2, key)
		c, err := manager.Dial(ctx, addr, key, nil)
		require.NoError(t, err)
		defer c.Close()

		// The shared bounded get_queue.
		q, err := c.Queue(ctx, "get_queue", nil, nil)
		require.NoError(t, err)
		require.NoError(t, q.Put(ctx, "a"))
		require.NoError(t, q.PutNowait(ctx, pickle.Tuple{int64(1), 2.5}))
		require.ErrorIs(t, q.PutNowait(ctx, "c"), mpbridge.ErrFull)
		start := time.Now() // before the deadline is set: an exact lower bound
		tctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		require.ErrorIs(t, q.Put(tctx, "c"), mpbridge.ErrFull)
		cancel()
		require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		n, err := q.Qsize(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		full, err := q.Full(ctx)
		require.NoError(t, err)
		require.True(t, full)
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "a", v)
		v, err = q.GetNowait(ctx)
		require.NoError(t, err)
		require.Equal(t, pickle.Tuple{int64(1), 2.5}, v)
		_, err = q.GetNowait(ctx)
		require.ErrorIs(t, err, mpbridge.ErrEmpty)
		var pe *pickle.Exception
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "_queue", pe.Module())
		start = time.Now()
		tctx, cancel = context.WithTimeout(ctx, 150*time.Millisecond)
		_, err = q.Get(tctx)
		cancel()
		require.ErrorIs(t, err, mpbridge.ErrEmpty)
		require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		require.NoError(t, q.TaskDone(ctx))
		require.NoError(t, q.TaskDone(ctx))
		require.NoError(t, q.Join(ctx))
		require.Error(t, q.TaskDone(ctx))

		// A cancelled Get leaves no get behind on the Python server: an
		// item put after the slice ended goes to the next getter.
		q.Slice = 200 * time.Millisecond
		cctx, cancel := context.WithCancel(ctx)
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		_, err = q.Get(cctx)
		require.ErrorIs(t, err, context.Canceled)
		time.Sleep(400 * time.Millisecond)
		other, err := c.Queue(ctx, "get_queue", nil, nil)
		require.NoError(t, err)
		require.NoError(t, other.Put(ctx, "not swallowed"))
		v, err = other.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "not swallowed", v)
		// Cancelled with the item arriving inside the slice: the proxy
		// keeps it for the next Get.
		cctx, cancel = context.WithCancel(ctx)
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		_, err = q.Get(cctx)
		require.ErrorIs(t, err, context.Canceled)
		require.NoError(t, other.Put(ctx, "kept"))
		v, err = q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "kept", v)
		require.NoError(t, other.Close())
		require.NoError(t, q.Close())

		// SyncManager types through the generic proxy.
		sq, err := c.Queue(ctx, "Queue", nil, nil)
		require.NoError(t, err)
		require.NoError(t, sq.Put(ctx, "own queue"))
		n, _ = sq.Qsize(ctx)
		require.Equal(t, 1, n)
		if py.Minor >= 13 {
			require.NoError(t, sq.Shutdown(ctx, false))
			require.ErrorIs(t, sq.Put(ctx, "x"), mpbridge.ErrShutdown)
			v, err = sq.Get(ctx)
			require.NoError(t, err)
			require.Equal(t, "own queue", v)
			_, err = sq.Get(ctx)
			require.ErrorIs(t, err, mpbridge.ErrShutdown)
		} else {
			var re *manager.RemoteError
			require.ErrorAs(t, sq.Shutdown(ctx, false), &re, "no shutdown before 3.13")
		}
		require.NoError(t, sq.Close())

		d, err := c.Create(ctx, "dict", nil, nil)
		require.NoError(t, err)
		_, err = d.Call(ctx, "__setitem__", pickle.Tuple{"k", int64(1)}, nil)
		require.NoError(t, err)
		_, err = d.Call(ctx, "update", nil, mgrKwargs("j", int64(2)))
		require.NoError(t, err)
		v, err = d.Call(ctx, "__len__", nil, nil)
		require.NoError(t, err)
		require.Equal(t, int64(2), v)
		_, err = d.Call(ctx, "__getitem__", pickle.Tuple{"missing"}, nil)
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "KeyError", pe.Name())
		require.Equal(t, pickle.Tuple{"missing"}, pe.Args())
		// __iter__ returns a proxy (#PROXY, typeid Iterator).
		v, err = d.Call(ctx, "__iter__", nil, nil)
		require.NoError(t, err)
		it, ok := v.(*manager.Proxy)
		require.True(t, ok, "%T", v)
		require.Equal(t, "Iterator", it.Token().Typeid)
		var keys []any
		for {
			k, err := it.Call(ctx, "__next__", nil, nil)
			if err != nil {
				require.ErrorAs(t, err, &pe)
				require.Equal(t, "StopIteration", pe.Name())
				break
			}
			keys = append(keys, k)
		}
		require.Equal(t, []any{"k", "j"}, keys)
		require.NoError(t, it.Close())
		val, err := d.GetValue(ctx)
		require.NoError(t, err)
		dv, ok := val.(*pickle.Dict)
		require.True(t, ok)
		require.Equal(t, 2, dv.Len())
		require.NoError(t, d.Close())

		// The test type of PROTOCOL.md §3.13: #PROXY, #ERROR,
		// #UNSERIALIZABLE and #TRACEBACK.
		th, err := c.Create(ctx, "Thing", pickle.Tuple{int64(5)}, nil)
		require.NoError(t, err)
		v, err = th.Call(ctx, "child", nil, nil)
		require.NoError(t, err)
		child := v.(*manager.Proxy)
		v, err = child.Call(ctx, "value", nil, nil)
		require.NoError(t, err)
		require.Equal(t, int64(6), v)
		_, err = th.Call(ctx, "boom", nil, nil)
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "KeyError", pe.Name())
		var re *manager.RemoteError
		_, err = th.Call(ctx, "unpicklable", nil, nil)
		require.ErrorAs(t, err, &re)
		require.Equal(t, manager.KindUnserializable, re.Kind)
		_, err = th.Call(ctx, "not_exposed", nil, nil)
		require.ErrorAs(t, err, &re)
		require.Equal(t, "KeyError", re.Type)
		require.Contains(t, re.Text, "is not in exposed=")
		s, err := th.Repr(ctx)
		require.NoError(t, err)
		require.Contains(t, s, "Thing object at 0x")
		require.NoError(t, child.Close())
		require.NoError(t, th.Close())

		n, err = c.NumberOfObjects(ctx)
		require.NoError(t, err)
		require.Equal(t, 0, n, "every reference was dropped")
		info, err := c.DebugInfo(ctx)
		require.NoError(t, err)
		require.Equal(t, "", info)

		// A wrong authkey fails cleanly, the server keeps serving.
		_, err = manager.Dial(ctx, addr, []byte("wrong"), nil)
		require.ErrorIs(t, err, mpbridge.ErrAuthentication)
		require.NoError(t, c.Dummy(ctx))

		require.NoError(t, c.Shutdown(ctx))
	})
}

// A Python client killed while blocked in get does not swallow the next
// item; one killed in the middle of sending a put adds nothing; a wrong
// authkey is refused; the Go server serves the others throughout.
func TestManagerClientsDie(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		s := startMgrGoServer(t, "127.0.0.1:0")
		ctx := context.Background()
		c, err := manager.Dial(ctx, s.addr, s.key, nil)
		require.NoError(t, err)
		defer c.Close()
		q, err := c.Queue(ctx, "get_queue", nil, nil)
		require.NoError(t, err)
		defer q.Close()

		for _, role := range []string{"blocked-get", "partial-put"} {
			cmd := py.Command(pytest.Script("manager_peer.py"), role, "--addr", s.addr, "--authkey-hex", hex.EncodeToString(s.key))
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			pytest.Start(t, cmd)
			sc := bufio.NewScanner(out)
			require.True(t, sc.Scan(), role)
			require.Equal(t, "ready", sc.Text())
			if role == "blocked-get" {
				require.Eventually(t, func() bool { g, _ := s.queue.Waiters(); return g == 1 }, 10*time.Second, time.Millisecond)
			}
			require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
			_ = cmd.Wait()
			require.Eventually(t, func() bool { g, _ := s.queue.Waiters(); return g == 0 }, 10*time.Second, time.Millisecond)
			require.NoError(t, q.Put(ctx, role+" next"))
			v, err := q.GetNowait(ctx)
			require.NoError(t, err, role)
			require.Equal(t, role+" next", v)
			n, _ := q.Qsize(ctx)
			require.Equal(t, 0, n)
		}

		h := pytest.NewHelper(t, py)
		raw, err := h.Exec(mgrConnectCode(pyAddr(t, s.addr), []byte("wrong key"), "get_queue"))
		require.Error(t, err)
		require.Contains(t, err.Error(), "AuthenticationError")
		_ = raw
		require.NoError(t, c.Dummy(ctx))
	})
}

// 64 concurrent clients, Go goroutines and Python threads of several
// versions, move 20,000 items through one Go-served queue; every item
// arrives exactly once. MPBRIDGE_SOAK=1 moves 64 × 20,000.
func TestManagerReliability(t *testing.T) {
	pys := pytest.Pythons(t)
	total := 20000
	if os.Getenv("MPBRIDGE_SOAK") == "1" {
		total = 64 * 20000
	}
	const goProducers, goConsumers = 16, 16
	const pyProcs, pyThreads, pyProducers = 4, 8, 4
	producers := goProducers + pyProcs*pyProducers
	per := total / producers
	total = per * producers

	s := startMgrGoServer(t, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	type pyProc struct {
		sc   *bufio.Scanner
		name string
	}
	var procs []pyProc
	for i := 0; i < pyProcs; i++ {
		py := pys[(i*len(pys))/pyProcs+len(pys)/(2*pyProcs)]
		base := (goProducers + i*pyProducers) * per
		cmd := py.Command(pytest.Script("manager_peer.py"), "load", "--addr", s.addr,
			"--authkey-hex", hex.EncodeToString(s.key), "--threads", fmt.Sprint(pyThreads),
			"--producers", fmt.Sprint(pyProducers), "--count", fmt.Sprint(per), "--base", fmt.Sprint(base),
			"--idle", "600")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		pytest.Start(t, cmd)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		procs = append(procs, pyProc{sc, py.Version})
	}

	var mu sync.Mutex
	got := make(map[int64]int, total)
	var prodWG, consWG sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < goProducers+goConsumers; i++ {
		wg := &consWG
		if i < goProducers {
			wg = &prodWG
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := manager.Dial(ctx, s.addr, s.key, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			q, err := c.Queue(ctx, "get_queue", nil, nil)
			if err != nil {
				errs <- err
				return
			}
			defer q.Close()
			if i < goProducers {
				for j := i * per; j < (i+1)*per; j++ {
					if err := q.Put(ctx, int64(j)); err != nil {
						errs <- err
						return
					}
				}
				return
			}
			for {
				v, err := q.Get(ctx)
				if err != nil {
					errs <- err
					return
				}
				n, _ := v.(int64)
				if n == -1 {
					return
				}
				mu.Lock()
				got[n]++
				mu.Unlock()
			}
		}(i)
	}
	// When every producer is done, send one sentinel per consumer.
	prodWG.Wait()
	for _, p := range procs {
		require.True(t, p.sc.Scan(), "python %s ended early", p.name)
		require.JSONEq(t, `{"produced": true}`, p.sc.Text())
	}
	consumers := goConsumers + pyProcs*(pyThreads-pyProducers)
	for i := 0; i < consumers; i++ {
		require.NoError(t, s.queue.Put(ctx, int64(-1)))
	}
	consWG.Wait()
	goGot := len(got)
	for _, p := range procs {
		require.True(t, p.sc.Scan(), "python %s ended early", p.name)
		var res struct {
			Got    []int64
			Errors []string
		}
		require.NoError(t, json.Unmarshal(p.sc.Bytes(), &res))
		require.Empty(t, res.Errors, p.name)
		for _, n := range res.Got {
			got[n]++
		}
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d items: %d consumed by Go clients, %d by Python clients (%d processes of %d threads)",
		total, goGot, len(got)-goGot, pyProcs, pyThreads)
	require.Len(t, got, total, "items lost")
	for n, k := range got {
		require.True(t, n >= 0 && n < int64(total), "unexpected item %d", n)
		require.Equal(t, 1, k, "item %d delivered %d times", n, k)
	}
	n, _ := s.queue.Qsize(ctx)
	require.Equal(t, 0, n)
}

// buildMpbridge builds cmd/mpbridge once per test run and returns its path.
var buildMpbridge = goBinary("mpbridge", "./cmd/mpbridge")

// mpbridge serve is a drop-in for a Python BaseManager server process:
// the README's Python client works against it with every version, the
// queue command feeds and reads it, and it stops cleanly on SIGTERM and on
// a shutdown request.
func TestManagerCLI(t *testing.T) {
	bin := buildMpbridge(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	serve := exec.Command(bin, "serve", "--addr", addr, "--authkey-env", "MPB_AUTHKEY", "--queue", "get_queue", "--queue", "jobs=1")
	serve.Env = append(os.Environ(), "MPB_AUTHKEY=secret")
	var serveErr strings.Builder
	serve.Stderr = &serveErr
	pytest.Start(t, serve)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)

	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		cmd := py.Command(pytest.RepoRoot() + "/examples/serve_queue/client.py")
		cmd.Env = append(cmd.Env, "MPB_AUTHKEY=secret", fmt.Sprintf("MPB_PORT=%d", port))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "{'hello': 'from Python'}\n", string(out))
	})

	q := func(args ...string) (string, error) {
		args = append([]string{"queue", args[0], "--addr", addr, "--authkey-hex", hex.EncodeToString([]byte("secret"))}, args[1:]...)
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out), fmt.Errorf("%v: %s", err, stderr.String())
		}
		return string(out), nil
	}
	_, err := q("put", `{"a": [1, 2.5, null]}`, `"x"`, "7")
	require.NoError(t, err)
	out, err := q("size")
	require.NoError(t, err)
	require.Equal(t, "3\n", out)
	out, err = q("get", "--count", "3")
	require.NoError(t, err)
	require.Equal(t, "{\"a\":[1,2.5,null]}\n\"x\"\n7\n", out)
	start := time.Now()
	_, err = q("get", "--timeout", "200ms")
	require.Error(t, err)
	require.Contains(t, err.Error(), "timed out after 200ms")
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	_, err = q("put", "--typeid", "jobs", "--timeout", "200ms", "--", "1", "-2")
	require.Error(t, err)
	require.Contains(t, err.Error(), "timed out after 200ms putting -2: the queue stayed full")
	out, err = q("get", "--typeid", "jobs")
	require.NoError(t, err)
	require.Equal(t, "1\n", out)

	require.NoError(t, serve.Process.Signal(syscall.SIGTERM))
	require.NoError(t, serve.Wait())
	require.Contains(t, serveErr.String(), "mpbridge serve: stopped")

	// No authkey flag: one is generated and printed; a shutdown request
	// stops the server.
	port = freePort(t)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	serve = exec.Command(bin, "serve", "--addr", addr, "--queue", "get_queue")
	stderr, err := serve.StderrPipe()
	require.NoError(t, err)
	pytest.Start(t, serve)
	sc := bufio.NewScanner(stderr)
	require.True(t, sc.Scan())
	line := sc.Text()
	require.True(t, strings.HasPrefix(line, "mpbridge serve: authkey (hex): "), line)
	key, err := hex.DecodeString(strings.TrimPrefix(line, "mpbridge serve: authkey (hex): "))
	require.NoError(t, err)
	require.Len(t, key, 32)
	go func() {
		for sc.Scan() {
		}
	}()
	ctx := context.Background()
	var c *manager.Client
	require.Eventually(t, func() bool {
		c, err = manager.Dial(ctx, addr, key, nil)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c.Shutdown(ctx))
	require.NoError(t, serve.Wait())
}

// Python clients reach a Go server over a Unix socket path and a Linux
// abstract name; a Go client reaches a Python server over a Unix socket.
func TestManagerUnixAddresses(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		dir := t.TempDir()
		h := pytest.NewHelper(t, py)
		for _, addr := range []string{dir + "/go.sock", fmt.Sprintf("@mpbridge-%d-%d", os.Getpid(), time.Now().UnixNano())} {
			s := startMgrGoServer(t, addr)
			h.MustExec(t, mgrConnectCode(pyAddr(t, s.addr), s.key, "get_queue"))
			var r []any
			execJSON(t, h, "q = m.get_queue(); q.put('over unix'); result = [q.get(timeout=5), q.qsize()]; del q", &r)
			require.Equal(t, []any{"over unix", 0.0}, r, addr)
		}
		key := mgrKey(t)
		cmd := py.Command(pytest.Script("manager_peer.py"), "serve", "--addr", dir+"/py.sock", "--authkey-hex", hex.EncodeToString(key))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		pytest.Start(t, cmd)
		sc := bufio.NewScanner(out)
		require.True(t, sc.Scan())
		ctx := context.Background()
		c, err := manager.Dial(ctx, dir+"/py.sock", key, nil)
		require.NoError(t, err)
		defer c.Close()
		q, err := c.Queue(ctx, "get_queue", nil, nil)
		require.NoError(t, err)
		require.NoError(t, q.Put(ctx, "x"))
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "x", v)
		require.NoError(t, q.Close())
	})
}
