//go:build linux

package semlock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
)

// Kind is the kind of a SemLock, as in _multiprocessing.
type Kind int

const (
	// RecursiveMutex is RECURSIVE_MUTEX (0), the kind of an RLock.
	RecursiveMutex Kind = 0
	// Semaphore is SEMAPHORE (1), the kind of Lock, Semaphore and
	// BoundedSemaphore.
	Semaphore Kind = 1
)

// String returns the kind's name in _multiprocessing.
func (k Kind) String() string {
	switch k {
	case RecursiveMutex:
		return "RECURSIVE_MUTEX"
	case Semaphore:
		return "SEMAPHORE"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Options configure New. The zero value (or nil) is CPython's behaviour
// with the spawn context: names "/mp-xxxxxxxx", registered with the default
// resource tracker.
type Options struct {
	// Prefix replaces "/mp" in generated names (tests use a per-run
	// prefix so that leftovers can be found).
	Prefix string
	// Tracker receives REGISTER/UNREGISTER lines for the names created.
	// Nil means DefaultTracker().
	Tracker *Tracker
	// Untracked disables tracker registration.
	Untracked bool
}

// State is the pickled state of a SemLock, the tuple (handle, kind,
// maxvalue, name) of synchronize.SemLock.__getstate__.
type State struct {
	Handle   int64
	Kind     Kind
	MaxValue int
	Name     string
}

// SemLock is _multiprocessing.SemLock: a named semaphore plus its
// per-process fields (kind, maxvalue, the acquire count). Its methods are
// safe for concurrent use by several goroutines.
type SemLock struct {
	sem      *Sem
	kind     Kind
	maxvalue int
	count    atomic.Int64

	created   bool
	tracker   *Tracker
	closeOnce sync.Once
	closeErr  error
}

// New creates a SemLock with a fresh random name, retrying up to 100 names
// that are taken, like synchronize.SemLock.__init__ with the spawn context.
// value is the initial value and maxvalue the bound Release enforces
// (ValueMax for an unbounded semaphore).
func New(kind Kind, value, maxvalue int, opts *Options) (*SemLock, error) {
	if kind != RecursiveMutex && kind != Semaphore {
		return nil, fmt.Errorf("semlock: unknown kind %d", int(kind))
	}
	if maxvalue <= 0 || maxvalue > ValueMax || value > maxvalue {
		return nil, fmt.Errorf("semlock: value %d / maxvalue %d out of range", value, maxvalue)
	}
	if opts == nil {
		opts = &Options{}
	}
	if opts.Prefix != "" {
		if err := CheckName(opts.Prefix + "-xxxxxxxx"); err != nil {
			return nil, err
		}
	}
	var tr *Tracker
	if !opts.Untracked {
		tr = opts.Tracker
		if tr == nil {
			var err error
			if tr, err = DefaultTracker(); err != nil {
				return nil, err
			}
		}
	}
	for range 100 {
		name := NewName(opts.Prefix)
		s, err := Create(name, value)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		l := &SemLock{sem: s, kind: kind, maxvalue: maxvalue, created: true, tracker: tr}
		if tr != nil {
			if err := tr.Register(name, ResourceSemaphore); err != nil {
				_ = Unlink(name)
				_ = s.Close()
				return nil, err
			}
		}
		return l, nil
	}
	return nil, fmt.Errorf("semlock: cannot find name for semaphore: %w", fs.ErrExist)
}

// Rebuild opens the SemLock described by a pickled state, like
// _multiprocessing.SemLock._rebuild: the semaphore is opened by name and the
// handle is ignored. The result starts with count 0 and is not unlinked by
// Close (its creator owns the name).
func Rebuild(st State) (*SemLock, error) {
	if st.Kind != RecursiveMutex && st.Kind != Semaphore {
		return nil, fmt.Errorf("semlock: unknown kind %d", int(st.Kind))
	}
	if st.MaxValue <= 0 || st.MaxValue > ValueMax {
		return nil, fmt.Errorf("semlock: maxvalue %d out of range", st.MaxValue)
	}
	if st.Name == "" {
		return nil, errors.New("semlock: cannot rebuild a SemLock without a name (created in a fork context)")
	}
	s, err := Open(st.Name)
	if err != nil {
		return nil, err
	}
	return &SemLock{sem: s, kind: st.Kind, maxvalue: st.MaxValue}, nil
}

// State returns the pickled state (handle, kind, maxvalue, name).
func (l *SemLock) State() State {
	return State{Handle: l.sem.Handle(), Kind: l.kind, MaxValue: l.maxvalue, Name: l.sem.Name()}
}

// Name returns the semaphore name, e.g. "/mp-x4jqglf3".
func (l *SemLock) Name() string { return l.sem.Name() }

// Kind returns the SemLock's kind.
func (l *SemLock) Kind() Kind { return l.kind }

// MaxValue returns the bound enforced by Release.
func (l *SemLock) MaxValue() int { return l.maxvalue }

// Sem returns the underlying semaphore.
func (l *SemLock) Sem() *Sem { return l.sem }

// Acquire takes the semaphore, waiting as long as the context allows.
// A deadline that passes yields an error wrapping mpbridge.ErrTimeout
// (Python's acquire returning False).
func (l *SemLock) Acquire(ctx context.Context) error {
	if err := l.sem.Wait(ctx); err != nil {
		return err
	}
	l.count.Add(1)
	return nil
}

// TryAcquire takes the semaphore if it is free at once: acquire(False).
func (l *SemLock) TryAcquire() bool {
	if !l.sem.TryWait() {
		return false
	}
	l.count.Add(1)
	return true
}

// Release gives the semaphore back, as SemLock.release does: an RLock must
// be held by this process (ErrNotOwned); other kinds fail with
// ErrReleasedTooManyTimes when the value has reached maxvalue (a check that,
// as in CPython, is not atomic with the post). A Lock may be released by a
// process that did not acquire it.
func (l *SemLock) Release() error {
	// The count drops before the post: once another goroutine of this
	// process can acquire, the count must not still include this hold (a
	// Condition releases the lock Count() times).
	if l.kind == RecursiveMutex {
		for {
			c := l.count.Load()
			if c <= 0 {
				return ErrNotOwned
			}
			if l.count.CompareAndSwap(c, c-1) {
				if c > 1 {
					return nil // still held (recursion)
				}
				break
			}
		}
	} else {
		if v := l.sem.Value(); v >= l.maxvalue {
			return ErrReleasedTooManyTimes
		}
		l.count.Add(-1)
	}
	if err := l.sem.Post(); err != nil {
		l.count.Add(1)
		return err
	}
	return nil
}

// Value returns the semaphore's value (_get_value).
func (l *SemLock) Value() int { return l.sem.Value() }

// IsZero reports whether the value is zero (_is_zero).
func (l *SemLock) IsZero() bool { return l.sem.Value() == 0 }

// Count returns how many times this process holds the SemLock through this
// handle (_count): acquires minus releases.
func (l *SemLock) Count() int { return int(l.count.Load()) }

// IsMine reports whether this process holds the SemLock through this
// handle (_is_mine; Go has no thread identity, see the package doc).
func (l *SemLock) IsMine() bool { return l.count.Load() > 0 }

// Close unmaps the semaphore. If this handle created it, Close also
// unlinks the name and unregisters it from the tracker, as CPython's
// finalizer does when the creating SemLock is collected.
func (l *SemLock) Close() error {
	l.closeOnce.Do(func() {
		if l.created {
			name := l.sem.Name()
			if err := Unlink(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.closeErr = err
			}
			if l.tracker != nil {
				if err := l.tracker.Unregister(name, ResourceSemaphore); err != nil && l.closeErr == nil {
					l.closeErr = err
				}
			}
		}
		_ = l.sem.Close()
	})
	return l.closeErr
}
