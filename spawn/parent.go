package spawn

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/pickle"
)

// Process describes a child for Start: a Python interpreter (or a Go
// worker) started with the spawn start method's command line and fed the
// two pickles a CPython parent would write.
type Process struct {
	// Python is the interpreter to run (required), e.g.
	// "/usr/bin/python3". A Go worker binary works too.
	Python string
	// Flags are interpreter flags placed before -c, e.g. "-B".
	Flags []string
	// Target names the function to run: "module.qualname", or
	// "module:qualname" when the module name itself has dots and the
	// qualified name too (e.g. "pkg.mod:Class.method"). Without a colon the
	// split is at the last dot.
	Target string
	// Args and Kwargs are the target's arguments: Go values the pickle
	// package encodes, value model values, and multiprocessing objects
	// (see Pickler), whose descriptors are passed to the child.
	Args   []any
	Kwargs map[string]any
	// Name is the child's process name; default "SpawnProcess-N".
	Name string
	// Daemon sets _config['daemon'], as Process(daemon=True) does.
	Daemon bool
	// Authkey is the child's authkey; default 32 random bytes, like a
	// Python main process's.
	Authkey []byte
	// SysPath replaces the child's sys.path (the preparation data's
	// sys_path). Nil means the interpreter's own sys.path with '' replaced
	// by Dir, as CPython sends its own (asked once per interpreter; when
	// Python is a Go worker, that question is handed to $MPBRIDGE_PYTHON,
	// so set SysPath or that variable).
	SysPath []string
	// SysArgv becomes the child's sys.argv; nil means os.Args.
	SysArgv []string
	// Dir is the child's working directory; default the current one.
	Dir string
	// StartMethod is sent as the child's default start method; default
	// "spawn".
	StartMethod string
	// Env is the child's environment; nil means os.Environ().
	Env []string
	// Stdout and Stderr default to this process's.
	Stdout, Stderr io.Writer
	// Tracker is the resource tracker whose pipe the child gets as
	// tracker_fd. Nil means a private one, closed (cleaning up what the
	// child leaked) when the child is waited for.
	Tracker *Tracker
}

// processCounter numbers default process names, as CPython's
// process._process_counter does.
var processCounter atomic.Int64

// Child is a running (or finished) child started by Start.
type Child struct {
	cmd       *exec.Cmd
	name      string
	pipeW     *os.File // the data pipe's write end, kept open: the child's parent sentinel
	tracker   *Tracker
	ownTrack  bool
	done      chan struct{}
	waitErr   error
	exitCode  int
	closeOnce sync.Once
}

// Start starts p and writes its preparation data and process object. It
// returns once the child has been started and both pickles are written
// (or the child has exited, or ctx ended).
func Start(ctx context.Context, p Process) (*Child, error) {
	if p.Python == "" {
		return nil, errors.New("spawn: Process.Python is empty")
	}
	target, err := parseTarget(p.Target)
	if err != nil {
		return nil, err
	}
	if p.Dir == "" {
		if p.Dir, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("spawn: %w", err)
		}
	}
	if p.Env == nil {
		p.Env = os.Environ()
	}
	n := processCounter.Add(1)
	if p.Name == "" {
		p.Name = "SpawnProcess-" + strconv.FormatInt(n, 10)
	}
	if p.Authkey == nil {
		p.Authkey = make([]byte, 32)
		if _, err := rand.Read(p.Authkey); err != nil {
			return nil, fmt.Errorf("spawn: authkey: %w", err)
		}
	}
	if p.SysPath == nil {
		if p.SysPath, err = interpreterPath(ctx, p.Python, p.Flags, p.Env, p.Dir); err != nil {
			return nil, err
		}
	}
	if p.SysArgv == nil {
		p.SysArgv = os.Args
	}
	if p.StartMethod == "" {
		p.StartMethod = "spawn"
	}
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	if _, isFile := p.Stderr.(*os.File); !isFile && p.Tracker == nil {
		// The child's output and the private tracker's reports are
		// written by two goroutines.
		p.Stderr = &lockedWriter{w: p.Stderr}
	}

	c := &Child{name: p.Name, tracker: p.Tracker, done: make(chan struct{})}
	if c.tracker == nil {
		if c.tracker, err = NewTracker(p.Stderr); err != nil {
			return nil, err
		}
		c.ownTrack = true
	}
	fail := func(err error) (*Child, error) {
		c.release()
		return nil, err
	}
	trackerW := c.tracker.Fd()
	if trackerW == nil {
		return fail(errors.New("spawn: tracker is closed"))
	}
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("spawn: %w", err))
	}
	c.pipeW = pipeW
	defer pipeR.Close()

	// Descriptors the child inherits become 3, 4, 5, ... in order.
	fds := &childFds{}
	trackerFd := fds.add(trackerW)
	pipeFd := fds.add(pipeR)
	defer fds.closeDups()

	w := childWalker(fds)
	args := make(pickle.Tuple, len(p.Args))
	for i, a := range p.Args {
		if args[i], err = w.walk(a, fmt.Sprintf("args[%d]", i)); err != nil {
			return fail(fmt.Errorf("spawn: %w", err))
		}
	}
	kwargs := pickle.NewDict(len(p.Kwargs))
	for _, k := range sortedKeys(p.Kwargs) {
		v, err := w.walk(p.Kwargs[k], "kwargs["+keyRepr(k)+"]")
		if err != nil {
			return fail(fmt.Errorf("spawn: %w", err))
		}
		if err := kwargs.Set(k, v); err != nil {
			return fail(err)
		}
	}
	prep := &Preparation{
		Authkey: p.Authkey, Name: p.Name, SysPath: p.SysPath, SysArgv: p.SysArgv,
		OrigDir: p.Dir, Dir: p.Dir, StartMethod: p.StartMethod,
	}
	config := pickle.NewDict(3)
	config.Set("authkey", authString(p.Authkey))
	config.Set("semprefix", "/mp")
	if p.Daemon {
		config.Set("daemon", true)
	}
	proc := &ProcessObject{
		Class: spawnProcessClass, Identity: []int{int(n)}, Config: config,
		ParentPID: os.Getpid(), ParentName: "MainProcess", Target: target,
		Args: args, Kwargs: kwargs, Name: p.Name,
	}
	data, err := EncodePickles(prep, proc)
	if err != nil {
		return fail(err)
	}

	cmd := &exec.Cmd{
		Path:       p.Python,
		Args:       CommandLine(p.Python, p.Flags, trackerFd, pipeFd),
		Env:        p.Env,
		Dir:        p.Dir,
		Stdout:     p.Stdout,
		Stderr:     p.Stderr,
		ExtraFiles: fds.files,
	}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("spawn: start %s: %w", p.Python, err))
	}
	c.cmd = cmd
	go c.wait()
	fds.closeDups()
	pipeR.Close()

	wrote := make(chan error, 1)
	go func() {
		_, err := pipeW.Write(data)
		wrote <- err
	}()
	abort := func(err error) (*Child, error) {
		c.Kill()
		<-c.done
		c.release()
		return nil, err
	}
	select {
	case err := <-wrote:
		if err != nil && !errors.Is(err, syscall.EPIPE) {
			return abort(fmt.Errorf("spawn: writing to the child: %w", err))
		}
		// EPIPE: the child exited before reading; Wait reports how.
	case <-c.done:
	case <-ctx.Done():
		return abort(context.Cause(ctx))
	}
	return c, nil
}

