package manager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// DefaultSlice bounds each blocking get or put a QueueProxy sends.
const DefaultSlice = time.Second

// drainGrace is how long past a request's own timeout a reply is awaited
// before the connection is given up.
const drainGrace = 30 * time.Second

// QueueProxy is a typed proxy for a queue.Queue served by a manager (a
// Python BaseManager's get_queue, SyncManager's Queue or JoinableQueue, or
// a Go server's [Queue]). It implements mpbridge.Queue and
// mpbridge.JoinableQueue.
//
// A context deadline on Get and Put becomes the request's timeout=. A
// blocking call is sent as a series of requests each bounded by Slice
// (get(True, 1.0), get(True, 1.0), ...) so that a cancelled Get never
// leaves a get blocked on a Python server, where it would take the next
// item put. If the caller gives up while a request is on the wire, its
// reply is still read in the background; an item it carries is kept by
// the proxy and returned by the next Get (or put back on Close), not lost.
type QueueProxy struct {
	*Proxy
	// Slice bounds each blocking request (DefaultSlice if zero). Set it
	// before using the proxy.
	Slice time.Duration

	mu    sync.Mutex
	stash []any // items whose Get was abandoned after the server sent them
	wg    sync.WaitGroup
}

// Queue creates a shared object of typeid (get_queue, Queue, ...) with
// args and returns a QueueProxy for it.
func (c *Client) Queue(ctx context.Context, typeid string, args pickle.Tuple, kwargs *pickle.Dict) (*QueueProxy, error) {
	p, err := c.Create(ctx, typeid, args, kwargs)
	if err != nil {
		return nil, err
	}
	return NewQueueProxy(p), nil
}

// NewQueueProxy wraps a proxy of a queue.
func NewQueueProxy(p *Proxy) *QueueProxy { return &QueueProxy{Proxy: p} }

var (
	_ mpbridge.Queue         = (*QueueProxy)(nil)
	_ mpbridge.JoinableQueue = (*QueueProxy)(nil)
)

func (q *QueueProxy) slice() time.Duration {
	if q.Slice > 0 {
		return q.Slice
	}
	return DefaultSlice
}

// sliceFor returns the timeout of the next request and whether the
// context's deadline has passed.
func (q *QueueProxy) sliceFor(ctx context.Context) (time.Duration, bool) {
	s := q.slice()
	if d, ok := ctx.Deadline(); ok {
		rem := time.Until(d)
		if rem <= 0 {
			return 0, true
		}
		if rem < s {
			s = rem
		}
	}
	return s, false
}

func (q *QueueProxy) errf(op string, err error) error {
	return fmt.Errorf("manager: %s.%s: %w", q.token.Typeid, op, err)
}

// deadlineErr reports a passed deadline as the queue condition plus the
// context's error.
func deadlineErr(cond error, ctx context.Context) error {
	return fmt.Errorf("%w (%w)", cond, context.Cause(ctx))
}

// exchange sends req on a pooled channel and waits for the reply. When ctx
// ends first with the reply still due, onLate runs in the background with
// the late reply (or with a nil error-free zero reply if it never comes)
// and exchange returns ctx's error with late=true.
func (q *QueueProxy) exchange(ctx context.Context, req []byte, op string, wait time.Duration, onLate func(kind string, payload any, err error)) (kind string, payload any, late bool, err error) {
	if err := q.check(); err != nil {
		return "", nil, false, err
	}
	conn, err := q.client.channel(ctx)
	if err != nil {
		return "", nil, false, err
	}
	// The request carries the deadline as its timeout, so the server
	// answers (Empty, Full) right at the deadline: wait for that answer
	// rather than racing it. Only a cancellation abandons the wait.
	rctx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		rctx, cancel = cancelOnly(ctx, d.Add(drainGrace))
		defer cancel()
	}
	if err := conn.SendBytes(rctx, req); err != nil {
		conn.Close()
		return "", nil, false, q.errf(op, err)
	}
	kind, payload, err = recvReply(rctx, conn)
	if err == nil {
		q.client.release(conn)
		return kind, payload, false, nil
	}
	if rctx.Err() == nil || conn.Closed() {
		conn.Close()
		return "", nil, false, q.errf(op, err)
	}
	// The request is out and its reply will come within wait: read it on
	// the same connection, which stays in step if nothing was read yet.
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		kind, payload, err := q.drain(conn, wait)
		onLate(kind, payload, err)
	}()
	return "", nil, true, ctx.Err()
}

