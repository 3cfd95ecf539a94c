package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/pickle"
	"github.com/mpbridge/mpbridge/spawn"
)

// spawnWorkerPath builds spawn/internal/testworker once per test run and
// returns its path.
var spawnWorkerPath = goBinary("testworker", "./spawn/internal/testworker")

// spawnHelper starts one long-lived Python parent per version with the Go
// test worker as its spawn executable.
func spawnHelper(t *testing.T, py pytest.Python) *pytest.Helper {
	t.Helper()
	h := pytest.NewHelper(t, py)
	spawnExec(t, h, fmt.Sprintf("import spawn_parent as sp, spawn_tasks, sys, os, json, time; sp.use(%q); sp.set_semprefix(%q)", spawnWorkerPath(t), spawnPrefix))
	// The helper is killed when the test ends, and its resource tracker
	// with it: check that every semaphore it made is gone by then.
	t.Cleanup(func() {
		out, err := h.Exec("result = sp.wait_shm_clean([])")
		require.NoError(t, err)
		require.JSONEq(t, "[]", string(out), "semaphores left in /dev/shm by the Python parent")
	})
	return h
}

func spawnExec(t *testing.T, h *pytest.Helper, code string) json.RawMessage {
	t.Helper()
	out, err := h.Exec(code)
	require.NoError(t, err)
	return out
}

type spawnRun struct {
	Exitcode int    `json:"exitcode"`
	Stderr   string `json:"stderr"`
}

func spawnRunIn(t *testing.T, h *pytest.Helper, call string) spawnRun {
	t.Helper()
	var r spawnRun
	require.NoError(t, json.Unmarshal(spawnExec(t, h, "result = "+call), &r))
	return r
}

// spawnShmClean deletes the helper's variables vars (a Python expression
// list), collects garbage, and checks that /dev/shm holds no semaphore
// beyond those listed in the helper's variable before.
func spawnShmClean(t *testing.T, h *pytest.Helper, vars string) {
	t.Helper()
	var left []string
	out := spawnExec(t, h, "del "+vars+"\nresult = sp.wait_shm_clean(globals().get('before', []))")
	require.NoError(t, json.Unmarshal(out, &left))
	require.Empty(t, left, "semaphores left in /dev/shm")
}

// spawnSysPath is py's sys.path under env.
func spawnSysPath(t *testing.T, py pytest.Python, env []string) []string {
	t.Helper()
	cmd := exec.Command(py.Exe, "-c", "import sys, json; print(json.dumps(sys.path))")
	cmd.Env = env
	out, err := cmd.Output()
	require.NoError(t, err)
	var path []string
	require.NoError(t, json.Unmarshal(out, &path))
	return path
}

// spawnBuffer is a bytes.Buffer safe to read while a child writes to it.
type spawnBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *spawnBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *spawnBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// spawnPrefix names the semaphores these tests create (Go side, and Python
// side through the helper's semprefix), so that /dev/shm checks ignore
// other tests running at the same time.
var spawnPrefix = fmt.Sprintf("/mpbsp%d", os.Getpid())

var spawnOpts = &mpqueue.Options{Prefix: spawnPrefix}

// spawnShm lists this run's named semaphores in /dev/shm.
func spawnShm(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob("/dev/shm/sem." + spawnPrefix[1:] + "-*")
	require.NoError(t, err)
	return names
}

func mustTimeout(ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	_ = cancel // released when the parent ends
	return ctx
}

// record is what spawn_tasks.record writes (from Go or Python).
type record struct {
	Args        []string          `json:"args"`
	Kwargs      map[string]string `json:"kwargs"`
	Name        string            `json:"name"`
	Authkey     string            `json:"authkey"`
	Daemon      bool              `json:"daemon"`
	ParentPID   int               `json:"parent_pid"`
	ParentAlive bool              `json:"parent_alive"`
	Language    string            `json:"language"`
	Version     string            `json:"version"`
}

func readRecord(t *testing.T, path string) record {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var r record
	require.NoError(t, json.Unmarshal(b, &r), string(b))
	return r
}

