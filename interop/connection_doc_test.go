package interop

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/internal/pytest"
)

// docBlock returns the fenced code between <!-- example:name --> and
// <!-- /example:name --> in docs/connection.md.
func docBlock(t *testing.T, doc, name string) string {
	t.Helper()
	start := strings.Index(doc, "<!-- example:"+name+" -->")
	end := strings.Index(doc, "<!-- /example:"+name+" -->")
	require.True(t, start >= 0 && end > start, "example %s not found in docs/connection.md", name)
	block := doc[start:end]
	block = block[strings.Index(block, "```"):]
	block = block[strings.Index(block, "\n")+1:]
	return block[:strings.LastIndex(block, "```")]
}

// TestConnectionDocExample runs the README example of docs/connection.md as
// written: the Python Listener block with each CPython, the Go client block
// compiled into a program.
func TestConnectionDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(pytest.RepoRoot(), "docs", "connection.md"))
	require.NoError(t, err)
	pyCode := docBlock(t, string(doc), "python")
	goCode := docBlock(t, string(doc), "go")
	require.Contains(t, pyCode, "6000")
	require.Contains(t, goCode, `"127.0.0.1:6000"`)

	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"log\"\n\t\"os\"\n\t\"time\"\n\n" +
		"\t\"github.com/mpbridge/mpbridge/connection\"\n\t\"github.com/mpbridge/mpbridge/pickle\"\n)\n\n" +
		"func main() {\n" + strings.ReplaceAll(goCode, `"127.0.0.1:6000"`, `os.Getenv("MPB_DOC_ADDR")`) + "}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	bin, err := goBuild(dir, "docexample", filepath.Join(dir, "main.go"))
	require.NoError(t, err, "the doc example:\n%s", src)

	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		port := freePort(t)
		cmd := py.Command("-c", strings.ReplaceAll(pyCode, "6000", fmt.Sprint(port)))
		var pyErr strings.Builder
		cmd.Stderr = &pyErr
		pytest.Start(t, cmd)
		waitListening(t, port)
		run := exec.Command(bin)
		run.Env = append(os.Environ(), fmt.Sprintf("MPB_DOC_ADDR=127.0.0.1:%d", port))
		got, err := run.CombinedOutput()
		require.NoError(t, err, "%s\npython: %s", got, pyErr.String())
		require.Equal(t, "('echo', 'hello')\nraw\n", string(got))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, pyErr.String())
		case <-time.After(30 * time.Second):
			t.Fatal("the Python listener did not exit")
		}
	})
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until a socket listens on 127.0.0.1:port, without
// connecting to it (the example serves one connection only).
func waitListening(t *testing.T, port int) {
	t.Helper()
	want := fmt.Sprintf("0100007F:%04X", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		f, err := os.Open("/proc/net/tcp")
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && fields[1] == want && fields[3] == "0A" {
				f.Close()
				return
			}
		}
		f.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}
