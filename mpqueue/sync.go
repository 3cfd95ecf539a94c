//go:build linux

package mpqueue

import (
	"context"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Python's class names, used as Handles.Type and in pickles.
const (
	TypeLock             = "Lock"
	TypeRLock            = "RLock"
	TypeSemaphore        = "Semaphore"
	TypeBoundedSemaphore = "BoundedSemaphore"
	TypeCondition        = "Condition"
	TypeEvent            = "Event"
	TypeQueue            = "Queue"
	TypeSimpleQueue      = "SimpleQueue"
	TypeJoinableQueue    = "JoinableQueue"
)

// SemLocker is implemented by the types built on one SemLock (Lock, RLock,
// Semaphore, BoundedSemaphore); a Condition accepts a Lock or an RLock.
type SemLocker interface {
	SemLock() *semlock.SemLock
}

// semBase holds the one SemLock of Lock, RLock, Semaphore and
// BoundedSemaphore and gives them synchronize.SemLock's methods.
type semBase struct {
	sl  *semlock.SemLock
	typ string
}

// Acquire waits for the lock or semaphore as long as ctx allows; a deadline
// that passes gives an error wrapping mpbridge.ErrTimeout (Python's
// acquire(True, timeout) returning False).
func (b *semBase) Acquire(ctx context.Context) error { return b.sl.Acquire(ctx) }

// TryAcquire is acquire(False).
func (b *semBase) TryAcquire() bool { return b.sl.TryAcquire() }

// Release is release(): see semlock.SemLock.Release for the checks made.
func (b *semBase) Release() error { return b.sl.Release() }

// SemLock returns the underlying SemLock.
func (b *semBase) SemLock() *semlock.SemLock { return b.sl }

// Handles describes the object for Attach or a Python peer.
func (b *semBase) Handles() Handles {
	return Handles{Type: b.typ, Name: b.sl.Name(), MaxValue: b.sl.MaxValue()}
}

// Close unmaps the semaphore, and unlinks it if this process created it.
func (b *semBase) Close() error { return b.sl.Close() }

// Lock is multiprocessing.synchronize.Lock: a SEMAPHORE SemLock with value
// 1 and maxvalue 1. It may be released by any process.
type Lock struct{ semBase }

// RLock is multiprocessing.synchronize.RLock: a RECURSIVE_MUTEX SemLock.
// Python holders may recurse; in Go it is owned by this process and does not
// recurse (see package semlock).
type RLock struct{ semBase }

// Semaphore is multiprocessing.synchronize.Semaphore (maxvalue
// SEM_VALUE_MAX).
type Semaphore struct{ semBase }

// BoundedSemaphore is multiprocessing.synchronize.BoundedSemaphore: a
// Semaphore whose maxvalue is its initial value.
type BoundedSemaphore struct{ Semaphore }

// GetValue returns the semaphore's value (get_value()).
func (s *Semaphore) GetValue() int { return s.sl.Value() }

// NewLock creates a Lock with a new named semaphore.
func NewLock(opts *Options) (*Lock, error) {
	sl, err := semlock.New(semlock.Semaphore, 1, 1, opts.sem())
	if err != nil {
		return nil, err
	}
	return &Lock{semBase{sl, TypeLock}}, nil
}

// NewRLock creates an RLock with a new named semaphore.
func NewRLock(opts *Options) (*RLock, error) {
	sl, err := semlock.New(semlock.RecursiveMutex, 1, 1, opts.sem())
	if err != nil {
		return nil, err
	}
	return &RLock{semBase{sl, TypeRLock}}, nil
}

// NewSemaphore creates a Semaphore with the given initial value.
func NewSemaphore(value int, opts *Options) (*Semaphore, error) {
	sl, err := semlock.New(semlock.Semaphore, value, semlock.ValueMax, opts.sem())
	if err != nil {
		return nil, err
	}
	return &Semaphore{semBase{sl, TypeSemaphore}}, nil
}

// NewBoundedSemaphore creates a BoundedSemaphore with value and maxvalue
// both set to value.
func NewBoundedSemaphore(value int, opts *Options) (*BoundedSemaphore, error) {
	sl, err := semlock.New(semlock.Semaphore, value, value, opts.sem())
	if err != nil {
		return nil, err
	}
	return &BoundedSemaphore{Semaphore{semBase{sl, TypeBoundedSemaphore}}}, nil
}

// closeAll closes every non-nil SemLock and returns the first error.
func closeAll(ls ...*semlock.SemLock) error {
	var first error
	for _, l := range ls {
		if l == nil {
			continue
		}
		if err := l.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