// TestSpawnPythonParentGoChild runs every plain-argument case of a Python
// parent starting Go children, against every installed Python.
func TestSpawnPythonParentGoChild(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		h := spawnHelper(t, py)
		dir := t.TempDir()

		t.Run("arguments", func(t *testing.T) {
			args := `(1, "two", 3.5, None, True, b"by", [1, 2], {"a": 1}, (1, 2), 2**70, -5, "é\u20ac", frozenset(), 1+2j)`
			goPath, pyPath := filepath.Join(dir, "go.json"), filepath.Join(dir, "py.json")
			r := spawnRunIn(t, h, fmt.Sprintf(`sp.run(spawn_tasks.record, (%q,) + %s, {"k": "v", "n": [None]}, name="worker-A", daemon=True)`, goPath, args))
			require.Equal(t, 0, r.Exitcode, r.Stderr)
			spawnExec(t, h, "sp.use(sys.executable)")
			r = spawnRunIn(t, h, fmt.Sprintf(`sp.run(spawn_tasks.record, (%q,) + %s, {"k": "v", "n": [None]}, name="worker-A", daemon=True)`, pyPath, args))
			spawnExec(t, h, fmt.Sprintf("sp.use(%q)", spawnWorkerPath(t)))
			require.Equal(t, 0, r.Exitcode, r.Stderr)
			g, p := readRecord(t, goPath), readRecord(t, pyPath)
			require.Equal(t, "go", g.Language)
			require.Equal(t, "python", p.Language)
			require.Equal(t, p.Args, g.Args)
			require.Equal(t, p.Kwargs, g.Kwargs)
			require.Equal(t, "worker-A", g.Name)
			require.Equal(t, p.Authkey, g.Authkey)
			require.True(t, g.Daemon)
			require.Equal(t, p.ParentPID, g.ParentPID)
			require.True(t, g.ParentAlive)
		})

		t.Run("exit codes", func(t *testing.T) {
			for _, tc := range []struct {
				call string
				code int
				errs []string
			}{
				{"sp.run(spawn_tasks.noop)", 0, nil},
				{"sp.run(spawn_tasks.exit_with, (0,))", 0, nil},
				{"sp.run(spawn_tasks.exit_with, (3,))", 3, nil},
				{"sp.run(spawn_tasks.exit_with, (255,))", 255, nil},
				{`sp.run(spawn_tasks.fail, ("boom",), name="failing")`, 1, []string{"Process failing:", "Traceback (most recent call last):", "spawn_tasks.fail", "boom"}},
				{"sp.run(spawn_tasks.panic_now)", 1, []string{"Process SpawnProcess-", "GoPanic: panic_now", "goroutine"}},
				{"sp.run(spawn_tasks.record, (ctx_value,))", 1, []string{"multiprocessing.sharedctypes", "args[0]"}},
			} {
				if strings.Contains(tc.call, "ctx_value") {
					spawnExec(t, h, "ctx_value = sp.ctx.Value('i', 5)")
				}
				r := spawnRunIn(t, h, tc.call)
				require.Equal(t, tc.code, r.Exitcode, "%s\n%s", tc.call, r.Stderr)
				for _, e := range tc.errs {
					require.Contains(t, r.Stderr, e, tc.call)
				}
				if tc.errs == nil {
					require.Empty(t, r.Stderr, tc.call)
				}
			}
			spawnShmClean(t, h, "ctx_value") // its lock is a named semaphore
		})

		t.Run("terminate and kill", func(t *testing.T) {
			spawnExec(t, h, "p = sp.start(spawn_tasks.sleep, (30,)); time_started = __import__('time').time()")
			// Give the child time to be running its target.
			spawnExec(t, h, "import time; time.sleep(0.3); p.terminate()")
			r := spawnRunIn(t, h, "dict(zip(('exitcode', 'stderr'), sp.finish(p)))")
			require.Equal(t, -15, r.Exitcode, r.Stderr)
			spawnExec(t, h, "p = sp.start(spawn_tasks.sleep, (30,)); time.sleep(0.3); p.kill()")
			r = spawnRunIn(t, h, "dict(zip(('exitcode', 'stderr'), sp.finish(p)))")
			require.Equal(t, -9, r.Exitcode, r.Stderr)
		})

		t.Run("unregistered target runs in Python", func(t *testing.T) {
			path := filepath.Join(dir, "handover.json")
			r := spawnRunIn(t, h, fmt.Sprintf("sp.run(spawn_tasks.python_only, (%q,))", path))
			require.Equal(t, 0, r.Exitcode, r.Stderr)
			rec := readRecord(t, path)
			require.Equal(t, "python", rec.Language)
			require.Equal(t, fmt.Sprintf("3.%d", py.Minor), rec.Version)
			require.True(t, rec.ParentAlive, "the parent sentinel survives the hand-over")
			require.Equal(t, []string{"'python_only'"}, rec.Args)
		})

		t.Run("queues both ways", func(t *testing.T) {
			var got []int
			out := spawnExec(t, h, `before = set(sp.shm_names())
inq, outq = sp.ctx.Queue(), sp.ctx.Queue()
p = sp.start(spawn_tasks.double, (inq, outq))
for i in range(2000): inq.put(i)
inq.put(None)
result = [outq.get(timeout=60) for _ in range(2000)]`)
			require.NoError(t, json.Unmarshal(out, &got))
			for i, v := range got {
				require.Equal(t, 2*i, v)
			}
			r := spawnRunIn(t, h, "dict(zip(('exitcode', 'stderr'), sp.finish(p)))")
			require.Equal(t, 0, r.Exitcode, r.Stderr)
			spawnShmClean(t, h, "inq, outq, p")
		})

		t.Run("every type rebuilt", func(t *testing.T) {
			setup := `before = set(sp.shm_names())
a, b = sp.ctx.Pipe()
c, d = sp.ctx.Pipe(duplex=False)
objs = (sp.ctx.Queue(), sp.ctx.SimpleQueue(), sp.ctx.JoinableQueue(5), sp.ctx.Lock(), sp.ctx.RLock(),
        sp.ctx.Semaphore(2), sp.ctx.BoundedSemaphore(3), sp.ctx.Event(), sp.ctx.Condition(), sp.ctx.Condition(sp.ctx.Lock()), a, d, 7)
out = sp.ctx.Queue()
`
			spawnExec(t, h, setup)
			var g, p map[string]any
			r := spawnRunIn(t, h, "sp.run(spawn_tasks.echo, (out,) + objs, {'kw': objs[3]})")
			require.Equal(t, 0, r.Exitcode, r.Stderr)
			require.NoError(t, json.Unmarshal(spawnExec(t, h, "result = out.get(timeout=30); del result['pid']"), &g))
			spawnExec(t, h, "sp.use(sys.executable)")
			r = spawnRunIn(t, h, "sp.run(spawn_tasks.echo, (out,) + objs, {'kw': objs[3]})")
			spawnExec(t, h, fmt.Sprintf("sp.use(%q)", spawnWorkerPath(t)))
			require.Equal(t, 0, r.Exitcode, r.Stderr)
			require.NoError(t, json.Unmarshal(spawnExec(t, h, "result = out.get(timeout=30); del result['pid']"), &p))
			require.Equal(t, p, g)
			spawnShmClean(t, h, "a, b, c, d, objs, out")
		})

		t.Run("events and locks", func(t *testing.T) {
			var res []bool
			out := spawnExec(t, h, `before = set(sp.shm_names())
lock, ev, ev2, q = sp.ctx.Lock(), sp.ctx.Event(), sp.ctx.Event(), sp.ctx.Queue()
lock.acquire()
p1 = sp.start(spawn_tasks.set_event_under_lock, (lock, ev))
early = ev.wait(0.3)
lock.release()
late = ev.wait(30)
p2 = sp.start(spawn_tasks.wait_event, (ev2, q))
time.sleep(0.2)
ev2.set()
result = [early, late, q.get(timeout=30), sp.finish(p1)[0] == 0, sp.finish(p2)[0] == 0]`)
			require.NoError(t, json.Unmarshal(out, &res))
			require.Equal(t, []bool{false, true, true, true, true}, res)
			spawnShmClean(t, h, "lock, ev, ev2, q, p1, p2")
		})

		t.Run("joinable queue", func(t *testing.T) {
			var res []any
			out := spawnExec(t, h, `import threading
before = set(sp.shm_names())
jq, out = sp.ctx.JoinableQueue(), sp.ctx.Queue()
p = sp.start(spawn_tasks.join_worker, (jq, out))
for i in range(50): jq.put(i)
jq.put(None)
joiner = threading.Thread(target=jq.join, daemon=True); joiner.start(); joiner.join(60)
result = [not joiner.is_alive(), [out.get(timeout=30) for _ in range(50)], sp.finish(p)[0]]`)
			require.NoError(t, json.Unmarshal(out, &res))
			require.Equal(t, true, res[0], "JoinableQueue.join returned")
			require.Len(t, res[1], 50)
			require.EqualValues(t, 0, res[2])
			spawnShmClean(t, h, "jq, out, p")
		})

		t.Run("pipe ends", func(t *testing.T) {
			var res []any
			out := spawnExec(t, h, `a, b = sp.ctx.Pipe()
p = sp.start(spawn_tasks.conn_echo, (b,))
msgs = [1, "two", [3, {"four": 4.0}], b"five" * 10000, None]
got = []
for m in msgs:
    a.send(m); got.append(a.recv())
result = [got[:3] == msgs[:3] and got[3] == msgs[3] and got[4] is None, sp.finish(p)[0]]
a.close(); b.close()`)
			require.NoError(t, json.Unmarshal(out, &res))
			require.Equal(t, []any{true, float64(0)}, res)
		})

		t.Run("killed mid put", func(t *testing.T) {
			var res []any
			out := spawnExec(t, h, `before = set(sp.shm_names())
q = sp.ctx.Queue()
p = sp.start(spawn_tasks.put_forever, (q,))
got = [q.get(timeout=30) for _ in range(5000)]
p.kill()
code = sp.finish(p)[0]
result = [got == list(range(5000)), code]`)
			require.NoError(t, json.Unmarshal(out, &res))
			require.Equal(t, []any{true, float64(-9)}, res)
			spawnShmClean(t, h, "q, p")
		})

		t.Run("manager proxies", func(t *testing.T) {
			var res []any
			// The manager process itself is started through the Go worker,
			// which hands it over to Python.
			out := spawnExec(t, h, `m = sp.ctx.Manager()
inq, outq, d, lk = m.Queue(), m.Queue(), m.dict(), m.Lock()
p = sp.start(spawn_tasks.proxy_work, (inq, outq, d))
inq.put(21)
done = outq.get(timeout=30)
code, err = sp.finish(p)
eq = sp.ctx.Queue()
r2 = sp.run(spawn_tasks.echo, (eq, inq, d, lk))
echoed = eq.get(timeout=30)['args']
result = [done, d['result'], code, err, r2['exitcode'], echoed]
del eq
m.shutdown()`)
			require.NoError(t, json.Unmarshal(out, &res))
			require.Equal(t, []any{"done", float64(42), float64(0), "", float64(0),
				[]any{"<multiprocessing.managers.AutoProxy[Queue]>", "<multiprocessing.managers.DictProxy>", "<multiprocessing.managers.AcquirerProxy>"}}, res)
		})

		t.Run("typed manager proxies", func(t *testing.T) {
			// proxy_typed exists only in the Go worker: the parent needs a
			// picklable stand-in of that name. The child gets a
			// *manager.QueueProxy and a *manager.Proxy of the dict, iterates
			// the dict (__iter__ returns a proxy) and releases the
			// iterator: the manager ends with the objects it started with.
			var res []any
			out := spawnExec(t, h, `def proxy_typed(q, d):
    raise RuntimeError("only the Go worker runs proxy_typed")
proxy_typed.__module__, proxy_typed.__qualname__ = "spawn_tasks", "proxy_typed"
spawn_tasks.proxy_typed = proxy_typed
m = sp.ctx.Manager()
q, d = m.Queue(), m.dict({"a": 1, "b": 2})
base = m._number_of_objects()
q.put(21)
p = sp.start(spawn_tasks.proxy_typed, (q, d))
code, err = sp.finish(p)
got = q.get(timeout=30)
result = [got, d["n"], code, err, m._number_of_objects() - base]
del q, d
m.shutdown()`)
			require.NoError(t, json.Unmarshal(out, &res))
			require.Equal(t, []any{[]any{[]any{"a", "b", "n"}, "Iterator", true, false}, float64(42), float64(0), "", float64(0)}, res)
		})

		t.Run("forkserver through the Go worker", func(t *testing.T) {
			// set_executable also names the fork server's executable: the
			// worker hands that invocation to Python, whose forks then run
			// every target.
			path := filepath.Join(dir, "forkserver.json")
			var code int
			out := spawnExec(t, h, fmt.Sprintf(`fctx = sp.multiprocessing.get_context("forkserver")
p = fctx.Process(target=spawn_tasks.record, args=(%q, 1))
p.start(); p.join(60)
result = p.exitcode`, path))
			require.NoError(t, json.Unmarshal(out, &code))
			require.Equal(t, 0, code)
			rec := readRecord(t, path)
			require.Equal(t, "python", rec.Language)
			require.Equal(t, []string{"1"}, rec.Args)
		})

		t.Run("several at once", func(t *testing.T) {
			const n = 4
			var calls []string
			for i := range n {
				calls = append(calls, fmt.Sprintf("sp.start(spawn_tasks.record, (%q, %d))", filepath.Join(dir, fmt.Sprintf("many%d.json", i)), i))
			}
			var codes []int
			out := spawnExec(t, h, "ps = ["+strings.Join(calls, ", ")+"]; result = [sp.finish(p)[0] for p in ps]")
			require.NoError(t, json.Unmarshal(out, &codes))
			require.Equal(t, []int{0, 0, 0, 0}, codes)
			for i := range n {
				rec := readRecord(t, filepath.Join(dir, fmt.Sprintf("many%d.json", i)))
				require.Equal(t, []string{fmt.Sprint(i)}, rec.Args)
				require.Equal(t, "go", rec.Language)
			}
		})
	})
}

