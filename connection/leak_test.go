package connection

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// checkLeaks records the goroutine and open descriptor counts and, when the
// test ends (after the cleanups registered later have run), fails if either
// grew. Tests using it must not run in parallel.
func checkLeaks(t *testing.T) {
	t.Helper()
	g0, f0 := runtime.NumGoroutine(), countFds(t)
	t.Cleanup(func() {
		var g, f int
		for deadline := time.Now().Add(3 * time.Second); ; {
			g, f = runtime.NumGoroutine(), countFds(t)
			if g <= g0 && f <= f0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if g > g0 {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines: %d before, %d after\n%s", g0, g, buf[:runtime.Stack(buf, true)])
		}
		if f > f0 {
			t.Errorf("open descriptors: %d before, %d after", f0, f)
		}
	})
}

func countFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
