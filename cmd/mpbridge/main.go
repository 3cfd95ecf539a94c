// Command mpbridge is the command-line front end of mpbridge: Go that speaks
// Python multiprocessing's wire protocols.
//
// Usage:
//
//	mpbridge <command> [arguments]
//	mpbridge help [command]
//
// Each command lives in its own file and adds itself to the command table
// from an init function with register, so new commands never edit this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// A command is one entry of the subcommand table.
type command struct {
	name  string
	run   func(ctx context.Context, args []string) error
	usage string // first line: "name [flags] args"; following lines: description
}

// commands is the subcommand table, filled by register from init functions.
var commands = map[string]*command{}

// register adds a subcommand. usage's first line is the synopsis without the
// program name (e.g. "pickle dis [FILE]"); the rest describes the command.
// Registering a name twice panics (a programming error caught at start-up).
func register(name string, run func(ctx context.Context, args []string) error, usage string) {
	if _, dup := commands[name]; dup {
		panic("mpbridge: command registered twice: " + name)
	}
	commands[name] = &command{name: name, run: run, usage: strings.TrimSpace(usage)}
}

// errUsage is returned (wrapped) by a command whose arguments are wrong; the
// command's usage is printed and the exit status is 2.
var errUsage = errors.New("usage")

// usageErrorf returns an error wrapping errUsage with a message.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// stdio is the standard streams of a command run. Commands take them from
// their context (ioFrom) so that tests can run them in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type stdioKey struct{}

// withIO returns a context whose commands use s as standard streams.
func withIO(ctx context.Context, s stdio) context.Context {
	return context.WithValue(ctx, stdioKey{}, s)
}

// ioFrom returns the standard streams of ctx (os.Stdin/Stdout/Stderr by default).
func ioFrom(ctx context.Context) stdio {
	if s, ok := ctx.Value(stdioKey{}).(stdio); ok {
		return s
	}
	return stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}
}

// runState is per-run bookkeeping shared by run and the commands' flag sets.
type runState struct{ usageShown bool }

type runStateKey struct{}

// newFlagSet returns a flag set for a command that reports parse errors
// instead of exiting and prints its help to the command's stderr. A parse
// error makes the run exit with status 2 (a usage error).
func newFlagSet(ctx context.Context, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(ioFrom(ctx).err)
	st, _ := ctx.Value(runStateKey{}).(*runState)
	fs.Usage = func() {
		if st != nil {
			st.usageShown = true
		}
		if c := commands[strings.Fields(name)[0]]; c != nil {
			fmt.Fprintf(fs.Output(), "usage: mpbridge %s\n", c.usage)
		}
		if hasFlags(fs) {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// run executes one command line (without the program name) and returns the
// exit status: 0 success, 1 failure, 2 usage error.
func run(ctx context.Context, args []string) int {
	s := ioFrom(ctx)
	if len(args) == 0 {
		printHelp(s.err)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			c := commands[args[1]]
			if c == nil {
				fmt.Fprintf(s.err, "mpbridge: unknown command %q\n", args[1])
				return 2
			}
			fmt.Fprintf(s.out, "usage: mpbridge %s\n", c.usage)
			return 0
		}
		printHelp(s.out)
		return 0
	}
	c := commands[name]
	if c == nil {
		fmt.Fprintf(s.err, "mpbridge: unknown command %q\n\n", name)
		printHelp(s.err)
		return 2
	}
	st := &runState{}
	err := c.run(context.WithValue(ctx, runStateKey{}, st), args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case st.usageShown:
		return 2 // the flag set has printed the error and the usage
	case errors.Is(err, errUsage):
		fmt.Fprintf(s.err, "mpbridge %s: %v\nusage: mpbridge %s\n", name, err, synopsis(c))
		return 2
	default:
		fmt.Fprintf(s.err, "mpbridge %s: %v\n", name, err)
		return 1
	}
}

func synopsis(c *command) string {
	first, _, _ := strings.Cut(c.usage, "\n")
	return first
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "mpbridge speaks Python multiprocessing's wire protocols.")
	fmt.Fprintln(w, "\nusage: mpbridge <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		lines := strings.Split(c.usage, "\n")
		fmt.Fprintf(w, "  %s\n", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "      %s\n", strings.TrimSpace(l))
		}
	}
	fmt.Fprintln(w, "\nRun 'mpbridge help <command>' for one command.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
