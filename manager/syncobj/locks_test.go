package syncobj

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

// slack is how late a timed-out call may return.
const slack = 50 * time.Millisecond

// timed runs a call expected to time out after d and checks it returned
// no earlier than d and at most slack later. A machine too busy to
// schedule us in time gets three tries.
func timed(t *testing.T, d time.Duration, call func() string, want string, before ...func()) {
	t.Helper()
	var late time.Duration
	for range 3 {
		for _, b := range before {
			b()
		}
		start := time.Now()
		got := call()
		el := time.Since(start)
		require.Equal(t, want, got)
		require.GreaterOrEqual(t, el, d, "returned early")
		if el <= d+slack {
			return
		}
		late = el - d
	}
	t.Fatalf("timeout of %v honoured %v late, more than %v", d, late, slack)
}

func call(o Object, owner Owner, method string, args ...any) string {
	res, err := o.Call(context.Background(), owner, method, pickle.Tuple(args), nil)
	return describe(res, err)
}

func callKw(o Object, owner Owner, method string, kwargs *pickle.Dict, args ...any) string {
	res, err := o.Call(context.Background(), owner, method, pickle.Tuple(args), kwargs)
	return describe(res, err)
}

func TestLockArgs(t *testing.T) {
	for _, mk := range []func() Object{func() Object { return NewLock() }, func() Object { return NewRLock() }} {
		l := mk()
		require.Equal(t, "ValueError: can't specify a timeout for a non-blocking call", call(l, 1, "acquire", false, int64(1)))
		require.Equal(t, "ValueError: timeout value must be a non-negative number", call(l, 1, "acquire", true, int64(-2)))
		require.Equal(t, "TypeError: 'NoneType' object cannot be interpreted as an integer", call(l, 1, "acquire", true, nil))
		require.Equal(t, "OverflowError: timestamp out of range for platform time_t", call(l, 1, "acquire", true, 1e100))
		require.Equal(t, "ValueError: Invalid value NaN (not a number)", call(l, 1, "acquire", true, nan()))
		require.Equal(t, "TypeError: acquire() takes at most 2 arguments (3 given)", call(l, 1, "acquire", int64(1), int64(2), int64(3)))
		require.Equal(t, "TypeError: acquire() got an unexpected keyword argument 'foo'", callKw(l, 1, "acquire", kw("foo", int64(1))))
		require.Equal(t, "OK True", call(l, 1, "acquire", false, int64(-1)))
	}
}

func TestLock(t *testing.T) {
	l := NewLock()
	require.Equal(t, "RuntimeError: release unlocked lock", call(l, 1, "release"))
	require.Equal(t, "OK True", call(l, 1, "acquire"))
	require.Equal(t, "OK False", call(l, 1, "acquire", false))
	require.Equal(t, "OK False", call(l, 2, "acquire", true, int64(0)))
	timed(t, 100*time.Millisecond, func() string { return callKw(l, 2, "acquire", kw("timeout", 0.1)) }, "OK False")
	// A Lock has no owner: anyone may release it.
	require.Equal(t, "OK None", call(l, 2, "release"))
	require.Equal(t, "<unlocked _thread.lock object>", l.Repr())
	_, picklable := Object(l).(Valuer)
	require.False(t, picklable, "a lock cannot be copied to the client")
}

func TestLockCancel(t *testing.T) {
	l := NewLock()
	require.Equal(t, "OK True", call(l, 1, "acquire"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := l.Call(ctx, 2, "acquire", nil, nil)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(time.Second):
		t.Fatal("cancelled acquire did not return")
	}
	// The cancelled waiter took nothing: one release frees the lock.
	require.Equal(t, "OK None", call(l, 1, "release"))
	require.Equal(t, "OK True", call(l, 3, "acquire", false))
}

// TestLockMutualExclusion has goroutines increment a counter under the
// lock: every increment must survive, and the race detector must agree.
func TestLockMutualExclusion(t *testing.T) {
	for name, l := range map[string]Object{"Lock": NewLock(), "RLock": NewRLock(), "Semaphore": mustObj[*Semaphore](t)(NewSemaphore(false, nil, nil))} {
		t.Run(name, func(t *testing.T) {
			counter := 0
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 200 {
						if got := call(l, g, "acquire"); got != "OK True" {
							t.Error(got)
							return
						}
						counter++
						if got := call(l, g, "release"); got != "OK None" {
							t.Error(got)
							return
						}
					}
				}()
			}
			wg.Wait()
			require.Equal(t, 8*200, counter)
		})
	}
}

