package syncobj

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// lockable is what a Condition needs of its lock: threading.Lock or
// threading.RLock semantics with an owner.
type lockable interface {
	acquire(ctx context.Context, owner Owner, blocking bool, lim limit) (bool, error)
	release(owner Owner) error
	// owned is Condition._is_owned: for an RLock, held by owner; for a
	// Lock, held by anyone.
	owned(owner Owner) bool
	// releaseSave releases the lock entirely and returns what
	// acquireRestore needs to take it back (Condition.wait).
	releaseSave(owner Owner) int
	acquireRestore(ctx context.Context, owner Owner, count int) error
}

// lockArgs parses acquire(blocking=True, timeout=-1) as CPython's
// _thread.lock and _thread.RLock do.
func lockArgs(args pickle.Tuple, kwargs *pickle.Dict) (blocking bool, lim limit, err error) {
	if len(args) > 2 {
		return false, limit{}, typeErr("acquire() takes at most 2 arguments (%d given)", len(args))
	}
	vals := [2]any{true, int64(-1)}
	copy(vals[:], args)
	for k, v := range kwItems(kwargs) {
		switch k {
		case "blocking", "timeout":
			i := 0
			if k == "timeout" {
				i = 1
			}
			if i < len(args) {
				return false, limit{}, typeErr("argument for acquire() given by name ('%s') and position (%d)", k, i+1)
			}
			vals[i] = v
		default:
			return false, limit{}, typeErr("acquire() got an unexpected keyword argument '%s'", fmt.Sprint(k))
		}
	}
	blocking = Truthy(vals[0])
	secs, ok := timeoutSeconds(vals[1])
	if !ok {
		return false, limit{}, typeErr("'%s' object cannot be interpreted as an integer", TypeName(vals[1]))
	}
	if math.IsNaN(secs) {
		return false, limit{}, valueErr("Invalid value NaN (not a number)")
	}
	if math.Abs(secs) > maxTimeoutSeconds {
		return false, limit{}, overflowErr("timestamp out of range for platform time_t")
	}
	unset := secs == -1
	if !blocking && !unset {
		return false, limit{}, valueErr("can't specify a timeout for a non-blocking call")
	}
	if secs < 0 && !unset {
		return false, limit{}, valueErr("timeout value must be a non-negative number")
	}
	switch {
	case !blocking:
		return false, limit{}, nil
	case unset:
		return true, forever, nil
	}
	return true, seconds(secs), nil
}

// Lock is threading.Lock: no owner, released by anyone, not reentrant.
// Waiters take it in arrival order.
type Lock struct {
	mu     sync.Mutex
	locked bool
	q      waitq
}

// NewLock returns an unlocked Lock.
func NewLock() *Lock { return &Lock{} }

// Call implements [Object]: acquire, release, locked.
func (l *Lock) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if res, ok, err := lockCall(ctx, l, "lock", owner, method, args, kwargs); ok {
		return res, err
	}
	if method == "locked" {
		if err := noArgs("lock.locked", args, kwargs); err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.locked, nil
	}
	return nil, noAttr("lock", method)
}

// lockCall answers acquire and release for any lock with CPython's
// argument rules; ok is false for other methods. name is the Python type
// name in messages ("lock", "RLock").
func lockCall(ctx context.Context, l lockable, name string, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (res any, ok bool, err error) {
	switch method {
	case "acquire":
		blocking, lim, err := lockArgs(args, kwargs)
		if err != nil {
			return nil, true, err
		}
		res, err := l.acquire(ctx, owner, blocking, lim)
		return res, true, err
	case "release":
		if err := noArgs(name+".release", args, kwargs); err != nil {
			return nil, true, err
		}
		return nil, true, l.release(owner)
	}
	return nil, false, nil
}

func (l *Lock) acquire(ctx context.Context, owner Owner, blocking bool, lim limit) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.locked {
		l.locked = true
		return true, nil
	}
	if !blocking {
		return false, nil
	}
	w := l.q.push(owner)
	if park(ctx, &l.mu, &l.q, w, lim) {
		if err := ctx.Err(); err != nil {
			// Handed the lock, but the caller has gone: pass it on.
			l.releaseLocked()
			return false, err
		}
		return true, nil
	}
	return false, ctx.Err()
}

