//go:build linux

package semlock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Resource types of CPython's resource tracker protocol.
const (
	ResourceSemaphore    = "semaphore"     // cleaned up with sem_unlink
	ResourceSharedMemory = "shared_memory" // cleaned up with shm_unlink
	ResourceNoop         = "noop"          // PROBE lines
)

// TrackerEnv is the environment variable that turns a re-executed binary
// into our resource tracker: its value is the number of the fd to read
// commands from. It is set only for the tracker process StartTracker starts.
const TrackerEnv = "MPBRIDGE_RESOURCE_TRACKER_FD"

// maxTrackerLine is the longest line CPython writes: pipe writes of at most
// PIPE_BUF (≥ 512) bytes are atomic, so lines from several processes never
// interleave.
const maxTrackerLine = 512

// Tracker is a client of a resource tracker: it writes
// "REGISTER:<name>:<rtype>\n" and "UNREGISTER:<name>:<rtype>\n" lines to the
// tracker's pipe, in single writes, exactly as
// multiprocessing.resource_tracker does. The tracker may be CPython's (a Go
// process spawned by Python inherits its fd as tracker_fd) or ours
// (StartTracker). Methods are safe for concurrent use.
type Tracker struct {
	mu  sync.Mutex
	w   *os.File
	cmd *exec.Cmd // our tracker process, if we started it
}

// NewTrackerClient returns a Tracker writing to w, the write end of a
// running tracker's pipe (e.g. os.NewFile(trackerFd, "tracker")).
func NewTrackerClient(w *os.File) *Tracker { return &Tracker{w: w} }

// StartTracker starts our own tracker process, this executable re-executed
// with TrackerEnv set (the package's init function then runs TrackerMain
// instead of the program), and returns a client for it. The tracker ignores
// SIGINT and SIGTERM and runs in its own process group, so it outlives its
// creator: when the last write end of its pipe is closed (every process that
// held it has exited or closed it, even after SIGKILL) it unlinks the names
// still registered and exits.
func StartTracker() (*Tracker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("semlock: start tracker: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("semlock: start tracker: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), TrackerEnv+"=3")
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("semlock: start tracker: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it whenever it exits
	return &Tracker{w: w, cmd: cmd}, nil
}

var (
	defaultMu      sync.Mutex
	defaultTracker *Tracker
)

// DefaultTracker returns the process-wide tracker, starting our own with
// StartTracker on first use unless SetDefaultTracker installed one.
func DefaultTracker() (*Tracker, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultTracker == nil {
		t, err := StartTracker()
		if err != nil {
			return nil, err
		}
		defaultTracker = t
	}
	return defaultTracker, nil
}

// SetDefaultTracker makes t the process-wide tracker, e.g. a client of the
// CPython tracker whose fd a spawned Go child inherited.
func SetDefaultTracker(t *Tracker) {
	defaultMu.Lock()
	defaultTracker = t
	defaultMu.Unlock()
}

// Fd returns the write end of the tracker's pipe, to pass to children
// (CPython's spawn passes it as tracker_fd).
func (t *Tracker) Fd() *os.File { return t.w }

// Pid returns the tracker process's pid if this client started it, else 0.
func (t *Tracker) Pid() int {
	if t.cmd == nil || t.cmd.Process == nil {
		return 0
	}
	return t.cmd.Process.Pid
}

// Register asks the tracker to clean up name (of type rtype) if nobody
// unregisters it.
func (t *Tracker) Register(name, rtype string) error { return t.send("REGISTER", name, rtype) }

// Unregister withdraws a Register.
func (t *Tracker) Unregister(name, rtype string) error { return t.send("UNREGISTER", name, rtype) }

func (t *Tracker) send(cmd, name, rtype string) error {
	if strings.ContainsAny(name, ":\n") || strings.ContainsAny(rtype, ":\n") {
		return fmt.Errorf("semlock: tracker: invalid name %q", name)
	}
	msg := cmd + ":" + name + ":" + rtype + "\n"
	if len(msg) > maxTrackerLine {
		return fmt.Errorf("semlock: tracker: message too long (%d bytes)", len(msg))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil {
		return fmt.Errorf("semlock: tracker: closed")
	}
	n, err := t.w.Write([]byte(msg))
	if err == nil && n != len(msg) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("semlock: tracker: %s %s: %w", cmd, name, err)
	}
	return nil
}