func TestRLock(t *testing.T) {
	l := NewRLock()
	require.Equal(t, "RuntimeError: cannot release un-acquired lock", call(l, "a", "release"))
	require.Equal(t, "OK True", call(l, "a", "acquire"))
	require.Equal(t, "OK True", call(l, "a", "acquire", false))
	require.Equal(t, "OK False", call(l, "b", "acquire", false))
	require.Equal(t, "RuntimeError: cannot release un-acquired lock", call(l, "b", "release"))
	require.Equal(t, "<locked _thread.RLock object count=2>", l.Repr())
	timed(t, 60*time.Millisecond, func() string { return call(l, "b", "acquire", true, 0.06) }, "OK False")
	require.Equal(t, "OK None", call(l, "a", "release"))
	require.Equal(t, "OK False", call(l, "b", "acquire", false))
	// b waits; a's last release hands the lock to b.
	got := make(chan string)
	go func() { got <- call(l, "b", "acquire") }()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, "OK None", call(l, "a", "release"))
	require.Equal(t, "OK True", <-got)
	require.Equal(t, "RuntimeError: cannot release un-acquired lock", call(l, "a", "release"))
	// An owner that goes away releases what it held.
	l.ReleaseOwner("a")
	require.Equal(t, "OK False", call(l, "a", "acquire", false))
	l.ReleaseOwner("b")
	require.Equal(t, "OK True", call(l, "a", "acquire", false))
}

func TestSemaphore(t *testing.T) {
	_, err := NewSemaphore(false, tuple(int64(-1)), nil)
	require.Equal(t, "ValueError: semaphore initial value must be >= 0", describe(nil, err))
	s := mustObj[*Semaphore](t)(NewSemaphore(false, tuple(int64(2)), nil))
	require.Equal(t, "ValueError: can't specify timeout for non-blocking acquire", call(s, 1, "acquire", false, int64(1)))
	require.Equal(t, "ValueError: n must be one or more", call(s, 1, "release", int64(0)))
	require.Equal(t, "TypeError: Semaphore.acquire() takes from 1 to 3 positional arguments but 4 were given", call(s, 1, "acquire", true, nil, nil))
	require.Equal(t, "OK True", call(s, 1, "acquire"))
	require.Equal(t, "OK True", call(s, 2, "acquire"))
	require.Equal(t, "OK False", call(s, 1, "acquire", false))
	timed(t, 50*time.Millisecond, func() string { return call(s, 1, "acquire", true, 0.05) }, "OK False")
	require.Equal(t, "OK False", call(s, 1, "acquire", true, int64(-1)))
	require.Equal(t, "<threading.Semaphore: value=0>", s.Repr())
	// release(n) wakes n waiters.
	var wg sync.WaitGroup
	var woke atomic.Int32
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if call(s, 3, "acquire", true, 0.2) == "OK True" {
				woke.Add(1)
			}
		}()
	}
	time.Sleep(30 * time.Millisecond)
	require.Equal(t, "OK None", call(s, 1, "release", int64(2)))
	wg.Wait()
	require.EqualValues(t, 2, woke.Load())

	b := mustObj[*Semaphore](t)(NewSemaphore(true, nil, kw("value", int64(1))))
	require.Equal(t, "ValueError: Semaphore released too many times", call(b, 1, "release"))
	require.Equal(t, "OK True", call(b, 1, "acquire"))
	require.Equal(t, "OK None", call(b, 2, "release"))
	require.Equal(t, "<threading.BoundedSemaphore: value=1/1>", b.Repr())
}

func TestEvent(t *testing.T) {
	e := NewEvent()
	require.Equal(t, "OK False", call(e, 1, "is_set"))
	require.Equal(t, "OK False", call(e, 1, "wait", int64(0)))
	require.Equal(t, "OK False", call(e, 1, "wait", int64(-1)))
	require.Equal(t, "TypeError: '>' not supported between instances of 'str' and 'int'", call(e, 1, "wait", "a"))
	timed(t, 80*time.Millisecond, func() string { return call(e, 1, "wait", 0.08) }, "OK False")
	var wg sync.WaitGroup
	results := make([]string, 5)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = call(e, i, "wait") }()
	}
	time.Sleep(30 * time.Millisecond)
	require.Equal(t, "OK None", call(e, 9, "set"))
	// Cleared at once: the waiters were woken by the set and return True.
	require.Equal(t, "OK None", call(e, 9, "clear"))
	wg.Wait()
	for _, r := range results {
		require.Equal(t, "OK True", r)
	}
	require.Equal(t, "<threading.Event: unset>", e.Repr())
}

