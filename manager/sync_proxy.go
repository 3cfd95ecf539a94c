package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager/syncobj"
	"github.com/mpbridge/mpbridge/pickle"
)

// Typed proxies for SyncManager's shared objects, for Go programs that
// use a Python (or Go) manager server: Client.Dict, Client.List, ...
// create the object and return its proxy. Every method is one call on the
// server, with Python's semantics: a Python exception comes back as a
// *pickle.Exception (a missing key is KeyError, as d[k] raises it).
// Close a proxy to drop its reference on the server.

// syncSlice bounds every blocking request sent to the server. A Go call
// without a deadline waits in such slices, so that a cancelled call never
// leaves behind a blocked acquire or wait on a Python server, where it
// would later take the lock for nobody.
const syncSlice = time.Second

// shared is what the typed proxies have in common.
type shared struct {
	p     *Proxy
	class string // the Python proxy class, e.g. "DictProxy"
}

// Proxy returns the generic proxy, for methods the typed API lacks.
func (s *shared) Proxy() *Proxy { return s.p }

// Close drops the proxy's reference on the server.
func (s *shared) Close() error { return s.p.Close() }

// PickleReduce makes a typed proxy picklable as CPython pickles a proxy,
// RebuildProxy(ProxyClass, token, 'pickle', {}), so it can be stored in a
// shared dict or list or passed to a constructor (Condition(lock)).
func (s *shared) PickleReduce() (*pickle.Object, error) {
	return rebuildProxyObject(s.class, s.p.token, pickle.NewDict(0)), nil
}

func (s *shared) call(ctx context.Context, method string, args ...any) (any, error) {
	return s.p.Call(ctx, method, pickle.Tuple(args), nil)
}

func (s *shared) callNone(ctx context.Context, method string, args ...any) error {
	_, err := s.call(ctx, method, args...)
	return err
}

func (s *shared) callInt(ctx context.Context, method string, args ...any) (int, error) {
	v, err := s.call(ctx, method, args...)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("manager: %s returned %s: %w", method, PyTypeName(v), mpbridge.ErrCorrupt)
	}
	return int(n), nil
}

func (s *shared) callBool(ctx context.Context, method string, args ...any) (bool, error) {
	v, err := s.call(ctx, method, args...)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("manager: %s returned %s: %w", method, PyTypeName(v), mpbridge.ErrCorrupt)
	}
	return b, nil
}

// createTyped creates an object and wraps its proxy in a typed proxy.
func createTyped[T any](ctx context.Context, c *Client, typeid string, args pickle.Tuple, kwargs *pickle.Dict, wrap func(*Proxy) *T) (*T, error) {
	p, err := c.Create(ctx, typeid, args, kwargs)
	if err != nil {
		return nil, err
	}
	return wrap(p), nil
}

// pySlice is builtins.slice(start, stop, step).
func pySlice(start, stop, step any) *pickle.Object {
	return &pickle.Object{Callable: pickle.Global{Module: "builtins", Name: "slice"}, Kind: pickle.Reduce, Args: pickle.Tuple{start, stop, step}}
}

// timeoutArg is the timeout to send for a blocking call under ctx: the
// time left before its deadline, capped at syncSlice when capped is
// true; expired reports a deadline already passed.
func timeoutArg(ctx context.Context, capped bool) (secs any, expired bool) {
	d, ok := ctx.Deadline()
	if !ok {
		if capped {
			return syncSlice.Seconds(), false
		}
		return nil, false
	}
	left := time.Until(d)
	if left <= 0 {
		return 0.0, true
	}
	if capped && left > syncSlice {
		left = syncSlice
	}
	return left.Seconds(), false
}

// ctxErr is the error of a blocking call whose ctx ended:
// errors.Is(err, mpbridge.ErrTimeout) holds for a deadline.
func ctxErr(op string, ctx context.Context) error {
	err := ctx.Err()
	if err == nil { // the deadline passed, the context does not know yet
		err = context.DeadlineExceeded
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("manager: %s: %w (%w)", op, mpbridge.ErrTimeout, err)
	}
	return fmt.Errorf("manager: %s: %w", op, err)
}

// serverTimed returns the context for a call whose timeout argument the
// server honours: it is not cut short by ctx's deadline (the server
// answers then, and its answer counts), only by ctx's cancellation, and
// is bounded by grace past the timeout in any case.
func serverTimed(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return cancelOnly(ctx, time.Now().Add(timeout+30*time.Second))
}

