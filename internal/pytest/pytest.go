// Package pytest finds the CPython interpreters the interop tests run
// against and starts them as well-behaved child processes: each in its own
// process group, killed when the test ends.
//
// Interpreters come from MPBRIDGE_PYTHONS (a comma- or space-separated list
// of pyenv versions such as "3.8.18 3.12.1", or absolute paths to python
// executables) or, when that is unset, from `pyenv versions --bare`, keeping
// CPython 3.8 to 3.13. Interpreters are run directly from
// $(pyenv prefix V)/bin/python3, never through the pyenv shim.
//
// Outside CI a test with no interpreter available is skipped. With CI=true
// it fails instead, and it also fails when any of the minors 3.8 to 3.13 is
// missing (unless MPBRIDGE_PYTHONS names the expected set explicitly).
package pytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Python is one interpreter.
type Python struct {
	Version string // full version, e.g. "3.12.1"
	Minor   int    // minor version, e.g. 12 (major is always 3)
	Exe     string // absolute path of the executable
}

// Name is the version, used as the subtest name.
func (p Python) Name() string { return p.Version }

// Modern reports whether the interpreter uses the 3.12+ handshake.
func (p Python) Modern() bool { return p.Minor >= 12 }

// ExpectedMinors are the CPython minors every interop case runs against.
var ExpectedMinors = []int{8, 9, 10, 11, 12, 13}

var (
	findOnce sync.Once
	found    []Python
	findErr  error
)

var versionRE = regexp.MustCompile(`^3\.(\d+)\.(\d+)$`)

// All returns every interpreter found, oldest first, without failing.
func All() ([]Python, error) {
	findOnce.Do(func() { found, findErr = discover() })
	return found, findErr
}