func (q *QueueProxy) drain(conn *connection.Conn, wait time.Duration) (string, any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait+drainGrace)
	defer cancel()
	kind, payload, err := recvReply(ctx, conn)
	if err != nil {
		conn.Close()
		return "", nil, err
	}
	q.client.release(conn)
	return kind, payload, nil
}

// endedErr is the error of a get (put) whose slice found the queue empty
// (full) after ctx ended: that exception at a deadline, ctx's error on a
// cancellation; nil while ctx lasts.
func (q *QueueProxy) endedErr(op string, ctx context.Context, err error) error {
	switch {
	case ctx.Err() == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return q.errf(op, err)
	}
	return q.errf(op, ctx.Err())
}

// Get removes and returns the next item, waiting while the queue is empty.
// With a context deadline it fails with an error wrapping mpbridge.ErrEmpty
// once the deadline passes; without one it waits until ctx is cancelled.
func (q *QueueProxy) Get(ctx context.Context) (any, error) {
	for {
		// An item that reached an abandoned Get comes first (checked on
		// every slice, as it may arrive while this Get waits).
		if item, ok := q.popStash(); ok {
			return q.client.result(ctx, KindReturn, item)
		}
		s, expired := q.sliceFor(ctx)
		if expired {
			return nil, q.errf("get", deadlineErr(ExcEmpty(), ctx))
		}
		req, err := encodeRequest(q.token.ID, "get", pickle.Tuple{true, s.Seconds()}, nil)
		if err != nil {
			return nil, err
		}
		kind, payload, late, err := q.exchange(ctx, req, "get", s, q.keepLate)
		if late {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, q.errf("get", deadlineErr(ExcEmpty(), ctx))
			}
			return nil, q.errf("get", err)
		}
		if err != nil {
			return nil, err
		}
		v, err := q.client.result(ctx, kind, payload)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, mpbridge.ErrEmpty) {
			return nil, q.errf("get", err)
		}
		if e := q.endedErr("get", ctx, err); e != nil {
			return nil, e
		}
		if _, ok := ctx.Deadline(); ok {
			if _, expired := q.sliceFor(ctx); expired {
				return nil, q.errf("get", err)
			}
		}
	}
}

// keepLate stores an item that arrived for an abandoned Get.
func (q *QueueProxy) keepLate(kind string, payload any, err error) {
	if err != nil || kind != KindReturn {
		return
	}
	q.mu.Lock()
	q.stash = append(q.stash, payload)
	q.mu.Unlock()
}

func (q *QueueProxy) popStash() (any, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.stash) == 0 {
		return nil, false
	}
	v := q.stash[0]
	q.stash[0] = nil
	q.stash = q.stash[1:]
	return v, true
}

// GetNowait removes and returns the next item or fails at once with an
// error wrapping mpbridge.ErrEmpty.
func (q *QueueProxy) GetNowait(ctx context.Context) (any, error) {
	if item, ok := q.popStash(); ok {
		return q.client.result(ctx, KindReturn, item)
	}
	v, err := q.Call(ctx, "get_nowait", nil, nil)
	if err != nil {
		return nil, q.errf("get_nowait", err)
	}
	return v, nil
}

// Put adds item, waiting while a bounded queue is full. With a context
// deadline it fails with an error wrapping mpbridge.ErrFull once the
// deadline passes. If ctx ends while a request is on the wire, Put waits
// for that request's outcome (at most Slice) and reports it truthfully:
// nil if the item went in.
func (q *QueueProxy) Put(ctx context.Context, item any) error {
	for {
		s, expired := q.sliceFor(ctx)
		if expired {
			return q.errf("put", deadlineErr(ExcFull(), ctx))
		}
		req, err := encodeRequest(q.token.ID, "put", pickle.Tuple{item, true, s.Seconds()}, nil)
		if err != nil {
			return q.errf("put", err)
		}
		type outcome struct {
			kind    string
			payload any
			err     error
		}
		lateCh := make(chan outcome, 1)
		kind, payload, late, err := q.exchange(ctx, req, "put", s, func(k string, p any, e error) {
			lateCh <- outcome{k, p, e}
		})
		if late {
			o := <-lateCh
			if o.err == nil && o.kind == KindReturn {
				return nil
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return q.errf("put", deadlineErr(ExcFull(), ctx))
			}
			return q.errf("put", err)
		}
		if err != nil {
			return err
		}
		_, err = q.client.result(ctx, kind, payload)
		if err == nil {
			return nil
		}
		if !errors.Is(err, mpbridge.ErrFull) {
			return q.errf("put", err)
		}
		if e := q.endedErr("put", ctx, err); e != nil {
			return e
		}
	}
}

