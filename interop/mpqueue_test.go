//go:build linux

package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/pickle"
)

// pyHandles is a handle printed by mpqueue_peer.handles: mpqueue.Handles
// plus the pid owning the descriptors.
type pyHandles struct {
	mpqueue.Handles
	Pid int `json:"pid"`
}

// openProcFds replaces h's descriptor numbers, which belong to process
// pid, by new descriptors of the same pipe opened through /proc.
func openProcFds(t *testing.T, h *mpqueue.Handles, pid int) {
	t.Helper()
	for _, p := range []struct {
		fd   *int
		flag int
	}{{&h.Reader, os.O_RDONLY}, {&h.Writer, os.O_WRONLY}} {
		f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", pid, *p.fd), p.flag, 0)
		require.NoError(t, err)
		fd, err := dupFd(f)
		require.NoError(t, err)
		*p.fd = fd
	}
}

// dupFd detaches a descriptor from f (which is closed).
func dupFd(f *os.File) (int, error) {
	defer f.Close()
	sc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := sc.Control(func(fd uintptr) { nfd, derr = dupCloexec(int(fd)) }); err != nil {
		return -1, err
	}
	return nfd, derr
}

func dupCloexec(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestMPQueueInterop runs the queue cases against every CPython, one
// helper per version.
func TestMPQueueInterop(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		prefix := semPrefix(t)
		h := peer(t, py, prefix)
		opts := &mpqueue.Options{Prefix: prefix}

		t.Run("PythonPutsGoGets", func(t *testing.T) { testPythonPutsGoGets(t, h) })
		t.Run("GoPutsPythonGets", func(t *testing.T) { testGoPutsPythonGets(t, h, opts) })
		t.Run("Bounded", func(t *testing.T) { testBounded(t, h, opts) })
		t.Run("JoinableAcross", func(t *testing.T) { testJoinable(t, h, opts) })
		t.Run("BigItems", func(t *testing.T) { testBigItems(t, h, opts) })
		t.Run("SimpleQueue", func(t *testing.T) { testSimpleQueue(t, h, opts) })
		t.Run("PickledGoToPython", func(t *testing.T) { testPickledGoToPython(t, py, opts) })
		t.Run("PickledPythonToGo", func(t *testing.T) { testPickledPythonToGo(t, h) })
		t.Run("Mixed", func(t *testing.T) { testMixed(t, py, opts) })
	})
}

// The values CPython puts and what Go must decode them into.
const pyItems = `[1, -7, 2**70, 'text', 'h\u00e9llo \u20ac', b'\x00\x01bytes', (1, 'a', None), [1, 2], {'k': 'v', 2: 3.5}, None, True, 1.25, ()]`

func checkPyItems(t *testing.T, got []any) {
	t.Helper()
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	require.Len(t, got, 13)
	require.Equal(t, int64(1), got[0])
	require.Equal(t, int64(-7), got[1])
	require.Zero(t, big70.Cmp(got[2].(*big.Int)))
	require.Equal(t, "text", got[3])
	require.Equal(t, "héllo €", got[4])
	require.Equal(t, []byte("\x00\x01bytes"), got[5])
	require.Equal(t, pickle.Tuple{int64(1), "a", nil}, got[6])
	require.Equal(t, &pickle.List{int64(1), int64(2)}, got[7])
	d := got[8].(*pickle.Dict)
	v, ok := d.Get("k")
	require.True(t, ok)
	require.Equal(t, "v", v)
	v, ok = d.Get(int64(2))
	require.True(t, ok)
	require.Equal(t, 3.5, v)
	require.Nil(t, got[9])
	require.Equal(t, true, got[10])
	require.Equal(t, 1.25, got[11])
	require.Equal(t, pickle.Tuple{}, got[12])
}

