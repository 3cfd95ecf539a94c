package manager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// Queue is the server side of Python's queue.Queue, the object a manager
// serves for a typeid such as get_queue or SyncManager's Queue: a FIFO with
// an optional bound (maxsize), put and get that block with timeouts, the
// task_done/join accounting and Python 3.13's shutdown. It implements
// [Object] with the methods and the exact semantics of queue.Queue, and
// mpbridge.JoinableQueue for Go code in the serving process.
//
// Items are kept pickled, each re-encoded on its own (never a slice of a
// request, which may refer into the request's memo), so the queue holds
// about the pickled size of its items.
//
// Unlike a Python queue, every blocking call also ends when its context is
// cancelled, and a cancelled get never removes an item: the server cancels
// the calls of a connection that closes, so a client that dies while
// blocked in get does not swallow the next item put.
type Queue struct {
	mu         sync.Mutex
	maxsize    int
	items      ring
	unfinished int
	shut       bool
	discard    bool // shut down immediately: items are dropped
	getters    waitList
	putters    waitList
	allDone    chan struct{} // closed when unfinished reaches 0; nil if nobody waits
	slab       []byte        // where small items are packed, see keep
}

// slabSize is the size of the blocks small items are packed into.
const slabSize = 64 << 10

// keep copies a pickled item into the current slab and returns the copy.
// Packing items back to back keeps the queue's memory at their pickled
// size: stored separately, each item would sit in an allocator size class
// shared with the transient buffers of requests, and the holes those
// leave could not be returned to the system while the queue is long. A
// slab is freed once every item in it has been taken (items leave a FIFO
// in order). Items larger than a quarter slab keep their own allocation.
func (q *Queue) keep(data []byte) []byte {
	n := len(data)
	if n > slabSize/4 {
		return data
	}
	if cap(q.slab)-len(q.slab) < n {
		q.slab = make([]byte, 0, slabSize)
	}
	q.slab = append(q.slab, data...)
	return q.slab[len(q.slab)-n : len(q.slab) : len(q.slab)]
}

// NewQueue returns an empty queue holding at most maxsize items
// (maxsize <= 0: unbounded), as queue.Queue(maxsize) does.
func NewQueue(maxsize int) *Queue { return &Queue{maxsize: maxsize} }

// queueExposed is public_methods(queue.Queue()) on Python 3.13, in dir()
// order. Clients of older versions simply never call shutdown.
var queueExposed = []string{"empty", "full", "get", "get_nowait", "join", "put", "put_nowait", "qsize", "shutdown", "task_done"}

var (
	sigQueuePut      = Signature{Name: "Queue.put", Params: []string{"item", "block", "timeout"}, Defaults: []any{true, nil}}
	sigQueueGet      = Signature{Name: "Queue.get", Params: []string{"block", "timeout"}, Defaults: []any{true, nil}}
	sigQueuePutNW    = Signature{Name: "Queue.put_nowait", Params: []string{"item"}}
	sigQueueShutdown = Signature{Name: "Queue.shutdown", Params: []string{"immediate"}, Defaults: []any{false}}
)

func noArgs(name string) Signature { return Signature{Name: "Queue." + name} }

// Exposed implements Object.
func (q *Queue) Exposed() []string { return append([]string(nil), queueExposed...) }

// MayBlock implements Blocker: get with block true, put with block true on
// a bounded queue, and join can wait.
func (q *Queue) MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool {
	switch method {
	case "get":
		a, err := sigQueueGet.Bind(args, kwargs)
		return err == nil && Truthy(a[0])
	case "put":
		if q.maxsize <= 0 {
			return false
		}
		a, err := sigQueuePut.Bind(args, kwargs)
		return err == nil && Truthy(a[1])
	case "join":
		return true
	}
	return false
}

// TryCall implements Inliner: a blocking get or put that can complete at
// once does. A get comes here only once MayBlock has bound its arguments.
func (q *Queue) TryCall(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error, bool) {
	switch method {
	case "get":
		data, err := q.get(ctx, false, time.Time{})
		if err != nil {
			return nil, nil, false
		}
		return Raw{Pickle: data, Undelivered: func() { q.unget(data) }}, nil, true
	case "put":
		a, err := sigQueuePut.Bind(args, kwargs)
		if err != nil {
			return nil, nil, false
		}
		if _, _, err := Timeout(a[2]); err != nil {
			return nil, nil, false
		}
		q.mu.Lock()
		room := q.shut || q.maxsize <= 0 || q.items.len() < q.maxsize
		q.mu.Unlock()
		if !room {
			return nil, nil, false
		}
		data, err := pickle.Dumps(a[0], pickle.DefaultProtocol)
		if err != nil {
			return nil, nil, false
		}
		// Not blocking: Full (a put that raced for the last slot) leaves
		// the call to the blocking path.
		err = q.put(ctx, data, false, time.Time{})
		if errors.Is(err, mpbridge.ErrFull) {
			return nil, nil, false
		}
		return nil, err, true
	}
	return nil, nil, false
}

// PyRepr implements Reprer.
func (q *Queue) PyRepr() string { return fmt.Sprintf("<queue.Queue object at %#x>", objectAddr(q)) }

