package syncobj

import (
	"context"
	"math"
	"math/big"
	"sync"
	"time"
)

// limit is how long a blocking call may wait.
type limit struct {
	forever bool
	d       time.Duration // when !forever; <= 0 means do not wait
}

var forever = limit{forever: true}

// maxWait is where a finite timeout becomes "forever": Go's timers stop at
// 292 years, Python's at 292 years of nanoseconds too.
const maxWait = 100 * 365 * 24 * time.Hour

func seconds(s float64) limit {
	if s*float64(time.Second) >= float64(maxWait) {
		return forever
	}
	return limit{d: time.Duration(s * float64(time.Second))}
}

// maxTimeoutSeconds is the largest timeout CPython converts to its
// nanosecond clock ("timestamp out of range for platform time_t").
const maxTimeoutSeconds = float64(math.MaxInt64) / 1e9

// timeoutSeconds converts a number to float seconds, or reports it is not
// a number.
func timeoutSeconds(v any) (float64, bool) {
	n, ok := toNumber(v)
	if !ok || n.kind == 'c' {
		return 0, false
	}
	switch n.kind {
	case 'i':
		return float64(n.i), true
	case 'b':
		f, _ := new(big.Float).SetInt(n.b).Float64()
		return f, true
	}
	return n.f, true
}

// condTimeout converts the timeout of a Python-level wait
// (Condition.wait, Event.wait): None waits forever, a number <= 0 or NaN
// does not wait, and what CPython's lock refuses raises as there.
// cmpErr is the TypeError for a timeout that is not a number.
func condTimeout(v any, cmpErr func(v any) error) (limit, error) {
	if v == nil {
		return forever, nil
	}
	s, ok := timeoutSeconds(v)
	if !ok {
		return limit{}, cmpErr(v)
	}
	if !(s > 0) {
		return limit{}, nil
	}
	if s > maxTimeoutSeconds {
		return limit{}, overflowErr("timestamp out of range for platform time_t")
	}
	return seconds(s), nil
}

func gtErr(v any) error {
	return typeErr("'>' not supported between instances of '%s' and 'int'", TypeName(v))
}

func addErr(v any) error {
	return typeErr("unsupported operand type(s) for +: 'float' and '%s'", TypeName(v))
}

// waiter is one blocked call.
type waiter struct {
	ch    chan struct{} // closed by signal
	done  bool          // signalled; read and written under the owner's mutex
	owner Owner         // who waits (RLock hand-off)
	count int           // recursion count to restore (RLock hand-off)
}

// waitq is a FIFO of waiters, guarded by its owner's mutex.
type waitq struct {
	ws []*waiter
}

func (q *waitq) push(owner Owner) *waiter {
	w := &waiter{ch: make(chan struct{}), owner: owner}
	q.ws = append(q.ws, w)
	return w
}

func (q *waitq) len() int { return len(q.ws) }

func (q *waitq) remove(w *waiter) {
	for i, x := range q.ws {
		if x == w {
			copy(q.ws[i:], q.ws[i+1:])
			q.ws[len(q.ws)-1] = nil
			q.ws = q.ws[:len(q.ws)-1]
			return
		}
	}
}

// popFront removes and returns the first waiter, or nil.
func (q *waitq) popFront() *waiter {
	if len(q.ws) == 0 {
		return nil
	}
	w := q.ws[0]
	copy(q.ws, q.ws[1:])
	q.ws[len(q.ws)-1] = nil
	q.ws = q.ws[:len(q.ws)-1]
	return w
}

// signal wakes the first waiter; it reports false if there was none.
func (q *waitq) signal() (*waiter, bool) {
	w := q.popFront()
	if w == nil {
		return nil, false
	}
	w.done = true
	close(w.ch)
	return w, true
}

// signalAll wakes every waiter.
func (q *waitq) signalAll() {
	for _, w := range q.ws {
		w.done = true
		close(w.ch)
	}
	clear(q.ws)
	q.ws = q.ws[:0]
}

// park waits for w to be signalled, for lim to pass or for ctx to be
// done. mu is held on entry and on return, released while waiting. It
// reports whether w was signalled, which wins over a timeout or a
// cancellation that happened at the same time, so a wake-up is never
// lost; when it was not, w has been removed from q.
func park(ctx context.Context, mu *sync.Mutex, q *waitq, w *waiter, lim limit) bool {
	if !lim.forever && lim.d <= 0 {
		q.remove(w)
		return false
	}
	mu.Unlock()
	var timeout <-chan time.Time
	if !lim.forever {
		t := time.NewTimer(lim.d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-w.ch:
	case <-timeout:
	case <-ctx.Done():
	}
	mu.Lock()
	if w.done {
		return true
	}
	q.remove(w)
	return false
}

// deadline turns a limit into an absolute time, for loops that wait
// several times (Semaphore.acquire, Barrier.wait).
type deadline struct {
	forever bool
	at      time.Time
}

func (l limit) deadline() deadline {
	if l.forever {
		return deadline{forever: true}
	}
	return deadline{at: time.Now().Add(l.d)}
}

func (d deadline) remaining() limit {
	if d.forever {
		return forever
	}
	return limit{d: time.Until(d.at)}
}