func testPythonPutsGoGets(t *testing.T, h *pytest.Helper) {
	var ph pyHandles
	pyExec(t, h, &ph, `P.objs['q'] = P.create({"type": "Queue"}); result = P.handles(P.objs['q'])`)
	require.Equal(t, mpqueue.TypeQueue, ph.Type)
	openProcFds(t, &ph.Handles, ph.Pid)
	q, err := mpqueue.AttachQueue(ph.Handles, nil)
	require.NoError(t, err)
	defer q.Close()
	pyExec(t, h, nil, `
for x in `+pyItems+`:
    P.objs['q'].put(x)
result = P.objs['q'].qsize()`)
	ctx := ctxFor(t, 30*time.Second)
	var got []any
	for i := 0; i < 13; i++ {
		v, err := q.Get(ctx)
		require.NoError(t, err)
		got = append(got, v)
	}
	checkPyItems(t, got)
	n, err := q.Qsize(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	_, err = q.Get(ctxFor(t, 50*time.Millisecond))
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	pyExec(t, h, nil, `P.drop('q'); result = 1`)
}

func testGoPutsPythonGets(t *testing.T, h *pytest.Helper, opts *mpqueue.Options) {
	q, err := mpqueue.New(0, opts)
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxFor(t, 30*time.Second)
	d := pickle.NewDict(2)
	require.NoError(t, d.Set("k", "v"))
	require.NoError(t, d.Set(int64(2), 3.5))
	items := []any{int64(1), "héllo €", []byte{0, 1, 2}, pickle.Tuple{int64(1), "a", nil}, []any{int64(1), int64(2)},
		d, nil, true, 1.25, new(big.Int).Lsh(big.NewInt(1), 70)}
	for _, it := range items {
		require.NoError(t, q.Put(ctx, it))
	}
	var n int
	pyExec(t, h, &n, `P.objs['q'] = P.build(json.loads(%q), pid=%d); result = P.objs['q'].qsize()`, handlesJSON(t, q.Handles()), os.Getpid())
	require.Equal(t, len(items), n)
	var reprs []string
	pyExec(t, h, &reprs, `result = [repr(P.objs['q'].get(timeout=10)) for _ in range(%d)]`, len(items))
	require.Equal(t, []string{"1", "'héllo €'", `b'\x00\x01\x02'`, "(1, 'a', None)", "[1, 2]", "{'k': 'v', 2: 3.5}",
		"None", "True", "1.25", "1180591620717411303424"}, reprs)
	pyExec(t, h, nil, `
import queue
try:
    P.objs['q'].get(timeout=0.05)
    result = 'got something'
except queue.Empty:
    result = 'empty'
P.drop('q')`)
}

func testBounded(t *testing.T, h *pytest.Helper, opts *mpqueue.Options) {
	q, err := mpqueue.New(2, opts)
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxFor(t, 30*time.Second)
	pyExec(t, h, nil, `P.objs['q'] = P.build(json.loads(%q), pid=%d); result = 1`, handlesJSON(t, q.Handles()), os.Getpid())
	// Python fills it; its put_nowait and timed put then fail with Full.
	var r map[string]any
	pyExec(t, h, &r, `
import queue, time
q = P.objs['q']
q.put('a'); q.put_nowait('b')
res = {'full': q.full(), 'qsize': q.qsize()}
try:
    q.put_nowait('c'); res['nowait'] = 'put'
except queue.Full:
    res['nowait'] = 'Full'
t0 = time.monotonic()
try:
    q.put('c', timeout=0.2); res['timed'] = 'put'
except queue.Full:
    res['timed'] = 'Full'
res['elapsed'] = time.monotonic() - t0
result = res`)
	require.Equal(t, true, r["full"])
	require.Equal(t, 2.0, r["qsize"])
	require.Equal(t, "Full", r["nowait"])
	require.Equal(t, "Full", r["timed"])
	require.GreaterOrEqual(t, r["elapsed"].(float64), 0.19)
	full, err := q.Full(ctx)
	require.NoError(t, err)
	require.True(t, full)
	require.ErrorIs(t, q.PutNowait(ctx, "x"), mpbridge.ErrFull)
	start := time.Now()
	require.ErrorIs(t, q.Put(ctxFor(t, 150*time.Millisecond), "x"), mpbridge.ErrFull)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	// A blocked Python put is released by a Go get, and a blocked Go put
	// by a Python get.
	done := pyAsync(h, `P.objs['q'].put('c', timeout=30); result = 1`)
	time.Sleep(50 * time.Millisecond)
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "a", v)
	recvWithin(t, done, 30*time.Second)
	put := make(chan error, 1)
	go func() { put <- q.Put(ctx, "d") }()
	time.Sleep(50 * time.Millisecond)
	var got []string
	pyExec(t, h, &got, `result = [P.objs['q'].get(timeout=10) for _ in range(2)]`)
	require.Equal(t, []string{"b", "c"}, got)
	require.NoError(t, <-put)
	pyExec(t, h, &got, `result = [P.objs['q'].get(timeout=10)]`)
	require.Equal(t, []string{"d"}, got)
	// Python's timed get on the empty queue.
	var msg string
	pyExec(t, h, &msg, `
import queue
try:
    P.objs['q'].get(timeout=0.1); result = 'item'
except queue.Empty:
    result = 'Empty'
P.drop('q')`)
	require.Equal(t, "Empty", msg)
}