// TestSpawnGoParentPythonChild starts stock Python interpreters from Go
// with spawn.Start.
func TestSpawnGoParentPythonChild(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		dir := t.TempDir()
		env := pytest.Env()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := func(t *testing.T, p spawn.Process) (*spawn.Child, *spawnBuffer) {
			t.Helper()
			stderr := &spawnBuffer{}
			p.Python, p.Env, p.Stderr = py.Exe, env, stderr
			c, err := spawn.Start(ctx, p)
			require.NoError(t, err)
			t.Cleanup(func() { c.Kill(); c.Wait(context.Background()) })
			return c, stderr
		}
		wait := func(t *testing.T, c *spawn.Child) int {
			t.Helper()
			require.NoError(t, c.Wait(ctx))
			code, ok := c.ExitCode()
			require.True(t, ok)
			return code
		}

		t.Run("arguments", func(t *testing.T) {
			path := filepath.Join(dir, "rec.json")
			c, stderr := start(t, spawn.Process{
				Target: "spawn_tasks.record",
				Args:   []any{path, int64(1), "two", 3.5, nil, true, []byte("by"), []any{int64(1), int64(2)}, map[string]any{"a": int64(1)}},
				Kwargs: map[string]any{"k": "v"},
				Name:   "go-child", Daemon: true, Authkey: []byte("0123456789abcdef0123456789abcdef"),
			})
			require.Equal(t, 0, wait(t, c), stderr.String())
			rec := readRecord(t, path)
			require.Equal(t, []string{"1", "'two'", "3.5", "None", "True", "b'by'", "[1, 2]", "{'a': 1}"}, rec.Args)
			require.Equal(t, map[string]string{"k": "'v'"}, rec.Kwargs)
			require.Equal(t, "go-child", rec.Name)
			require.Equal(t, "30313233343536373839616263646566"+"30313233343536373839616263646566", rec.Authkey)
			require.True(t, rec.Daemon)
			require.Equal(t, os.Getpid(), rec.ParentPID)
			require.True(t, rec.ParentAlive)
			require.Equal(t, "python", rec.Language)
		})

		t.Run("exit codes", func(t *testing.T) {
			c, stderr := start(t, spawn.Process{Target: "spawn_tasks.exit_with", Args: []any{int64(4)}})
			require.Equal(t, 4, wait(t, c), stderr.String())
			c, stderr = start(t, spawn.Process{Target: "spawn_tasks.fail", Args: []any{"kaput"}, Name: "failing"})
			require.Equal(t, 1, wait(t, c))
			require.Contains(t, stderr.String(), "Process failing:")
			require.Contains(t, stderr.String(), "ValueError: kaput")
			c, _ = start(t, spawn.Process{Target: "spawn_tasks.sleep", Args: []any{int64(30)}})
			time.Sleep(300 * time.Millisecond)
			require.NoError(t, c.Terminate())
			require.Equal(t, -15, wait(t, c))
			c, _ = start(t, spawn.Process{Target: "spawn_tasks.sleep", Args: []any{int64(30)}})
			require.NoError(t, c.Kill())
			require.Equal(t, -9, wait(t, c))
		})

		t.Run("queues both ways", func(t *testing.T) {
			before := spawnShm(t)
			inq, err := mpqueue.New(0, spawnOpts)
			require.NoError(t, err)
			outq, err := mpqueue.New(0, spawnOpts)
			require.NoError(t, err)
			c, stderr := start(t, spawn.Process{Target: "spawn_tasks.double", Args: []any{inq, outq}})
			const n = 2000
			for i := range n {
				require.NoError(t, inq.Put(ctx, int64(i)))
			}
			require.NoError(t, inq.Put(ctx, nil))
			for i := range n {
				v, err := outq.Get(ctx)
				require.NoError(t, err)
				require.Equal(t, int64(2*i), v)
			}
			require.Equal(t, 0, wait(t, c), stderr.String())
			require.NoError(t, inq.Close())
			require.NoError(t, outq.Close())
			require.Equal(t, before, spawnShm(t))
		})

		t.Run("every type passed", func(t *testing.T) {
			before := spawnShm(t)
			var objs []any
			mk := func(v any, err error) any {
				require.NoError(t, err)
				objs = append(objs, v)
				return v
			}
			out, err := mpqueue.New(0, spawnOpts)
			require.NoError(t, err)
			defer out.Close()
			mk(mpqueue.New(0, spawnOpts))
			mk(mpqueue.NewSimpleQueue(spawnOpts))
			mk(mpqueue.NewJoinable(5, spawnOpts))
			lock := mk(mpqueue.NewLock(spawnOpts))
			mk(mpqueue.NewRLock(spawnOpts))
			mk(mpqueue.NewSemaphore(2, spawnOpts))
			mk(mpqueue.NewBoundedSemaphore(3, spawnOpts))
			mk(mpqueue.NewEvent(spawnOpts))
			mk(mpqueue.NewCondition(nil, spawnOpts))
			a, b, err := connection.Pipe(true)
			require.NoError(t, err)
			c, stderr := start(t, spawn.Process{Target: "spawn_tasks.echo", Args: append(append([]any{out}, objs...), a, int64(7)),
				Kwargs: map[string]any{"kw": lock}})
			got, err := out.Get(mustTimeout(ctx, 20*time.Second))
			require.NoError(t, err, stderr.String())
			require.Equal(t, 0, wait(t, c), stderr.String())
			d := got.(*pickle.Dict)
			args, _ := d.Get("args")
			kw, _ := d.Get("kwargs")
			require.Equal(t, []any{"<multiprocessing.queues.Queue>", "<multiprocessing.queues.SimpleQueue>",
				"<multiprocessing.queues.JoinableQueue>", "<multiprocessing.synchronize.Lock>",
				"<multiprocessing.synchronize.RLock>", "<multiprocessing.synchronize.Semaphore>",
				"<multiprocessing.synchronize.BoundedSemaphore>", "<multiprocessing.synchronize.Event>",
				"<multiprocessing.synchronize.Condition>", "<multiprocessing.connection.Connection>", int64(7)},
				[]any(*args.(*pickle.List)))
			v, _ := kw.(*pickle.Dict).Get("kw")
			require.Equal(t, "<multiprocessing.synchronize.Lock>", v)
			for _, o := range objs {
				require.NoError(t, o.(interface{ Close() error }).Close())
			}
			require.NoError(t, out.Close())
			a.Close()
			b.Close()
			require.Equal(t, before, spawnShm(t))
		})

		t.Run("events locks joinable pipe", func(t *testing.T) {
			lock, err := mpqueue.NewLock(spawnOpts)
			require.NoError(t, err)
			ev, err := mpqueue.NewEvent(spawnOpts)
			require.NoError(t, err)
			require.NoError(t, lock.Acquire(ctx))
			c1, stderr := start(t, spawn.Process{Target: "spawn_tasks.set_event_under_lock", Args: []any{lock, ev}})
			early, err := ev.Wait(mustTimeout(ctx, 300*time.Millisecond))
			require.False(t, early)
			require.NoError(t, lock.Release())
			late, err := ev.Wait(ctx)
			require.NoError(t, err)
			require.True(t, late)
			require.Equal(t, 0, wait(t, c1), stderr.String())

			jq, err := mpqueue.NewJoinable(0, spawnOpts)
			require.NoError(t, err)
			out, err := mpqueue.New(0, spawnOpts)
			require.NoError(t, err)
			c2, stderr := start(t, spawn.Process{Target: "spawn_tasks.join_worker", Args: []any{jq, out}})
			for i := range 50 {
				require.NoError(t, jq.Put(ctx, int64(i)))
			}
			require.NoError(t, jq.Put(ctx, nil))
			require.NoError(t, jq.Join(ctx))
			for i := range 50 {
				v, err := out.Get(ctx)
				require.NoError(t, err)
				require.Equal(t, int64(i), v)
			}
			require.Equal(t, 0, wait(t, c2), stderr.String())

			a, b, err := connection.Pipe(true)
			require.NoError(t, err)
			c3, stderr := start(t, spawn.Process{Target: "spawn_tasks.conn_echo", Args: []any{b}})
			for _, m := range []any{int64(1), "two", bytes.Repeat([]byte("x"), 100000), nil} {
				require.NoError(t, a.Send(ctx, m))
				got, err := a.Recv(ctx)
				require.NoError(t, err)
				require.Equal(t, m, got)
			}
			require.Equal(t, 0, wait(t, c3), stderr.String())
			for _, o := range []interface{ Close() error }{lock, ev, jq, out, a, b} {
				require.NoError(t, o.Close())
			}
		})

		t.Run("several children killed mid put", func(t *testing.T) {
			before := spawnShm(t)
			q, err := mpqueue.New(0, spawnOpts)
			require.NoError(t, err)
			var kids []*spawn.Child
			for range 3 {
				c, _ := start(t, spawn.Process{Target: "spawn_tasks.put_forever", Args: []any{q}})
				kids = append(kids, c)
			}
			for range 3000 {
				v, err := q.Get(ctx)
				require.NoError(t, err)
				require.IsType(t, int64(0), v)
			}
			for _, c := range kids {
				require.NoError(t, c.Kill())
				require.Equal(t, -9, wait(t, c))
			}
			q.Close()
			require.Equal(t, before, spawnShm(t))
		})

		t.Run("manager proxies", func(t *testing.T) {
			key := []byte("spawn-proxy-key")
			srv := manager.NewServer(&manager.ServerOptions{Authkey: key})
			manager.RegisterSyncManagerTypes(srv)
			addr := fmt.Sprintf("@mpbridge-spawn-%d-%d", os.Getpid(), time.Now().UnixNano())
			l, err := connection.Listen(ctx, addr, nil)
			require.NoError(t, err)
			go srv.Serve(ctx, l)
			defer srv.Close()
			cl, err := manager.Dial(ctx, addr, key, nil)
			require.NoError(t, err)
			defer cl.Close()
			inq, err := cl.Queue(ctx, "Queue", nil, nil)
			require.NoError(t, err)
			outq, err := cl.Queue(ctx, "Queue", nil, nil)
			require.NoError(t, err)
			d, err := cl.Dict(ctx, nil) // a typed proxy: pickled as DictProxy
			require.NoError(t, err)
			// The child's own authkey is random: the proxies carry the
			// client's, as CPython's do while spawning.
			c, stderr := start(t, spawn.Process{Target: "spawn_tasks.proxy_work", Args: []any{inq, outq, d}})
			require.NoError(t, inq.Put(ctx, int64(21)))
			v, err := outq.Get(mustTimeout(ctx, 30*time.Second))
			require.NoError(t, err, stderr.String())
			require.Equal(t, "done", v)
			got, err := d.Get(ctx, "result")
			require.NoError(t, err)
			require.Equal(t, int64(42), got)
			require.Equal(t, 0, wait(t, c), stderr.String())

			// A Go worker child gets a *manager.QueueProxy and a
			// *manager.Proxy; the iterator it makes is its own and released.
			// (outq is closed first: a forgotten proxy is decref'd whenever
			// the garbage collector finds it.)
			require.NoError(t, outq.Close())
			base, err := cl.NumberOfObjects(ctx)
			require.NoError(t, err)
			worker := spawnWorkerPath(t)
			stderr = &spawnBuffer{}
			c, err = spawn.Start(ctx, spawn.Process{Python: worker, Target: "spawn_tasks.proxy_typed", Args: []any{inq, d},
				SysPath: []string{}, Env: env, Stderr: stderr})
			require.NoError(t, err)
			require.NoError(t, inq.Put(ctx, int64(4)))
			require.Equal(t, 0, wait(t, c), stderr.String())
			v, err = inq.Get(mustTimeout(ctx, 30*time.Second))
			require.NoError(t, err)
			require.Equal(t, pickle.Tuple{&pickle.List{"n", "result"}, "Iterator", true, false}, v)
			got, err = d.Get(ctx, "n")
			require.NoError(t, err)
			require.Equal(t, int64(8), got)
			n, err := cl.NumberOfObjects(ctx)
			require.NoError(t, err)
			require.Equal(t, base, n)
			require.NoError(t, inq.Close())
			require.NoError(t, d.Close())
		})

		t.Run("Go worker as the child", func(t *testing.T) {
			// spawn.Start can run a Go worker too; a target it does not
			// register is handed to $MPBRIDGE_PYTHON.
			q, err := mpqueue.New(0, spawnOpts)
			require.NoError(t, err)
			defer q.Close()
			res, err := mpqueue.NewSimpleQueue(spawnOpts)
			require.NoError(t, err)
			defer res.Close()
			worker := spawnWorkerPath(t)
			stderr := &spawnBuffer{}
			c, err := spawn.Start(ctx, spawn.Process{Python: worker, Target: "spawn_tasks.double", Args: []any{q, res},
				SysPath: []string{}, Env: env, Stderr: stderr})
			require.NoError(t, err)
			require.NoError(t, q.Put(ctx, int64(5)))
			v, err := res.Get(mustTimeout(ctx, 30*time.Second))
			require.NoError(t, err, stderr.String())
			require.Equal(t, int64(10), v)
			require.NoError(t, q.Put(ctx, nil))
			require.Equal(t, 0, wait(t, c), stderr.String())

			path := filepath.Join(dir, "gogo.json")
			c, err = spawn.Start(ctx, spawn.Process{Python: worker, Target: "spawn_tasks.python_only", Args: []any{path},
				Env: append(env, spawn.PythonEnv+"="+py.Exe), Stderr: stderr, SysPath: spawnSysPath(t, py, env)})
			require.NoError(t, err)
			require.Equal(t, 0, wait(t, c), stderr.String())
			rec := readRecord(t, path)
			require.Equal(t, "python", rec.Language)
			require.Equal(t, fmt.Sprintf("3.%d", py.Minor), rec.Version)
		})

		t.Run("leaked semaphore is unlinked", func(t *testing.T) {
			path := filepath.Join(dir, "leak")
			c, stderr := start(t, spawn.Process{Target: "spawn_tasks.leak_semaphore", Args: []any{path}})
			require.Equal(t, 3, wait(t, c), stderr.String())
			name, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(name), "/mp-"), string(name))
			_, err = os.Stat("/dev/shm/sem." + strings.TrimPrefix(string(name), "/"))
			require.True(t, os.IsNotExist(err), "leaked %s still in /dev/shm", name)
			require.Contains(t, stderr.String(), "leaked semaphore")
		})
	})
}