func (l *Lock) release(Owner) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.locked {
		return runtimeErr("release unlocked lock")
	}
	l.releaseLocked()
	return nil
}

// releaseLocked hands the lock to the first waiter, if any.
func (l *Lock) releaseLocked() {
	if _, ok := l.q.signal(); !ok {
		l.locked = false
	}
}

func (l *Lock) owned(Owner) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.locked
}

func (l *Lock) releaseSave(owner Owner) int {
	_ = l.release(owner)
	return 1
}

func (l *Lock) acquireRestore(ctx context.Context, owner Owner, _ int) error {
	_, err := l.acquire(ctx, owner, true, forever)
	return err
}

// Repr is the lock's repr, without CPython's address.
func (l *Lock) Repr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked {
		return "<locked _thread.lock object>"
	}
	return "<unlocked _thread.lock object>"
}

// RLock is threading.RLock: reentrant, owned by the caller that acquired
// it; only the owner may release it.
type RLock struct {
	mu    sync.Mutex
	owner Owner
	count int
	q     waitq
}

// NewRLock returns an unlocked RLock.
func NewRLock() *RLock { return &RLock{} }

// Call implements [Object]: acquire, release.
func (l *RLock) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if res, ok, err := lockCall(ctx, l, "RLock", owner, method, args, kwargs); ok {
		return res, err
	}
	return nil, noAttr("RLock", method)
}

func (l *RLock) acquire(ctx context.Context, owner Owner, blocking bool, lim limit) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count > 0 && l.owner == owner {
		l.count++
		return true, nil
	}
	if l.count == 0 {
		l.owner, l.count = owner, 1
		return true, nil
	}
	if !blocking {
		return false, nil
	}
	w := l.q.push(owner)
	w.count = 1
	if park(ctx, &l.mu, &l.q, w, lim) {
		if err := ctx.Err(); err != nil {
			l.handOff()
			return false, err
		}
		return true, nil
	}
	return false, ctx.Err()
}

// handOff gives the free lock to the first waiter, with the count it asked for.
func (l *RLock) handOff() {
	if w, ok := l.q.signal(); ok {
		l.owner, l.count = w.owner, w.count
		return
	}
	l.owner, l.count = nil, 0
}

func (l *RLock) release(owner Owner) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 || l.owner != owner {
		return runtimeErr("cannot release un-acquired lock")
	}
	l.count--
	if l.count == 0 {
		l.handOff()
	}
	return nil
}

func (l *RLock) owned(owner Owner) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count > 0 && l.owner == owner
}

func (l *RLock) releaseSave(owner Owner) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.count
	l.handOff()
	return n
}

func (l *RLock) acquireRestore(ctx context.Context, owner Owner, count int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 {
		l.owner, l.count = owner, count
		return nil
	}
	w := l.q.push(owner)
	w.count = count
	if park(ctx, &l.mu, &l.q, w, forever) {
		if err := ctx.Err(); err != nil {
			l.handOff()
			return err
		}
		return nil
	}
	return ctx.Err()
}

// ReleaseOwner implements [Releaser]: it frees the lock if owner holds it.
func (l *RLock) ReleaseOwner(owner Owner) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count > 0 && l.owner == owner {
		l.handOff()
	}
}

// Repr is the lock's repr, without CPython's address and thread id.
func (l *RLock) Repr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count > 0 {
		return fmt.Sprintf("<locked _thread.RLock object count=%d>", l.count)
	}
	return "<unlocked _thread.RLock object count=0>"
}
