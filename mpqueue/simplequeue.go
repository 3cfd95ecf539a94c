//go:build linux

package mpqueue

import (
	"context"
	"os"
)

// SimpleQueue is multiprocessing.SimpleQueue: a pipe with a read lock and a
// write lock, and no feeder: Put pickles the item and writes its frame
// under the write lock before returning (so, as in Python, a Put of more
// than the pipe holds waits for a reader).
type SimpleQueue struct {
	*pipeQueue
}

// NewSimpleQueue creates a SimpleQueue with named locks.
func NewSimpleQueue(opts *Options) (*SimpleQueue, error) {
	pq, err := newPipeQueue(opts)
	if err != nil {
		return nil, err
	}
	return &SimpleQueue{pq}, nil
}

// AttachSimpleQueue rebuilds a SimpleQueue from h, adopting its descriptors.
func AttachSimpleQueue(h Handles, opts *Options) (*SimpleQueue, error) {
	if err := h.want(TypeSimpleQueue); err != nil {
		return nil, err
	}
	pq, err := attachPipeQueue(h, opts)
	if err != nil {
		return nil, err
	}
	return &SimpleQueue{pq}, nil
}

// Handles describes the queue for AttachSimpleQueue or a Python peer.
func (q *SimpleQueue) Handles() Handles { return q.handles(q.readerFd()) }

// ProducerHandles is Handles for a process that will only put, as
// Queue.ProducerHandles.
func (q *SimpleQueue) ProducerHandles() Handles { return q.handles(-1) }

func (q *SimpleQueue) handles(reader int) Handles {
	return Handles{Type: TypeSimpleQueue, Reader: reader, Writer: q.w.Fd(),
		RLock: q.rlock.Name(), WLock: q.wlock.Name()}
}

// Files returns the pipe's read and write ends (owned by the queue).
func (q *SimpleQueue) Files() (r, w *os.File) { return q.files() }

// Put pickles item and writes it. The context can cancel the put until the
// first byte of its frame is written; after that the frame is finished.
func (q *SimpleQueue) Put(ctx context.Context, item any) error {
	if err := q.begin(); err != nil {
		return err
	}
	defer q.end()
	frame, err := encode(item)
	if err != nil {
		return err
	}
	if err := q.acquire(ctx, q.wlock, context.DeadlineExceeded); err != nil {
		return err
	}
	w := &waiter{ctx: ctx, closing: q.closing}
	done, _, sr, err := q.w.writeFrames(w, []*outFrame{frame}, 0)
	if done == 1 {
		frame.recycle()
	}
	if rerr := q.wlock.Release(); err == nil {
		err = rerr
	}
	if err == nil && sr != stopNone {
		err = stopErr(sr, ctx, context.DeadlineExceeded)
	}
	return err
}

// Get removes and returns the next item, waiting as long as ctx allows (a
// deadline gives an error wrapping mpbridge.ErrEmpty).
func (q *SimpleQueue) Get(ctx context.Context) (any, error) {
	if err := q.begin(); err != nil {
		return nil, err
	}
	defer q.end()
	data, err := q.getFrame(ctx, false, nil)
	if err != nil {
		return nil, err
	}
	return decode(data)
}

// Empty reports whether no frame is waiting in the pipe.
func (q *SimpleQueue) Empty(ctx context.Context) (bool, error) {
	if err := q.begin(); err != nil {
		return false, err
	}
	defer q.end()
	return q.empty()
}

// Close closes the pipe ends and the locks (unlinking those created here).
func (q *SimpleQueue) Close() error {
	if !q.shutdown() {
		return nil
	}
	return q.release()
}
