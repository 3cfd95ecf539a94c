package spawn

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// PythonEnv names the environment variable that overrides the interpreter
// a Go worker hands unknown targets (and the resource tracker and fork
// server invocations) to. By default it is the parent's own executable.
const PythonEnv = "MPBRIDGE_PYTHON"

// ErrNoPython reports that no interpreter could be found to hand an
// invocation over to.
var ErrNoPython = errors.New("spawn: no Python interpreter to hand over to")

// findPython returns the interpreter to hand over to: explicit, else
// $MPBRIDGE_PYTHON, else the executable of the parent process (the Python
// that ran set_executable), provided it is not this very program.
func findPython(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if env := os.Getenv(PythonEnv); env != "" {
		return env, nil
	}
	ppid := os.Getppid()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(ppid) + "/exe")
	if err != nil {
		return "", fmt.Errorf("%w: reading the parent's executable (pid %d): %v; set %s", ErrNoPython, ppid, err, PythonEnv)
	}
	if self, err := os.Executable(); err == nil {
		a, errA := os.Stat(self)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return "", fmt.Errorf("%w: the parent (pid %d) runs this same program; set %s", ErrNoPython, ppid, PythonEnv)
		}
	}
	return exe, nil
}

// execPython replaces this process with python running argv[1:] (the
// flags and program of the original invocation). It returns only on error.
func execPython(python string, argv []string) error {
	args := append([]string{python}, argv[1:]...)
	err := syscall.Exec(python, args, os.Environ())
	return fmt.Errorf("spawn: exec %s: %w", python, err)
}

// handOverProgram is the -c program a Go worker execs the interpreter with
// to run a target it does not know. It is spawn_main for POSIX with one
// difference: the two pickles, already read from the parent's pipe, come
// from a replay descriptor, while the parent's pipe stays the parent
// sentinel (process.parent_process()), exactly as spawn_main's dup of it.
const handOverProgram = "import sys; from multiprocessing import spawn, resource_tracker as rt; " +
	"rt._resource_tracker._fd = %s; sys.exit(spawn._main(%d, %d))"

// handOverSpawn execs the interpreter so that it runs the spawn child
// whose two pickles (data) were already read from inv.PipeHandle. It
// returns only on error.
func handOverSpawn(python string, inv Invocation, data []byte) error {
	fd, err := replayFd(data)
	if err != nil {
		return err
	}
	tracker := "None"
	if inv.TrackerFd >= 0 {
		tracker = strconv.Itoa(inv.TrackerFd)
	}
	prog := fmt.Sprintf(handOverProgram, tracker, fd, inv.PipeHandle)
	argv := []string{python}
	argv = append(argv, inv.Flags...)
	argv = append(argv, "-c", prog, ForkFlag)
	err = syscall.Exec(python, argv, os.Environ())
	unix.Close(fd)
	return fmt.Errorf("spawn: exec %s: %w", python, err)
}

// replayFd returns an inheritable descriptor positioned at the start of a
// copy of data: a memfd, or a pipe holding data when memfd_create is
// unavailable and data fits in the pipe.
func replayFd(data []byte) (int, error) {
	fd, err := unix.MemfdCreate("mpbridge-spawn-replay", 0)
	if err == nil {
		if err := writeAll(fd, data); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("spawn: writing replay memfd: %w", err)
		}
		if _, err := unix.Seek(fd, 0, 0); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("spawn: rewinding replay memfd: %w", err)
		}
		return fd, nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		return -1, fmt.Errorf("spawn: replay pipe: %w", err)
	}
	if size, _ := unix.FcntlInt(uintptr(p[1]), unix.F_GETPIPE_SZ, 0); size < len(data) {
		unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, len(data))
	}
	if size, _ := unix.FcntlInt(uintptr(p[1]), unix.F_GETPIPE_SZ, 0); size < len(data) {
		unix.Close(p[0])
		unix.Close(p[1])
		return -1, fmt.Errorf("spawn: no memfd and %d bytes do not fit a pipe", len(data))
	}
	err = writeAll(p[1], data)
	unix.Close(p[1])
	if err != nil {
		unix.Close(p[0])
		return -1, fmt.Errorf("spawn: writing replay pipe: %w", err)
	}
	return p[0], nil
}

func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}