// TestSpawnStartupSpeed checks the bar: a Python parent starts,
// runs a trivial target in and joins a Go child at least 3x faster than a
// Python child, in the same run, with the resource tracker already
// running. Medians of a few rounds, alternating; the full benchmark is
// scripts/spawn_bench.py (docs/spawn.md).
func TestSpawnStartupSpeed(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		h := spawnHelper(t, py)
		var res struct {
			Go []float64 `json:"go"`
			Py []float64 `json:"py"`
		}
		out := spawnExec(t, h, fmt.Sprintf(`from multiprocessing import resource_tracker
resource_tracker.ensure_running()
go, pyt = [], []
for _ in range(7):
    sp.use(%q); go += sp.timed(spawn_tasks.noop, 1)
    sp.use(sys.executable); pyt += sp.timed(spawn_tasks.noop, 1)
sp.use(%q)
result = {"go": go, "py": pyt}`, spawnWorkerPath(t), spawnWorkerPath(t)))
		require.NoError(t, json.Unmarshal(out, &res))
		g, p := median(res.Go), median(res.Py)
		t.Logf("start+join: Go child %.1f ms, Python child %.1f ms (%.1fx)", g*1000, p*1000, p/g)
		require.Greater(t, p/g, 3.0, "Go child must start-run-join at least 3x faster than a Python child")
	})
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[len(s)/2]
}
