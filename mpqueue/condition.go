//go:build linux

package mpqueue

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// ErrNotHeld is CPython's AssertionError from Condition.wait and notify
// ("must acquire() condition before using wait()", "lock is not owned"):
// the condition's lock is not held by this process.
var ErrNotHeld = errors.New("mpqueue: condition's lock is not held")

// Condition is multiprocessing.synchronize.Condition: a lock (an RLock by
// default) and three Semaphore(0)s — sleeping_count, woken_count and
// wait_semaphore. Wait and Notify run CPython's hand-shake on them step for
// step, so Go and Python waiters and notifiers of one Condition cooperate:
// a notifier waits until each sleeper it woke has acknowledged through
// woken_count, and sleepers that timed out are accounted for first.
type Condition struct {
	lock     *semlock.SemLock
	lockObj  SemLocker
	sleeping *semlock.SemLock
	woken    *semlock.SemLock
	wait     *semlock.SemLock
}

// NewCondition creates a Condition over lock (a *Lock or *RLock), or over
// a new RLock when lock is nil, with three new Semaphore(0)s. The Condition
// takes ownership of lock: Close closes it.
func NewCondition(lock SemLocker, opts *Options) (*Condition, error) {
	c := &Condition{}
	if lock == nil {
		rl, err := NewRLock(opts)
		if err != nil {
			return nil, err
		}
		lock = rl
	}
	c.lockObj, c.lock = lock, lock.SemLock()
	for _, p := range []**semlock.SemLock{&c.sleeping, &c.woken, &c.wait} {
		s, err := NewSemaphore(0, opts)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		*p = s.sl
	}
	return c, nil
}

// Lock returns the condition's lock (a *Lock or *RLock).
func (c *Condition) Lock() SemLocker { return c.lockObj }

// Acquire acquires the condition's lock.
func (c *Condition) Acquire(ctx context.Context) error { return c.lock.Acquire(ctx) }

// Release releases the condition's lock.
func (c *Condition) Release() error { return c.lock.Release() }

// Wait releases the lock, waits for a notification or for the context to
// end, and re-acquires the lock before returning (even when the context has
// ended, as Python does). The lock must be held (ErrNotHeld). A deadline
// that passes gives an error wrapping mpbridge.ErrTimeout: Python's
// wait(timeout) returning False.
func (c *Condition) Wait(ctx context.Context) error {
	if !c.lock.IsMine() {
		return ErrNotHeld
	}
	// Indicate that this thread is going to sleep.
	if err := c.sleeping.Release(); err != nil {
		return err
	}
	count := c.lock.Count()
	for range count {
		if err := c.lock.Release(); err != nil {
			return err
		}
	}
	werr := c.wait.Acquire(ctx)
	// Indicate that this thread has woken, then re-acquire the lock.
	err := c.woken.Release()
	for range count {
		if aerr := c.lock.Acquire(context.Background()); aerr != nil && err == nil {
			err = aerr
		}
	}
	if werr != nil {
		return werr
	}
	return err
}

// WaitFor waits until pred returns true (checked with the lock held) or the
// context ends, like Condition.wait_for; it returns pred's last result.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) (bool, error) {
	for !pred() {
		if err := c.Wait(ctx); err != nil {
			return pred(), err
		}
	}
	return true, nil
}

// Notify wakes up to n waiters and waits until each has acknowledged
// (CPython's notify). The lock must be held. The context bounds the wait
// for acknowledgements, which never ends if a woken Python waiter died
// before acknowledging; when it ends the error wraps mpbridge.ErrTimeout.
func (c *Condition) Notify(ctx context.Context, n int) error {
	if !c.lock.IsMine() {
		return ErrNotHeld
	}
	if c.wait.TryAcquire() {
		return fmt.Errorf("mpqueue: notify: should not have been able to acquire wait_semaphore")
	}
	// Account for sleepers that timed out since the last notify.
	for c.woken.TryAcquire() {
		if !c.sleeping.TryAcquire() {
			return fmt.Errorf("mpqueue: notify: bug in sleeping_count accounting")
		}
	}
	sleepers := 0
	for sleepers < n && c.sleeping.TryAcquire() {
		if err := c.wait.Release(); err != nil { // wake up one sleeper
			return err
		}
		sleepers++
	}
	if sleepers == 0 {
		return nil
	}
	for range sleepers {
		if err := c.woken.Acquire(ctx); err != nil { // wait for a sleeper to wake
			return fmt.Errorf("mpqueue: notify: waiting for woken sleepers: %w", err)
		}
	}
	// Re-zero wait_semaphore in case some timeouts just happened.
	for c.wait.TryAcquire() {
	}
	return nil
}

// NotifyAll wakes every waiter (notify(sys.maxsize)).
func (c *Condition) NotifyAll(ctx context.Context) error { return c.Notify(ctx, math.MaxInt) }

// Handles describes the Condition for Attach or a Python peer.
func (c *Condition) Handles() Handles {
	lh := Handles{Type: TypeRLock, Name: c.lock.Name(), MaxValue: 1}
	if c.lock.Kind() == semlock.Semaphore {
		lh.Type = TypeLock
	}
	return Handles{Type: TypeCondition, Lock: &lh,
		Sleeping: c.sleeping.Name(), Woken: c.woken.Name(), Wait: c.wait.Name()}
}

// Close closes the lock and the three semaphores; those created in this
// process are unlinked.
func (c *Condition) Close() error {
	return closeAll(c.lock, c.sleeping, c.woken, c.wait)
}