func TestCondition(t *testing.T) {
	c := mustObj[*Condition](t)(NewCondition(nil))
	require.Equal(t, "RuntimeError: cannot wait on un-acquired lock", call(c, "a", "wait", int64(0)))
	require.Equal(t, "RuntimeError: cannot notify on un-acquired lock", call(c, "a", "notify"))
	require.Equal(t, "RuntimeError: cannot notify on un-acquired lock", call(c, "a", "notify_all"))
	require.Equal(t, "RuntimeError: cannot release un-acquired lock", call(c, "a", "release"))
	require.Equal(t, "OK True", call(c, "a", "acquire"))
	require.Equal(t, "RuntimeError: cannot notify on un-acquired lock", call(c, "b", "notify"))
	require.Equal(t, "OK False", call(c, "a", "wait", int64(0)))
	timed(t, 70*time.Millisecond, func() string { return call(c, "a", "wait", 0.07) }, "OK False")
	// wait releases the (reentrant) lock entirely and restores its count.
	require.Equal(t, "OK True", call(c, "a", "acquire"))
	got := make(chan string)
	go func() { got <- call(c, "a", "wait") }()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, "OK True", call(c, "b", "acquire"))
	require.Equal(t, "OK None", call(c, "b", "notify"))
	require.Equal(t, "OK None", call(c, "b", "release"))
	require.Equal(t, "OK True", <-got)
	require.Equal(t, "OK None", call(c, "a", "release"))
	require.Equal(t, "OK None", call(c, "a", "release"))
	require.Equal(t, "RuntimeError: cannot release un-acquired lock", call(c, "a", "release"))
}

// TestConditionNoLostWakeups runs producers and consumers of a counter
// guarded by a Condition, with waits that time out now and then: every
// item produced must be consumed.
func TestConditionNoLostWakeups(t *testing.T) {
	c := mustObj[*Condition](t)(NewCondition(NewLock()))
	const producers, consumers, per = 4, 4, 100
	var avail, consumed atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				call(c, p, "acquire")
				avail.Add(1)
				call(c, p, "notify")
				call(c, p, "release")
			}
		}()
	}
	for q := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := 100 + q
			for range per {
				call(c, owner, "acquire")
				for avail.Load() == 0 {
					if r := call(c, owner, "wait", 0.001); r != "OK True" && r != "OK False" {
						t.Error(r)
					}
				}
				avail.Add(-1)
				consumed.Add(1)
				call(c, owner, "release")
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, producers*per, consumed.Load())
}

func TestConditionNotifyCount(t *testing.T) {
	c := mustObj[*Condition](t)(NewCondition(nil))
	var wg sync.WaitGroup
	var woke atomic.Int32
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(c, i, "acquire")
			if call(c, i, "wait", 0.2) == "OK True" {
				woke.Add(1)
			}
			call(c, i, "release")
		}()
	}
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.q.len() == 5 }, time.Second, time.Millisecond)
	call(c, "n", "acquire")
	require.Equal(t, "OK None", call(c, "n", "notify", int64(2)))
	require.Equal(t, "OK None", call(c, "n", "notify", 0.5))
	call(c, "n", "release")
	wg.Wait()
	require.EqualValues(t, 3, woke.Load())
}

func TestConditionCancelledWaiterPassesNotification(t *testing.T) {
	c := mustObj[*Condition](t)(NewCondition(nil))
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		c.Call(ctx, "a", "acquire", nil, nil)
		_, err := c.Call(ctx, "a", "wait", nil, nil)
		first <- err
	}()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.q.len() == 1 }, time.Second, time.Millisecond)
	second := make(chan string, 1)
	go func() {
		call(c, "b", "acquire")
		second <- call(c, "b", "wait", int64(5))
		call(c, "b", "release")
	}()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.q.len() == 2 }, time.Second, time.Millisecond)
	call(c, "n", "acquire")
	call(c, "n", "notify")
	cancel() // a is notified and gone at once: b must get the wake-up
	call(c, "n", "release")
	require.Error(t, <-first)
	select {
	case r := <-second:
		// Either a got the notification first and passed it on, or b had it.
		require.Equal(t, "OK True", r)
	case <-time.After(2 * time.Second):
		t.Fatal("notification lost")
	}
	// a never took the lock back.
	require.Equal(t, "OK True", call(c, "z", "acquire", false))
}

