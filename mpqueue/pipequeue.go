//go:build linux

package mpqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
	"github.com/mpbridge/mpbridge/pickle"
)

// pipeQueue is what SimpleQueue and Queue share: the pipe (a reader and a
// writer end, as Python's Pipe(duplex=False)) and the read and write locks.
type pipeQueue struct {
	r, w         *pipeEnd
	rlock, wlock *semlock.SemLock
	maxFrame     int64
	stall        time.Duration

	// soleReader is true while no other process can hold the read end:
	// the queue was made here and its reader never handed out (Handles,
	// Files, Reduce). Get then reads ahead (readFrameAhead).
	soleReader atomic.Bool

	readers   chan struct{} // one reading goroutine at a time (enterRead)
	ops       sync.RWMutex  // held shared by every call, exclusively by Close
	closed    atomic.Bool
	closing   chan struct{} // closed by Close
	closeCtx  context.Context
	closeStop context.CancelFunc
}

func newPipeQueue(opts *Options) (*pipeQueue, error) {
	pq := &pipeQueue{maxFrame: opts.maxFrame(), stall: opts.stallTimeout()}
	var err error
	if pq.rlock, err = semlock.New(semlock.Semaphore, 1, 1, opts.sem()); err != nil {
		return nil, err
	}
	if pq.wlock, err = semlock.New(semlock.Semaphore, 1, 1, opts.sem()); err != nil {
		pq.release()
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		pq.release()
		return nil, fmt.Errorf("mpqueue: pipe: %w", err)
	}
	if err := pq.adopt(r, w); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	pq.soleReader.Store(true)
	return pq, nil
}

// attachPipeQueue adopts the descriptors and opens the locks named in h.
// A negative h.Reader (ProducerHandles) leaves the queue without a read end.
func attachPipeQueue(h Handles, opts *Options) (*pipeQueue, error) {
	if h.Writer < 0 || h.Reader == h.Writer {
		return nil, fmt.Errorf("mpqueue: bad descriptors %d, %d", h.Reader, h.Writer)
	}
	pq := &pipeQueue{maxFrame: opts.maxFrame(), stall: opts.stallTimeout()}
	var err error
	if pq.rlock, err = rebuild(semlock.Semaphore, 1, h.RLock); err != nil {
		return nil, err
	}
	if pq.wlock, err = rebuild(semlock.Semaphore, 1, h.WLock); err != nil {
		pq.release()
		return nil, err
	}
	var r *os.File
	if h.Reader >= 0 {
		r = os.NewFile(uintptr(h.Reader), "mpqueue-reader")
	}
	if err := pq.adopt(r, os.NewFile(uintptr(h.Writer), "mpqueue-writer")); err != nil {
		return nil, err
	}
	return pq, nil
}

// adopt makes r (nil: none) and w the queue's pipe ends and finishes
// setting it up; on failure it releases the locks and leaves the files to
// the caller.
func (pq *pipeQueue) adopt(r, w *os.File) error {
	var pr *pipeEnd
	var err error
	if r != nil {
		pr, err = newPipeEnd(r)
	}
	if err == nil {
		pq.w, err = newPipeEnd(w)
	}
	if err != nil {
		pq.w = nil
		pq.release()
		return fmt.Errorf("mpqueue: %w", err)
	}
	pq.r = pr
	pq.init()
	return nil
}

func (pq *pipeQueue) init() {
	pq.readers = make(chan struct{}, 1)
	pq.closing = make(chan struct{})
	pq.closeCtx, pq.closeStop = context.WithCancel(context.Background())
}

// release closes the descriptors and the locks (unlinking those created here).
func (pq *pipeQueue) release() error {
	return errors.Join(pq.releaseReader(), pq.releaseWriter())
}

// releaseReader closes the read end and the read lock.
func (pq *pipeQueue) releaseReader() error {
	var err error
	if pq.r != nil {
		err = pq.r.close()
	}
	return errors.Join(err, closeAll(pq.rlock))
}

// releaseWriter closes the write end and the write lock.
func (pq *pipeQueue) releaseWriter() error {
	var err error
	if pq.w != nil {
		err = pq.w.close()
	}
	return errors.Join(err, closeAll(pq.wlock))
}

// begin starts a call; end must follow. It fails once Close has begun.
func (pq *pipeQueue) begin() error {
	pq.ops.RLock()
	if pq.closed.Load() {
		pq.ops.RUnlock()
		return errClosed
	}
	return nil
}

