//go:build linux

package interop

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// semPrefix returns a fresh semaphore name prefix for one test and fails
// the test at the end if any /dev/shm/sem.<prefix>* file is left over.
func semPrefix(t *testing.T) string {
	t.Helper()
	p := fmt.Sprintf("/mpbi%07d", rand.IntN(10000000))
	t.Cleanup(func() {
		// Give finalizers in peers a moment, then insist.
		deadline := time.Now().Add(5 * time.Second)
		for {
			left, _ := filepath.Glob(semlock.Path(p) + "*")
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				for _, f := range left {
					_ = os.Remove(f)
				}
				t.Errorf("leftover semaphores: %v", left)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return p
}

// peer is a long-lived Python helper with mpqueue_peer imported as P.
func peer(t *testing.T, py pytest.Python, prefix string) *pytest.Helper {
	t.Helper()
	h := pytest.NewHelper(t, py)
	h.MustExec(t, fmt.Sprintf("import mpqueue_peer as P, json, time\nP.set_prefix(%q)\nresult = 1", prefix))
	return h
}

// pyExec runs code in the helper and decodes result into v (if non-nil).
func pyExec(t *testing.T, h *pytest.Helper, v any, code string, args ...any) {
	t.Helper()
	raw, err := h.Exec(fmt.Sprintf(code, args...))
	require.NoError(t, err)
	if v != nil {
		require.NoError(t, json.Unmarshal(raw, v), string(raw))
	}
}

// pyAsync runs code in the helper on another goroutine.
func pyAsync(h *pytest.Helper, code string, args ...any) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := h.Exec(fmt.Sprintf(code, args...))
		ch <- err
	}()
	return ch
}

func recvWithin(t *testing.T, ch <-chan error, d time.Duration) {
	t.Helper()
	select {
	case err := <-ch:
		require.NoError(t, err)
	case <-time.After(d):
		t.Fatalf("no result within %v", d)
	}
}

func waitWaiters(t *testing.T, s *semlock.Sem, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return s.Waiters() == n }, 10*time.Second, time.Millisecond,
		"expected %d registered waiters, have %d", n, s.Waiters())
}