// Close closes this process's write end. If it was the last one, the
// tracker unlinks whatever is still registered and exits.
func (t *Tracker) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil {
		return nil
	}
	err := t.w.Close()
	t.w = nil
	return err
}

// TrackerMain runs a resource tracker that reads command lines from r until
// end of file, then unlinks every name still registered, reporting leaks
// and failures on stderr as CPython's resource_tracker.main does. It returns
// CPython 3.13's exit status: 3 if a bad message was received, overridden by
// 1 if leaked resources were cleaned up, overridden by 2 if an unlink failed;
// 0 otherwise. (A name already gone is not a failure here; CPython's
// sem_unlink would report it.)
//
// A Go executable that Python uses as its spawn executable is also started
// as Python's tracker (argv "-c 'from multiprocessing.resource_tracker
// import main;main(FD)'"); it can serve that role by calling TrackerMain on
// os.NewFile(FD).
func TrackerMain(r io.Reader, stderr io.Writer) int {
	cache := map[string]map[string]bool{
		ResourceNoop:         {},
		ResourceSemaphore:    {},
		ResourceSharedMemory: {},
		"dummy":              {}, // 3.13's test type
	}
	order := []string{ResourceNoop, ResourceSemaphore, ResourceSharedMemory, "dummy"}
	status := 0
	br := bufio.NewReaderSize(r, maxTrackerLine)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if perr := trackerCommand(cache, line); perr != nil {
				fmt.Fprintf(stderr, "resource_tracker: %v\n", perr)
				status = 3
			}
		}
		if err != nil {
			break
		}
	}
	for _, rtype := range order {
		names := cache[rtype]
		if len(names) == 0 {
			continue
		}
		fmt.Fprintf(stderr, "resource_tracker: There appear to be %d leaked %s objects to clean up at shutdown\n", len(names), rtype)
		status = 1 // as in 3.13, this overrides an earlier 3
		for name := range names {
			if err := cleanup(rtype, name); err != nil {
				fmt.Fprintf(stderr, "resource_tracker: %q: %v\n", name, err)
				status = 2
			}
		}
	}
	return status
}

func trackerCommand(cache map[string]map[string]bool, line string) error {
	parts := strings.Split(strings.TrimSpace(line), ":")
	if len(parts) != 3 {
		return fmt.Errorf("malformed message %q", line)
	}
	cmd, name, rtype := parts[0], parts[1], parts[2]
	names, ok := cache[rtype]
	if !ok {
		return fmt.Errorf("cannot register %s for automatic cleanup: unknown resource type %s", name, rtype)
	}
	switch cmd {
	case "REGISTER":
		names[name] = true
	case "UNREGISTER":
		if !names[name] {
			return fmt.Errorf("UNREGISTER of unknown %s %q", rtype, name)
		}
		delete(names, name)
	case "PROBE":
	default:
		return fmt.Errorf("unrecognized command %q", cmd)
	}
	return nil
}

func cleanup(rtype, name string) error {
	switch rtype {
	case ResourceSemaphore:
		err := Unlink(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	case ResourceSharedMemory:
		n := strings.TrimLeft(name, "/")
		if n == "" || strings.ContainsAny(n, "/\x00") {
			return fmt.Errorf("invalid shared memory name")
		}
		err := os.Remove(ShmDir + "/" + n)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// init turns this process into our resource tracker when StartTracker
// re-executed it (TrackerEnv set): it runs TrackerMain and exits before the
// program's main runs.
func init() {
	v := os.Getenv(TrackerEnv)
	if v == "" {
		return
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	f := os.NewFile(uintptr(fd), "resource-tracker")
	os.Exit(TrackerMain(f, os.Stderr))
}
