//go:build linux

package interop

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

func handlesJSON(t *testing.T, h mpqueue.Handles) string {
	t.Helper()
	b, err := json.Marshal(h)
	require.NoError(t, err)
	return string(b)
}

// An Event set in Go wakes two Python threads blocked in wait().
func testEventGoSet(t *testing.T, h *pytest.Helper, prefix string) {
	ev, err := mpqueue.NewEvent(&mpqueue.Options{Prefix: prefix})
	require.NoError(t, err)
	defer ev.Close()
	pyExec(t, h, nil, `P.objs['e'] = P.build(json.loads(%q)); result = P.objs['e'].is_set()`, handlesJSON(t, ev.Handles()))
	done := make(chan []bool, 1)
	go func() {
		raw, err := h.Exec(`
import threading
res = []
def w():
    res.append(P.objs['e'].wait(30))
ts = [threading.Thread(target=w) for _ in range(2)]
[x.start() for x in ts]
[x.join() for x in ts]
result = res`)
		var r []bool
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	sleeping := func() int {
		hd := ev.Handles().Cond
		s, _ := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: semlock.ValueMax, Name: hd.Sleeping})
		w, _ := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: semlock.ValueMax, Name: hd.Woken})
		defer s.Close()
		defer w.Close()
		return s.Value() - w.Value()
	}
	require.Eventually(t, func() bool { return sleeping() == 2 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ev.Set(ctx))
	select {
	case r := <-done:
		require.Equal(t, []bool{true, true}, r)
	case <-time.After(30 * time.Second):
		t.Fatal("Python waiters not woken")
	}
	var set bool
	pyExec(t, h, &set, `result = P.objs['e'].is_set()`)
	require.True(t, set)
	pyExec(t, h, nil, `P.objs['e'].clear(); result = 1`)
	isSet, err := ev.IsSet(ctx)
	require.NoError(t, err)
	require.False(t, isSet)
	// Python's timed wait on an unset Event returns False.
	pyExec(t, h, &set, `result = P.objs['e'].wait(0.05)`)
	require.False(t, set)
	pyExec(t, h, nil, `P.drop('e'); result = 1`)
}

// A Python-created Event: Go waiters are woken by Python's set().
func testEventPythonSet(t *testing.T, h *pytest.Helper) {
	var hd mpqueue.Handles
	pyExec(t, h, &hd, `P.objs['e'] = P.create({"type": "Event"}); result = P.handles(P.objs['e'])`)
	var wg sync.WaitGroup
	var evs []*mpqueue.Event
	for i := 0; i < 2; i++ {
		ev, err := mpqueue.AttachEvent(hd)
		require.NoError(t, err)
		evs = append(evs, ev)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			set, err := ev.Wait(ctx)
			if err != nil || !set {
				t.Errorf("Go wait: %v %v", set, err)
			}
		}()
	}
	cond, err := mpqueue.AttachCondition(*hd.Cond)
	require.NoError(t, err)
	defer cond.Close()
	require.Eventually(t, func() bool {
		var n int
		pyExec(t, h, &n, `c = P.objs['e']._cond; result = c._sleeping_count.get_value() - c._woken_count.get_value(); del c`)
		return n == 2
	}, 10*time.Second, 5*time.Millisecond)
	pyExec(t, h, nil, `P.objs['e'].set(); result = 1`)
	wg.Wait()
	ctx := context.Background()
	set, err := evs[0].IsSet(ctx)
	require.NoError(t, err)
	require.True(t, set)
	for _, ev := range evs {
		require.NoError(t, ev.Close())
	}
	pyExec(t, h, nil, `P.drop('e'); result = 1`)
}