// Call implements Object: the methods of queue.Queue with Python's
// argument rules and exceptions. get returns a Raw result (the stored
// pickle) that goes back to the front of the queue if the reply carrying
// it cannot be written.
func (q *Queue) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "put", "put_nowait":
		var a []any
		var err error
		block := true
		var timeout any
		if method == "put" {
			a, err = sigQueuePut.Bind(args, kwargs)
			if err == nil {
				block, timeout = Truthy(a[1]), a[2]
			}
		} else {
			a, err = sigQueuePutNW.Bind(args, kwargs)
			block = false
		}
		if err != nil {
			return nil, err
		}
		var deadline time.Time
		if q.maxsize > 0 && block {
			d, ok, err := Timeout(timeout)
			if err != nil {
				return nil, err
			}
			if ok {
				deadline = time.Now().Add(d)
			}
		}
		data, err := pickle.Dumps(a[0], pickle.DefaultProtocol)
		if err != nil {
			return nil, ExcTypeError(err.Error())
		}
		return nil, q.put(ctx, data, block, deadline)
	case "get", "get_nowait":
		block := false
		var timeout any
		if method == "get" {
			a, err := sigQueueGet.Bind(args, kwargs)
			if err != nil {
				return nil, err
			}
			block, timeout = Truthy(a[0]), a[1]
		} else if _, err := noArgs(method).Bind(args, kwargs); err != nil {
			return nil, err
		}
		var deadline time.Time
		if block {
			d, ok, err := Timeout(timeout)
			if err != nil {
				return nil, err
			}
			if ok {
				deadline = time.Now().Add(d)
			}
		}
		data, err := q.get(ctx, block, deadline)
		if err != nil {
			return nil, err
		}
		return Raw{Pickle: data, Undelivered: func() { q.unget(data) }}, nil
	case "qsize", "empty", "full", "task_done", "join":
		if _, err := noArgs(method).Bind(args, kwargs); err != nil {
			return nil, err
		}
		switch method {
		case "qsize":
			return int64(q.qsize()), nil
		case "empty":
			return q.qsize() == 0, nil
		case "full":
			return q.full(), nil
		case "task_done":
			return nil, q.taskDone()
		default:
			return nil, q.join(ctx)
		}
	case "shutdown":
		a, err := sigQueueShutdown.Bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		q.Shutdown(Truthy(a[0]))
		return nil, nil
	}
	return nil, ErrNoMethod
}

// put adds a pickled item, waiting for a free slot while block is true,
// until deadline (zero: no deadline) or until ctx is done.
func (q *Queue) put(ctx context.Context, data []byte, block bool, deadline time.Time) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	q.mu.Lock()
	for {
		if q.shut {
			q.mu.Unlock()
			return ExcShutDown()
		}
		if q.maxsize <= 0 || q.items.len() < q.maxsize {
			q.items.push(q.keep(data))
			q.unfinished++
			q.getters.notify()
			q.mu.Unlock()
			return nil
		}
		if !block {
			q.mu.Unlock()
			return ExcFull()
		}
		expired, err := q.waitTurn(ctx, &q.putters, deadline, &timer)
		if expired || err != nil {
			q.mu.Unlock()
			if expired {
				return ExcFull()
			}
			return err
		}
	}
}

// get removes the front item, waiting for one while block is true, until
// deadline (zero: none) or until ctx is done. A call whose ctx is done
// never removes an item.
func (q *Queue) get(ctx context.Context, block bool, deadline time.Time) ([]byte, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	q.mu.Lock()
	for {
		if ctx.Err() != nil {
			q.mu.Unlock()
			return nil, ctx.Err()
		}
		if q.items.len() > 0 {
			data := q.items.pop()
			q.putters.notify()
			q.mu.Unlock()
			return data, nil
		}
		if q.shut {
			q.mu.Unlock()
			return nil, ExcShutDown()
		}
		if !block {
			q.mu.Unlock()
			return nil, ExcEmpty()
		}
		expired, err := q.waitTurn(ctx, &q.getters, deadline, &timer)
		if expired || err != nil {
			q.mu.Unlock()
			if expired {
				return nil, ExcEmpty()
			}
			return nil, err
		}
	}
}

// waitTurn waits, with q.mu held, until l is notified, deadline (zero:
// none) passes or ctx is done, and returns with q.mu held again. expired
// reports a deadline that had passed already; err is ctx's error, and a
// wake-up given to a waiter that leaves for that reason is passed on.
func (q *Queue) waitTurn(ctx context.Context, l *waitList, deadline time.Time, timer **time.Timer) (expired bool, err error) {
	var timeC <-chan time.Time
	if !deadline.IsZero() {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return true, nil
		}
		*timer = resetTimer(*timer, remaining)
		timeC = (*timer).C
	}
	w := l.add()
	q.mu.Unlock()
	select {
	case <-w.ch:
	case <-timeC:
	case <-ctx.Done():
	}
	q.mu.Lock()
	l.remove(w)
	if err := ctx.Err(); err != nil {
		if w.signalled {
			l.notify()
		}
		return false, err
	}
	return false, nil
}

