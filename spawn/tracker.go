package spawn

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Tracker plays multiprocessing's resource tracker for the children a Go
// parent starts. Children get the write end of its pipe as tracker_fd and
// send it CPython's REGISTER/UNREGISTER/PROBE lines; the tracker reads
// them in this process and, when every write end is closed (Close here and
// every child, and its own children, gone), unlinks the named semaphores
// and shared memory segments still registered — those a child created and
// leaked, by dying or by forgetting.
type Tracker struct {
	w    *os.File
	mu   sync.Mutex
	done chan struct{}
	code int
}

// NewTracker starts a tracker reading in a goroutine of this process.
// Leak reports go to stderr (nil means os.Stderr), worded as CPython's.
func NewTracker(stderr io.Writer) (*Tracker, error) {
	if stderr == nil {
		stderr = os.Stderr
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("spawn: tracker pipe: %w", err)
	}
	t := &Tracker{w: w, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.code = semlock.TrackerMain(r, stderr)
		r.Close()
	}()
	return t, nil
}

// Fd returns the write end given to children as tracker_fd; nil after
// Close.
func (t *Tracker) Fd() *os.File {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w
}

// Close closes the tracker's own write end and waits, until ctx ends, for
// the tracker to see end of file and clean up. It returns the tracker's
// status as CPython 3.13 defines it (0 clean, 1 leaks were cleaned up, 2 an
// unlink failed, 3 a bad message), or ctx's error if children still hold
// the pipe when ctx ends (cleanup then happens when they exit).
func (t *Tracker) Close(ctx context.Context) (int, error) {
	t.mu.Lock()
	if t.w != nil {
		t.w.Close()
		t.w = nil
	}
	t.mu.Unlock()
	select {
	case <-t.done:
		return t.code, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("spawn: tracker still in use: %w", context.Cause(ctx))
	}
}