func testJoinable(t *testing.T, h *pytest.Helper, opts *mpqueue.Options) {
	q, err := mpqueue.NewJoinable(0, opts)
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxFor(t, 30*time.Second)
	pyExec(t, h, nil, `P.objs['q'] = P.build(json.loads(%q), pid=%d); result = 1`, handlesJSON(t, q.Handles()), os.Getpid())

	// Go puts, Python joins while Go works through the tasks.
	for i := 0; i < 3; i++ {
		require.NoError(t, q.Put(ctx, i))
	}
	joined := pyAsync(h, `P.objs['q'].join(); result = 1`)
	for i := 0; i < 3; i++ {
		_, err := q.Get(ctx)
		require.NoError(t, err)
		select {
		case err := <-joined:
			t.Fatalf("Python join returned with %d tasks left: %v", 3-i, err)
		case <-time.After(20 * time.Millisecond):
		}
		require.NoError(t, q.TaskDone(ctx))
	}
	recvWithin(t, joined, 30*time.Second)

	// Python puts and does the tasks; Go joins.
	pyExec(t, h, nil, `
for i in range(3):
    P.objs['q'].put(i)
result = 1`)
	require.Equal(t, 3, q.Unfinished())
	gjoin := make(chan error, 1)
	go func() { gjoin <- q.Join(ctx) }()
	pyExec(t, h, nil, `
q = P.objs['q']
for i in range(3):
    q.get(timeout=10)
    time.sleep(0.01)
    q.task_done()
result = 1`)
	select {
	case err := <-gjoin:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Go join not woken by Python task_done")
	}
	var msg string
	pyExec(t, h, &msg, `
try:
    P.objs['q'].task_done(); result = 'ok'
except ValueError as e:
    result = str(e)
P.drop('q')`)
	require.Equal(t, "task_done() called too many times", msg)
	require.ErrorIs(t, q.TaskDone(ctx), mpqueue.ErrTaskDone)
}