func goSem(t *testing.T, prefix string, kind semlock.Kind, value, maxvalue int) *semlock.SemLock {
	t.Helper()
	l, err := semlock.New(kind, value, maxvalue, &semlock.Options{Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// TestSemLockInterop runs every SemLock case against every CPython, sharing
// one Python helper per version.
func TestSemLockInterop(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		prefix := semPrefix(t)
		h := peer(t, py, prefix)

		t.Run("PythonWaitGoPost", func(t *testing.T) {
			l := goSem(t, prefix, semlock.Semaphore, 0, semlock.ValueMax)
			pyExec(t, h, nil, `P.objs['s'] = P.build({"type": "Semaphore", "name": %q}); result = 1`, l.Name())
			done := pyAsync(h, `result = P.objs['s'].acquire()`)
			waitWaiters(t, l.Sem(), 1)
			time.Sleep(20 * time.Millisecond) // let it sleep in the kernel
			require.NoError(t, l.Release())
			recvWithin(t, done, 10*time.Second)
			require.Equal(t, 0, l.Value())
			require.Equal(t, 0, l.Sem().Waiters())

			// Python's timed acquire times out on a zero semaphore.
			var r struct {
				Ok      bool    `json:"ok"`
				Elapsed float64 `json:"elapsed"`
			}
			pyExec(t, h, &r, `t0 = time.monotonic(); ok = P.objs['s'].acquire(True, 0.2); result = {"ok": ok, "elapsed": time.monotonic() - t0}`)
			require.False(t, r.Ok)
			require.GreaterOrEqual(t, r.Elapsed, 0.19)
			require.Equal(t, 0, l.Sem().Waiters())

			// A Go post wakes a Python timed wait well before its timeout.
			done = pyAsync(h, `t0 = time.monotonic(); ok = P.objs['s'].acquire(True, 30); assert ok; result = time.monotonic() - t0`)
			waitWaiters(t, l.Sem(), 1)
			require.NoError(t, l.Release())
			recvWithin(t, done, 10*time.Second)
			pyExec(t, h, nil, `P.drop('s'); result = 1`)
		})

		t.Run("GoWaitPythonPost", func(t *testing.T) {
			l := goSem(t, prefix, semlock.Semaphore, 0, semlock.ValueMax)
			pyExec(t, h, nil, `P.objs['s'] = P.build({"type": "Semaphore", "name": %q}); result = 1`, l.Name())
			for _, cancellable := range []bool{false, true} {
				ctx := context.Background()
				if cancellable {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Minute)
					defer cancel()
				}
				got := make(chan error, 1)
				go func() { got <- l.Acquire(ctx) }()
				waitWaiters(t, l.Sem(), 1)
				time.Sleep(20 * time.Millisecond)
				start := time.Now()
				pyExec(t, h, nil, `P.objs['s'].release(); result = 1`)
				select {
				case err := <-got:
					require.NoError(t, err)
				case <-time.After(10 * time.Second):
					t.Fatal("Python's release did not wake the Go waiter")
				}
				// Woken by FUTEX_WAKE, not by the end of a 50 ms slice (generous bound).
				require.Less(t, time.Since(start), 5*time.Second)
			}
			// Timed Go wait on a zero semaphore.
			start := time.Now() // before the deadline is set: an exact lower bound
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			require.ErrorIs(t, l.Acquire(ctx), mpbridge.ErrTimeout)
			require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
			pyExec(t, h, nil, `P.drop('s'); result = 1`)
		})

		t.Run("GetValue", func(t *testing.T) {
			// Python creates, Go opens by name.
			var hd struct {
				Name     string `json:"name"`
				MaxValue int    `json:"maxvalue"`
			}
			pyExec(t, h, &hd, `P.objs['b'] = P.create({"type": "BoundedSemaphore", "value": 3}); result = P.handles(P.objs['b'])`)
			require.Equal(t, 3, hd.MaxValue)
			l, err := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: hd.MaxValue, Name: hd.Name})
			require.NoError(t, err)
			defer l.Close()
			require.Equal(t, 3, l.Value())
			require.True(t, l.TryAcquire())
			var v int
			pyExec(t, h, &v, `result = P.value(P.objs['b'])`)
			require.Equal(t, 2, v)
			pyExec(t, h, &v, `P.objs['b'].acquire(); P.objs['b'].acquire(); result = P.value(P.objs['b'])`)
			require.Equal(t, 0, v)
			require.True(t, l.IsZero())
			pyExec(t, h, nil, `P.objs['b'].release(); result = 1`)
			require.Equal(t, 1, l.Value())
			require.NoError(t, l.Release())
			require.NoError(t, l.Release())
			require.ErrorIs(t, l.Release(), semlock.ErrReleasedTooManyTimes)
			var msg string
			pyExec(t, h, &msg, `
try:
    P.objs['b'].release()
    result = "no error"
except ValueError as e:
    result = str(e)`)
			require.Equal(t, "semaphore or lock released too many times", msg)
			pyExec(t, h, nil, `P.drop('b'); result = 1`)
		})

		t.Run("Contention", func(t *testing.T) {
			testContention(t, py, prefix)
		})

		t.Run("EventGoSetWakesPython", func(t *testing.T) { testEventGoSet(t, h, prefix) })
		t.Run("EventPythonSetWakesGo", func(t *testing.T) { testEventPythonSet(t, h) })
		t.Run("ConditionNotifyBothWays", func(t *testing.T) { testConditionBothWays(t, h, prefix) })
		t.Run("ConditionPingPong", func(t *testing.T) { testConditionPingPong(t, h, prefix) })
	})
}

