package syncobj

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// Condition is threading.Condition over an RLock (the default) or a Lock
// or RLock shared object passed to its constructor. The caller that
// acquired the lock owns it; only the owner may wait or notify.
type Condition struct {
	lock lockable
	mu   sync.Mutex // guards q
	q    waitq
}

// NewCondition is threading.Condition(lock=None). lock is nil for a new
// RLock, or the shared Lock or RLock that the lock argument refers to.
func NewCondition(lock Object) (*Condition, error) {
	if lock == nil {
		return &Condition{lock: NewRLock()}, nil
	}
	l, ok := lock.(lockable)
	if !ok {
		return nil, exc("NotImplementedError", "mpbridge: a Condition's lock must be a Lock or an RLock of the same manager")
	}
	return &Condition{lock: l}, nil
}

// Call implements [Object]: acquire, release, wait, notify, notify_all.
func (c *Condition) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if res, ok, err := lockCall(ctx, c.lock, c.lockName(), owner, method, args, kwargs); ok {
		return res, err
	}
	switch method {
	case "wait":
		v, _, err := pyfunc{name: "Condition.wait", params: []string{"timeout"}, defaults: []any{nil}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		if !c.lock.owned(owner) {
			return nil, runtimeErr("cannot wait on un-acquired lock")
		}
		lim, err := condTimeout(v[0], gtErr)
		if err != nil {
			return nil, err
		}
		return c.wait(ctx, owner, lim)
	case "notify":
		v, _, err := pyfunc{name: "Condition.notify", params: []string{"n"}, defaults: []any{int64(1)}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		if !c.lock.owned(owner) {
			return nil, runtimeErr("cannot notify on un-acquired lock")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		n, err := notifyCount(v[0], c.q.len())
		if err != nil {
			return nil, err
		}
		for ; n > 0; n-- {
			if _, ok := c.q.signal(); !ok {
				break
			}
		}
		return nil, nil
	case "notify_all", "notifyAll":
		if _, _, err := (pyfunc{name: "Condition." + method, method: true}).bind(args, kwargs); err != nil {
			return nil, err
		}
		if !c.lock.owned(owner) {
			return nil, runtimeErr("cannot notify on un-acquired lock")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.q.signalAll()
		return nil, nil
	}
	return nil, noAttr("Condition", method)
}

func (c *Condition) lockName() string {
	if _, ok := c.lock.(*Lock); ok {
		return "lock"
	}
	return "RLock"
}

// notifyCount is how many waiters notify(n) wakes: CPython 3.13 loops
// "while waiters and n > 0: ...; n -= 1".
func notifyCount(v any, waiting int) (int, error) {
	num, ok := toNumber(v)
	if !ok || num.kind == 'c' {
		return 0, gtErr(v)
	}
	switch num.kind {
	case 'i':
		return int(min(max(num.i, 0), int64(waiting))), nil
	case 'b':
		if num.b.Sign() > 0 {
			return waiting, nil
		}
		return 0, nil
	}
	if !(num.f > 0) {
		return 0, nil
	}
	return int(min(math.Ceil(num.f), float64(waiting))), nil
}

// wait is Condition.wait: release the lock entirely, wait to be notified
// (or for lim to pass), take the lock back. A caller whose ctx ends does
// not take the lock back, and passes on a notification it received.
func (c *Condition) wait(ctx context.Context, owner Owner, lim limit) (bool, error) {
	c.mu.Lock()
	w := c.q.push(owner)
	c.mu.Unlock()
	saved := c.lock.releaseSave(owner)
	c.mu.Lock()
	got := park(ctx, &c.mu, &c.q, w, lim)
	if err := ctx.Err(); err != nil {
		if got {
			c.q.signal()
		}
		c.mu.Unlock()
		return false, err
	}
	c.mu.Unlock()
	if err := c.lock.acquireRestore(ctx, owner, saved); err != nil {
		return false, err
	}
	return got, nil
}

// ReleaseOwner implements [Releaser]: it frees the condition's lock if
// owner holds it.
func (c *Condition) ReleaseOwner(owner Owner) {
	if r, ok := c.lock.(Releaser); ok {
		r.ReleaseOwner(owner)
	}
}

// Repr is the condition's repr, without CPython's addresses.
func (c *Condition) Repr() string {
	c.mu.Lock()
	n := c.q.len()
	c.mu.Unlock()
	lr := ""
	if r, ok := c.lock.(Reprer); ok {
		lr = r.Repr()
	}
	return fmt.Sprintf("<Condition(%s, %d)>", lr, n)
}
