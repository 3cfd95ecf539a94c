package syncobj

import (
	"context"
	"errors"
	"fmt"

	"github.com/mpbridge/mpbridge/pickle"
)

// Owner identifies the caller of a method: one client connection of the
// manager server, as one server thread is in CPython. Any comparable value
// will do; two calls with equal owners come from the same caller.
type Owner any

// Object is a shared object that answers method calls by name.
//
// Call invokes method with the positional args and keyword kwargs (nil
// for none) of a request. The result is a value of the pickle value
// model. A Python exception raised by the method is returned as a
// *pickle.Exception; a method the object does not have (CPython's
// getattr failing) as a *NoAttributeError; a blocking call whose ctx is
// done returns ctx.Err().
type Object interface {
	Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error)
}

// Reprer is implemented by objects that have a Python repr, used for the
// __repr__ and __str__ fallbacks of the manager protocol and debug_info.
type Reprer interface {
	Repr() string
}

// Valuer is implemented by objects that can be copied by value, used for
// the manager protocol's #GETVALUE (a proxy's _getvalue()). Value returns
// a snapshot in the pickle value model, shaped as CPython pickles the
// referent. Objects CPython cannot pickle (locks, events, barriers) do not
// implement it.
type Valuer interface {
	Value() (any, error)
}

// Releaser is implemented by objects that an owner can hold (RLock,
// Condition). ReleaseOwner releases whatever owner still holds; the
// manager calls it when the owner's connection closes.
type Releaser interface {
	ReleaseOwner(owner Owner)
}

// NoAttributeError reports a method the object does not have. CPython's
// server answers it with a #TRACEBACK reply ending in the AttributeError
// that Error returns, after trying the __str__/__repr__/#GETVALUE
// fallbacks.
type NoAttributeError struct {
	Type string // the Python type name, e.g. "dict_keyiterator"
	Name string // the attribute, e.g. "send"
}

// Error is the last line of CPython's traceback.
func (e *NoAttributeError) Error() string {
	return fmt.Sprintf("AttributeError: '%s' object has no attribute '%s'", e.Type, e.Name)
}

// Exception is the AttributeError CPython's getattr raises.
func (e *NoAttributeError) Exception() *pickle.Exception {
	return pickle.NewException("builtins", "AttributeError", fmt.Sprintf("'%s' object has no attribute '%s'", e.Type, e.Name))
}

// IsNoAttribute reports whether err is a *NoAttributeError.
func IsNoAttribute(err error) bool {
	var na *NoAttributeError
	return errors.As(err, &na)
}

func noAttr(typ, name string) error { return &NoAttributeError{Type: typ, Name: name} }

// Python exceptions, built as CPython pickles them.
func exc(name string, args ...any) *pickle.Exception {
	return pickle.NewException("builtins", name, args...)
}

func typeErr(format string, a ...any) error  { return exc("TypeError", fmt.Sprintf(format, a...)) }
func valueErr(format string, a ...any) error { return exc("ValueError", fmt.Sprintf(format, a...)) }
func indexErr(msg string) error              { return exc("IndexError", msg) }
func runtimeErr(msg string) error            { return exc("RuntimeError", msg) }
func overflowErr(format string, a ...any) error {
	return exc("OverflowError", fmt.Sprintf(format, a...))
}
func keyErr(key any) error                  { return exc("KeyError", key) }
func memoryErr() error                      { return exc("MemoryError") }
func attrErr(format string, a ...any) error { return exc("AttributeError", fmt.Sprintf(format, a...)) }

// notImplemented is the exception for what mpbridge cannot do: run
// Python code.
func notImplemented(what string) error {
	return exc("NotImplementedError", "mpbridge cannot run Python code: "+what)
}

// maxItems bounds the containers a single request can make the server
// build ([0] * n, range(n), a repeated array): past it the call raises
// MemoryError instead of exhausting the server's memory.
const maxItems = 1 << 25