// semlockChildEnv makes the test binary a Go contender (TestSemLockGoChild).
const semlockChildEnv = "MPBRIDGE_INTEROP_SEMLOCK_CHILD"

// testContention runs two Python processes, two goroutines and one Go
// child process, each incrementing a shared counter under one Lock with a
// read-modify-write that would lose updates without mutual exclusion.
func testContention(t *testing.T, py pytest.Python, prefix string) {
	const iters = 3000
	l := goSem(t, prefix, semlock.Semaphore, 1, 1)
	// Every contender first waits on gate; once all five are registered
	// as waiters, one post per contender starts them together.
	gate := goSem(t, prefix, semlock.Semaphore, 0, semlock.ValueMax)
	counter := filepath.Join(semlock.ShmDir, "sem."+prefix[1:]+"-counter")
	require.NoError(t, os.WriteFile(counter, make([]byte, 8), 0o600))
	defer os.Remove(counter)
	hd, _ := json.Marshal(map[string]any{"type": "Lock", "name": l.Name()})

	var procs []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := py.Command(pytest.Script("mpqueue_peer.py"), "contend", string(hd), counter, strconv.Itoa(iters), gate.Name())
		cmd.Stderr = os.Stderr
		procs = append(procs, cmd)
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	child := exec.Command(exe, "-test.run=^TestSemLockGoChild$")
	child.Env = append(os.Environ(), semlockChildEnv+"="+l.Name()+","+counter+","+strconv.Itoa(iters)+","+gate.Name())
	child.Stderr = os.Stderr
	procs = append(procs, child)
	for _, c := range procs {
		pytest.Start(t, c)
	}
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := semlock.Rebuild(l.State())
			if err != nil {
				t.Error(err)
				return
			}
			defer m.Close()
			if err := gate.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			if err := contend(m, counter, iters); err != nil {
				t.Error(err)
			}
		}()
	}
	waitWaiters(t, gate.Sem(), 5)
	for i := 0; i < 5; i++ {
		require.NoError(t, gate.Release())
	}
	wg.Wait()
	for _, c := range procs {
		require.NoError(t, c.Wait())
	}
	raw, err := os.ReadFile(counter)
	require.NoError(t, err)
	require.Equal(t, uint64(5*iters), binary.LittleEndian.Uint64(raw))
	require.Equal(t, 1, l.Value())
	require.Equal(t, 0, l.Sem().Waiters())
}

// contend increments the counter in file iters times under l.
func contend(l *semlock.SemLock, file string, iters int) error {
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	f.Close()
	if err != nil {
		return err
	}
	defer unix.Munmap(mem)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < iters; i++ {
		if err := l.Acquire(ctx); err != nil {
			return err
		}
		v := binary.LittleEndian.Uint64(mem)
		for j := 0; j < 500; j++ { // widen the window a missing lock would expose
			if binary.LittleEndian.Uint64(mem) != v {
				return fmt.Errorf("counter changed under the lock")
			}
		}
		binary.LittleEndian.PutUint64(mem, v+1)
		if err := l.Release(); err != nil {
			return err
		}
	}
	return nil
}

// TestSemLockGoChild is the Go child process of testContention; it does
// nothing when run normally.
func TestSemLockGoChild(t *testing.T) {
	v := os.Getenv(semlockChildEnv)
	if v == "" {
		t.Skip("helper process")
	}
	parts := strings.SplitN(v, ",", 4)
	require.Len(t, parts, 4)
	name, file := parts[0], parts[1]
	iters, err := strconv.Atoi(parts[2])
	require.NoError(t, err)
	l, err := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: 1, Name: name})
	require.NoError(t, err)
	defer l.Close()
	gate, err := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: semlock.ValueMax, Name: parts[3]})
	require.NoError(t, err)
	defer gate.Close()
	require.NoError(t, gate.Acquire(context.Background()))
	require.NoError(t, contend(l, file, iters))
}