func resetTimer(t *time.Timer, d time.Duration) *time.Timer {
	if t == nil {
		return time.NewTimer(d)
	}
	t.Reset(d)
	return t
}

// unget returns an item that a get removed but could not deliver to the
// front of the queue. It does not count as a new task (the get did not
// finish one either).
func (q *Queue) unget(data []byte) {
	q.mu.Lock()
	if !q.discard {
		q.items.pushFront(data)
		q.getters.notify()
	}
	q.mu.Unlock()
}

func (q *Queue) qsize() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items.len()
}

func (q *Queue) full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.maxsize > 0 && q.items.len() >= q.maxsize
}

func (q *Queue) taskDone() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	unfinished := q.unfinished - 1
	if unfinished < 0 {
		return ExcValueError("task_done() called too many times")
	}
	q.unfinished = unfinished
	if unfinished == 0 {
		q.wakeJoiners()
	}
	return nil
}

func (q *Queue) wakeJoiners() {
	if q.allDone != nil {
		close(q.allDone)
		q.allDone = nil
	}
}

func (q *Queue) join(ctx context.Context) error {
	q.mu.Lock()
	if q.unfinished == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.allDone == nil {
		q.allDone = make(chan struct{})
	}
	done := q.allDone
	q.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown is Python 3.13's Queue.shutdown: puts raise queue.ShutDown from
// now on, gets raise it once the queue is empty (at once if immediate, which
// also discards the items and marks them done), and every blocked caller
// wakes up.
func (q *Queue) Shutdown(immediate bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shut = true
	if immediate {
		q.discard = true
		for q.items.len() > 0 {
			q.items.pop()
			if q.unfinished > 0 {
				q.unfinished--
			}
		}
		q.items.clear()
		if q.unfinished == 0 {
			q.wakeJoiners()
		}
	}
	q.getters.notifyAll()
	q.putters.notifyAll()
}

// Go API (mpbridge.JoinableQueue).

// goErr converts the result of a blocking call for Go callers: a passed
// context deadline becomes the queue's Empty or Full condition.
func goErr(op string, err error, onDeadline *pickle.Exception) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("manager: queue %s: %w", op, errorFromReply(onDeadline))
	}
	var pe *pickle.Exception
	if errors.As(err, &pe) {
		err = errorFromReply(pe)
	}
	return fmt.Errorf("manager: queue %s: %w", op, err)
}

func ctxDeadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// Put adds item (any value the pickle package encodes), waiting while the
// queue is full; a passed deadline is ErrFull.
func (q *Queue) Put(ctx context.Context, item any) error {
	data, err := pickle.Dumps(item, pickle.DefaultProtocol)
	if err != nil {
		return fmt.Errorf("manager: queue put: %w", err)
	}
	return goErr("put", q.put(ctx, data, true, ctxDeadline(ctx)), ExcFull())
}

// PutNowait adds item or fails at once with ErrFull.
func (q *Queue) PutNowait(ctx context.Context, item any) error {
	data, err := pickle.Dumps(item, pickle.DefaultProtocol)
	if err != nil {
		return fmt.Errorf("manager: queue put: %w", err)
	}
	return goErr("put", q.put(ctx, data, false, time.Time{}), ExcFull())
}

// Get removes and returns the next item, waiting while the queue is empty;
// a passed deadline is ErrEmpty.
func (q *Queue) Get(ctx context.Context) (any, error) {
	data, err := q.get(ctx, true, ctxDeadline(ctx))
	if err != nil {
		return nil, goErr("get", err, ExcEmpty())
	}
	return pickle.Loads(data)
}

// GetNowait removes and returns the next item or fails with ErrEmpty.
func (q *Queue) GetNowait(ctx context.Context) (any, error) {
	data, err := q.get(ctx, false, time.Time{})
	if err != nil {
		return nil, goErr("get", err, ExcEmpty())
	}
	return pickle.Loads(data)
}

// Qsize returns the number of items queued.
func (q *Queue) Qsize(context.Context) (int, error) { return q.qsize(), nil }

// Empty reports whether no item is queued.
func (q *Queue) Empty(context.Context) (bool, error) { return q.qsize() == 0, nil }

// Full reports whether the queue is bounded and at its bound.
func (q *Queue) Full(context.Context) (bool, error) { return q.full(), nil }

// TaskDone marks one item fetched by Get as processed.
func (q *Queue) TaskDone(context.Context) error { return goErr("task_done", q.taskDone(), nil) }

// Join waits until every item put has been marked done; a passed deadline
// is ErrTimeout.
func (q *Queue) Join(ctx context.Context) error {
	err := q.join(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("manager: queue join: %w (%w)", mpbridge.ErrTimeout, err)
	}
	return err
}

var _ mpbridge.JoinableQueue = (*Queue)(nil)

// Waiters returns how many calls are blocked in get and in put, for
// monitoring and tests.
func (q *Queue) Waiters() (getters, putters int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for w := q.getters.head; w != nil; w = w.next {
		getters++
	}
	for w := q.putters.head; w != nil; w = w.next {
		putters++
	}
	return getters, putters
}
