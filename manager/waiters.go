package manager

// waiter is one goroutine waiting on a condition of a Queue. It is woken
// by a send on ch (buffered, so waking never blocks); signalled records
// that it was chosen, so that a waiter that gives up (cancelled, timed out)
// can pass the wake-up on instead of losing it.
type waiter struct {
	ch         chan struct{}
	signalled  bool
	prev, next *waiter
}

// waitList is a FIFO of waiters, guarded by the owner's mutex: Python's
// threading.Condition with notify(1) and notify_all().
type waitList struct {
	head, tail *waiter
}

func (l *waitList) add() *waiter {
	w := &waiter{ch: make(chan struct{}, 1)}
	if l.tail == nil {
		l.head, l.tail = w, w
	} else {
		w.prev, l.tail.next, l.tail = l.tail, w, w
	}
	return w
}

// remove unlinks w if it is still waiting (it was not signalled).
func (l *waitList) remove(w *waiter) {
	if w.signalled {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else if l.head == w {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else if l.tail == w {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

// notify wakes the longest-waiting waiter, if any.
func (l *waitList) notify() {
	w := l.head
	if w == nil {
		return
	}
	l.head = w.next
	if l.head == nil {
		l.tail = nil
	} else {
		l.head.prev = nil
	}
	w.next = nil
	w.signalled = true
	w.ch <- struct{}{}
}

// notifyAll wakes every waiter.
func (l *waitList) notifyAll() {
	for l.head != nil {
		l.notify()
	}
}
