package interop

import (
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/internal/pytest"
)

// goBuild builds the main package pkg (a directory relative to the module
// root, or the absolute path of a .go file) into dir/name and returns the
// binary's path. The binary is written under a temporary name and renamed
// into place, so that a process running an earlier dir/name is not
// disturbed.
func goBuild(dir, name, pkg string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, name+"-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	cmd := exec.Command("go", "build", "-o", tmp.Name(), pkg)
	cmd.Dir = pytest.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return final, nil
}

// goBinaryDir is where goBinary puts its builds: a fixed place in the
// temporary directory for each checkout, so that test runs replace their
// binaries instead of accumulating them, and runs of two checkouts at
// once do not run each other's.
var goBinaryDir = filepath.Join(os.TempDir(), fmt.Sprintf("mpbridge-interop-test-%08x", crc32.ChecksumIEEE([]byte(pytest.RepoRoot()))))

// goBinary returns a function that builds pkg into goBinaryDir/name once
// per test binary and returns its path, failing the test if the build
// failed.
func goBinary(name, pkg string) func(t testing.TB) string {
	build := sync.OnceValues(func() (string, error) { return goBuild(goBinaryDir, name, pkg) })
	return func(t testing.TB) string {
		t.Helper()
		path, err := build()
		require.NoError(t, err)
		return path
	}
}
