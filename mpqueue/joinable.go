//go:build linux

package mpqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// JoinableQueue is multiprocessing.JoinableQueue: a Queue plus an
// unfinished-tasks Semaphore and a Condition. Every put counts a task (under
// the condition's lock, as CPython does), TaskDone uncounts one and wakes
// joiners at zero, and Join waits for zero — across Go and Python processes.
type JoinableQueue struct {
	*Queue
	cond       *Condition
	unfinished *semlock.SemLock
}

var _ mpbridge.JoinableQueue = (*JoinableQueue)(nil)

// NewJoinable creates a JoinableQueue with room for maxsize items
// (maxsize <= 0: no limit).
func NewJoinable(maxsize int, opts *Options) (*JoinableQueue, error) {
	q, err := New(maxsize, opts)
	if err != nil {
		return nil, err
	}
	unfinished, err := NewSemaphore(0, opts)
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	cond, err := NewCondition(nil, opts)
	if err != nil {
		_ = unfinished.Close()
		_ = q.Close()
		return nil, err
	}
	return &JoinableQueue{Queue: q, cond: cond, unfinished: unfinished.sl}, nil
}

// AttachJoinable rebuilds a JoinableQueue from h, adopting its descriptors.
func AttachJoinable(h Handles, opts *Options) (*JoinableQueue, error) {
	if err := h.want(TypeJoinableQueue); err != nil {
		return nil, err
	}
	if h.Cond == nil {
		return nil, fmt.Errorf("mpqueue: joinable queue handles without a condition")
	}
	unfinished, err := rebuild(semlock.Semaphore, semlock.ValueMax, h.Unfinished)
	if err != nil {
		return nil, err
	}
	cond, err := AttachCondition(*h.Cond)
	if err != nil {
		_ = unfinished.Close()
		return nil, err
	}
	q, err := attachQueue(h, opts)
	if err != nil {
		_ = cond.Close()
		_ = unfinished.Close()
		return nil, err
	}
	return &JoinableQueue{Queue: q, cond: cond, unfinished: unfinished}, nil
}

// Handles describes the queue for AttachJoinable or a Python peer.
func (q *JoinableQueue) Handles() Handles { return q.joinable(q.Queue.Handles()) }

// ProducerHandles is Handles for a process that will only put, as
// Queue.ProducerHandles.
func (q *JoinableQueue) ProducerHandles() Handles { return q.joinable(q.Queue.ProducerHandles()) }

func (q *JoinableQueue) joinable(h Handles) Handles {
	ch := q.cond.Handles()
	h.Type, h.Cond, h.Unfinished = TypeJoinableQueue, &ch, q.unfinished.Name()
	return h
}

// Put adds item and counts it as an unfinished task.
func (q *JoinableQueue) Put(ctx context.Context, item any) error {
	return q.put(ctx, item, false, q.counted)
}

// PutNowait adds item if a slot is free at once, else fails with ErrFull.
func (q *JoinableQueue) PutNowait(ctx context.Context, item any) error {
	return q.put(ctx, item, true, q.counted)
}

// counted gives the frame to the writer and counts the task, under the
// condition's lock.
func (q *JoinableQueue) counted(ctx context.Context, frame *outFrame) error {
	return q.withCond(ctx, func(context.Context) error {
		if err := q.feeder.give(frame); err != nil {
			return err
		}
		return q.unfinished.Release()
	})
}

// withCond runs f holding the condition's lock; f's context also ends at
// Close.
func (q *JoinableQueue) withCond(ctx context.Context, f func(ctx context.Context) error) error {
	if err := q.acquire(ctx, q.cond.lock, mpbridge.ErrTimeout); err != nil {
		return err
	}
	octx, cancel := q.opCtx(ctx)
	err := f(octx)
	cancel()
	if rerr := q.cond.Release(); err == nil {
		err = rerr
	}
	return err
}

// TaskDone marks one task done; at zero it wakes every joiner. More calls
// than puts fail with ErrTaskDone.
func (q *JoinableQueue) TaskDone(ctx context.Context) error {
	if err := q.begin(); err != nil {
		return err
	}
	defer q.end()
	return q.withCond(ctx, func(ctx context.Context) error {
		if !q.unfinished.TryAcquire() {
			return ErrTaskDone
		}
		if q.unfinished.IsZero() {
			return q.cond.NotifyAll(ctx)
		}
		return nil
	})
}

// Join waits until every task put (by any process) has been marked done.
// A deadline that passes gives an error wrapping mpbridge.ErrTimeout.
func (q *JoinableQueue) Join(ctx context.Context) error {
	if err := q.begin(); err != nil {
		return err
	}
	defer q.end()
	return q.withCond(ctx, func(octx context.Context) error {
		if q.unfinished.IsZero() {
			return nil
		}
		if err := q.cond.Wait(octx); err != nil {
			return semErr(octx, err, mpbridge.ErrTimeout)
		}
		return nil
	})
}

// Unfinished returns the number of tasks put and not yet marked done.
func (q *JoinableQueue) Unfinished() int { return q.unfinished.Value() }

// Close closes the queue like Queue.Close; the tasks of the items it
// returns undelivered are uncounted (waking joiners at zero).
func (q *JoinableQueue) Close() error {
	err := q.Queue.Close()
	var ue *UndeliveredError
	if errors.As(err, &ue) && len(ue.Items) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if q.cond.Acquire(ctx) == nil {
			for range ue.Items {
				q.unfinished.TryAcquire()
			}
			if q.unfinished.IsZero() {
				_ = q.cond.NotifyAll(ctx)
			}
			_ = q.cond.Release()
		}
		cancel()
	}
	return errors.Join(err, q.cond.Close(), q.unfinished.Close())
}
