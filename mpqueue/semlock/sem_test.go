//go:build linux

package semlock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
)

func newSem(t *testing.T, value int) *Sem {
	t.Helper()
	name := NewName(testPrefix)
	s, err := Create(name, value)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = Unlink(name)
		_ = s.Close()
	})
	return s
}

func TestCreateImage(t *testing.T) {
	s := newSem(t, 3)
	raw, err := os.ReadFile(Path(s.Name()))
	require.NoError(t, err)
	want := make([]byte, Size)
	want[0] = 3
	want[8] = 0x80
	require.Equal(t, want, raw, "glibc's struct new_sem image")
	st, err := os.Stat(Path(s.Name()))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	require.True(t, s.TryWait())
	raw, err = os.ReadFile(Path(s.Name()))
	require.NoError(t, err)
	require.Equal(t, byte(2), raw[0])
}

func TestCreateExclusive(t *testing.T) {
	s := newSem(t, 0)
	_, err := Create(s.Name(), 0)
	require.ErrorIs(t, err, fs.ErrExist)
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name  string
		image []byte
	}{
		{"short", []byte{1, 0, 0, 0}},
		{"private", make([]byte, Size)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := NewName(testPrefix)
			require.NoError(t, os.WriteFile(Path(name), tc.image, 0o600))
			defer os.Remove(Path(name))
			_, err := Open(name)
			require.ErrorIs(t, err, mpbridge.ErrCorrupt)
		})
	}
	_, err := Open(NewName(testPrefix))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestCheckName(t *testing.T) {
	good := []string{"/mp-abc", "mp-abc", "/x", "/" + string(make([]byte, 0)) + "a"}
	for _, n := range good {
		require.NoError(t, CheckName(n), n)
	}
	bad := []string{"", "/", "//", "/.", "/..", "/a/b", "/a:b", "/a\nb", "/a\x00", "/" + string(make([]byte, 252))}
	for _, n := range bad {
		require.Error(t, CheckName(n), "%q", n)
	}
	n := NewName("")
	require.Regexp(t, `^/mp-[a-z0-9_]{8}$`, n)
}

func TestPostTryWaitValue(t *testing.T) {
	s := newSem(t, 0)
	require.False(t, s.TryWait())
	require.NoError(t, s.Post())
	require.NoError(t, s.Post())
	require.Equal(t, 2, s.Value())
	require.True(t, s.TryWait())
	require.True(t, s.TryWait())
	require.False(t, s.TryWait())
	require.Equal(t, 0, s.Waiters())

	full := newSem(t, ValueMax)
	require.ErrorIs(t, full.Post(), unix.EOVERFLOW)
}

func TestWaitTimeout(t *testing.T) {
	s := newSem(t, 0)
	const d = 120 * time.Millisecond
	start := time.Now() // before the deadline is set: an exact lower bound
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := s.Wait(ctx)
	el := time.Since(start)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, el, d)
	require.Less(t, el, d+2*time.Second)
	require.Equal(t, 0, s.Waiters(), "a timed-out waiter deregisters")
}

func TestWaitCancel(t *testing.T) {
	s := newSem(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()
	require.Eventually(t, func() bool { return s.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, mpbridge.ErrTimeout)
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled wait did not return")
	}
	require.Equal(t, 0, s.Waiters())
}

func TestWaitWokenByPost(t *testing.T) {
	for _, withCtx := range []bool{false, true} {
		s := newSem(t, 0)
		// A second mapping of the same file: futexes are keyed by inode,
		// as between processes.
		other, err := Open(s.Name())
		require.NoError(t, err)
		ctx := context.Background()
		if withCtx {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Minute)
			defer cancel()
		}
		done := make(chan error, 1)
		go func() { done <- s.Wait(ctx) }()
		require.Eventually(t, func() bool { return other.Waiters() == 1 }, 5*time.Second, time.Millisecond)
		start := time.Now()
		require.NoError(t, other.Post())
		select {
		case err := <-done:
			require.NoError(t, err)
			require.Less(t, time.Since(start), waitSlice/2*10) // generous
		case <-time.After(5 * time.Second):
			t.Fatal("post did not wake the waiter")
		}
		require.Equal(t, 0, other.Value())
		require.Equal(t, 0, other.Waiters())
		require.NoError(t, other.Close())
	}
}

