package spawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
	"github.com/mpbridge/mpbridge/pickle"
)

// ErrParentExited is the cause of a child context's cancellation when the
// parent process goes away (its end of the spawn pipe closes).
var ErrParentExited = errors.New("spawn: parent process exited")

// Info describes the running child, as multiprocessing.current_process()
// and parent_process() do in a Python child. Targets get it with
// InfoFrom(ctx).
type Info struct {
	Name       string // current_process().name
	Authkey    []byte // current_process().authkey, for manager connections
	Identity   []int  // current_process()._identity
	Daemon     bool
	ParentPID  int
	ParentName string
	Target     string // the target's Python name
	// TrackerFd is the inherited resource tracker descriptor (-1 if none):
	// register named semaphores this child creates there.
	TrackerFd int
	// Preparation and Process are the two decoded pickles.
	Preparation *Preparation
	Process     *ProcessObject
}

type infoKey struct{}

// InfoFrom returns the Info of the child running the target whose context
// is ctx.
func InfoFrom(ctx context.Context) (*Info, bool) {
	i, ok := ctx.Value(infoKey{}).(*Info)
	return i, ok
}

// WithInfo returns a context carrying info (for tests of targets).
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// Options configure RunWith.
type Options struct {
	// Registry holds the targets; nil means DefaultRegistry.
	Registry *Registry
	// Python is the interpreter unknown targets, the resource tracker and
	// the fork server are handed to. Empty means $MPBRIDGE_PYTHON, else
	// the parent process's executable (/proc/<ppid>/exe).
	Python string
	// Args is the command line; nil means os.Args.
	Args []string
	// Stderr receives error reports; nil means os.Stderr.
	Stderr io.Writer
	// Exit ends the process; nil means os.Exit. Tests replace it.
	Exit func(code int)
}

// Run must be the first thing a Go worker's main does. If the program was
// started by Python's multiprocessing (through set_executable), Run serves
// that invocation and never returns: a spawn child runs its registered
// target and exits as a Python child would; an unknown target, the
// resource tracker and the fork server are handed to the real interpreter
// by exec. Otherwise Run returns at once and main continues.
func Run() { RunWith(Options{}) }