// cancelOnly returns a context that ends when ctx is cancelled or at
// limit, but not at ctx's own deadline.
func cancelOnly(ctx context.Context, limit time.Time) (context.Context, context.CancelFunc) {
	callCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), limit)
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return callCtx, func() { stop(); cancel() }
}

// asList reads a list result: a list, or list(...) as managers.py reduces
// the dict views (keys(), values(), items()) from a Python server.
func asList(method string, v any) ([]any, error) {
	switch x := v.(type) {
	case *pickle.List:
		return *x, nil
	case *pickle.Object:
		if x.Callable == (pickle.Global{Module: "builtins", Name: "list"}) && len(x.Args) == 1 {
			if l, ok := x.Args[0].(*pickle.List); ok {
				return *l, nil
			}
			if t, ok := x.Args[0].(pickle.Tuple); ok {
				return t, nil
			}
		}
	}
	return nil, fmt.Errorf("manager: %s returned %s: %w", method, PyTypeName(v), mpbridge.ErrCorrupt)
}

// ------------------------------------------------------------------ dict

// DictProxy is a shared dict (SyncManager.dict, DictProxy).
type DictProxy struct{ shared }

// Dict creates a shared dict holding the items of init (nil for empty).
func (c *Client) Dict(ctx context.Context, init *pickle.Dict) (*DictProxy, error) {
	var args pickle.Tuple
	if init != nil {
		args = pickle.Tuple{init}
	}
	return createTyped(ctx, c, "dict", args, nil, NewDictProxy)
}

// Len is len(d).
func (d *DictProxy) Len(ctx context.Context) (int, error) { return d.callInt(ctx, "__len__") }

// Get is d[key]: a missing key is Python's KeyError.
func (d *DictProxy) Get(ctx context.Context, key any) (any, error) {
	return d.call(ctx, "__getitem__", key)
}

// GetDefault is d.get(key, def).
func (d *DictProxy) GetDefault(ctx context.Context, key, def any) (any, error) {
	return d.call(ctx, "get", key, def)
}

// Set is d[key] = value.
func (d *DictProxy) Set(ctx context.Context, key, value any) error {
	return d.callNone(ctx, "__setitem__", key, value)
}

// Delete is del d[key].
func (d *DictProxy) Delete(ctx context.Context, key any) error {
	return d.callNone(ctx, "__delitem__", key)
}

// Contains is key in d.
func (d *DictProxy) Contains(ctx context.Context, key any) (bool, error) {
	return d.callBool(ctx, "__contains__", key)
}

// Pop is d.pop(key): a missing key is KeyError.
func (d *DictProxy) Pop(ctx context.Context, key any) (any, error) { return d.call(ctx, "pop", key) }

// PopDefault is d.pop(key, def).
func (d *DictProxy) PopDefault(ctx context.Context, key, def any) (any, error) {
	return d.call(ctx, "pop", key, def)
}

// PopItem is d.popitem(): the last item inserted.
func (d *DictProxy) PopItem(ctx context.Context) (key, value any, err error) {
	v, err := d.call(ctx, "popitem")
	if err != nil {
		return nil, nil, err
	}
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) != 2 {
		return nil, nil, fmt.Errorf("manager: popitem returned %s: %w", pickle.Repr(v), mpbridge.ErrCorrupt)
	}
	return t[0], t[1], nil
}

// SetDefault is d.setdefault(key, def).
func (d *DictProxy) SetDefault(ctx context.Context, key, def any) (any, error) {
	return d.call(ctx, "setdefault", key, def)
}

// Update is d.update(other, **kwargs): other is a dict, an iterable of
// pairs, or nil.
func (d *DictProxy) Update(ctx context.Context, other any, kwargs *pickle.Dict) error {
	var args pickle.Tuple
	if other != nil {
		args = pickle.Tuple{other}
	}
	_, err := d.p.Call(ctx, "update", args, kwargs)
	return err
}

// Clear is d.clear().
func (d *DictProxy) Clear(ctx context.Context) error { return d.callNone(ctx, "clear") }