// A waiter that gives up must not take a wake-up meant for another. A
// patient waiter sleeps without a timeout (one futex sleep, no slices); each
// round, impatient waiters with tiny timeouts race with one post. Once they
// have all returned, the token must not be left behind: if a cancelled
// waiter had absorbed the FUTEX_WAKE, the patient one would sleep on with
// the value at 1.
func TestCancelledWaitDoesNotStealWakeup(t *testing.T) {
	s := newSem(t, 0)
	const rounds = 100
	var patient atomic.Int64
	var stop atomic.Bool
	go func() {
		for !stop.Load() && s.Wait(context.Background()) == nil {
			patient.Add(1)
		}
	}()
	var impatient int64
	for i := 0; i < rounds; i++ {
		var wg sync.WaitGroup
		var won atomic.Int64
		for k := 0; k < 3; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(50*(k+i%4))*time.Microsecond)
				defer cancel()
				if s.Wait(ctx) == nil {
					won.Add(1)
				}
			}(k)
		}
		time.Sleep(time.Duration(i%3) * 50 * time.Microsecond)
		require.NoError(t, s.Post())
		wg.Wait()
		impatient += won.Load()
		require.Eventually(t, func() bool { return s.Value() == 0 }, 5*time.Second, 100*time.Microsecond,
			"round %d: token left behind while a waiter sleeps (stolen wake-up)", i)
	}
	require.Eventually(t, func() bool { return patient.Load()+impatient == rounds }, 5*time.Second, time.Millisecond)
	// Stop the patient waiter: closing does not interrupt it, a post does.
	stop.Store(true)
	require.NoError(t, s.Post())
	require.Eventually(t, func() bool { return patient.Load()+impatient == rounds+1 }, 5*time.Second, time.Millisecond)
}

// The deterministic form of the test above: a waiter whose context is
// already cancelled but which is still asleep in the kernel is first in the
// futex queue, so the post's FUTEX_WAKE goes to it. It must take the token
// (or leave it for the patient waiter to be woken), never leave with the
// wake-up.
func TestCancelledSleeperPassesWakeup(t *testing.T) {
	for i := 0; i < 20; i++ {
		s := newSem(t, 0)
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() { first <- s.Wait(ctx) }()
		require.Eventually(t, func() bool { return s.Waiters() == 1 }, 5*time.Second, 10*time.Microsecond)
		time.Sleep(time.Millisecond) // let it reach futex_wait
		second := make(chan error, 1)
		go func() { second <- s.Wait(context.Background()) }()
		require.Eventually(t, func() bool { return s.Waiters() == 2 }, 5*time.Second, 10*time.Microsecond)
		time.Sleep(time.Millisecond)
		cancel()
		require.NoError(t, s.Post())
		require.Eventually(t, func() bool { return s.Value() == 0 }, 5*time.Second, 100*time.Microsecond,
			"round %d: the woken waiter left without the token", i)
		if err := <-first; err == nil {
			require.NoError(t, s.Post()) // release the second waiter
		}
		require.NoError(t, <-second)
	}
}

// Mutual exclusion under contention between goroutines using different
// mappings (-race checks the counter).
func TestContention(t *testing.T) {
	s := newSem(t, 1)
	const workers, iters = 8, 2000
	var inside atomic.Int32
	var total int
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		m, err := Open(s.Name())
		require.NoError(t, err)
		defer m.Close()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := context.Background()
			if w%2 == 1 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Minute)
				defer cancel()
			}
			for i := 0; i < iters; i++ {
				if err := m.Wait(ctx); err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					t.Error("two holders")
				}
				total++
				inside.Add(-1)
				if err := m.Post(); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	require.Equal(t, workers*iters, total)
	require.Equal(t, 1, s.Value())
	require.Equal(t, 0, s.Waiters())
}

func TestClosed(t *testing.T) {
	s := newSem(t, 1)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.False(t, s.TryWait())
	require.Equal(t, -1, s.Value())
	require.ErrorIs(t, s.Post(), mpbridge.ErrClosed)
	require.ErrorIs(t, s.Wait(context.Background()), mpbridge.ErrClosed)
	require.True(t, errors.Is(s.Wait(context.Background()), mpbridge.ErrClosed))
}
