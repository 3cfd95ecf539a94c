package spawn

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mpbridge/mpbridge/pickle"
)

// ExitError is Go's SystemExit: returned (possibly wrapped) by a target, it
// ends the child with Code and no report, as sys.exit(code) ends a Python
// child.
type ExitError struct {
	Code int
}

// Error implements error.
func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Exit returns an *ExitError with code, for `return spawn.Exit(3)`.
func Exit(code int) error { return &ExitError{Code: code} }

// UnsupportedError reports an argument a Go child cannot rebuild, such as
// a sharedctypes Value or a Barrier. Name is its Python class or
// reconstructor, e.g. "multiprocessing.sharedctypes.rebuild_ctype".
type UnsupportedError struct {
	Name string
	Path string // where it was found, e.g. "args[0]" or "kwargs['lock']"
}

// Error implements error.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("spawn: cannot rebuild %s (%s) in a Go child", e.Name, e.Path)
}

// panicError carries a recovered panic and its stack.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// exitCode is the status a child leaves with after its target returned
// err, writing Python's report to stderr: nothing for success or an
// *ExitError, "Process NAME:" and a traceback-like text otherwise.
func exitCode(err error, name, target string, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprint(stderr, Traceback(err, name, target))
	return 1
}

// Traceback formats err the way a Python child reports an uncaught
// exception: "Process NAME:", "Traceback (most recent call last):", a
// frame naming the target (and, for a panic, the goroutine's stack), then
// "Type: message". A *pickle.Exception keeps its Python type name; other
// errors are reported as GoError, panics as GoPanic.
func Traceback(err error, name, target string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Process %s:\n", name)
	b.WriteString("Traceback (most recent call last):\n")
	fmt.Fprintf(&b, "  File \"<go>\", in %s\n", target)
	var pe *panicError
	var exc *pickle.Exception
	switch {
	case errors.As(err, &pe):
		for _, line := range strings.Split(strings.TrimRight(string(pe.stack), "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
		fmt.Fprintf(&b, "GoPanic: %v\n", pe.value)
	case errors.As(err, &exc) && err.Error() == exc.Error():
		b.WriteString(exceptionLine(exc) + "\n")
	default:
		fmt.Fprintf(&b, "GoError: %v\n", err)
	}
	return b.String()
}

// exceptionLine is the last line of a Python traceback for exc:
// "Name: str(exc)", or "Name" when str(exc) is empty.
func exceptionLine(exc *pickle.Exception) string {
	args := exc.Args()
	var msg string
	switch {
	case len(args) == 0:
		return exc.Name()
	case len(args) > 1:
		msg = pickle.Repr(args)
	case exc.Name() == "KeyError":
		msg = pickle.Repr(args[0])
	default:
		if s, ok := args[0].(string); ok {
			msg = s
		} else {
			msg = pickle.Repr(args[0])
		}
	}
	if msg == "" {
		return exc.Name()
	}
	return exc.Name() + ": " + msg
}
