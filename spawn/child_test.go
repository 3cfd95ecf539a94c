package spawn

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/pickle"
)

// childRun runs RunWith in-process as a spawn child whose pipe carries the
// pickles of proc, and returns the exit status and stderr.
func childRun(t *testing.T, reg *Registry, proc *ProcessObject) (int, string) {
	t.Helper()
	return childRunPipe(t, reg, proc, nil)
}

// childRunPipe is childRun that also stores the parent's end of the pipe
// in *parentW, for targets that close it.
func childRunPipe(t *testing.T, reg *Registry, proc *ProcessObject, parentW **os.File) (int, string) {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	t.Cleanup(func() { os.Chdir(wd) })
	prep := &Preparation{Authkey: []byte("k"), Name: proc.Name, Dir: wd, OrigDir: wd, StartMethod: "spawn",
		SysPath: []string{wd}, SysArgv: []string{"parent.py"}}
	data, err := EncodePickles(prep, proc)
	require.NoError(t, err)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	_, err = w.Write(data)
	require.NoError(t, err)
	defer w.Close()
	if parentW != nil {
		*parentW = w
	}
	var stderr bytes.Buffer
	code := -1
	RunWith(Options{
		Registry: reg, Python: "/nonexistent/python", Stderr: &stderr,
		Args: CommandLine("worker", nil, -1, int(r.Fd())),
		Exit: func(c int) { code = c },
	})
	return code, stderr.String()
}

func testProcess(target string, args ...any) *ProcessObject {
	config := pickle.NewDict(2)
	config.Set("authkey", authString([]byte("0123")))
	config.Set("semprefix", "/mp")
	g, _ := parseTarget(target)
	return &ProcessObject{Class: spawnProcessClass, Identity: []int{1}, Config: config,
		ParentPID: os.Getpid(), ParentName: "MainProcess", Target: g, Args: args,
		Kwargs: pickle.NewDict(0), Name: "SpawnProcess-1"}
}

func TestRunChild(t *testing.T) {
	reg := &Registry{}
	var got []any
	var gotInfo *Info
	reg.Register("tasks.ok", func(ctx context.Context, args []any, kwargs map[string]any) error {
		got = args
		gotInfo, _ = InfoFrom(ctx)
		return nil
	})
	reg.Register("tasks.err", func(context.Context, []any, map[string]any) error { return errors.New("went wrong") })
	reg.Register("tasks.exc", func(context.Context, []any, map[string]any) error {
		return pickle.NewException("builtins", "KeyError", "k")
	})
	reg.Register("tasks.exit", func(context.Context, []any, map[string]any) error { return Exit(7) })
	reg.Register("tasks.panic", func(context.Context, []any, map[string]any) error { panic("oops") })
	reg.Register("mod.Worker.run", func(context.Context, []any, map[string]any) error { return Exit(9) })
	var parentW *os.File
	reg.Register("tasks.orphan", func(ctx context.Context, args []any, kwargs map[string]any) error {
		parentW.Close() // the parent goes away
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), ErrParentExited) {
				return nil
			}
			return context.Cause(ctx)
		case <-time.After(10 * time.Second):
			return errors.New("context not cancelled when the parent left")
		}
	})
	sharedctype := &pickle.Object{Callable: pickle.Global{Module: "multiprocessing.sharedctypes", Name: "synchronized"}, Kind: pickle.Reduce, Args: pickle.Tuple{}}

	tests := []struct {
		name   string
		proc   *ProcessObject
		code   int
		stderr []string
	}{
		{"success", testProcess("tasks.ok", int64(1), "two", []byte("3")), 0, nil},
		{"error", testProcess("tasks.err"), 1, []string{"Process SpawnProcess-1:\nTraceback (most recent call last):\n", "in tasks.err", "GoError: went wrong"}},
		{"python exception", testProcess("tasks.exc"), 1, []string{"KeyError: 'k'"}},
		{"exit code", testProcess("tasks.exit"), 7, nil},
		{"panic", testProcess("tasks.panic"), 1, []string{"GoPanic: oops", "goroutine"}},
		{"unsupported", testProcess("tasks.ok", int64(1), pickle.Tuple{sharedctype}), 1, []string{"multiprocessing.sharedctypes.synchronized", "args[1][0]"}},
		{"unknown target", testProcess("tasks.missing"), 1, []string{"/nonexistent/python"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := childRun(t, reg, tt.proc)
			require.Equal(t, tt.code, code, stderr)
			for _, s := range tt.stderr {
				require.Contains(t, stderr, s)
			}
			if tt.stderr == nil {
				require.Empty(t, stderr)
			}
		})
	}
	require.Equal(t, []any{int64(1), "two", []byte("3")}, got)
	require.Equal(t, "SpawnProcess-1", gotInfo.Name)
	require.Equal(t, []byte("0123"), gotInfo.Authkey)
	require.Equal(t, os.Getpid(), gotInfo.ParentPID)
	require.Equal(t, "tasks.ok", gotInfo.Target)

	t.Run("parent exits", func(t *testing.T) {
		code, stderr := childRunPipe(t, reg, testProcess("tasks.orphan"), &parentW)
		require.Equal(t, 0, code, stderr)
	})

	t.Run("subclass run", func(t *testing.T) {
		p := testProcess("x.y")
		p.Class, p.Target = pickle.Global{Module: "mod", Name: "Worker"}, nil
		code, stderr := childRun(t, reg, p)
		require.Equal(t, 9, code, stderr)
	})
}

func TestRunNotAChild(t *testing.T) {
	exited := false
	RunWith(Options{Args: []string{"worker", "serve"}, Exit: func(int) { exited = true }})
	require.False(t, exited)
}

func TestRunPythonProgramWithoutPython(t *testing.T) {
	var stderr bytes.Buffer
	code := -1
	RunWith(Options{Args: []string{"worker", "-c", "from multiprocessing.resource_tracker import main;main(5)"},
		Python: "/nonexistent/python", Stderr: &stderr, Exit: func(c int) { code = c }})
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "/nonexistent/python")
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want pickle.Global
		err  bool
	}{
		{"tasks.resize", pickle.Global{Module: "tasks", Name: "resize"}, false},
		{"pkg.mod.func", pickle.Global{Module: "pkg.mod", Name: "func"}, false},
		{"pkg.mod:Class.method", pickle.Global{Module: "pkg.mod", Name: "Class.method"}, false},
		{"nodot", pickle.Global{}, true},
		{"trailing.", pickle.Global{}, true},
		{".leading", pickle.Global{}, true},
	} {
		got, err := parseTarget(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

func TestTraceback(t *testing.T) {
	tb := Traceback(errors.New("x"), "P-1", "m.f")
	require.Equal(t, "Process P-1:\nTraceback (most recent call last):\n  File \"<go>\", in m.f\nGoError: x\n", tb)
	tb = Traceback(pickle.NewException("builtins", "ValueError", "bad value"), "P-1", "m.f")
	require.True(t, strings.HasSuffix(tb, "ValueError: bad value\n"), tb)
}

func TestRegistryDuplicatePanics(t *testing.T) {
	r := &Registry{}
	f := func(context.Context, []any, map[string]any) error { return nil }
	r.Register("a.b", f)
	require.Panics(t, func() { r.Register("a.b", f) })
	require.Panics(t, func() { r.Register("", f) })
	require.Equal(t, []string{"a.b"}, r.Names())
}
