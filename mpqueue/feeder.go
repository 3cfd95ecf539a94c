//go:build linux

package mpqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/internal/sharedfd"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Limits of one batch of frames written by one pwritev2 call.
const (
	maxBatchFrames = 256
	maxBatchBytes  = 256 << 10
)

// feeder is a Queue's writer: CPython's feeder thread, without its traps.
// A frame is written directly by Put when nothing is queued ahead of it,
// the write lock is free and the pipe has room; otherwise it is queued for
// a goroutine that writes queued frames in batches under the write lock.
// Frames are never split between lock holders, and a started frame is
// always finished. Stopping (Close) takes back every frame not yet started.
type feeder struct {
	pq  *pipeQueue
	sem *semlock.SemLock

	mu      sync.Mutex
	pending []*outFrame // queued, in order; pending[0] may be started (off > 0)
	off     int         // bytes of pending[0] already written by Put
	held    bool        // the write lock is held for the started pending[0]
	running bool        // the goroutine has been started
	busy    bool        // the goroutine is writing a batch
	inBatch []*outFrame // the batch being written (for Flush's report)
	fw      frameWriter // the goroutine's, reused

	err    error // sticky: writing failed
	failed []any // items lost to err, not yet reported

	stopping  bool
	changed   chan struct{} // closed and replaced when the feeder goes idle or fails
	kick      chan struct{}
	stopped   chan struct{} // closed once the goroutine has let go of unstarted frames
	stopOnce  sync.Once
	done      chan struct{} // closed when the goroutine has exited
	closeDone sync.Once
}

func (fd *feeder) init(pq *pipeQueue, sem *semlock.SemLock) {
	fd.pq, fd.sem = pq, sem
	fd.changed = make(chan struct{})
	fd.kick = make(chan struct{}, 1)
	fd.stopped = make(chan struct{})
	fd.done = make(chan struct{})
}

// signal wakes Flush callers; fd.mu is held.
func (fd *feeder) signal() {
	close(fd.changed)
	fd.changed = make(chan struct{})
}

func (fd *feeder) ackStop() { fd.stopOnce.Do(func() { close(fd.stopped) }) }

// give hands one frame to the writer (the slot is already taken).
func (fd *feeder) give(f *outFrame) error {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.err != nil {
		return fmt.Errorf("mpqueue: the queue's writer failed earlier: %w", fd.err)
	}
	if len(fd.pending) == 0 && !fd.busy && fd.pq.wlock.TryAcquire() {
		var iovs [2]unix.Iovec
		n, err := fd.pq.w.TryWritev(sharedfd.AppendIovec(sharedfd.AppendIovec(iovs[:0], f.hdr[:f.hlen]), f.payload))
		switch {
		case err == nil && n == f.size():
			f.recycle()
			return fd.pq.wlock.Release()
		case err == nil && n > 0:
			// Started: the goroutine finishes it, keeping the lock.
			fd.pending = append(fd.pending, f)
			fd.off, fd.held = n, true
			fd.wake()
			return nil
		case err != unix.EAGAIN:
			_ = fd.pq.wlock.Release()
			return fmt.Errorf("mpqueue: write: %w", err)
		}
		_ = fd.pq.wlock.Release()
	}
	fd.pending = append(fd.pending, f)
	fd.wake()
	return nil
}

// wake starts the goroutine or nudges it; fd.mu is held.
func (fd *feeder) wake() {
	if !fd.running {
		fd.running = true
		go fd.run()
		return
	}
	select {
	case fd.kick <- struct{}{}:
	default:
	}
}

func (fd *feeder) run() {
	defer fd.closeDone.Do(func() { close(fd.done) })
	for {
		fd.mu.Lock()
		for len(fd.pending) == 0 && !fd.stopping {
			fd.busy = false
			fd.signal()
			fd.mu.Unlock()
			select {
			case <-fd.kick:
			case <-fd.pq.closing:
			}
			fd.mu.Lock()
		}
		if fd.stopping && !fd.held {
			// Close takes back everything queued.
			fd.busy = false
			fd.signal()
			fd.mu.Unlock()
			fd.ackStop()
			return
		}
		k, size := 0, 0
		for k < len(fd.pending) && k < maxBatchFrames && (k == 0 || size+fd.pending[k].size() <= maxBatchBytes) {
			size += fd.pending[k].size()
			k++
		}
		if fd.stopping { // only the started frame
			k = 1
		}
		batch := append([]*outFrame(nil), fd.pending[:k]...)
		fd.pending = fd.pending[k:]
		off, held := fd.off, fd.held
		fd.off, fd.held = 0, false
		fd.busy, fd.inBatch = true, batch
		fd.mu.Unlock()

		if !held {
			if err := fd.pq.wlock.Acquire(fd.pq.closeCtx); err != nil {
				fd.mu.Lock()
				fd.pending = append(batch, fd.pending...)
				fd.inBatch = nil
				fd.busy = false
				fd.signal()
				fd.mu.Unlock()
				fd.ackStop()
				return
			}
		}
		err := fd.write(batch, off)
		_ = fd.pq.wlock.Release()
		if err != nil {
			fd.ackStop()
			return
		}
	}
}

