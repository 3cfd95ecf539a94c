//go:build linux

package mpqueue

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
)

func TestLockTypes(t *testing.T) {
	l, err := NewLock(testOpts())
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Acquire(context.Background()))
	require.False(t, l.TryAcquire())
	other, err := AttachLock(l.Handles())
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, other.Release(), "a Lock may be released by another process")
	require.True(t, l.TryAcquire())
	require.NoError(t, l.Release())

	rl, err := NewRLock(testOpts())
	require.NoError(t, err)
	defer rl.Close()
	require.Equal(t, Handles{Type: "RLock", Name: rl.SemLock().Name(), MaxValue: 1}, rl.Handles())
	orl, err := AttachRLock(rl.Handles())
	require.NoError(t, err)
	defer orl.Close()
	require.True(t, rl.TryAcquire())
	require.Error(t, orl.Release(), "an RLock is released only by its owner")

	s, err := NewSemaphore(2, testOpts())
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, 2, s.GetValue())
	b, err := NewBoundedSemaphore(1, testOpts())
	require.NoError(t, err)
	defer b.Close()
	require.Error(t, b.Release())
	ob, err := AttachBoundedSemaphore(b.Handles())
	require.NoError(t, err)
	defer ob.Close()
	require.Equal(t, 1, ob.SemLock().MaxValue())

	_, err = AttachLock(s.Handles())
	require.Error(t, err, "type mismatch")
}

func TestConditionNotify(t *testing.T) {
	for _, lockType := range []string{"RLock", "Lock"} {
		t.Run(lockType, func(t *testing.T) {
			var lock SemLocker
			if lockType == "Lock" {
				l, err := NewLock(testOpts())
				require.NoError(t, err)
				lock = l
			}
			c, err := NewCondition(lock, testOpts())
			require.NoError(t, err)
			defer c.Close()
			require.ErrorIs(t, c.Wait(context.Background()), ErrNotHeld)
			require.ErrorIs(t, c.Notify(context.Background(), 1), ErrNotHeld)

			// Three waiters, each through its own attached handle (as
			// separate processes would be).
			var woken atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 3; i++ {
				h, err := AttachCondition(c.Handles())
				require.NoError(t, err)
				defer h.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					if err := h.Acquire(ctx); err != nil {
						t.Error(err)
						return
					}
					if err := h.Wait(ctx); err != nil {
						t.Error(err)
					}
					woken.Add(1)
					if !h.lock.IsMine() {
						t.Error("lock not re-acquired after wait")
					}
					_ = h.Release()
				}()
			}
			require.Eventually(t, func() bool { return c.sleeping.Value() == 3 }, 5*time.Second, time.Millisecond)
			ctx := context.Background()
			require.NoError(t, c.Acquire(ctx))
			require.NoError(t, c.Notify(ctx, 1))
			require.NoError(t, c.Release())
			require.Eventually(t, func() bool { return woken.Load() == 1 }, 5*time.Second, time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			require.Equal(t, int32(1), woken.Load(), "notify(1) woke one waiter")
			require.NoError(t, c.Acquire(ctx))
			require.NoError(t, c.NotifyAll(ctx))
			require.NoError(t, c.Release())
			wg.Wait()
			require.Equal(t, int32(3), woken.Load())
			require.Equal(t, 0, c.wait.Value())
		})
	}
}

func TestConditionWaitTimeout(t *testing.T) {
	c, err := NewCondition(nil, testOpts())
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Acquire(ctx))
	start := time.Now() // before the deadline is set: an exact lower bound
	tctx, cancel := context.WithTimeout(ctx, 80*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.Wait(tctx), mpbridge.ErrTimeout)
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)
	require.True(t, c.lock.IsMine(), "the lock is held again after a timed-out wait")
	// The timed-out sleeper is accounted for: notify does not wait for it.
	nctx, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	require.NoError(t, c.Notify(nctx, 1))
	require.Equal(t, 0, c.sleeping.Value())
	require.Equal(t, 0, c.woken.Value())
	require.NoError(t, c.Release())

	n := 0
	require.NoError(t, c.Acquire(ctx))
	ok, err := c.WaitFor(ctx, func() bool { n++; return n > 0 })
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, c.Release())
}

func TestEvent(t *testing.T) {
	e, err := NewEvent(testOpts())
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	set, err := e.IsSet(ctx)
	require.NoError(t, err)
	require.False(t, set)

	tctx, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancel()
	set, err = e.Wait(tctx)
	require.False(t, set)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)

	var wg sync.WaitGroup
	var woke atomic.Int32
	for i := 0; i < 3; i++ {
		h, err := AttachEvent(e.Handles())
		require.NoError(t, err)
		defer h.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if set, err := h.Wait(ctx); err != nil || !set {
				t.Errorf("wait: %v %v", set, err)
				return
			}
			woke.Add(1)
		}()
	}
	require.Eventually(t, func() bool { return e.cond.sleeping.Value()-e.cond.woken.Value() == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Set(ctx))
	wg.Wait()
	require.Equal(t, int32(3), woke.Load())
	set, err = e.Wait(ctx)
	require.NoError(t, err)
	require.True(t, set)
	require.NoError(t, e.Clear(ctx))
	set, err = e.IsSet(ctx)
	require.NoError(t, err)
	require.False(t, set)
}
