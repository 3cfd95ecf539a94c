//go:build linux

package mpqueue

import (
	"time"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Defaults for Options.
const (
	// DefaultMaxFrame caps the length a frame header may announce before
	// the stream is declared corrupt (a reader that died mid-frame leaves
	// the next reader parsing payload bytes as a header).
	DefaultMaxFrame = connection.DefaultMaxFrame
	// DefaultStallTimeout is how long a frame that has started may go
	// without a byte arriving, or the read lock may stay held while data
	// waits unread, before the peer is presumed dead.
	DefaultStallTimeout = 10 * time.Second
)

// Options configure the objects this package creates or attaches to. A nil
// *Options means the defaults.
type Options struct {
	// Prefix replaces CPython's "/mp" at the start of the semaphore names
	// created (tests use a per-run prefix to find leftovers).
	Prefix string
	// Tracker receives REGISTER/UNREGISTER lines for the semaphores
	// created; nil means semlock.DefaultTracker().
	Tracker *semlock.Tracker
	// Untracked disables tracker registration.
	Untracked bool
	// MaxFrame caps an incoming frame's announced length (0: DefaultMaxFrame).
	MaxFrame int64
	// StallTimeout bounds a frame that stops arriving mid-way and a read
	// lock held by a peer that no longer reads (0: DefaultStallTimeout).
	StallTimeout time.Duration
}

func (o *Options) sem() *semlock.Options {
	if o == nil {
		return nil
	}
	return &semlock.Options{Prefix: o.Prefix, Tracker: o.Tracker, Untracked: o.Untracked}
}

func (o *Options) maxFrame() int64 {
	if o == nil || o.MaxFrame <= 0 {
		return DefaultMaxFrame
	}
	return o.MaxFrame
}

func (o *Options) stallTimeout() time.Duration {
	if o == nil || o.StallTimeout <= 0 {
		return DefaultStallTimeout
	}
	return o.StallTimeout
}
