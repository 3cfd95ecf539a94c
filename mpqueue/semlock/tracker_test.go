//go:build linux

package semlock

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary act as a child process (see runChild).
const childEnv = "MPBRIDGE_SEMLOCK_TEST_CHILD"

// runChild creates two tracked semaphores with the default tracker, prints
// their names and waits to be killed.
func runChild() int {
	prefix := os.Getenv(childEnv)
	for i := 0; i < 2; i++ {
		l, err := New(Semaphore, 0, ValueMax, &Options{Prefix: prefix})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(l.Name())
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	return 0
}

func TestTrackerMain(t *testing.T) {
	a, b := NewName(testPrefix), NewName(testPrefix)
	for _, n := range []string{a, b} {
		s, err := Create(n, 0)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	shm := strings.TrimPrefix(NewName(testPrefix), "/") + "shm"
	require.NoError(t, os.WriteFile(ShmDir+"/"+shm, nil, 0o600))
	in := strings.Join([]string{
		"REGISTER:" + a + ":semaphore",
		"REGISTER:" + b + ":semaphore",
		"PROBE:0:noop",
		"REGISTER:/" + shm + ":shared_memory",
		"UNREGISTER:" + b + ":semaphore",
		"",
	}, "\n")
	var stderr bytes.Buffer
	status := TrackerMain(strings.NewReader(in), &stderr)
	require.Equal(t, 1, status, stderr.String())
	require.Contains(t, stderr.String(), "There appear to be 1 leaked semaphore objects")
	require.Contains(t, stderr.String(), "There appear to be 1 leaked shared_memory objects")
	require.NoFileExists(t, Path(a))
	require.FileExists(t, Path(b))
	require.NoFileExists(t, ShmDir+"/"+shm)
	require.NoError(t, Unlink(b))

	stderr.Reset()
	status = TrackerMain(strings.NewReader("BOGUS\nREGISTER:x:nosuchtype\nFOO:x:noop\nUNREGISTER:/nope:semaphore\n"), &stderr)
	require.Equal(t, 3, status)
	require.Equal(t, 4, strings.Count(stderr.String(), "\n"), stderr.String())
}

func TestTrackerClientLines(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	tr := NewTrackerClient(w)
	require.NoError(t, tr.Register("/mp-abc", ResourceSemaphore))
	require.NoError(t, tr.Unregister("/mp-abc", ResourceSemaphore))
	require.Error(t, tr.Register("/mp:abc", ResourceSemaphore))
	require.Error(t, tr.Register("/"+strings.Repeat("a", 600), ResourceSemaphore))
	require.NoError(t, tr.Close())
	require.Error(t, tr.Register("/mp-abc", ResourceSemaphore))
	sc := bufio.NewScanner(r)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.Equal(t, []string{"REGISTER:/mp-abc:semaphore", "UNREGISTER:/mp-abc:semaphore"}, lines)
}

// A creator killed with SIGKILL leaves its semaphores to the tracker it
// started, which unlinks them when the creator's end of the pipe closes.
func TestTrackerCleansUpAfterSIGKILL(t *testing.T) {
	prefix := NewName(testPrefix)[1:]
	prefix = "/" + strings.ReplaceAll(prefix, "-", "k")
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+prefix)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	var names []string
	for sc.Scan() && sc.Text() != "ready" {
		require.True(t, strings.HasPrefix(sc.Text(), prefix), sc.Text())
		names = append(names, sc.Text())
	}
	require.Len(t, names, 2)
	for _, n := range names {
		require.FileExists(t, Path(n))
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return len(leftovers(prefix)) == 0 }, 10*time.Second, 10*time.Millisecond)
}

func TestDefaultTrackerRegisters(t *testing.T) {
	l, err := New(Semaphore, 1, 1, &Options{Prefix: testPrefix})
	require.NoError(t, err)
	tr, err := DefaultTracker()
	require.NoError(t, err)
	require.NotZero(t, tr.Pid())
	require.NoError(t, l.Close())
	require.NoFileExists(t, Path(l.Name()))
}