func testBigItems(t *testing.T, h *pytest.Helper, opts *mpqueue.Options) {
	q, err := mpqueue.New(0, opts)
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxFor(t, 60*time.Second)
	pyExec(t, h, nil, `P.objs['q'] = P.build(json.loads(%q), pid=%d); result = 1`, handlesJSON(t, q.Handles()), os.Getpid())
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, 16× the pipe
	// Go → Python: Put returns at once; Python reads while the feeder writes.
	for i := 0; i < 3; i++ {
		require.NoError(t, q.Put(ctx, append([]byte{byte('A' + i)}, big...)))
	}
	var lens []string
	pyExec(t, h, &lens, `result = ['%%s:%%d' %% (chr(b[0]), len(b)) for b in (P.objs['q'].get(timeout=30) for _ in range(3))]`)
	require.Equal(t, []string{"A:1048577", "B:1048577", "C:1048577"}, lens)
	require.NoError(t, q.Flush(ctx))
	// Python → Go.
	done := pyAsync(h, `
for i in range(3):
    P.objs['q'].put(bytes([65 + i]) + b'0123456789abcdef' * 65536)
result = 1`)
	for i := 0; i < 3; i++ {
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, append([]byte{byte('A' + i)}, big...), v)
	}
	recvWithin(t, done, 30*time.Second)
	pyExec(t, h, nil, `P.drop('q'); result = 1`)
}

func testSimpleQueue(t *testing.T, h *pytest.Helper, opts *mpqueue.Options) {
	q, err := mpqueue.NewSimpleQueue(opts)
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxFor(t, 30*time.Second)
	pyExec(t, h, nil, `P.objs['s'] = P.build(json.loads(%q), pid=%d); result = 1`, handlesJSON(t, q.Handles()), os.Getpid())
	require.NoError(t, q.Put(ctx, "from go"))
	var s string
	pyExec(t, h, &s, `result = P.objs['s'].get()`)
	require.Equal(t, "from go", s)
	pyExec(t, h, nil, `P.objs['s'].put(('from', 'python')); result = 1`)
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, pickle.Tuple{"from", "python"}, v)
	pyExec(t, h, nil, `P.drop('s'); result = 1`)
}

// mixedItems is the always-on size of the mixed test; MPBRIDGE_SOAK=1
// runs 100,000.
func mixedItems() int {
	if os.Getenv("MPBRIDGE_SOAK") != "" {
		return 100000
	}
	return 5000
}

// queueChildEnv makes the test binary a Go peer of testMixed
// (TestMPQueueGoChild): "ident,n,size,consume" with the queue on fds 3, 4.
const queueChildEnv = "MPBRIDGE_INTEROP_QUEUE_CHILD"