// RunWith is Run with options.
func RunWith(opts Options) {
	if opts.Args == nil {
		opts.Args = os.Args
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Exit == nil {
		opts.Exit = os.Exit
	}
	if opts.Registry == nil {
		opts.Registry = DefaultRegistry
	}
	inv, err := ParseCommandLine(opts.Args)
	if err != nil {
		fmt.Fprintln(opts.Stderr, err)
		opts.Exit(1)
		return
	}
	switch inv.Kind {
	case NotPython:
		return
	case PythonProgram:
		python, err := findPython(opts.Python)
		if err == nil {
			err = execPython(python, opts.Args)
		}
		fmt.Fprintln(opts.Stderr, err)
		opts.Exit(1)
		return
	}
	opts.Exit(runChild(inv, opts))
}

// runChild serves a spawn child invocation and returns its exit status
// (it does not return when it hands the child over to Python).
func runChild(inv Invocation, opts Options) int {
	fail := func(err error) int {
		fmt.Fprintf(opts.Stderr, "mpbridge spawn child: %v\n", err)
		return 1
	}
	prepV, procV, raw, err := ReadPickles(&fdReader{fd: inv.PipeHandle})
	if err != nil {
		return fail(err)
	}
	prep, err := DecodePreparation(prepV)
	if err != nil {
		return fail(err)
	}
	proc, err := DecodeProcessObject(procV)
	if err != nil {
		return fail(err)
	}
	name := proc.TargetName()
	if name == "" && proc.Target == nil {
		// A subclass overriding run(): look it up by its class name.
		name = proc.Class.Module + "." + proc.Class.Name + ".run"
	}
	fn, ok := opts.Registry.Lookup(name)
	if !ok {
		python, err := findPython(opts.Python)
		if err != nil {
			return fail(fmt.Errorf("target %s is not registered in this Go worker and it cannot be handed over: %w", describeTarget(proc), err))
		}
		return fail(handOverSpawn(python, inv, raw))
	}
	info := &Info{
		Name: proc.Name, Authkey: proc.Authkey(), Identity: proc.Identity, Daemon: proc.Daemon(),
		ParentPID: proc.ParentPID, ParentName: proc.ParentName, Target: name,
		TrackerFd: inv.TrackerFd, Preparation: prep, Process: proc,
	}
	if info.Authkey == nil {
		info.Authkey = prep.Authkey
	}
	if prep.Name != "" && info.Name == "" {
		info.Name = prep.Name
	}
	if prep.Dir != "" {
		if err := os.Chdir(prep.Dir); err != nil {
			return fail(err)
		}
	}
	closeStdin()
	if inv.TrackerFd >= 0 {
		// Semaphores this child creates are registered with the parent's
		// tracker, as a Python child's are.
		semlock.SetDefaultTracker(semlock.NewTrackerClient(os.NewFile(uintptr(inv.TrackerFd), "resource-tracker")))
	}
	ctx, cancel := context.WithCancelCause(WithInfo(context.Background(), info))
	defer cancel(nil)
	go watchParent(inv.PipeHandle, cancel)

	rb := newRebuilder(info)
	args, kwargs, err := rb.arguments(proc.Args, proc.Kwargs)
	if err != nil {
		rb.release(context.Background())
		fmt.Fprintf(opts.Stderr, "Process %s:\n%v\n", info.Name, err)
		return 1
	}
	err = call(ctx, fn, args, kwargs)
	if ferr := rb.release(ctx); ferr != nil && err == nil {
		err = ferr
	}
	return exitCode(err, info.Name, name, opts.Stderr)
}

// ReadPickles reads what a spawn parent writes to its child's pipe: the
// preparation data and the process object, two pickles back to back. It
// never reads past the second one, and returns exactly the bytes it
// consumed, so that they can be replayed to another reader.
func ReadPickles(r io.Reader) (prep, proc any, raw []byte, err error) {
	var buf bytes.Buffer
	dec := pickle.NewDecoder(io.TeeReader(r, &buf))
	if prep, err = dec.DecodeValue(); err != nil {
		return nil, nil, nil, fmt.Errorf("spawn: reading preparation data: %w", err)
	}
	if proc, err = dec.DecodeValue(); err != nil {
		return nil, nil, nil, fmt.Errorf("spawn: reading process object: %w", err)
	}
	return prep, proc, buf.Bytes(), nil
}

// call runs fn, turning a panic into an error.
func call(ctx context.Context, fn Func, args []any, kwargs map[string]any) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return fn(ctx, args, kwargs)
}

// describeTarget names a target for messages.
func describeTarget(p *ProcessObject) string {
	if n := p.TargetName(); n != "" {
		return n
	}
	if p.Target == nil {
		return p.Class.Module + "." + p.Class.Name + ".run"
	}
	return fmt.Sprintf("%T", p.Target)
}

// closeStdin points descriptor 0 at /dev/null, as a Python child does
// (util._close_stdin), so that workers do not compete for the terminal.
func closeStdin() {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	unix.Dup3(fd, 0, 0)
	unix.Close(fd)
}

// watchParent cancels the child's context when the spawn pipe reports
// hang-up: the parent closed its end, i.e. it exited or released the
// Process. Nothing is ever read from the pipe here.
func watchParent(fd int, cancel context.CancelCauseFunc) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0) {
			cancel(ErrParentExited)
			return
		}
		if n > 0 && fds[0].Revents&unix.POLLIN != 0 {
			// Unexpected data after the two pickles: stop watching
			// rather than spin.
			return
		}
	}
}

// fdReader reads a raw descriptor without wrapping it in an *os.File, so
// that the descriptor stays blocking and is never closed by a finalizer.
type fdReader struct{ fd int }

func (r *fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(r.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}