// Condition: Go notifies a Python waiter, Python notifies a Go waiter, and
// a Python waiter that timed out does not make a Go notify block.
func testConditionBothWays(t *testing.T, h *pytest.Helper, prefix string) {
	c, err := mpqueue.NewCondition(nil, &mpqueue.Options{Prefix: prefix})
	require.NoError(t, err)
	defer c.Close()
	pyExec(t, h, nil, `P.objs['c'] = P.build(json.loads(%q)); result = 1`, handlesJSON(t, c.Handles()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	done := pyAsync(h, `
c = P.objs['c']
with c:
    assert c.wait(30)
result = 1`)
	require.Eventually(t, func() bool { return condSleepers(t, c) == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, c.Acquire(ctx))
	require.NoError(t, c.Notify(ctx, 1))
	require.NoError(t, c.Release())
	recvWithin(t, done, 30*time.Second)

	got := make(chan error, 1)
	go func() {
		if err := c.Acquire(ctx); err != nil {
			got <- err
			return
		}
		err := c.Wait(ctx)
		_ = c.Release()
		got <- err
	}()
	require.Eventually(t, func() bool { return condSleepers(t, c) == 1 }, 10*time.Second, time.Millisecond)
	pyExec(t, h, nil, `
c = P.objs['c']
with c:
    c.notify()
result = 1`)
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Python notify did not wake the Go waiter")
	}

	var r bool
	pyExec(t, h, &r, `
c = P.objs['c']
with c:
    result = c.wait(0.05)`)
	require.False(t, r)
	nctx, ncancel := context.WithTimeout(ctx, 5*time.Second)
	defer ncancel()
	require.NoError(t, c.Acquire(nctx))
	require.NoError(t, c.NotifyAll(nctx), "the timed-out Python waiter is accounted for")
	require.NoError(t, c.Release())
	pyExec(t, h, nil, `P.drop('c'); result = 1`)
}

// condSleepers is sleeping_count - woken_count, read through new mappings.
func condSleepers(t *testing.T, c *mpqueue.Condition) int {
	hd := c.Handles()
	s, err := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: semlock.ValueMax, Name: hd.Sleeping})
	require.NoError(t, err)
	defer s.Close()
	w, err := semlock.Rebuild(semlock.State{Kind: semlock.Semaphore, MaxValue: semlock.ValueMax, Name: hd.Woken})
	require.NoError(t, err)
	defer w.Close()
	return s.Value() - w.Value()
}

// Go and Python take turns 300 times through one Condition(Lock()) and a
// shared turn word: each waits for its turn with wait_for, flips the turn
// and notifies. A single lost wake-up stalls the exchange.
func testConditionPingPong(t *testing.T, h *pytest.Helper, prefix string) {
	const rounds = 300
	lock, err := mpqueue.NewLock(&mpqueue.Options{Prefix: prefix})
	require.NoError(t, err)
	c, err := mpqueue.NewCondition(lock, &mpqueue.Options{Prefix: prefix})
	require.NoError(t, err)
	defer c.Close()
	turnFile := filepath.Join(semlock.ShmDir, "sem."+prefix[1:]+"-turn")
	require.NoError(t, os.WriteFile(turnFile, make([]byte, 8), 0o600))
	defer os.Remove(turnFile)
	f, err := os.OpenFile(turnFile, os.O_RDWR, 0)
	require.NoError(t, err)
	mem, err := unix.Mmap(int(f.Fd()), 0, 8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	f.Close()
	require.NoError(t, err)
	defer unix.Munmap(mem)

	done := pyAsync(h, `
import mmap, os, struct
c = P.build(json.loads(%q))
fd = os.open(%q, os.O_RDWR); m = mmap.mmap(fd, 8); os.close(fd)
turn = lambda: struct.unpack_from("<q", m, 0)[0]
for i in range(%d):
    with c:
        assert c.wait_for(lambda: turn() %% 2 == 1, 30), "python: lost wake-up at round %%d" %% i
        struct.pack_into("<q", m, 0, turn() + 1)
        c.notify_all()
del c
m.close()
result = 1`, handlesJSON(t, c.Handles()), turnFile, rounds)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	turn := func() uint64 { return binary.LittleEndian.Uint64(mem) }
	for i := 0; i < rounds; i++ {
		require.NoError(t, c.Acquire(ctx))
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		ok, err := c.WaitFor(rctx, func() bool { return turn()%2 == 0 })
		rcancel()
		require.True(t, ok, "go: lost wake-up at round %d: %v", i, err)
		binary.LittleEndian.PutUint64(mem, turn()+1)
		require.NoError(t, c.NotifyAll(ctx))
		require.NoError(t, c.Release())
	}
	recvWithin(t, done, 60*time.Second)
	require.Equal(t, uint64(2*rounds), turn())
	require.NoError(t, ctx.Err())
}