// Copy is d.copy(): a snapshot of the dict.
func (d *DictProxy) Copy(ctx context.Context) (*pickle.Dict, error) {
	v, err := d.call(ctx, "copy")
	if err != nil {
		return nil, err
	}
	m, ok := v.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("manager: copy returned %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	return m, nil
}

func (d *DictProxy) list(ctx context.Context, method string) ([]any, error) {
	v, err := d.call(ctx, method)
	if err != nil {
		return nil, err
	}
	return asList(method, v)
}

// Keys is list(d.keys()).
func (d *DictProxy) Keys(ctx context.Context) ([]any, error) { return d.list(ctx, "keys") }

// Values is list(d.values()).
func (d *DictProxy) Values(ctx context.Context) ([]any, error) { return d.list(ctx, "values") }

// Items is list(d.items()): pickle.Tuple pairs.
func (d *DictProxy) Items(ctx context.Context) ([]any, error) { return d.list(ctx, "items") }

// Iter is iter(d): a shared iterator over the keys, as `for k in d` uses.
func (d *DictProxy) Iter(ctx context.Context) (*IteratorProxy, error) {
	v, err := d.call(ctx, "__iter__")
	if err != nil {
		return nil, err
	}
	p, ok := v.(*Proxy)
	if !ok {
		return nil, fmt.Errorf("manager: __iter__ returned %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	return NewIteratorProxy(p), nil
}

// IteratorProxy is a shared iterator (typeid Iterator, IteratorProxy).
type IteratorProxy struct{ shared }

// Next is next(it); ok is false once the iterator is exhausted
// (StopIteration).
func (it *IteratorProxy) Next(ctx context.Context) (v any, ok bool, err error) {
	v, err = it.call(ctx, "__next__")
	var pe *pickle.Exception
	if errors.As(err, &pe) && pe.Name() == "StopIteration" {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// ------------------------------------------------------------------ list

// ListProxy is a shared list (SyncManager.list, ListProxy).
type ListProxy struct{ shared }

// List creates a shared list holding items.
func (c *Client) List(ctx context.Context, items ...any) (*ListProxy, error) {
	l := pickle.List(append([]any(nil), items...))
	return createTyped(ctx, c, "list", pickle.Tuple{&l}, nil, NewListProxy)
}

// Len is len(l).
func (l *ListProxy) Len(ctx context.Context) (int, error) { return l.callInt(ctx, "__len__") }

// Get is l[i] (negative i counts from the end).
func (l *ListProxy) Get(ctx context.Context, i int) (any, error) {
	return l.call(ctx, "__getitem__", i)
}

// Set is l[i] = v.
func (l *ListProxy) Set(ctx context.Context, i int, v any) error {
	return l.callNone(ctx, "__setitem__", i, v)
}

// Delete is del l[i].
func (l *ListProxy) Delete(ctx context.Context, i int) error {
	return l.callNone(ctx, "__delitem__", i)
}

// Slice is l[start:stop:step]; nil stands for an omitted bound.
func (l *ListProxy) Slice(ctx context.Context, start, stop, step any) ([]any, error) {
	v, err := l.call(ctx, "__getitem__", pySlice(start, stop, step))
	if err != nil {
		return nil, err
	}
	return asList("__getitem__", v)
}

// Values is l[:], a copy of the items.
func (l *ListProxy) Values(ctx context.Context) ([]any, error) { return l.Slice(ctx, nil, nil, nil) }

// Append is l.append(v).
func (l *ListProxy) Append(ctx context.Context, v any) error { return l.callNone(ctx, "append", v) }

// Extend is l.extend(items).
func (l *ListProxy) Extend(ctx context.Context, items ...any) error {
	return l.callNone(ctx, "extend", pickle.Tuple(items))
}

// Insert is l.insert(i, v).
func (l *ListProxy) Insert(ctx context.Context, i int, v any) error {
	return l.callNone(ctx, "insert", i, v)
}

// Pop is l.pop(i); use -1 for the last item.
func (l *ListProxy) Pop(ctx context.Context, i int) (any, error) { return l.call(ctx, "pop", i) }

// Remove is l.remove(v): ValueError if absent.
func (l *ListProxy) Remove(ctx context.Context, v any) error { return l.callNone(ctx, "remove", v) }

// Index is l.index(v): ValueError if absent.
func (l *ListProxy) Index(ctx context.Context, v any) (int, error) { return l.callInt(ctx, "index", v) }

// Count is l.count(v).
func (l *ListProxy) Count(ctx context.Context, v any) (int, error) { return l.callInt(ctx, "count", v) }

// Contains is v in l.
func (l *ListProxy) Contains(ctx context.Context, v any) (bool, error) {
	return l.callBool(ctx, "__contains__", v)
}

// Reverse is l.reverse().
func (l *ListProxy) Reverse(ctx context.Context) error { return l.callNone(ctx, "reverse") }

// Sort is l.sort(reverse=reverse), with Python's ordering.
func (l *ListProxy) Sort(ctx context.Context, reverse bool) error {
	_, err := l.p.Call(ctx, "sort", nil, kwargs("reverse", reverse))
	return err
}

func kwargs(pairs ...any) *pickle.Dict {
	d := pickle.NewDict(len(pairs) / 2)
	for i := 0; i+1 < len(pairs); i += 2 {
		_ = d.Set(pairs[i], pairs[i+1])
	}
	return d
}

// ------------------------------------------------- Value, Array, Namespace

// ValueProxy is a shared managers.Value (SyncManager.Value, ValueProxy).
type ValueProxy struct{ shared }

// Value creates a shared Value(typecode, v).
func (c *Client) Value(ctx context.Context, typecode string, v any) (*ValueProxy, error) {
	return createTyped(ctx, c, "Value", pickle.Tuple{typecode, v}, nil, NewValueProxy)
}

// Get is v.value.
func (v *ValueProxy) Get(ctx context.Context) (any, error) { return v.call(ctx, "get") }

// Set is v.value = x.
func (v *ValueProxy) Set(ctx context.Context, x any) error { return v.callNone(ctx, "set", x) }

// ArrayProxy is a shared array.array (SyncManager.Array, ArrayProxy).
type ArrayProxy struct{ shared }

// Array creates a shared array.array(typecode, items).
func (c *Client) Array(ctx context.Context, typecode string, items ...any) (*ArrayProxy, error) {
	l := pickle.List(append([]any(nil), items...))
	return createTyped(ctx, c, "Array", pickle.Tuple{typecode, &l}, nil, NewArrayProxy)
}

// Len is len(a).
func (a *ArrayProxy) Len(ctx context.Context) (int, error) { return a.callInt(ctx, "__len__") }

// Get is a[i].
func (a *ArrayProxy) Get(ctx context.Context, i int) (any, error) {
	return a.call(ctx, "__getitem__", i)
}

// Set is a[i] = v; v must fit the typecode (OverflowError, TypeError).
func (a *ArrayProxy) Set(ctx context.Context, i int, v any) error {
	return a.callNone(ctx, "__setitem__", i, v)
}

// Values is a[:]: the typecode and the items.
func (a *ArrayProxy) Values(ctx context.Context) (typecode string, items []any, err error) {
	v, err := a.call(ctx, "__getitem__", pySlice(nil, nil, nil))
	if err != nil {
		return "", nil, err
	}
	return syncobj.ArrayValues(v)
}

// NamespaceProxy is a shared managers.Namespace (NamespaceProxy).
type NamespaceProxy struct{ shared }

// Namespace creates a shared Namespace(**attrs); attrs may be nil.
func (c *Client) Namespace(ctx context.Context, attrs *pickle.Dict) (*NamespaceProxy, error) {
	return createTyped(ctx, c, "Namespace", nil, attrs, NewNamespaceProxy)
}

// Get is ns.name: AttributeError if unset.
func (n *NamespaceProxy) Get(ctx context.Context, name string) (any, error) {
	return n.call(ctx, "__getattribute__", name)
}

// Set is ns.name = v.
func (n *NamespaceProxy) Set(ctx context.Context, name string, v any) error {
	return n.callNone(ctx, "__setattr__", name, v)
}

// Delete is del ns.name.
func (n *NamespaceProxy) Delete(ctx context.Context, name string) error {
	return n.callNone(ctx, "__delattr__", name)
}

// ---------------------------------------------------------------- locks

// LockProxy is a shared Lock, Semaphore or BoundedSemaphore
// (AcquirerProxy): they have no owner, so any connection may release.
type LockProxy struct{ shared }

// Lock creates a shared threading.Lock.
func (c *Client) Lock(ctx context.Context) (*LockProxy, error) {
	return createTyped(ctx, c, "Lock", nil, nil, NewLockProxy)
}

// Semaphore creates a shared threading.Semaphore(value).
func (c *Client) Semaphore(ctx context.Context, value int) (*LockProxy, error) {
	return createTyped(ctx, c, "Semaphore", pickle.Tuple{value}, nil, NewLockProxy)
}

// BoundedSemaphore creates a shared threading.BoundedSemaphore(value).
func (c *Client) BoundedSemaphore(ctx context.Context, value int) (*LockProxy, error) {
	return createTyped(ctx, c, "BoundedSemaphore", pickle.Tuple{value}, nil, NewLockProxy)
}

// Acquire blocks until the lock is taken or ctx ends (the error then
// wraps ctx.Err(), and mpbridge.ErrTimeout for a deadline).
func (l *LockProxy) Acquire(ctx context.Context) error {
	return acquireLoop(ctx, func(ctx context.Context, timeout any) (any, error) {
		return l.call(ctx, "acquire", true, timeout)
	}, func() { _ = l.callNone(context.Background(), "release") })
}

// TryAcquire is acquire(False): it reports whether the lock was free.
func (l *LockProxy) TryAcquire(ctx context.Context) (bool, error) {
	return l.callBool(ctx, "acquire", false)
}

// Release is release(): RuntimeError for a Lock that is not locked,
// ValueError for a BoundedSemaphore released too many times.
func (l *LockProxy) Release(ctx context.Context) error { return l.callNone(ctx, "release") }

// acquireLoop acquires in bounded slices until it gets the lock or ctx
// ends. A slice in flight is never abandoned (a Python server would take
// the lock for nobody later): when ctx ends during one, acquireLoop waits
// for it and gives back a lock it got.
func acquireLoop(ctx context.Context, try func(context.Context, any) (any, error), undo func()) error {
	for {
		timeout, expired := timeoutArg(ctx, true)
		if expired || ctx.Err() != nil {
			return ctxErr("acquire", ctx)
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncSlice+30*time.Second)
		v, err := try(callCtx, timeout)
		cancel()
		if err != nil {
			return err
		}
		if v == true {
			if ctx.Err() != nil {
				undo()
				return ctxErr("acquire", ctx)
			}
			return nil
		}
	}
}

// ownedLock is the connection an RLockProxy or ConditionProxy holds from
// its first acquire to its last release: on the server, the lock belongs
// to that connection.
type ownedLock struct {
	shared
	mu    chanMutex
	conn  *connection.Conn
	count int
}

// chanMutex is a mutex that a waiter can give up on when its ctx ends.
type chanMutex chan struct{}

func (m chanMutex) lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m chanMutex) unlock() { <-m }

// callOwned sends a method call on the owned connection (or, when the
// lock is not held, on a pooled one, where the server's ownership check
// answers).
func (o *ownedLock) callOwned(ctx context.Context, method string, args ...any) (any, error) {
	if o.conn == nil {
		return o.call(ctx, method, args...)
	}
	req, err := encodeRequest(o.p.token.ID, method, pickle.Tuple(args), nil)
	if err != nil {
		return nil, err
	}
	kind, payload, err := roundTrip(ctx, o.conn, req)
	if err != nil {
		// The connection is gone, and with it the ownership (a Go server
		// releases the lock; a Python one keeps it for a dead thread).
		o.conn.Close()
		o.conn, o.count = nil, 0
		return nil, fmt.Errorf("manager: %s: %w", method, err)
	}
	return o.p.client.result(ctx, kind, payload)
}

// Acquire blocks until the lock is held by this proxy or ctx ends. It is
// reentrant: each Acquire needs a Release.
func (o *ownedLock) Acquire(ctx context.Context) error {
	if err := o.mu.lock(ctx); err != nil {
		return ctxErr("acquire", ctx)
	}
	defer o.mu.unlock()
	if o.conn == nil {
		conn, err := o.p.client.channel(ctx)
		if err != nil {
			return err
		}
		o.conn = conn
	}
	err := acquireLoop(ctx, func(ctx context.Context, timeout any) (any, error) {
		return o.callOwned(ctx, "acquire", true, timeout)
	}, func() { _, _ = o.callOwned(context.Background(), "release") })
	if err != nil {
		o.dropIfUnused()
		return err
	}
	o.count++
	return nil
}

// TryAcquire is acquire(False).
func (o *ownedLock) TryAcquire(ctx context.Context) (bool, error) {
	if err := o.mu.lock(ctx); err != nil {
		return false, ctxErr("acquire", ctx)
	}
	defer o.mu.unlock()
	if o.conn == nil {
		conn, err := o.p.client.channel(ctx)
		if err != nil {
			return false, err
		}
		o.conn = conn
	}
	v, err := o.callOwned(ctx, "acquire", false)
	if err == nil && v == true {
		o.count++
		return true, nil
	}
	o.dropIfUnused()
	if err != nil {
		return false, err
	}
	return false, nil
}

// Release undoes one Acquire: RuntimeError('cannot release un-acquired
// lock') if this proxy does not hold the lock.
func (o *ownedLock) Release(ctx context.Context) error {
	if err := o.mu.lock(ctx); err != nil {
		return ctxErr("release", ctx)
	}
	defer o.mu.unlock()
	if _, err := o.callOwned(ctx, "release"); err != nil {
		return err
	}
	if o.count > 0 {
		o.count--
	}
	o.dropIfUnused()
	return nil
}

// dropIfUnused returns the connection to the pool once nothing is held.
func (o *ownedLock) dropIfUnused() {
	if o.count == 0 && o.conn != nil {
		o.p.client.release(o.conn)
		o.conn = nil
	}
}

// Close drops the proxy's reference; a lock still held is released with
// the connection that holds it (a Go server frees it; a Python server
// keeps it, as for a thread that exits holding it).
func (o *ownedLock) Close() error {
	o.mu <- struct{}{}
	if o.conn != nil {
		o.conn.Close()
		o.conn, o.count = nil, 0
	}
	<-o.mu
	return o.p.Close()
}

// RLockProxy is a shared RLock (AcquirerProxy). The proxy is the owner, as
// a thread is in Python: it holds one connection from its first Acquire to
// its last Release, so that the server sees one caller. Goroutines that
// must own the lock separately need separate proxies (Clone).
type RLockProxy struct{ ownedLock }

// RLock creates a shared threading.RLock.
func (c *Client) RLock(ctx context.Context) (*RLockProxy, error) {
	return createTyped(ctx, c, "RLock", nil, nil, NewRLockProxy)
}

// Clone returns another proxy of the same RLock, a separate owner (as
// another thread is in Python). Close it when done.
func (r *RLockProxy) Clone(ctx context.Context) (*RLockProxy, error) {
	p, err := r.clone(ctx)
	if err != nil {
		return nil, err
	}
	return NewRLockProxy(p), nil
}

// clone takes a new reference to the same object in a new proxy, as
// unpickling a proxy does in Python.
func (s *shared) clone(ctx context.Context) (*Proxy, error) {
	return s.p.client.ProxyFor(ctx, s.p.token, s.p.exposed, true)
}

// ConditionProxy is a shared Condition (ConditionProxy), owned like an
// RLockProxy.
type ConditionProxy struct{ ownedLock }

// Condition creates a shared threading.Condition; lock is nil (a new
// RLock), or a *LockProxy or *RLockProxy of the same server.
func (c *Client) Condition(ctx context.Context, lock any) (*ConditionProxy, error) {
	var args pickle.Tuple
	if lock != nil {
		args = pickle.Tuple{lock}
	}
	return createTyped(ctx, c, "Condition", args, nil, NewConditionProxy)
}

// Clone returns another proxy of the same Condition, a separate owner.
func (cp *ConditionProxy) Clone(ctx context.Context) (*ConditionProxy, error) {
	p, err := cp.clone(ctx)
	if err != nil {
		return nil, err
	}
	return NewConditionProxy(p), nil
}

// Wait is wait(): it releases the lock, waits to be notified, and takes
// the lock back. It returns true when notified, false when ctx's deadline
// passed first (the lock is held again either way). Without a deadline it
// waits in bounded slices, as wait_for does. RuntimeError if this proxy
// does not hold the lock.
func (cp *ConditionProxy) Wait(ctx context.Context) (bool, error) {
	if err := cp.mu.lock(ctx); err != nil {
		return false, ctxErr("wait", ctx)
	}
	defer cp.mu.unlock()
	for {
		timeout, expired := timeoutArg(ctx, true)
		if expired {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctxErr("wait", ctx)
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncSlice+30*time.Second)
		v, err := cp.callOwned(callCtx, "wait", timeout)
		cancel()
		if err != nil {
			return false, err
		}
		if v == true {
			return true, nil
		}
	}
}

// Notify is notify(n): wake up to n waiters.
func (cp *ConditionProxy) Notify(ctx context.Context, n int) error {
	if err := cp.mu.lock(ctx); err != nil {
		return ctxErr("notify", ctx)
	}
	defer cp.mu.unlock()
	_, err := cp.callOwned(ctx, "notify", n)
	return err
}

// NotifyAll is notify_all().
func (cp *ConditionProxy) NotifyAll(ctx context.Context) error {
	if err := cp.mu.lock(ctx); err != nil {
		return ctxErr("notify_all", ctx)
	}
	defer cp.mu.unlock()
	_, err := cp.callOwned(ctx, "notify_all")
	return err
}

// --------------------------------------------------------- Event, Barrier

// EventProxy is a shared Event (EventProxy).
type EventProxy struct{ shared }

// Event creates a shared threading.Event.
func (c *Client) Event(ctx context.Context) (*EventProxy, error) {
	return createTyped(ctx, c, "Event", nil, nil, NewEventProxy)
}

// IsSet is is_set().
func (e *EventProxy) IsSet(ctx context.Context) (bool, error) { return e.callBool(ctx, "is_set") }

// Set is set(): every waiter wakes.
func (e *EventProxy) Set(ctx context.Context) error { return e.callNone(ctx, "set") }

// Clear is clear().
func (e *EventProxy) Clear(ctx context.Context) error { return e.callNone(ctx, "clear") }

// Wait is wait(): it returns true once the event is set, false when
// ctx's deadline passes first.
func (e *EventProxy) Wait(ctx context.Context) (bool, error) {
	for {
		timeout, expired := timeoutArg(ctx, true)
		if expired {
			return e.IsSet(context.WithoutCancel(ctx))
		}
		if ctx.Err() != nil {
			return false, ctxErr("wait", ctx)
		}
		callCtx, cancel := serverTimed(ctx, syncSlice)
		v, err := e.callBool(callCtx, "wait", timeout)
		cancel()
		if err != nil || v {
			return v, err
		}
	}
}

// BarrierProxy is a shared Barrier (BarrierProxy).
type BarrierProxy struct{ shared }

// Barrier creates a shared threading.Barrier(parties, timeout=timeout);
// timeout 0 means none.
func (c *Client) Barrier(ctx context.Context, parties int, timeout time.Duration) (*BarrierProxy, error) {
	var kw *pickle.Dict
	if timeout > 0 {
		kw = kwargs("timeout", timeout.Seconds())
	}
	return createTyped(ctx, c, "Barrier", pickle.Tuple{parties}, kw, NewBarrierProxy)
}

// Wait is wait(timeout): ctx's deadline is the timeout (passing it breaks
// the barrier, as in Python); without one the barrier's own timeout
// applies. It returns this party's index, or threading.BrokenBarrierError.
// A wait cannot be cut into slices (each would break the barrier), so a
// Wait cancelled without a deadline leaves its party counted on a Python
// server, as a blocked thread would.
func (b *BarrierProxy) Wait(ctx context.Context) (int, error) {
	timeout, expired := timeoutArg(ctx, false)
	if expired {
		timeout = 0.0
	}
	limit := 24 * time.Hour * 365
	if s, ok := timeout.(float64); ok {
		limit = time.Duration(s * float64(time.Second))
	}
	callCtx, cancel := serverTimed(ctx, limit)
	defer cancel()
	return b.callInt(callCtx, "wait", timeout)
}

// Abort is abort(): the barrier breaks.
func (b *BarrierProxy) Abort(ctx context.Context) error { return b.callNone(ctx, "abort") }

// Reset is reset(): waiters get BrokenBarrierError, the barrier is reusable.
func (b *BarrierProxy) Reset(ctx context.Context) error { return b.callNone(ctx, "reset") }

// Parties is the number of parties.
func (b *BarrierProxy) Parties(ctx context.Context) (int, error) {
	return b.callInt(ctx, "__getattribute__", "parties")
}

// NWaiting is the number of parties waiting.
func (b *BarrierProxy) NWaiting(ctx context.Context) (int, error) {
	return b.callInt(ctx, "__getattribute__", "n_waiting")
}

// Broken reports whether the barrier is broken.
func (b *BarrierProxy) Broken(ctx context.Context) (bool, error) {
	return b.callBool(ctx, "__getattribute__", "broken")
}
