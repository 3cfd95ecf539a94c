//go:build linux

package mpqueue

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
)

// testPrefix is this run's semaphore name prefix, so leftovers can be found.
var testPrefix = fmt.Sprintf("/mpbq%06d", rand.IntN(1000000))

func testOpts() *Options { return &Options{Prefix: testPrefix} }

func TestMain(m *testing.M) {
	if code, ok := runChild(); ok {
		os.Exit(code)
	}
	code := m.Run()
	if code == 0 {
		if left, _ := filepath.Glob(semlock.Path(testPrefix) + "*"); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leftover semaphores: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}
