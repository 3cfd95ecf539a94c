package syncobj

import "github.com/mpbridge/mpbridge/pickle"

// Blocker is implemented by objects whose calls may block: MayBlock
// reports whether a call could wait (an acquire of a lock that is held
// now, a wait). It is a hint, checked before the call and without its
// owner: a server runs calls that will not block inline, which is
// faster, and the others on their own goroutine so that a client going
// away cancels them.
type Blocker interface {
	MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool
}

// nonBlockingAcquire reports an acquire(False) or acquire(blocking=False).
func nonBlockingAcquire(args pickle.Tuple, kwargs *pickle.Dict) bool {
	if len(args) > 0 && !Truthy(args[0]) {
		return true
	}
	if kwargs != nil {
		if b, ok := kwargs.Get("blocking"); ok && !Truthy(b) {
			return true
		}
	}
	return false
}

// MayBlock implements [Blocker]: an acquire while the lock is held.
func (l *Lock) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	if method != "acquire" || nonBlockingAcquire(args, kwargs) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.locked
}

// MayBlock implements [Blocker]: an acquire while the lock is held (by
// anyone: the caller is not known here).
func (l *RLock) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	if method != "acquire" || nonBlockingAcquire(args, kwargs) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count > 0
}

// MayBlock implements [Blocker]: an acquire at zero.
func (s *Semaphore) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	if method != "acquire" || nonBlockingAcquire(args, kwargs) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value == 0
}

// MayBlock implements [Blocker]: a wait while the flag is clear.
func (e *Event) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	if method != "wait" {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.flag
}

// MayBlock implements [Blocker]: every wait, and an acquire of the lock
// while it is held.
func (c *Condition) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	switch method {
	case "wait":
		return true
	case "acquire":
		if b, ok := c.lock.(Blocker); ok {
			return b.MayBlock(method, args, kwargs)
		}
		return true
	}
	return false
}

// MayBlock implements [Blocker]: every wait.
func (b *Barrier) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	return method == "wait"
}
