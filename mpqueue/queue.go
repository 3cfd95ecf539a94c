//go:build linux

package mpqueue

import (
	"context"
	"fmt"
	"os"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Queue is multiprocessing.Queue: a pipe carrying one frame per item,
// a read lock, a write lock, and a BoundedSemaphore counting free slots.
// Go and Python processes may put and get concurrently; each sees the
// items in the order each producer put them.
//
// Put pickles the item at once (a value that cannot be pickled is an error
// from Put, not a traceback from a feeder thread), takes a slot, and hands
// the frame to the queue's writer: it writes the frame itself when the pipe
// has room and nothing is waiting, otherwise a feeder goroutine writes it
// under the write lock. Put therefore returns without waiting for a reader,
// as in Python, so Put(big) followed by Get in one goroutine works. Flush
// waits for the writer to finish; Close returns what it could not write.
//
// Get takes the read lock, reads one frame, releases the slot and the
// lock, then unpickles. While the read end has never left this process (a
// queue made by New whose children got ProducerHandles), Get reads
// whatever the pipe holds, up to 64 KiB, and returns the next items from
// that without a system call; once the read end is handed out (Handles,
// Files, Reduce), it reads exactly one frame at a time, header then
// payload, never a byte past it, as a reader of a pipe other processes
// read must. All methods are safe for concurrent use.
type Queue struct {
	*pipeQueue
	maxsize int
	sem     *semlock.SemLock
	feeder  feeder
}

var _ mpbridge.Queue = (*Queue)(nil)

// New creates a Queue with room for maxsize items (maxsize <= 0: no limit,
// SEM_VALUE_MAX), with named semaphores so that spawned processes can use it.
func New(maxsize int, opts *Options) (*Queue, error) {
	if maxsize <= 0 || maxsize > semlock.ValueMax {
		maxsize = semlock.ValueMax
	}
	pq, err := newPipeQueue(opts)
	if err != nil {
		return nil, err
	}
	sem, err := semlock.New(semlock.Semaphore, maxsize, maxsize, opts.sem())
	if err != nil {
		pq.release()
		return nil, err
	}
	return newQueue(pq, maxsize, sem), nil
}

func newQueue(pq *pipeQueue, maxsize int, sem *semlock.SemLock) *Queue {
	q := &Queue{pipeQueue: pq, maxsize: maxsize, sem: sem}
	q.feeder.init(pq, sem)
	return q
}

// AttachQueue rebuilds a Queue from h (Type "Queue"): it adopts the
// descriptors h.Reader and h.Writer (closed by Close) and opens the
// semaphores by name.
func AttachQueue(h Handles, opts *Options) (*Queue, error) {
	if err := h.want(TypeQueue); err != nil {
		return nil, err
	}
	return attachQueue(h, opts)
}

func attachQueue(h Handles, opts *Options) (*Queue, error) {
	if h.Maxsize <= 0 || h.Maxsize > semlock.ValueMax {
		return nil, fmt.Errorf("mpqueue: maxsize %d out of range", h.Maxsize)
	}
	sem, err := rebuild(semlock.Semaphore, h.Maxsize, h.Sem)
	if err != nil {
		return nil, err
	}
	pq, err := attachPipeQueue(h, opts)
	if err != nil {
		sem.Close()
		return nil, err
	}
	return newQueue(pq, h.Maxsize, sem), nil
}

// Handles describes the queue for AttachQueue in another process or a
// Python peer; Reader and Writer are this process's descriptor numbers.
func (q *Queue) Handles() Handles { return q.handles(q.readerFd()) }

// ProducerHandles is Handles for a process that will only put: Reader is
// -1, and the child is given only WriterFile. This process then stays the
// queue's only reader, which lets its Get read ahead — many items per
// system call instead of two calls per item. A queue attached from these
// handles has no read end: Get and Empty fail with an error matching
// mpbridge.ErrClosed. Python's Queue needs both ends; give it Handles.
func (q *Queue) ProducerHandles() Handles { return q.handles(-1) }

func (q *Queue) handles(reader int) Handles {
	return Handles{Type: TypeQueue, Maxsize: q.maxsize, Reader: reader, Writer: q.w.Fd(),
		RLock: q.rlock.Name(), WLock: q.wlock.Name(), Sem: q.sem.Name()}
}

// Files returns the pipe's read and write ends (owned by the queue), e.g.
// to pass them to a child through exec.Cmd.ExtraFiles. The read end is
// presumed shared from then on (see ProducerHandles and WriterFile for a
// child that only puts); r is nil for a queue attached without it.
func (q *Queue) Files() (r, w *os.File) { return q.files() }

// Maxsize returns the capacity (SEM_VALUE_MAX when unbounded).
func (q *Queue) Maxsize() int { return q.maxsize }

// Put adds item, waiting for a free slot as long as ctx allows; a deadline
// that passes gives an error wrapping mpbridge.ErrFull. The context can
// cancel a put only while it waits for a slot, before any byte of the item
// is written.
func (q *Queue) Put(ctx context.Context, item any) error { return q.put(ctx, item, false, nil) }

// PutNowait adds item if a slot is free at once, else fails with ErrFull.
func (q *Queue) PutNowait(ctx context.Context, item any) error { return q.put(ctx, item, true, nil) }

// put takes a slot, then gives the frame to the writer; counted, if not
// nil, does that instead (JoinableQueue's accounting around it).
func (q *Queue) put(ctx context.Context, item any, nowait bool, counted func(ctx context.Context, frame *outFrame) error) error {
	if err := q.begin(); err != nil {
		return err
	}
	defer q.end()
	frame, err := encode(item)
	if err != nil {
		return err
	}
	if nowait && !q.sem.TryAcquire() {
		return fmt.Errorf("%w (no free slot)", mpbridge.ErrFull)
	} else if !nowait {
		if err := q.acquire(ctx, q.sem, mpbridge.ErrFull); err != nil {
			return err
		}
	}
	if counted != nil {
		err = counted(ctx, frame)
	} else {
		err = q.feeder.give(frame)
	}
	if err != nil {
		_ = q.sem.Release()
	}
	return err
}

// Get removes and returns the next item, waiting as long as ctx allows; a
// deadline that passes gives an error wrapping mpbridge.ErrEmpty. A frame
// that does not unpickle is consumed and reported as a *CorruptError
// holding its bytes.
func (q *Queue) Get(ctx context.Context) (any, error) { return q.get(ctx, false) }

// GetNowait returns the next item if one is available at once, else fails
// with ErrEmpty.
func (q *Queue) GetNowait(ctx context.Context) (any, error) { return q.get(ctx, true) }

func (q *Queue) get(ctx context.Context, nowait bool) (any, error) {
	data, err := q.GetBytes(ctx, nowait)
	if err != nil {
		return nil, err
	}
	return decode(data)
}

// GetBytes is Get without the unpickling: it returns the frame's payload,
// a pickle. nowait makes it GetNowait.
func (q *Queue) GetBytes(ctx context.Context, nowait bool) ([]byte, error) {
	if err := q.begin(); err != nil {
		return nil, err
	}
	defer q.end()
	return q.getFrame(ctx, nowait, q.sem)
}

// Qsize is maxsize minus the free slots: the items in the pipe plus those
// handed to writers but not yet written, in every process.
func (q *Queue) Qsize(ctx context.Context) (int, error) {
	if err := q.begin(); err != nil {
		return 0, err
	}
	defer q.end()
	return q.maxsize - q.sem.Value(), nil
}

// Empty reports whether no frame is waiting in the pipe (it may be true
// just after a Put whose frame the feeder has not yet written).
func (q *Queue) Empty(ctx context.Context) (bool, error) {
	if err := q.begin(); err != nil {
		return false, err
	}
	defer q.end()
	return q.empty()
}

// Full reports whether no slot is free.
func (q *Queue) Full(ctx context.Context) (bool, error) {
	if err := q.begin(); err != nil {
		return false, err
	}
	defer q.end()
	return q.sem.IsZero(), nil
}

// Flush waits until every item put by this process has been written to the
// pipe. If ctx ends first, or writing failed, it returns an
// *UndeliveredError listing the items not yet written; they stay queued
// unless writing failed, and Close returns them if they are never written.
func (q *Queue) Flush(ctx context.Context) error { return q.feeder.flush(ctx) }

// Close stops the queue: Put and Get fail with ErrClosed from then on.
// Items that were handed to the writer but not yet written are withdrawn
// and returned in an *UndeliveredError (their slots are released), so
// nothing is lost silently; call Flush first to deliver them. A frame
// already started is finished in the background, so the pipe stays in step
// for other processes. Descriptors are closed and semaphores created here
// are unlinked once the writer is done.
func (q *Queue) Close() error {
	if !q.shutdown() {
		return nil
	}
	undelivered, writerDone := q.feeder.stop()
	// The read end goes now (a feeder blocked on a pipe nobody else reads
	// then fails with EPIPE); the write end and its lock when the writer
	// has finished.
	_ = q.releaseReader()
	finish := func() { _ = q.releaseWriter(); _ = q.sem.Close() }
	select {
	case <-writerDone:
		finish()
	default:
		go func() { <-writerDone; finish() }()
	}
	if len(undelivered) > 0 {
		return &UndeliveredError{Items: undelivered, Err: errClosed}
	}
	return nil
}
