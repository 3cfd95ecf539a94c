package syncobj

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mpbridge/mpbridge/pickle"
)

// Barrier is threading.Barrier without an action: parties callers wait
// until all have arrived, then all go on.
type Barrier struct {
	mu      sync.Mutex
	q       waitq // broadcast: everyone re-checks state when woken
	parties int
	timeout any // the default timeout of wait, a Python value
	state   int // 0 filling, 1 draining, -1 resetting, -2 broken
	count   int
	ghosts  []*ghost
}

// A ghost is a party whose caller went away while it waited. In CPython
// its server thread would still be blocked in wait, so it keeps counting
// as arrived until the barrier trips, breaks or is reset, and breaks the
// barrier when its own timeout passes.
type ghost struct {
	timer *time.Timer
}

// BrokenBarrierError is threading.BrokenBarrierError.
func BrokenBarrierError() *pickle.Exception {
	return pickle.NewException("threading", "BrokenBarrierError")
}

// NewBarrier is threading.Barrier(parties, action=None, timeout=None).
// An action would be Python code, which mpbridge cannot run.
func NewBarrier(args pickle.Tuple, kwargs *pickle.Dict) (*Barrier, error) {
	v, _, err := pyfunc{name: "Barrier.__init__", params: []string{"parties", "action", "timeout"}, defaults: []any{nil, nil}, method: true}.bind(args, kwargs)
	if err != nil {
		return nil, err
	}
	n, over, ok := toIndex(v[0])
	if !ok {
		num, isNum := toNumber(v[0])
		if !isNum || num.kind != 'f' || num.f != float64(int(num.f)) {
			return nil, typeErr("'<' not supported between instances of '%s' and 'int'", TypeName(v[0]))
		}
		n = int(num.f)
	}
	if n < 1 {
		return nil, valueErr("parties must be > 0")
	}
	if over != 0 {
		return nil, overflowErr("mpbridge: too many parties")
	}
	if v[1] != nil {
		return nil, notImplemented("a Barrier action is not supported")
	}
	return &Barrier{parties: n, timeout: v[2]}, nil
}

// Call implements [Object]: wait, abort, reset, and __getattribute__ for
// parties, n_waiting and broken.
func (b *Barrier) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "wait":
		v, _, err := pyfunc{name: "Barrier.wait", params: []string{"timeout"}, defaults: []any{nil}, method: true}.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		return b.wait(ctx, owner, v[0])
	case "abort", "reset":
		if _, _, err := (pyfunc{name: "Barrier." + method, method: true}).bind(args, kwargs); err != nil {
			return nil, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if method == "abort" {
			b.breakLocked()
			return nil, nil
		}
		if b.count > 0 {
			if b.state == 0 || b.state == -2 {
				b.state = -1
			}
		} else {
			b.state = 0
		}
		b.notifyAll()
		return nil, nil
	case "__getattribute__":
		name, err := oneArgName("__getattribute__", args, kwargs)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		switch name {
		case "parties", "_parties":
			return int64(b.parties), nil
		case "n_waiting":
			if b.state == 0 {
				return int64(b.count), nil
			}
			return int64(0), nil
		case "broken":
			return b.state == -2, nil
		case "_count":
			return int64(b.count), nil
		case "_state":
			return int64(b.state), nil
		case "_timeout":
			return b.timeout, nil
		}
		return nil, attrErr("'Barrier' object has no attribute '%s'", name)
	}
	return nil, noAttr("Barrier", method)
}

// oneArgName is the single str argument of __getattribute__ and friends.
func oneArgName(method string, args pickle.Tuple, kwargs *pickle.Dict) (string, error) {
	if err := wrapperArgs(method, args, kwargs, 1); err != nil {
		return "", err
	}
	name, ok := args[0].(string)
	if !ok {
		return "", typeErr("attribute name must be string, not '%s'", TypeName(args[0]))
	}
	return name, nil
}

func (b *Barrier) wait(ctx context.Context, owner Owner, timeout any) (any, error) {
	if timeout == nil {
		timeout = b.timeout
	}
	lim := forever
	if timeout != nil {
		secs, ok := timeoutSeconds(timeout)
		if !ok {
			return nil, addErr(timeout)
		}
		if secs > maxTimeoutSeconds {
			return nil, overflowErr("timestamp out of range for platform time_t")
		}
		if secs > 0 {
			lim = seconds(secs)
		} else {
			lim = limit{}
		}
	}
	dl := lim.deadline()
	b.mu.Lock()
	defer b.mu.Unlock()
	// _enter: block while the barrier drains or resets.
	for b.state == -1 || b.state == 1 {
		w := b.q.push(owner)
		park(ctx, &b.mu, &b.q, w, forever)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if b.state < 0 {
		return nil, BrokenBarrierError()
	}
	index := b.count
	b.count++
	if index+1 == b.parties {
		b.state = 1
		b.notifyAll()
		b.exit()
		return int64(index), nil
	}
	// _wait: wait_for(lambda: state != 0, timeout)
	for b.state == 0 {
		rem := dl.remaining()
		if !rem.forever && rem.d <= 0 {
			b.breakLocked()
			b.exit()
			return nil, BrokenBarrierError()
		}
		w := b.q.push(owner)
		park(ctx, &b.mu, &b.q, w, rem)
		if ctx.Err() != nil && b.state == 0 {
			b.addGhost(dl)
			return nil, ctx.Err()
		}
	}
	defer b.exit()
	if b.state < 0 {
		return nil, BrokenBarrierError()
	}
	return int64(index), nil
}

// exit is Barrier._exit after a party leaves wait.
func (b *Barrier) exit() {
	b.count--
	b.exitCheck()
}

func (b *Barrier) exitCheck() {
	if b.count == 0 && (b.state == -1 || b.state == 1) {
		b.state = 0
		b.notifyAll()
	}
}

func (b *Barrier) breakLocked() {
	b.state = -2
	b.notifyAll()
}

// notifyAll wakes every waiter; the ghosts, which would wake too, leave.
func (b *Barrier) notifyAll() {
	b.q.signalAll()
	if len(b.ghosts) == 0 {
		return
	}
	for _, g := range b.ghosts {
		if g.timer != nil {
			g.timer.Stop()
		}
	}
	b.count -= len(b.ghosts)
	clear(b.ghosts)
	b.ghosts = b.ghosts[:0]
	b.exitCheck()
}

func (b *Barrier) addGhost(dl deadline) {
	g := &ghost{}
	b.ghosts = append(b.ghosts, g)
	if dl.forever {
		return
	}
	g.timer = time.AfterFunc(time.Until(dl.at), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, x := range b.ghosts {
			if x == g && b.state == 0 {
				b.breakLocked()
				return
			}
		}
	})
}

// Repr is the barrier's repr (3.12+), without CPython's address.
func (b *Barrier) Repr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == -2 {
		return "<threading.Barrier: broken>"
	}
	n := 0
	if b.state == 0 {
		n = b.count
	}
	return fmt.Sprintf("<threading.Barrier: waiters=%d/%d>", n, b.parties)
}
