//go:build linux

package semlock

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// testPrefix is this run's semaphore name prefix: every name a test
// creates starts with it, so leftovers can be found at the end.
var testPrefix = fmt.Sprintf("/mpbt%06d", rand.IntN(1000000))

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	code := m.Run()
	if code == 0 {
		if left := leftovers(testPrefix); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leftover semaphores: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}

// leftovers lists /dev/shm/sem.<prefix>* files.
func leftovers(prefix string) []string {
	m, _ := filepath.Glob(Path(prefix) + "*")
	return m
}

// testOpts creates test semaphores under the run's prefix, untracked
// unless a test asks for the tracker.
func testOpts() *Options { return &Options{Prefix: testPrefix, Untracked: true} }