func TestBarrier(t *testing.T) {
	_, err := NewBarrier(tuple(int64(0)), nil)
	require.Equal(t, "ValueError: parties must be > 0", describe(nil, err))
	_, err = NewBarrier(tuple(int64(2), pickle.Global{Module: "m", Name: "f"}), nil)
	require.Equal(t, "NotImplementedError: mpbridge cannot run Python code: a Barrier action is not supported", describe(nil, err))
	b := mustObj[*Barrier](t)(NewBarrier(tuple(int64(3)), nil))
	require.Equal(t, "OK 3", call(b, 0, "__getattribute__", "parties"))
	require.Equal(t, "AttributeError: 'Barrier' object has no attribute 'x'", call(b, 0, "__getattribute__", "x"))
	for round := range 3 {
		var wg sync.WaitGroup
		idx := make(chan string, 3)
		for i := range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); idx <- call(b, i, "wait") }()
		}
		wg.Wait()
		close(idx)
		seen := map[string]bool{}
		for s := range idx {
			seen[s] = true
		}
		require.Equal(t, map[string]bool{"OK 0": true, "OK 1": true, "OK 2": true}, seen, "round %d", round)
	}
	require.Equal(t, "OK 0", call(b, 0, "__getattribute__", "n_waiting"))
	// A timeout breaks the barrier for everyone.
	other := make(chan string)
	go func() { other <- call(b, 1, "wait") }()
	require.Eventually(t, func() bool { return call(b, 0, "__getattribute__", "n_waiting") == "OK 1" }, time.Second, time.Millisecond)
	first := true
	timed(t, 60*time.Millisecond, func() string { return call(b, 2, "wait", 0.06) }, "BrokenBarrierError: ", func() {
		if !first { // a retry: the barrier is broken already
			call(b, 0, "reset")
		}
		first = false
	})
	require.Equal(t, "BrokenBarrierError: ", <-other)
	call(b, 2, "abort")
	require.Equal(t, "OK True", call(b, 0, "__getattribute__", "broken"))
	require.Equal(t, "BrokenBarrierError: ", call(b, 0, "wait"))
	require.Equal(t, "OK None", call(b, 0, "reset"))
	require.Equal(t, "OK False", call(b, 0, "__getattribute__", "broken"))
	// reset while a party waits: it gets BrokenBarrierError, the barrier is usable after.
	go func() { other <- call(b, 1, "wait") }()
	require.Eventually(t, func() bool { return call(b, 0, "__getattribute__", "n_waiting") == "OK 1" }, time.Second, time.Millisecond)
	require.Equal(t, "OK None", call(b, 0, "reset"))
	require.Equal(t, "BrokenBarrierError: ", <-other)
	require.Equal(t, "OK False", call(b, 0, "__getattribute__", "broken"))
	go func() { other <- call(b, 1, "wait") }()
	require.Eventually(t, func() bool { return call(b, 0, "__getattribute__", "n_waiting") == "OK 1" }, time.Second, time.Millisecond)
	require.Equal(t, "OK None", call(b, 0, "abort"))
	require.Equal(t, "BrokenBarrierError: ", <-other)
	require.Equal(t, "<threading.Barrier: broken>", b.Repr())
}

// A party whose caller goes away still counts, as its blocked thread
// does in CPython: the others pass.
func TestBarrierGhost(t *testing.T) {
	b := mustObj[*Barrier](t)(NewBarrier(tuple(int64(3)), nil))
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error)
	go func() { _, err := b.Call(ctx, "g", "wait", nil, nil); gone <- err }()
	require.Eventually(t, func() bool { return call(b, 0, "__getattribute__", "n_waiting") == "OK 1" }, time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-gone, context.Canceled)
	require.Equal(t, "OK 1", call(b, 0, "__getattribute__", "n_waiting"))
	res := make(chan string, 2)
	go func() { res <- call(b, 1, "wait") }()
	go func() { res <- call(b, 2, "wait") }()
	a, c := <-res, <-res
	require.ElementsMatch(t, []string{"OK 1", "OK 2"}, []string{a, c})
	require.Equal(t, "OK 0", call(b, 0, "__getattribute__", "n_waiting"))
	require.Equal(t, "OK False", call(b, 0, "__getattribute__", "broken"))

	// A ghost with a timeout breaks the barrier when it passes.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { _, err := b.Call(ctx, "g", "wait", tuple(0.05), nil); gone <- err }()
	require.Eventually(t, func() bool { return call(b, 0, "__getattribute__", "n_waiting") == "OK 1" }, time.Second, time.Millisecond)
	cancel()
	<-gone
	require.Eventually(t, func() bool { return call(b, 0, "__getattribute__", "broken") == "OK True" }, time.Second, 5*time.Millisecond)
}