func discover() ([]Python, error) {
	var names []string
	env := strings.TrimSpace(os.Getenv("MPBRIDGE_PYTHONS"))
	// A name the user listed and we cannot use is an error, not a version
	// quietly left out; pyenv may list others (system, 2.7, 3.14).
	unusable := func(n string) error {
		if env == "" {
			return nil
		}
		return fmt.Errorf("pytest: MPBRIDGE_PYTHONS names %q, not a CPython 3.8-3.13 (X.Y.Z or an interpreter path)", n)
	}
	if env != "" {
		names = strings.FieldsFunc(env, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
	} else {
		out, err := exec.Command("pyenv", "versions", "--bare").Output()
		if err != nil {
			return nil, fmt.Errorf("pytest: pyenv versions: %w", err)
		}
		names = strings.Fields(string(out))
	}
	root := ""
	var pys []Python
	for _, n := range names {
		if strings.HasPrefix(n, "/") {
			out, err := exec.Command(n, "-c", "import platform;print(platform.python_version())").Output()
			if err != nil {
				return nil, fmt.Errorf("pytest: %s: %w", n, err)
			}
			v := strings.TrimSpace(string(out))
			m := versionRE.FindStringSubmatch(v)
			if m == nil {
				if err := unusable(n); err != nil {
					return nil, err
				}
				continue
			}
			minor, _ := strconv.Atoi(m[1])
			pys = append(pys, Python{Version: v, Minor: minor, Exe: n})
			continue
		}
		m := versionRE.FindStringSubmatch(n)
		minor := 0
		if m != nil {
			minor, _ = strconv.Atoi(m[1])
		}
		if m == nil || minor < 8 || minor > 13 {
			if err := unusable(n); err != nil {
				return nil, err
			}
			continue
		}
		if root == "" {
			out, err := exec.Command("pyenv", "root").Output()
			if err != nil {
				return nil, fmt.Errorf("pytest: pyenv root: %w", err)
			}
			root = strings.TrimSpace(string(out))
		}
		exe := filepath.Join(root, "versions", n, "bin", "python3")
		if _, err := os.Stat(exe); err != nil {
			return nil, fmt.Errorf("pytest: %s listed but %s missing", n, exe)
		}
		pys = append(pys, Python{Version: n, Minor: minor, Exe: exe})
	}
	sort.Slice(pys, func(i, j int) bool { return pys[i].Minor < pys[j].Minor })
	return pys, nil
}

// InCI reports whether the tests run under CI (CI=true), where a missing
// interpreter is a failure rather than a skip.
func InCI() bool { v := os.Getenv("CI"); return v == "true" || v == "1" }

// Pythons returns the interpreters to test against. It skips the test when
// none is found, except in CI, where it fails; in CI it also fails when a
// minor of ExpectedMinors is missing and MPBRIDGE_PYTHONS is unset.
func Pythons(t testing.TB) []Python {
	t.Helper()
	pys, err := All()
	if err != nil {
		if InCI() {
			t.Fatalf("no Python interpreters: %v", err)
		}
		t.Skipf("no Python interpreters: %v", err)
	}
	if len(pys) == 0 {
		if InCI() {
			t.Fatal("no CPython 3.8-3.13 found (pyenv versions --bare / MPBRIDGE_PYTHONS)")
		}
		t.Skip("no CPython 3.8-3.13 found")
	}
	if InCI() && os.Getenv("MPBRIDGE_PYTHONS") == "" {
		have := map[int]bool{}
		for _, p := range pys {
			have[p.Minor] = true
		}
		for _, m := range ExpectedMinors {
			if !have[m] {
				t.Fatalf("CI expects CPython 3.%d but it is not installed", m)
			}
		}
	}
	return pys
}

// ForEach runs f as a subtest for every interpreter.
func ForEach(t *testing.T, f func(t *testing.T, py Python)) {
	t.Helper()
	for _, py := range Pythons(t) {
		py := py
		t.Run("py"+py.Version, func(t *testing.T) { f(t, py) })
	}
}

// Pick returns one interpreter of each generation (the newest legacy
// ≤3.11 and the newest modern ≥3.12) for cases too slow to run on all.
func Pick(t testing.TB) []Python {
	all := Pythons(t)
	var legacy, modern *Python
	for i := range all {
		if all[i].Minor <= 11 {
			legacy = &all[i]
		} else {
			modern = &all[i]
		}
	}
	var out []Python
	if legacy != nil {
		out = append(out, *legacy)
	}
	if modern != nil {
		out = append(out, *modern)
	}
	return out
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Script returns the absolute path of scripts/name.
func Script(name string) string { return filepath.Join(RepoRoot(), "scripts", name) }

// Env is the environment Command gives an interpreter: os.Environ() with
// PYTHONPATH set to scripts/, unbuffered output and no bytecode written.
// Use it for interpreters started another way (spawn.Start).
func Env() []string {
	return append(os.Environ(), "PYTHONPATH="+filepath.Join(RepoRoot(), "scripts"), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
}

// Command builds an exec.Cmd running the interpreter in its own process
// group with the environment Env. Start it with Start so that it is killed
// when the test ends.
func (p Python) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.Exe, args...)
	cmd.Env = Env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Start starts cmd and registers a cleanup that kills its whole process
// group and reaps it.
func Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	t.Cleanup(func() { Kill(cmd) })
}

// Kill kills cmd's process group and waits for the process (bounded).
func Kill(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// Run runs `python -c code args...` to completion and returns its stdout.
// A non-zero exit fails the test with stderr.
func (p Python) Run(t testing.TB, code string, args ...string) []byte {
	t.Helper()
	cmd := p.Command(append([]string{"-c", code}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %s: %v\n%s", p.Version, err, stderr.String())
	}
	return out
}

// Helper is a long-lived Python process running scripts/pyhelper.py. It
// executes snippets of code in one persistent namespace, so many cases share
// one interpreter start. It is safe for use by one goroutine at a time.
type Helper struct {
	Py  Python
	cmd *exec.Cmd
	in  *json.Encoder
	out *bufio.Scanner
	mu  sync.Mutex
}

// NewHelper starts a helper for py, stopped when the test ends.
func NewHelper(t testing.TB, py Python) *Helper {
	t.Helper()
	cmd := py.Command(Script("pyhelper.py"))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	Start(t, cmd)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	return &Helper{Py: py, cmd: cmd, in: json.NewEncoder(stdin), out: sc}
}

// Exec runs code (exec'd in the helper's namespace; the snippet sets the
// variable `result` to return a JSON-encodable value) and returns the JSON
// of `result`. A Python exception is returned as an error holding the
// traceback.
func (h *Helper) Exec(code string) (json.RawMessage, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.in.Encode(map[string]string{"code": code}); err != nil {
		return nil, fmt.Errorf("pyhelper %s: write: %w", h.Py.Version, err)
	}
	if !h.out.Scan() {
		return nil, fmt.Errorf("pyhelper %s: exited: %v", h.Py.Version, h.out.Err())
	}
	var rep struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("pyhelper %s: bad reply %q: %w", h.Py.Version, h.out.Bytes(), err)
	}
	if rep.Error != "" {
		return nil, fmt.Errorf("python %s: %s", h.Py.Version, rep.Error)
	}
	return rep.Result, nil
}

// MustExec is Exec that fails the test on error.
func (h *Helper) MustExec(t testing.TB, code string) json.RawMessage {
	t.Helper()
	r, err := h.Exec(code)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
