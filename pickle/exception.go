package pickle

import (
	"strings"

	"github.com/mpbridge/mpbridge"
)

// Exception is a Python exception instance: an Object whose class is a
// known exception class (a builtin exception, _queue.Empty, queue.Full,
// the multiprocessing errors, or any class whose name ends in Error,
// Exception or Warning). It implements error with Python's repr, such as
// KeyError('k'), and errors.Is maps queue.Empty to mpbridge.ErrEmpty and
// queue.Full to mpbridge.ErrFull.
//
// Exceptions are handled through *Exception; its identity is the pointer.
// They encode back exactly like the Object they embed (REDUCE of the class
// with the args, then BUILD with the instance dict if any).
type Exception struct {
	Object
}

// NewException returns an exception of class module.name with args, as
// CPython pickles it: REDUCE(module.name, args).
func NewException(module, name string, args ...any) *Exception {
	return &Exception{Object{
		Callable: Global{Module: module, Name: name},
		Kind:     Reduce,
		Args:     append(Tuple(nil), args...),
	}}
}

// Module returns the module of the exception's class ("builtins" for
// KeyError), or "" if the class is not a Global.
func (e *Exception) Module() string {
	g, _ := e.Class().(Global)
	return g.Module
}

// Name returns the name of the exception's class.
func (e *Exception) Name() string {
	g, _ := e.Class().(Global)
	return g.Name
}

// Args returns the exception's args.
func (e *Exception) Args() Tuple {
	if g, ok := e.Callable.(Global); ok && e.Object.Kind == Reduce &&
		g == (Global{"copyreg", "__newobj__"}) && len(e.Object.Args) > 0 {
		return e.Object.Args[1:]
	}
	return e.Object.Args
}

// Error returns the exception's Python repr, e.g. KeyError('k').
func (e *Exception) Error() string {
	return Repr(e)
}

// Is reports whether the exception is Python's counterpart of target:
// queue.Empty (module _queue or queue) for mpbridge.ErrEmpty and
// queue.Full for mpbridge.ErrFull.
func (e *Exception) Is(target error) bool {
	switch target {
	case mpbridge.ErrEmpty:
		m := e.Module()
		return e.Name() == "Empty" && (m == "_queue" || m == "queue")
	case mpbridge.ErrFull:
		return e.Name() == "Full" && e.Module() == "queue"
	}
	return false
}

// builtinExceptions are the exception classes of the builtins module
// whose names do not end in Error, Exception or Warning.
var builtinExceptions = map[string]bool{
	"BaseException": true, "BaseExceptionGroup": true, "ExceptionGroup": true,
	"GeneratorExit": true, "KeyboardInterrupt": true, "SystemExit": true,
	"StopIteration": true, "StopAsyncIteration": true,
}

// isExceptionClass reports whether a global names an exception class.
func isExceptionClass(g Global) bool {
	switch {
	case g.Module == "_queue" && g.Name == "Empty",
		g.Module == "queue" && (g.Name == "Empty" || g.Name == "Full"):
		return true
	case g.Module == "builtins" && builtinExceptions[g.Name]:
		return true
	}
	return strings.HasSuffix(g.Name, "Error") || strings.HasSuffix(g.Name, "Exception") ||
		strings.HasSuffix(g.Name, "Warning")
}