func (pq *pipeQueue) end() { pq.ops.RUnlock() }

var errClosed = fmt.Errorf("mpqueue: queue is closed: %w", mpbridge.ErrClosed)

// errNoReader is the error for reading a queue attached with
// ProducerHandles.
var errNoReader = fmt.Errorf("mpqueue: queue attached without its read end (ProducerHandles): %w", mpbridge.ErrClosed)

// shutdown marks the queue closed and waits for calls in progress, which
// notice within a poll slice.
func (pq *pipeQueue) shutdown() bool {
	if pq.closed.Swap(true) {
		return false
	}
	close(pq.closing)
	pq.closeStop()
	pq.ops.Lock()
	pq.ops.Unlock() //nolint:staticcheck // waiting for readers to leave is the point
	return true
}

// opCtx returns a context that also ends when the queue is closed, for
// waits on semaphores (which know nothing of Close).
func (pq *pipeQueue) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(pq.closeCtx, func() { cancel(errClosed) })
	return c, func() { stop(); cancel(nil) }
}

// acquire takes l, at once if it is free, else waiting as ctx allows and
// until Close; a deadline that passes gives an error wrapping onDeadline.
func (pq *pipeQueue) acquire(ctx context.Context, l *semlock.SemLock, onDeadline error) error {
	if l.TryAcquire() {
		return nil
	}
	octx, cancel := pq.opCtx(ctx)
	defer cancel()
	if err := l.Acquire(octx); err != nil {
		return semErr(octx, err, onDeadline)
	}
	return nil
}

// semErr converts a failed semaphore wait under opCtx: Close → errClosed,
// a deadline → full (mpbridge.ErrFull or ErrEmpty), else as is.
func semErr(ctx context.Context, err error, full error) error {
	if cause := context.Cause(ctx); errors.Is(cause, mpbridge.ErrClosed) {
		return errClosed
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", full, context.DeadlineExceeded)
	}
	return err
}

// stopErr converts a stopReason at a frame boundary.
func stopErr(sr stopReason, ctx context.Context, empty error) error {
	switch sr {
	case stopDeadline:
		return fmt.Errorf("%w (%w)", empty, context.DeadlineExceeded)
	case stopCanceled:
		return ctx.Err()
	case stopClosed:
		return errClosed
	}
	return nil
}

// acquireRead takes the read lock as ctx allows. While it waits, it
// watches the pipe: if data stays unread, unchanged, for the stall timeout
// while the lock is held elsewhere, the holder is presumed dead and an
// error matching mpbridge.ErrTimeout is returned instead of hanging.
func (pq *pipeQueue) acquireRead(ctx context.Context, nowait bool) error {
	if pq.rlock.TryAcquire() {
		return nil
	}
	if nowait {
		return fmt.Errorf("%w (read lock busy)", mpbridge.ErrEmpty)
	}
	w := &waiter{ctx: ctx, closing: pq.closing}
	lastAvail, since := -1, time.Now()
	for {
		if sr := w.stopped(); sr != stopNone {
			return stopErr(sr, ctx, mpbridge.ErrEmpty)
		}
		d := w.slice()
		if d <= 0 {
			return stopErr(stopDeadline, ctx, mpbridge.ErrEmpty)
		}
		sctx, cancel := context.WithTimeout(context.Background(), d)
		err := pq.rlock.Acquire(sctx)
		cancel()
		if err == nil {
			return nil
		}
		if !errors.Is(err, mpbridge.ErrTimeout) {
			return err
		}
		if avail := pq.r.Available(); avail <= 0 || avail != lastAvail {
			lastAvail, since = avail, time.Now()
		} else if time.Since(since) >= pq.stall {
			return fmt.Errorf("mpqueue: read lock held for %v while %d bytes wait unread (holder dead?): %w",
				pq.stall, avail, mpbridge.ErrTimeout)
		}
	}
}

// enterRead admits one reading goroutine of this process at a time. The
// read lock alone would do, but Go's race detector cannot see
// synchronisation through a shared-memory semaphore, and goroutines then
// queue here cheaply instead of on a futex.
func (pq *pipeQueue) enterRead(ctx context.Context, nowait bool) error {
	select {
	case pq.readers <- struct{}{}:
		return nil
	default:
	}
	if nowait {
		return fmt.Errorf("%w (read lock busy)", mpbridge.ErrEmpty)
	}
	select {
	case pq.readers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return stopErr(stopReasonOf(ctx), ctx, mpbridge.ErrEmpty)
	case <-pq.closing:
		return errClosed
	}
}

