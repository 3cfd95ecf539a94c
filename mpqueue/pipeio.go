//go:build linux

package mpqueue

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"github.com/mpbridge/mpbridge/internal/sharedfd"
)

// pollSlice bounds every wait on a pipe, so that a context's end or Close
// is noticed within this long even without a deadline.
const pollSlice = 50 * time.Millisecond

// pipeEnd is one end of a queue's pipe. The descriptor may be shared with
// Python processes, so its O_NONBLOCK flag is never changed: reads and
// writes go through sharedfd, one non-blocking call at a time, and waiting
// is done with poll(2) in bounded slices.
type pipeEnd struct {
	*sharedfd.FD
	f         *os.File
	longWaits atomic.Bool // the last wait at a frame boundary outlasted boundarySpin: sleep at once

	// Frames read ahead (readFrameAhead), used by one reading goroutine
	// at a time: ready[next:] are still to be returned; buffered is their
	// number, for Empty. ahead is the buffer reads ahead go into.
	ahead    []byte
	ready    []aheadFrame
	next     int
	buffered atomic.Int64
}

func newPipeEnd(f *os.File) (*pipeEnd, error) {
	sfd, err := sharedfd.New(int(f.Fd())) // Fd leaves the descriptor in blocking mode
	if err != nil {
		return nil, err
	}
	return &pipeEnd{FD: sfd, f: f}, nil
}

func (p *pipeEnd) close() error { return p.f.Close() }

// waiter tells a blocking pipe operation when to give up.
type waiter struct {
	ctx     context.Context
	closing <-chan struct{} // closed by Queue.Close
	stall   time.Duration   // no-progress limit once a frame has started
	nowait  bool            // give up at once when no byte is available
}

// stopReason says why a wait at a frame boundary ended without a byte
// being transferred.
type stopReason int

const (
	stopNone stopReason = iota
	stopDeadline
	stopCanceled
	stopClosed
)

// stopped reports whether a wait at a frame boundary must end now.
func (w *waiter) stopped() stopReason {
	select {
	case <-w.closing:
		return stopClosed
	default:
	}
	if w.ctx.Done() != nil && w.ctx.Err() != nil {
		return stopReasonOf(w.ctx)
	}
	return stopNone
}

// slice is how long the next poll may sleep at a frame boundary.
func (w *waiter) slice() time.Duration {
	d := pollSlice
	if dl, ok := w.ctx.Deadline(); ok {
		if r := time.Until(dl); r < d {
			d = max(r, 0)
		}
	}
	return d
}