// PutNowait adds item or fails at once with an error wrapping
// mpbridge.ErrFull.
func (q *QueueProxy) PutNowait(ctx context.Context, item any) error {
	if _, err := q.Call(ctx, "put_nowait", pickle.Tuple{item}, nil); err != nil {
		return q.errf("put_nowait", err)
	}
	return nil
}

// Qsize returns the approximate number of items in the queue.
func (q *QueueProxy) Qsize(ctx context.Context) (int, error) {
	v, err := q.Call(ctx, "qsize", nil, nil)
	if err != nil {
		return 0, q.errf("qsize", err)
	}
	n, ok := v.(int64)
	if !ok {
		return 0, q.errf("qsize", fmt.Errorf("returned %s: %w", PyTypeName(v), mpbridge.ErrCorrupt))
	}
	q.mu.Lock()
	n += int64(len(q.stash))
	q.mu.Unlock()
	return int(n), nil
}

func (q *QueueProxy) boolCall(ctx context.Context, method string) (bool, error) {
	v, err := q.Call(ctx, method, nil, nil)
	if err != nil {
		return false, q.errf(method, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, q.errf(method, fmt.Errorf("returned %s: %w", PyTypeName(v), mpbridge.ErrCorrupt))
	}
	return b, nil
}

// Empty reports whether the queue is (approximately) empty.
func (q *QueueProxy) Empty(ctx context.Context) (bool, error) {
	q.mu.Lock()
	n := len(q.stash)
	q.mu.Unlock()
	if n > 0 {
		return false, nil
	}
	return q.boolCall(ctx, "empty")
}

// Full reports whether the queue is (approximately) full.
func (q *QueueProxy) Full(ctx context.Context) (bool, error) { return q.boolCall(ctx, "full") }

// TaskDone marks one item fetched by Get as processed; calling it more
// often than items were put is Python's ValueError.
func (q *QueueProxy) TaskDone(ctx context.Context) error {
	if _, err := q.Call(ctx, "task_done", nil, nil); err != nil {
		return q.errf("task_done", err)
	}
	return nil
}

// Join waits until every item put has been marked done. queue.Queue.join
// takes no timeout: if ctx ends first the connection is dropped; a Go
// server then cancels the join, a Python server's thread stays in it
// harmlessly until the tasks are done.
func (q *QueueProxy) Join(ctx context.Context) error {
	if _, err := q.Call(ctx, "join", nil, nil); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return q.errf("join", fmt.Errorf("%w (%w)", mpbridge.ErrTimeout, err))
		}
		return q.errf("join", err)
	}
	return nil
}

// Shutdown is Python 3.13's Queue.shutdown(immediate): later puts fail
// with an error wrapping mpbridge.ErrShutdown, gets do once the queue is
// empty (at once if immediate). Servers running Python 3.12 or older
// answer with an #TRACEBACK RemoteError (no such method).
func (q *QueueProxy) Shutdown(ctx context.Context, immediate bool) error {
	if _, err := q.Call(ctx, "shutdown", pickle.Tuple{immediate}, nil); err != nil {
		return q.errf("shutdown", err)
	}
	return nil
}

// Close waits for the replies of abandoned requests, puts back any item
// they brought (at the tail of the queue), and drops the proxy's
// reference.
func (q *QueueProxy) Close() error {
	q.wg.Wait()
	q.mu.Lock()
	stash := q.stash
	q.stash = nil
	q.mu.Unlock()
	var first error
	for _, item := range stash {
		ctx, cancel := context.WithTimeout(context.Background(), drainGrace)
		if _, err := q.Call(ctx, "put", pickle.Tuple{item}, nil); err != nil && first == nil {
			first = q.errf("close", err)
		}
		cancel()
	}
	if err := q.Proxy.Close(); err != nil && first == nil {
		first = err
	}
	return first
}
