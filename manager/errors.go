package manager

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// Reply kinds, the first element of every reply tuple.
const (
	KindReturn         = "#RETURN"
	KindError          = "#ERROR"
	KindTraceback      = "#TRACEBACK"
	KindProxy          = "#PROXY"
	KindUnserializable = "#UNSERIALIZABLE"
)

// ErrNoMethod is returned by an [Object]'s Call for a method it does not
// have. The server then tries CPython's fallbacks (__str__, __repr__,
// #GETVALUE) and otherwise replies #TRACEBACK, as CPython does for a
// method that is not exposed.
var ErrNoMethod = errors.New("manager: no such method")

// RemoteError is a failure reported by the server as text rather than as
// an exception object: a #TRACEBACK reply (a server-function failure, an
// unknown ident, a method that is not exposed, a malformed request) or an
// #UNSERIALIZABLE reply (the result could not be pickled). It is Python's
// multiprocessing.managers.RemoteError.
type RemoteError struct {
	// Kind is KindTraceback or KindUnserializable.
	Kind string
	// Text is the traceback text as the server sent it.
	Text string
	// Type is the Python exception type named on the traceback's last
	// line, e.g. "KeyError" or "AssertionError" ("" if there is none).
	Type string
	// Message is the rest of that line after "Type: ".
	Message string
}

func newRemoteError(kind, text string) *RemoteError {
	e := &RemoteError{Kind: kind, Text: text}
	e.Type, e.Message = lastExceptionLine(text)
	return e
}

// lastExceptionLine splits the last non-blank, non-indented line of a
// Python traceback into exception type and message.
func lastExceptionLine(text string) (typ, msg string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if l == "" || l[0] == ' ' {
			continue
		}
		typ, msg, _ = strings.Cut(l, ": ")
		if strings.ContainsAny(typ, " ()") {
			return "", l
		}
		return typ, msg
	}
	return "", ""
}

// Error formats the error as Python's RemoteError.__str__ does, the text
// between two lines of dashes.
func (e *RemoteError) Error() string {
	dashes := strings.Repeat("-", 75)
	text := e.Text
	if e.Kind == KindUnserializable {
		text = "Unserializable message: " + text + "\n"
	}
	return "manager: remote error:\n" + dashes + "\n" + text + dashes
}

// Is makes errors.Is(err, mpbridge.ErrAuthentication) true for a server
// that refused the handshake and reported it as a traceback.
func (e *RemoteError) Is(target error) bool {
	return target == mpbridge.ErrAuthentication && strings.HasSuffix(e.Type, "AuthenticationError")
}

// shutdownError marks Python 3.13's queue.ShutDown so that
// errors.Is(err, mpbridge.ErrShutdown) holds; errors.As still finds the
// *pickle.Exception.
type shutdownError struct{ *pickle.Exception }

func (e shutdownError) Unwrap() error        { return e.Exception }
func (e shutdownError) Is(target error) bool { return target == mpbridge.ErrShutdown }

// errorFromReply turns the payload of an #ERROR reply into a Go error. An
// exception object is returned as the *pickle.Exception it decoded to
// (errors.Is(err, mpbridge.ErrEmpty) holds for queue.Empty, ErrFull for
// queue.Full, ErrShutdown for queue.ShutDown); any other payload is wrapped
// in a RemoteError.
func errorFromReply(payload any) error {
	switch x := payload.(type) {
	case *pickle.Exception:
		if x.Name() == "ShutDown" && x.Module() == "queue" {
			return shutdownError{x}
		}
		return x
	case *pickle.Object:
		// queue.ShutDown's name does not tell the pickle package that it
		// is an exception class.
		if x.Class() == (pickle.Global{Module: "queue", Name: "ShutDown"}) {
			return shutdownError{&pickle.Exception{Object: *x}}
		}
	case error:
		return x
	}
	return &RemoteError{Kind: KindError, Text: pickle.Repr(payload), Type: PyTypeName(payload), Message: pickle.Repr(payload)}
}

// Python exceptions the server raises. Each is a *pickle.Exception of an
// importable class, so that Python clients unpickle it to the real thing.
func pyExc(module, name string, args ...any) *pickle.Exception {
	return pickle.NewException(module, name, args...)
}

// ExcEmpty is queue.Empty as CPython pickles it (_queue.Empty).
func ExcEmpty() *pickle.Exception { return pyExc("_queue", "Empty") }

// ExcFull is queue.Full.
func ExcFull() *pickle.Exception { return pyExc("queue", "Full") }

// ExcShutDown is Python 3.13's queue.ShutDown.
func ExcShutDown() *pickle.Exception { return pyExc("queue", "ShutDown") }

// ExcValueError is builtins.ValueError(msg).
func ExcValueError(msg string) *pickle.Exception { return pyExc("builtins", "ValueError", msg) }

// ExcTypeError is builtins.TypeError(msg).
func ExcTypeError(msg string) *pickle.Exception { return pyExc("builtins", "TypeError", msg) }

// ExcKeyError is builtins.KeyError(key).
func ExcKeyError(key any) *pickle.Exception { return pyExc("builtins", "KeyError", key) }

// ExcRuntimeError is builtins.RuntimeError(msg).
func ExcRuntimeError(msg string) *pickle.Exception { return pyExc("builtins", "RuntimeError", msg) }

// asPyException converts an error returned by a Go object into the
// exception sent in an #ERROR reply: a *pickle.Exception as is, anything
// else as builtins.RuntimeError carrying the Go error text.
func asPyException(err error) *pickle.Exception {
	var pe *pickle.Exception
	if errors.As(err, &pe) {
		return pe
	}
	return ExcRuntimeError(err.Error())
}

// excLine is the last line Python's traceback module prints for an
// exception: "KeyError: 'k'", "_queue.Empty", "ValueError: bad".
func excLine(e *pickle.Exception) string {
	name := e.Name()
	if m := e.Module(); m != "builtins" && m != "__main__" && m != "" {
		name = m + "." + name
	}
	s := excStr(e)
	if s == "" {
		return name
	}
	return name + ": " + s
}

// excStr is str(e) for an exception: the single argument (its repr for
// KeyError), or the repr of the args tuple.
func excStr(e *pickle.Exception) string {
	args := e.Args()
	switch len(args) {
	case 0:
		return ""
	case 1:
		if s, ok := args[0].(string); ok && e.Name() != "KeyError" {
			return s
		}
		return pickle.Repr(args[0])
	}
	return pickle.Repr(args)
}

// formatTraceback renders a traceback text the way Python's
// traceback.format_exc() lays it out. Go has no Python frames to show, so
// there is one synthetic frame naming the server function that failed.
func formatTraceback(where string, e *pickle.Exception) string {
	return fmt.Sprintf("Traceback (most recent call last):\n  File \"<mpbridge>\", line 1, in %s\n%s\n", where, excLine(e))
}

// formatChained renders Python's "During handling of the above exception,
// another exception occurred" traceback of two exceptions.
func formatChained(where string, first, second *pickle.Exception) string {
	return formatTraceback(where, first) +
		"\nDuring handling of the above exception, another exception occurred:\n\n" +
		formatTraceback(where, second)
}
