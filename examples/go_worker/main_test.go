package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/stretchr/testify/require"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The example runs as its doc says, against each generation of Python.
func TestGoWorker(t *testing.T) {
	for _, py := range pytest.Pick(t) {
		t.Run(py.Version, func(t *testing.T) {
			port := freePort(t)
			cmd := py.Command(filepath.Join(pytest.RepoRoot(), "examples", "go_worker", "server.py"))
			cmd.Env = append(cmd.Env, "MPB_AUTHKEY=secret", fmt.Sprintf("MPB_PORT=%d", port), "JOBS=25", "TIMEOUT=30")
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			pytest.Start(t, cmd)
			sc := bufio.NewScanner(out)
			require.True(t, sc.Scan())
			require.True(t, strings.HasPrefix(sc.Text(), "serving at"), sc.Text())

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			n, err := run(ctx, fmt.Sprintf("127.0.0.1:%d", port), []byte("secret"))
			require.NoError(t, err)
			require.Equal(t, 25, n)
			var lines []string
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			require.Len(t, lines, 25)
			require.Equal(t, "24 24 -> 576 by go", lines[24])
			require.NoError(t, cmd.Wait())
		})
	}
}
