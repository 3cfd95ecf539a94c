package syncobj

import (
	"context"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// Event is threading.Event: a flag that wait blocks on until it is set.
type Event struct {
	mu   sync.Mutex
	flag bool
	q    waitq
}

// NewEvent returns a cleared Event.
func NewEvent() *Event { return &Event{} }

// Call implements [Object]: is_set, set, clear, wait.
func (e *Event) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "is_set", "isSet":
		if _, _, err := (pyfunc{name: "Event." + method, method: true}).bind(args, kwargs); err != nil {
			return nil, err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.flag, nil
	case "set", "clear":
		if _, _, err := (pyfunc{name: "Event." + method, method: true}).bind(args, kwargs); err != nil {
			return nil, err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		e.flag = method == "set"
		if e.flag {
			e.q.signalAll()
		}
		return nil, nil
	case "wait":
		v, _, err := pyfunc{name: "Event.wait", params: []string{"timeout"}, defaults: []any{nil}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.flag {
			return true, nil
		}
		lim, err := condTimeout(v[0], gtErr)
		if err != nil {
			return nil, err
		}
		w := e.q.push(owner)
		if park(ctx, &e.mu, &e.q, w, lim) {
			return true, nil
		}
		return false, ctx.Err()
	}
	return nil, noAttr("Event", method)
}

// Repr is the event's repr (3.12+), without CPython's address.
func (e *Event) Repr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.flag {
		return "<threading.Event: set>"
	}
	return "<threading.Event: unset>"
}