// wait reaps the child and records its exit code the way
// os.waitstatus_to_exitcode does (negative signal number if killed).
func (c *Child) wait() {
	err := c.cmd.Wait()
	st := c.cmd.ProcessState
	switch {
	case st == nil:
		c.waitErr, c.exitCode = err, -1
	default:
		ws, ok := st.Sys().(syscall.WaitStatus)
		if ok && ws.Signaled() {
			c.exitCode = -int(ws.Signal())
		} else {
			c.exitCode = st.ExitCode()
		}
	}
	close(c.done)
}

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Name returns the child's process name.
func (c *Child) Name() string { return c.name }

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Wait waits for the child to exit (or ctx to end) and returns nil once it
// has, whatever its exit code (see ExitCode). With a private tracker it
// then closes the tracker, unlinking whatever the child registered and
// leaked; that waits, within ctx, for the child's own spawn children, which
// hold the tracker too.
func (c *Child) Wait(ctx context.Context) error {
	select {
	case <-c.done:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if c.waitErr != nil {
		return fmt.Errorf("spawn: wait: %w", c.waitErr)
	}
	var err error
	c.closeOnce.Do(func() { err = c.releaseCtx(ctx) })
	return err
}

// ExitCode returns the child's exit code as Python's Process.exitcode
// reports it (0, the code passed to exit, or the negated signal number),
// and whether the child has exited.
func (c *Child) ExitCode() (int, bool) {
	select {
	case <-c.done:
		return c.exitCode, true
	default:
		return 0, false
	}
}

// Terminate sends SIGTERM, as Process.terminate does.
func (c *Child) Terminate() error { return c.signal(syscall.SIGTERM) }

// Kill sends SIGKILL, as Process.kill does.
func (c *Child) Kill() error { return c.signal(syscall.SIGKILL) }

func (c *Child) signal(sig syscall.Signal) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("spawn: signal %v: %w", sig, err)
	}
	return nil
}

// release frees what Start allocated, without waiting.
func (c *Child) release() {
	c.releaseCtx(canceledCtx)
}

var canceledCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (c *Child) releaseCtx(ctx context.Context) error {
	if c.pipeW != nil {
		c.pipeW.Close()
		c.pipeW = nil
	}
	if c.ownTrack && c.tracker != nil {
		_, err := c.tracker.Close(ctx)
		if ctx == canceledCtx {
			return nil
		}
		return err
	}
	return nil
}

// parseTarget turns "module.qualname" or "module:qualname" into a global.
func parseTarget(s string) (pickle.Global, error) {
	if mod, name, ok := strings.Cut(s, ":"); ok && mod != "" && name != "" {
		return pickle.Global{Module: mod, Name: name}, nil
	}
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return pickle.Global{}, fmt.Errorf("spawn: target %q is not module.qualname", s)
	}
	return pickle.Global{Module: s[:i], Name: s[i+1:]}, nil
}

// childFds collects the descriptors a child inherits; entry i becomes
// descriptor 3+i in the child (exec.Cmd.ExtraFiles).
type childFds struct {
	files []*os.File
	dups  []*os.File // our duplicates, closed once the child started
	byFd  map[int]int
}

// add passes f to the child and returns its number there.
func (c *childFds) add(f *os.File) int {
	c.files = append(c.files, f)
	return 2 + len(c.files)
}

// dup passes a duplicate of fd (owned by someone else) and returns its
// number in the child; the same fd passed twice is passed once.
func (c *childFds) dup(fd int) (int, error) {
	if n, ok := c.byFd[fd]; ok {
		return n, nil
	}
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return 0, fmt.Errorf("dup fd %d: %w", fd, err)
	}
	f := os.NewFile(uintptr(d), "fd-"+strconv.Itoa(fd))
	c.dups = append(c.dups, f)
	n := c.add(f)
	if c.byFd == nil {
		c.byFd = map[int]int{}
	}
	c.byFd[fd] = n
	return n, nil
}

func (c *childFds) closeDups() {
	for _, f := range c.dups {
		f.Close()
	}
	c.dups = nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