func stopReasonOf(ctx context.Context) stopReason {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return stopDeadline
	}
	return stopCanceled
}

// getFrame is the locked part of get: read lock, one frame, release. If
// slots is not nil (a Queue's), one slot is released with the lock still
// held once the frame has been read, as CPython does; like CPython's
// release() it is not raised past its maximum (an item written without
// taking a slot leaves the count as it is).
func (pq *pipeQueue) getFrame(ctx context.Context, nowait bool, slots *semlock.SemLock) ([]byte, error) {
	if pq.r == nil {
		return nil, errNoReader
	}
	if err := pq.enterRead(ctx, nowait); err != nil {
		return nil, err
	}
	data, err := pq.getFrameLocked(ctx, nowait, slots)
	<-pq.readers
	return data, err
}

func (pq *pipeQueue) getFrameLocked(ctx context.Context, nowait bool, slots *semlock.SemLock) ([]byte, error) {
	if err := pq.acquireRead(ctx, nowait); err != nil {
		return nil, err
	}
	w := &waiter{ctx: ctx, closing: pq.closing, stall: pq.stall, nowait: nowait}
	data, sr, err := pq.r.readFrameAhead(w, pq.maxFrame, pq.soleReader.Load())
	if err == nil && sr == stopNone && slots != nil {
		_ = slots.Release()
	}
	if rerr := pq.rlock.Release(); rerr != nil && err == nil && sr == stopNone {
		err = rerr
	}
	switch {
	case err == io.EOF:
		return nil, fmt.Errorf("mpqueue: every write end of the pipe is closed: %w (%w)", mpbridge.ErrClosed, io.EOF)
	case err != nil:
		return nil, err
	case sr != stopNone:
		return nil, stopErr(sr, ctx, mpbridge.ErrEmpty)
	}
	return data, nil
}

// aliasBytes lets decoded bytes and str values share the payload buffer,
// which is allocated per frame and never reused.
var aliasBytes = &pickle.DecodeOptions{AliasBytes: true}

// decode unpickles a frame's payload; a failure is a *CorruptError
// holding the bytes (the item is consumed, as in CPython).
func decode(data []byte) (any, error) {
	v, err := pickle.LoadsOptions(data, aliasBytes)
	if err != nil {
		return nil, &CorruptError{Reason: "item does not unpickle", Data: data, Err: err}
	}
	return v, nil
}

// encode pickles item into a frame: header, then the pickle.
// The payload is pickled into a buffer from payloadPool, which the writer
// recycles once the frame is written.
func encode(item any) (*outFrame, error) {
	bp := payloadPool.Get().(*[]byte)
	p, err := pickle.AppendDumps((*bp)[:0], item, nil)
	if err != nil {
		payloadPool.Put(bp)
		return nil, fmt.Errorf("mpqueue: cannot pickle %T: %w", item, err)
	}
	f := newOutFrame(item, p)
	f.buf = bp
	return f, nil
}

// empty reports whether nothing is readable: no frame read ahead and
// nothing on the pipe (Python's `not reader.poll()`).
func (pq *pipeQueue) empty() (bool, error) {
	if pq.r == nil {
		return false, errNoReader
	}
	if pq.r.buffered.Load() > 0 {
		return false, nil
	}
	ready, err := pq.r.Poll(unix.POLLIN, 0)
	return !ready, err
}

// readerFd returns the read end's descriptor for a caller that will hand
// it to another process, which ends reading ahead: from then on a Get
// reads byte-exactly, once it has used up what it had read ahead (those
// items are still delivered here, in order). -1 without a read end.
func (pq *pipeQueue) readerFd() int {
	if pq.r == nil {
		return -1
	}
	pq.soleReader.Store(false)
	return pq.r.Fd()
}

// files returns the pipe's ends; the read end (nil without one) is
// presumed handed to another process.
func (pq *pipeQueue) files() (r, w *os.File) {
	if pq.readerFd() < 0 {
		return nil, pq.w.f
	}
	return pq.r.f, pq.w.f
}

// WriterFile returns the pipe's write end (owned by the queue), to pass
// to a child process (exec.Cmd.ExtraFiles) that attaches with
// ProducerHandles. Unlike Files, it leaves this process the queue's only
// reader, so its Get keeps reading ahead.
func (pq *pipeQueue) WriterFile() *os.File { return pq.w.f }
