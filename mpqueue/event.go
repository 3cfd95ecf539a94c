//go:build linux

package mpqueue

import (
	"context"
	"errors"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Event is multiprocessing.synchronize.Event: a Condition over a Lock and a
// flag Semaphore(0) whose value is 1 while the event is set. Set wakes Go
// and Python waiters alike.
type Event struct {
	cond *Condition
	flag *semlock.SemLock
}

// NewEvent creates an unset Event (five new named semaphores).
func NewEvent(opts *Options) (*Event, error) {
	lock, err := NewLock(opts)
	if err != nil {
		return nil, err
	}
	cond, err := NewCondition(lock, opts)
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	flag, err := NewSemaphore(0, opts)
	if err != nil {
		_ = cond.Close()
		return nil, err
	}
	return &Event{cond: cond, flag: flag.sl}, nil
}

// locked runs f with the condition's lock held.
func (e *Event) locked(ctx context.Context, f func() error) error {
	if err := e.cond.Acquire(ctx); err != nil {
		return err
	}
	err := f()
	if rerr := e.cond.Release(); err == nil {
		err = rerr
	}
	return err
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet(ctx context.Context) (bool, error) {
	set := false
	err := e.locked(ctx, func() error {
		if e.flag.TryAcquire() {
			set = true
			return e.flag.Release()
		}
		return nil
	})
	return set, err
}

// Set sets the flag and wakes every waiter, waiting (within ctx) until
// each has acknowledged, as CPython's notify_all does.
func (e *Event) Set(ctx context.Context) error {
	return e.locked(ctx, func() error {
		e.flag.TryAcquire()
		if err := e.flag.Release(); err != nil {
			return err
		}
		return e.cond.NotifyAll(ctx)
	})
}

// Clear resets the flag.
func (e *Event) Clear(ctx context.Context) error {
	return e.locked(ctx, func() error {
		e.flag.TryAcquire()
		return nil
	})
}

// Wait waits until the flag is set or the context ends and reports whether
// it is set. When the deadline passes with the flag unset it returns false
// and an error wrapping mpbridge.ErrTimeout (Python's wait returning False);
// false with a nil error means the event was set and cleared again before
// this waiter looked.
func (e *Event) Wait(ctx context.Context) (bool, error) {
	set := false
	err := e.locked(ctx, func() error {
		var werr error
		if e.flag.TryAcquire() {
			if err := e.flag.Release(); err != nil {
				return err
			}
		} else {
			werr = e.cond.Wait(ctx)
		}
		if e.flag.TryAcquire() {
			set = true
			return e.flag.Release()
		}
		return werr // nil: woken, but cleared again before we looked
	})
	if set {
		return true, nil
	}
	return false, err
}

// Handles describes the Event for Attach or a Python peer.
func (e *Event) Handles() Handles {
	ch := e.cond.Handles()
	return Handles{Type: TypeEvent, Cond: &ch, Flag: e.flag.Name()}
}

// Close closes the five semaphores, unlinking those created here.
func (e *Event) Close() error {
	return errors.Join(e.cond.Close(), e.flag.Close())
}
