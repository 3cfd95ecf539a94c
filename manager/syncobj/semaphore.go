package syncobj

import (
	"context"
	"fmt"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// Semaphore is threading.Semaphore, and with bounded set
// threading.BoundedSemaphore. It has no owner.
type Semaphore struct {
	mu      sync.Mutex
	value   int
	initial int
	bounded bool
	q       waitq
}

// NewSemaphore is threading.Semaphore(value=1) called with args, kwargs;
// bounded makes it a BoundedSemaphore.
func NewSemaphore(bounded bool, args pickle.Tuple, kwargs *pickle.Dict) (*Semaphore, error) {
	name := "Semaphore"
	if bounded {
		name = "BoundedSemaphore"
	}
	v, _, err := pyfunc{name: name + ".__init__", params: []string{"value"}, defaults: []any{int64(1)}, method: true}.bind(args, kwargs)
	if err != nil {
		return nil, err
	}
	n, over, ok := toIndex(v[0])
	if !ok {
		if _, num := toNumber(v[0]); num {
			// A float works in CPython (the value is only compared and
			// counted), but a semaphore that counts in floats is not
			// worth having.
			return nil, typeErr("mpbridge: %s value must be an int, not %s", name, TypeName(v[0]))
		}
		return nil, typeErr("'<' not supported between instances of '%s' and 'int'", TypeName(v[0]))
	}
	if n < 0 {
		return nil, valueErr("semaphore initial value must be >= 0")
	}
	if over != 0 {
		return nil, overflowErr("mpbridge: semaphore value too large")
	}
	return &Semaphore{value: n, initial: n, bounded: bounded}, nil
}

func (s *Semaphore) name() string {
	if s.bounded {
		return "BoundedSemaphore"
	}
	return "Semaphore"
}

// Call implements [Object]: acquire, release.
func (s *Semaphore) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "acquire":
		// The class is Semaphore's for both, as acquire is inherited.
		v, _, err := pyfunc{name: "Semaphore.acquire", params: []string{"blocking", "timeout"}, defaults: []any{true, nil}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		blocking := Truthy(v[0])
		if !blocking && v[1] != nil {
			return nil, valueErr("can't specify timeout for non-blocking acquire")
		}
		lim := forever
		if v[1] != nil {
			secs, ok := timeoutSeconds(v[1])
			if !ok {
				return nil, addErr(v[1])
			}
			if lim, err = condTimeout(secs, gtErr); err != nil {
				return nil, err
			}
		}
		return s.acquire(ctx, blocking, lim)
	case "release":
		v, _, err := pyfunc{name: s.name() + ".release", params: []string{"n"}, defaults: []any{int64(1)}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		n, over, ok := toIndex(v[0])
		if !ok {
			return nil, typeErr("'<' not supported between instances of '%s' and 'int'", TypeName(v[0]))
		}
		if n < 1 {
			return nil, valueErr("n must be one or more")
		}
		if over != 0 {
			return nil, overflowErr("mpbridge: semaphore value too large")
		}
		return nil, s.release(n)
	}
	return nil, noAttr(s.name(), method)
}

func (s *Semaphore) acquire(ctx context.Context, blocking bool, lim limit) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value > 0 {
		s.value--
		return true, nil
	}
	if !blocking {
		return false, nil
	}
	w := s.q.push(nil)
	if park(ctx, &s.mu, &s.q, w, lim) {
		// release handed us one unit.
		if err := ctx.Err(); err != nil {
			s.releaseLocked(1)
			return false, err
		}
		return true, nil
	}
	return false, ctx.Err()
}

func (s *Semaphore) release(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bounded && s.value+n > s.initial {
		return valueErr("Semaphore released too many times")
	}
	if s.value+n < s.value {
		return overflowErr("mpbridge: semaphore value too large")
	}
	s.releaseLocked(n)
	return nil
}

// releaseLocked gives n units, first to waiters in arrival order.
func (s *Semaphore) releaseLocked(n int) {
	for n > 0 {
		if _, ok := s.q.signal(); !ok {
			break
		}
		n--
	}
	s.value += n
}

// Repr is the semaphore's repr (3.12+), without CPython's address.
func (s *Semaphore) Repr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bounded {
		return fmt.Sprintf("<threading.BoundedSemaphore: value=%d/%d>", s.value, s.initial)
	}
	return fmt.Sprintf("<threading.Semaphore: value=%d>", s.value)
}