// write writes batch (off bytes of batch[0] are already written). At each
// step it checks for Close: unstarted frames are then put back at the
// front of pending for Close to take, and only a started frame is finished.
func (fd *feeder) write(batch []*outFrame, off int) error {
	fw := &fd.fw
	fw.reset(batch, off)
	defer fw.release()
	trimmed := false
	for !fw.finished() {
		if !trimmed {
			fd.mu.Lock()
			if fd.stopping {
				keep := fw.done
				if fw.off > 0 {
					keep++
				}
				fd.pending = append(append([]*outFrame(nil), batch[keep:]...), fd.pending...)
				fw.build(keep)
				fd.inBatch = batch[fw.done:keep]
				trimmed = true
				fd.mu.Unlock()
				fd.ackStop()
				continue
			}
			fd.mu.Unlock()
		}
		n, err := fd.pq.w.TryWritev(fw.iovs)
		if n > 0 {
			fw.wrote(n)
			continue
		}
		if err == unix.EAGAIN {
			_, err = fd.pq.w.Poll(unix.POLLOUT, pollSlice)
		}
		if err != nil {
			fd.fail(batch[fw.done:], fw.off > 0, fmt.Errorf("mpqueue: write: %w", err))
			return err
		}
	}
	fd.mu.Lock()
	fd.inBatch = nil
	fd.mu.Unlock()
	for _, f := range batch[:fw.done] {
		f.recycle()
	}
	return nil
}

// fail records a write error: the rest of the batch and everything queued
// become undelivered, and their slots are released. cut reports that the
// first of them was partly written (the pipe is then out of step).
func (fd *feeder) fail(rest []*outFrame, cut bool, err error) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if cut {
		err = fmt.Errorf("%w; a frame was cut short, the pipe is out of step: %w", err, mpbridge.ErrCorrupt)
	}
	fd.err = err
	for _, f := range append(rest, fd.pending...) {
		fd.failed = append(fd.failed, f.item)
		_ = fd.sem.Release()
	}
	fd.pending, fd.inBatch, fd.off, fd.held = nil, nil, 0, false
	fd.busy = false
	fd.signal()
}

// flush waits until nothing is queued or being written.
func (fd *feeder) flush(ctx context.Context) error {
	for {
		fd.mu.Lock()
		if fd.err != nil {
			items := fd.failed
			fd.failed = nil
			err := fd.err
			fd.mu.Unlock()
			return &UndeliveredError{Items: items, Err: err}
		}
		if len(fd.pending) == 0 && !fd.busy {
			fd.mu.Unlock()
			return nil
		}
		ch := fd.changed
		fd.mu.Unlock()
		select {
		case <-ch:
		case <-fd.pq.closing:
			return errClosed
		case <-ctx.Done():
			fd.mu.Lock()
			var items []any
			for _, f := range append(append([]*outFrame(nil), fd.inBatch...), fd.pending...) {
				items = append(items, f.item)
			}
			fd.mu.Unlock()
			err := ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w (%w)", mpbridge.ErrTimeout, err)
			}
			return &UndeliveredError{Items: items, Err: err}
		}
	}
}

// stop takes back every frame not yet started, releasing their slots, and
// returns their items with a channel closed once the writer has finished
// (a started frame may still be completing).
func (fd *feeder) stop() ([]any, <-chan struct{}) {
	fd.mu.Lock()
	fd.stopping = true
	running := fd.running
	fd.mu.Unlock()
	if running {
		select {
		case fd.kick <- struct{}{}:
		default:
		}
		<-fd.stopped
	} else {
		fd.closeDone.Do(func() { close(fd.done) })
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	items := fd.failed
	fd.failed = nil
	for _, f := range fd.pending {
		items = append(items, f.item)
		_ = fd.sem.Release()
	}
	fd.pending = nil
	return items, fd.done
}
