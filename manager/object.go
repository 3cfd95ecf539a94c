package manager

import (
	"context"
	"reflect"

	"github.com/mpbridge/mpbridge/pickle"
)

// Object is a shared object served by a Go [Server]: anything that exposes
// methods by name. Call receives the arguments exactly as the client sent
// them (bind them with a [Signature] to get CPython's rules and messages)
// and returns a value of the pickle value model, a [Raw] result, or an
// error. An error that is (or wraps) a *pickle.Exception is sent as that
// Python exception in an #ERROR reply, so clients raise it unchanged; any
// other error is sent as builtins.RuntimeError. Returning [ErrNoMethod]
// makes the server treat the method as missing (CPython's fallbacks apply).
//
// The context is cancelled when the connection that made the call closes
// or the server stops; a method that blocks must return when it is, having
// changed nothing. Calls arriving on one connection are sequential (a
// Python server thread per connection), calls from different connections
// run concurrently, so Call must be safe for concurrent use.
// [CallerFromContext] identifies the connection, for objects whose
// semantics depend on the calling thread (an RLock's owner).
type Object interface {
	// Exposed lists the method names clients may call, as
	// multiprocessing's public_methods or a registration's exposed.
	Exposed() []string
	// Call invokes the named method.
	Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error)
}

// Blocker is implemented by objects that know which calls return at once.
// The server runs a call that may block on its own goroutine and keeps
// reading the connection, so that it notices a client that goes away and
// cancels the call; other calls run inline, which is faster. Objects that
// do not implement Blocker have every call treated as one that may block.
type Blocker interface {
	MayBlock(method string, args pickle.Tuple, kwargs *pickle.Dict) bool
}

// Inliner is implemented by objects whose calls that may block usually do
// not (a get from a queue that has items). The server first offers such a
// call to TryCall on the connection's own goroutine: TryCall either
// completes it (done is true) or returns at once having changed nothing,
// and the call then runs with Call on a goroutine of its own. The server
// offers only calls that the object's MayBlock (if it is a Blocker)
// reported as ones that may block, so TryCall may rely on the checks
// MayBlock made.
type Inliner interface {
	TryCall(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (res any, err error, done bool)
}

// Reprer is implemented by objects with their own repr() text, used for
// the __repr__ and __str__ fallbacks and for debug_info. The default is
// "<Type object at 0x...>".
type Reprer interface {
	PyRepr() string
}

// Valuer is implemented by objects that can be copied to the client: the
// #GETVALUE fallback (a proxy's _getvalue()) returns PyValue's result.
// Objects without it answer #GETVALUE with #UNSERIALIZABLE, as a Python
// server does for an unpicklable referent.
type Valuer interface {
	PyValue() (any, error)
}

// Releaser is implemented by objects that want to know when the server
// drops its last reference to them (the reference count reached zero).
type Releaser interface {
	Release()
}

// ConnObserver is implemented by objects that keep state per connection
// (an RLock or a Condition is owned by the Python server thread, i.e. the
// connection, that acquired it). When a method-call connection closes, the
// server calls ConnClosed on every such object that connection called.
type ConnObserver interface {
	ConnClosed(caller CallerInfo)
}

// Raw is a method result that is already pickled: one complete pickle of
// protocol 2 or higher. The server splices it into the reply instead of
// encoding it again.
type Raw struct {
	Pickle []byte
	// Undelivered, if set, is called when the reply carrying the result
	// was not written to the client (the connection closed first), so the
	// object can take the result back (a queue puts an item back).
	Undelivered func()
}

// Factory makes the object for a create request: the callable of
// BaseManager.register. It receives create's arguments after the typeid.
// Returning the same object every time shares it (one ident, as Python's
// `callable=lambda: q`).
type Factory func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (Object, error)

// RegisterOptions are the optional parts of a registration, as
// BaseManager.register's keyword arguments.
type RegisterOptions struct {
	// Exposed overrides the object's own Exposed list when non-nil.
	Exposed []string
	// MethodToTypeid maps method names to the typeid of the object their
	// result becomes: the server creates that typeid with the result as
	// its only argument (or stores the result itself, which must then be
	// an Object, when that typeid has no factory) and replies #PROXY.
	// Its keys are appended to the exposed list, as in CPython.
	MethodToTypeid map[string]string
}

// CallerInfo identifies the connection a call arrived on.
type CallerInfo struct {
	// ConnID is unique per connection for the life of the server.
	ConnID uint64
	// Name is what the client sent with accept_connection (the Python
	// process name, plus "|thread" outside the main thread).
	Name string
}

type callerKey struct{}

// CallerFromContext returns the connection a call arrived on.
func CallerFromContext(ctx context.Context) (CallerInfo, bool) {
	c, ok := ctx.Value(callerKey{}).(*CallerInfo)
	if !ok {
		return CallerInfo{}, false
	}
	return *c, true
}

func withCaller(ctx context.Context, c *CallerInfo) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// objectAddr is the address of a pointer-like object, 0 otherwise.
func objectAddr(obj any) uintptr {
	v := reflect.ValueOf(obj)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.UnsafePointer:
		return v.Pointer()
	}
	return 0
}