// testMixed: four processes share one bounded queue — a Python producer,
// a Python consumer, a Go child producing and consuming, and this process
// producing and consuming. Every item is delivered exactly once and each
// consumer sees each producer's items in order.
func testMixed(t *testing.T, py pytest.Python, opts *mpqueue.Options) {
	total := mixedItems()
	per := total / 3
	mine := total - 2*per // this process makes up the remainder
	const size = 200
	q, err := mpqueue.New(64, opts)
	require.NoError(t, err)
	defer q.Close()
	r, w := q.Files()
	child := q.Handles()
	child.Reader, child.Writer = 3, 4
	hj := handlesJSON(t, child)

	pyProd := py.Command(pytest.Script("mpqueue_peer.py"), "produce", hj, "1", strconv.Itoa(per), strconv.Itoa(size))
	pyCons := py.Command(pytest.Script("mpqueue_peer.py"), "consume", hj)
	exe, err := os.Executable()
	require.NoError(t, err)
	goChild := exec.Command(exe, "-test.run=^TestMPQueueGoChild$")
	goChild.Env = append(os.Environ(), queueChildEnv+"="+hj+"|2,"+strconv.Itoa(per)+","+strconv.Itoa(size))
	outs := make([]*bytes.Buffer, 3)
	for i, c := range []*exec.Cmd{pyProd, pyCons, goChild} {
		c.ExtraFiles = []*os.File{r, w}
		outs[i] = &bytes.Buffer{}
		c.Stdout = outs[i]
		c.Stderr = os.Stderr
		pytest.Start(t, c)
	}
	ctx := ctxFor(t, 240*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < mine; i++ {
			if err := q.Put(ctx, mixedItem(3, i, size)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var ours map[string][]int64
	cdone := make(chan error, 1)
	go func() {
		var err error
		ours, err = consumeMixed(ctx, q)
		cdone <- err
	}()
	wg.Wait()
	require.NoError(t, pyProd.Wait(), "python producer")
	// The Go child signals the end of its production on stdout.
	require.Eventually(t, func() bool { return strings.Contains(outs[2].String(), "produced") }, 240*time.Second, 10*time.Millisecond)
	for i := 0; i < 3; i++ { // one end marker per consumer
		require.NoError(t, q.Put(ctx, nil))
	}
	require.NoError(t, <-cdone)
	require.NoError(t, pyCons.Wait(), "python consumer")
	require.NoError(t, goChild.Wait(), "go child")
	require.NoError(t, q.Flush(ctx))

	var results []map[string][]int64
	results = append(results, ours)
	var pyRes map[string][]int64
	require.NoError(t, json.Unmarshal(outs[1].Bytes(), &pyRes), outs[1].String())
	results = append(results, pyRes)
	var goRes map[string][]int64
	for _, line := range strings.Split(outs[2].String(), "\n") {
		if strings.HasPrefix(line, "{") {
			require.NoError(t, json.Unmarshal([]byte(line), &goRes), line)
		}
	}
	require.NotNil(t, goRes, outs[2].String())
	results = append(results, goRes)

	seen := map[[2]int64]bool{}
	for c, res := range results {
		for prod, seqs := range res {
			p, _ := strconv.Atoi(prod)
			for i, s := range seqs {
				if i > 0 && s <= seqs[i-1] {
					t.Fatalf("consumer %d: producer %s out of order: %d after %d", c, prod, s, seqs[i-1])
				}
				k := [2]int64{int64(p), s}
				require.False(t, seen[k], "item %v delivered twice", k)
				seen[k] = true
			}
		}
	}
	require.Len(t, seen, total, "every item delivered")
	t.Logf("consumers got %d / %d / %d items", count(results[0]), count(results[1]), count(results[2]))
}

func count(m map[string][]int64) int {
	n := 0
	for _, s := range m {
		n += len(s)
	}
	return n
}

func mixedItem(ident, i, size int) pickle.Tuple {
	head := fmt.Sprintf("%d:%d:", ident, i)
	payload := []byte(head + strings.Repeat("x", max(0, size-len(head))))
	return pickle.Tuple{int64(ident), int64(i), payload}
}

// consumeMixed gets (ident, seq, payload) items until None.
func consumeMixed(ctx context.Context, q *mpqueue.Queue) (map[string][]int64, error) {
	seen := map[string][]int64{}
	for {
		v, err := q.Get(ctx)
		if err != nil {
			return seen, err
		}
		if v == nil {
			return seen, nil
		}
		tup, ok := v.(pickle.Tuple)
		if !ok || len(tup) != 3 {
			return seen, fmt.Errorf("unexpected item %#v", v)
		}
		ident, seq := tup[0].(int64), tup[1].(int64)
		if !bytes.HasPrefix(tup[2].([]byte), []byte(fmt.Sprintf("%d:%d:", ident, seq))) {
			return seen, fmt.Errorf("payload mismatch for %d:%d", ident, seq)
		}
		k := strconv.FormatInt(ident, 10)
		seen[k] = append(seen[k], seq)
	}
}

// TestMPQueueGoChild is the Go child of testMixed; it does nothing when
// run normally.
func TestMPQueueGoChild(t *testing.T) {
	v := os.Getenv(queueChildEnv)
	if v == "" {
		t.Skip("helper process")
	}
	hj, spec, _ := strings.Cut(v, "|")
	var h mpqueue.Handles
	require.NoError(t, json.Unmarshal([]byte(hj), &h))
	parts := strings.Split(spec, ",")
	ident, _ := strconv.Atoi(parts[0])
	n, _ := strconv.Atoi(parts[1])
	size, _ := strconv.Atoi(parts[2])
	q, err := mpqueue.AttachQueue(h, nil)
	require.NoError(t, err)
	ctx := ctxFor(t, 240*time.Second)
	var res map[string][]int64
	cdone := make(chan error, 1)
	go func() {
		var err error
		res, err = consumeMixed(ctx, q)
		cdone <- err
	}()
	for i := 0; i < n; i++ {
		require.NoError(t, q.Put(ctx, mixedItem(ident, i, size)))
	}
	require.NoError(t, q.Flush(ctx))
	fmt.Println("produced")
	require.NoError(t, <-cdone)
	out, err := json.Marshal(res)
	require.NoError(t, err)
	fmt.Println(string(out))
	require.NoError(t, q.Close())
}

// A JoinableQueue pickled by Go in CPython's spawn form is unpickled by a
// fresh Python process that inherited the pipe as fds 3 and 4, as a spawned
// child would: it gets the items Go put and marks them done for Go's Join.
func testPickledGoToPython(t *testing.T, py pytest.Python, opts *mpqueue.Options) {
	q, err := mpqueue.NewJoinable(0, opts)
	require.NoError(t, err)
	defer q.Close()
	r, w := q.Files()
	obj, err := q.Reduce(mpqueue.ExtraFilesReducer(r, w), os.Getpid())
	require.NoError(t, err)
	data, err := pickle.Marshal(obj)
	require.NoError(t, err)
	ctx := ctxFor(t, 30*time.Second)
	for i := 0; i < 3; i++ {
		require.NoError(t, q.Put(ctx, pickle.Tuple{"item", int64(i)}))
	}
	cmd := py.Command("-c", `
import pickle, sys
q = pickle.loads(bytes.fromhex(sys.argv[1]))
print(type(q).__name__, q._maxsize, q._reader.fileno(), q._writer.fileno())
for _ in range(3):
    print(q.get(timeout=10))
    q.task_done()
q.put('bye')
q.close(); q.join_thread()
`, fmt.Sprintf("%x", data))
	cmd.ExtraFiles = []*os.File{r, w}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	pytest.Start(t, cmd)
	require.NoError(t, q.Join(ctx))
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "bye", v)
	require.NoError(t, cmd.Wait())
	require.Equal(t, "JoinableQueue 2147483647 3 4\n('item', 0)\n('item', 1)\n('item', 2)\n", out.String())
}

// A Queue pickled by CPython while "spawning" (a stand-in spawning Popen
// is installed, as popen_spawn_posix does) is parsed by Go, which opens the
// same pipe through /proc and gets what Python put.
func testPickledPythonToGo(t *testing.T, h *pytest.Helper) {
	var res struct {
		Pickle string `json:"pickle"`
		Pid    int    `json:"pid"`
	}
	pyExec(t, h, &res, `
import os
from multiprocessing import context, popen_spawn_posix
class _Popen:
    DupFd = popen_spawn_posix._DupFd
    def duplicate_for_child(self, fd):
        return fd
q = P.objs['q'] = P.create({"type": "JoinableQueue", "maxsize": 3})
context.set_spawning_popen(_Popen())
try:
    data = context.reduction.ForkingPickler.dumps(q)
finally:
    context.set_spawning_popen(None)
q.put('from python')
result = {"pickle": data.hex(), "pid": os.getpid()}
del q, data`)
	raw, err := hex.DecodeString(res.Pickle)
	require.NoError(t, err)
	v, err := pickle.Loads(raw)
	require.NoError(t, err)
	hd, err := mpqueue.ParseHandles(v, mpqueue.SpawnFd)
	require.NoError(t, err)
	require.Equal(t, mpqueue.TypeJoinableQueue, hd.Type)
	require.Equal(t, 3, hd.Maxsize)
	openProcFds(t, &hd, res.Pid)
	q, err := mpqueue.AttachJoinable(hd, nil)
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxFor(t, 30*time.Second)
	got, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "from python", got)
	require.NoError(t, q.TaskDone(ctx))
	pyExec(t, h, nil, `P.objs['q'].join(); P.drop('q'); result = 1`)
}
