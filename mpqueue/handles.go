//go:build linux

package mpqueue

import (
	"fmt"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// Handles is everything another process needs to use the same object:
// semaphore names, pipe descriptors and the queue's maxsize — the contents
// of the state CPython pickles for a spawned child, in a plain form that
// also travels as JSON (e.g. in an environment variable of an exec.Cmd).
// Which fields are set depends on Type:
//
//	Lock, RLock, Semaphore, BoundedSemaphore   Name, MaxValue
//	Condition                                  Lock, Sleeping, Woken, Wait
//	Event                                      Cond, Flag
//	SimpleQueue                                Reader, Writer, RLock, WLock
//	Queue                                      ... + Maxsize, Sem
//	JoinableQueue                              ... + Cond, Unfinished
//
// Reader and Writer are descriptor numbers in the process that calls
// Attach: a parent passing a queue to a child through exec.Cmd.ExtraFiles
// sets them to the child's numbers (3 + the index in ExtraFiles). Reader
// is -1 in a queue's ProducerHandles: the child gets no read end.
type Handles struct {
	Type string `json:"type"`

	Name     string `json:"name,omitempty"`
	MaxValue int    `json:"maxvalue,omitempty"`

	Lock     *Handles `json:"lock,omitempty"`
	Sleeping string   `json:"sleeping,omitempty"`
	Woken    string   `json:"woken,omitempty"`
	Wait     string   `json:"wait,omitempty"`

	Cond *Handles `json:"cond,omitempty"`
	Flag string   `json:"flag,omitempty"`

	Maxsize    int    `json:"maxsize,omitempty"`
	Reader     int    `json:"reader,omitempty"`
	Writer     int    `json:"writer,omitempty"`
	RLock      string `json:"rlock,omitempty"`
	WLock      string `json:"wlock,omitempty"`
	Sem        string `json:"sem,omitempty"`
	Unfinished string `json:"unfinished,omitempty"`
}

func rebuild(kind semlock.Kind, maxvalue int, name string) (*semlock.SemLock, error) {
	return semlock.Rebuild(semlock.State{Kind: kind, MaxValue: maxvalue, Name: name})
}

func (h Handles) want(types ...string) error {
	for _, t := range types {
		if h.Type == t {
			return nil
		}
	}
	return fmt.Errorf("mpqueue: handles of a %q, want %v", h.Type, types)
}

// AttachLock opens the Lock described by h.
func AttachLock(h Handles) (*Lock, error) {
	if err := h.want(TypeLock); err != nil {
		return nil, err
	}
	sl, err := rebuild(semlock.Semaphore, 1, h.Name)
	if err != nil {
		return nil, err
	}
	return &Lock{semBase{sl, TypeLock}}, nil
}

// AttachRLock opens the RLock described by h.
func AttachRLock(h Handles) (*RLock, error) {
	if err := h.want(TypeRLock); err != nil {
		return nil, err
	}
	sl, err := rebuild(semlock.RecursiveMutex, 1, h.Name)
	if err != nil {
		return nil, err
	}
	return &RLock{semBase{sl, TypeRLock}}, nil
}

// AttachSemaphore opens the Semaphore described by h.
func AttachSemaphore(h Handles) (*Semaphore, error) {
	if err := h.want(TypeSemaphore); err != nil {
		return nil, err
	}
	sl, err := rebuild(semlock.Semaphore, semlock.ValueMax, h.Name)
	if err != nil {
		return nil, err
	}
	return &Semaphore{semBase{sl, TypeSemaphore}}, nil
}

// AttachBoundedSemaphore opens the BoundedSemaphore described by h.
func AttachBoundedSemaphore(h Handles) (*BoundedSemaphore, error) {
	if err := h.want(TypeBoundedSemaphore); err != nil {
		return nil, err
	}
	sl, err := rebuild(semlock.Semaphore, h.MaxValue, h.Name)
	if err != nil {
		return nil, err
	}
	return &BoundedSemaphore{Semaphore{semBase{sl, TypeBoundedSemaphore}}}, nil
}

// attachLocker opens a Lock or RLock.
func attachLocker(h *Handles) (SemLocker, error) {
	if h == nil {
		return nil, fmt.Errorf("mpqueue: condition handles without a lock")
	}
	if h.Type == TypeRLock {
		return AttachRLock(*h)
	}
	return AttachLock(*h)
}

// AttachCondition opens the Condition described by h.
func AttachCondition(h Handles) (*Condition, error) {
	if err := h.want(TypeCondition); err != nil {
		return nil, err
	}
	lock, err := attachLocker(h.Lock)
	if err != nil {
		return nil, err
	}
	c := &Condition{lockObj: lock, lock: lock.SemLock()}
	for _, p := range []struct {
		dst  **semlock.SemLock
		name string
	}{{&c.sleeping, h.Sleeping}, {&c.woken, h.Woken}, {&c.wait, h.Wait}} {
		if *p.dst, err = rebuild(semlock.Semaphore, semlock.ValueMax, p.name); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// AttachEvent opens the Event described by h.
func AttachEvent(h Handles) (*Event, error) {
	if err := h.want(TypeEvent); err != nil {
		return nil, err
	}
	if h.Cond == nil {
		return nil, fmt.Errorf("mpqueue: event handles without a condition")
	}
	cond, err := AttachCondition(*h.Cond)
	if err != nil {
		return nil, err
	}
	flag, err := rebuild(semlock.Semaphore, semlock.ValueMax, h.Flag)
	if err != nil {
		_ = cond.Close()
		return nil, err
	}
	return &Event{cond: cond, flag: flag}, nil
}
