package spawn

import (
	"fmt"
	"strconv"
	"strings"
)

// ForkFlag is the last argument of a spawn child's command line (and the
// first, after the executable, of a frozen executable's).
const ForkFlag = "--multiprocessing-fork"

// Kind says what a command line asks of the program it was given to.
type Kind int

const (
	// NotPython means the command line is not an invocation made by
	// multiprocessing: the program runs normally.
	NotPython Kind = iota
	// SpawnChild is spawn.get_command_line's invocation: a child of the
	// spawn start method, which reads its two pickles from PipeHandle.
	SpawnChild
	// PythonProgram is any other `[flags] -c PROGRAM [args]` invocation,
	// such as the resource tracker's
	// `-c 'from multiprocessing.resource_tracker import main;main(5)'` or
	// the fork server's; only the real interpreter can serve it.
	PythonProgram
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case SpawnChild:
		return "spawn child"
	case PythonProgram:
		return "python program"
	default:
		return "not python"
	}
}

// Invocation is a parsed command line.
type Invocation struct {
	Kind Kind
	// Flags are the interpreter flags between the executable and -c
	// (util._args_from_interpreter_flags in the parent), kept so that a
	// hand-over to Python reproduces them.
	Flags []string
	// Program is the -c program text (SpawnChild and PythonProgram).
	Program string
	// Args are the arguments after the program (PythonProgram).
	Args []string
	// TrackerFd is the resource tracker's write end (-1 when the
	// command line says None or omits it).
	TrackerFd int
	// PipeHandle is the read end of the pipe carrying the two pickles.
	PipeHandle int
	// Frozen is true for the frozen-executable form
	// `exe --multiprocessing-fork tracker_fd=N pipe_handle=M`.
	Frozen bool
}

// spawnProgramPrefix starts the -c program of every CPython 3.8–3.13 spawn
// child on POSIX (spawn.get_command_line).
const spawnProgramPrefix = "from multiprocessing.spawn import spawn_main; spawn_main("

// ParseCommandLine recognises the invocations multiprocessing makes of
// spawn.get_executable(). args is the full argv, args[0] included. A
// command line that does not look like one yields Kind NotPython and no
// error; one that looks like a spawn child but is malformed yields an error.
func ParseCommandLine(args []string) (Invocation, error) {
	inv := Invocation{TrackerFd: -1, PipeHandle: -1}
	if len(args) >= 2 && args[1] == ForkFlag {
		// Frozen form: exe --multiprocessing-fork name=value...
		inv.Kind, inv.Frozen = SpawnChild, true
		if err := inv.setKeywords(args[2:], "="); err != nil {
			return Invocation{}, err
		}
		return inv, nil
	}
	c := -1
	for i := 1; i < len(args)-1; i++ {
		if args[i] == "-c" {
			c = i
			break
		}
		if !isInterpreterFlag(args[i]) {
			return inv, nil
		}
		if (args[i] == "-X" || args[i] == "-W") && i+1 < len(args) {
			i++ // -X dev, -W error: the option's value is a separate argument
		}
	}
	if c < 0 {
		return inv, nil
	}
	inv.Flags = append([]string(nil), args[1:c]...)
	inv.Program = args[c+1]
	rest := args[c+2:]
	if !strings.HasPrefix(inv.Program, spawnProgramPrefix) {
		inv.Kind, inv.Args = PythonProgram, append([]string(nil), rest...)
		return inv, nil
	}
	if len(rest) != 1 || rest[0] != ForkFlag {
		return Invocation{}, fmt.Errorf("spawn: spawn_main command line without a final %s: %q", ForkFlag, args)
	}
	inner := strings.TrimPrefix(inv.Program, spawnProgramPrefix)
	if !strings.HasSuffix(inner, ")") {
		return Invocation{}, fmt.Errorf("spawn: malformed spawn_main program %q", inv.Program)
	}
	inv.Kind = SpawnChild
	if err := inv.setKeywords(strings.Split(strings.TrimSuffix(inner, ")"), ", "), "="); err != nil {
		return Invocation{}, err
	}
	return inv, nil
}

// setKeywords reads tracker_fd=N, pipe_handle=M (and tolerates
// parent_pid=..., which only Windows sends).
func (inv *Invocation) setKeywords(items []string, sep string) error {
	for _, item := range items {
		name, value, ok := strings.Cut(strings.TrimSpace(item), sep)
		if !ok {
			return fmt.Errorf("spawn: malformed keyword %q in spawn command line", item)
		}
		n := -1
		if value != "None" {
			v, err := strconv.Atoi(value)
			if err != nil || v < 0 {
				return fmt.Errorf("spawn: keyword %s=%q is not a descriptor", name, value)
			}
			n = v
		}
		switch name {
		case "tracker_fd":
			inv.TrackerFd = n
		case "pipe_handle":
			inv.PipeHandle = n
		case "parent_pid":
		default:
			return fmt.Errorf("spawn: unknown keyword %q in spawn command line", name)
		}
	}
	if inv.PipeHandle < 0 {
		return fmt.Errorf("spawn: spawn command line has no pipe_handle")
	}
	return nil
}

// isInterpreterFlag reports whether arg can appear among the flags
// subprocess._args_from_interpreter_flags produces (-B, -OO, -I, -Wx, -X, …).
func isInterpreterFlag(arg string) bool {
	return len(arg) >= 2 && arg[0] == '-' && arg != "-c" && arg != "-m" && arg[1] != '-'
}

// CommandLine returns spawn.get_command_line's argv for a child: exe,
// flags, `-c 'from multiprocessing.spawn import spawn_main;
// spawn_main(tracker_fd=T, pipe_handle=P)'`, ForkFlag. A negative trackerFd
// is written as None.
func CommandLine(exe string, flags []string, trackerFd, pipeHandle int) []string {
	tracker := "None"
	if trackerFd >= 0 {
		tracker = strconv.Itoa(trackerFd)
	}
	prog := spawnProgramPrefix + "tracker_fd=" + tracker + ", pipe_handle=" + strconv.Itoa(pipeHandle) + ")"
	argv := make([]string, 0, len(flags)+4)
	argv = append(argv, exe)
	argv = append(argv, flags...)
	return append(argv, "-c", prog, ForkFlag)
}
