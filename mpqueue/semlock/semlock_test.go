//go:build linux

package semlock

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
)

func newLock(t *testing.T, kind Kind, value, maxvalue int) *SemLock {
	t.Helper()
	l, err := New(kind, value, maxvalue, testOpts())
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestSemLockLock(t *testing.T) {
	l := newLock(t, Semaphore, 1, 1)
	require.Regexp(t, "^"+testPrefix+`-[a-z0-9_]{8}$`, l.Name())
	require.False(t, l.IsMine())
	require.NoError(t, l.Acquire(context.Background()))
	require.True(t, l.IsMine())
	require.Equal(t, 1, l.Count())
	require.True(t, l.IsZero())
	require.False(t, l.TryAcquire())
	require.NoError(t, l.Release())
	require.ErrorIs(t, l.Release(), ErrReleasedTooManyTimes)
	require.Equal(t, 1, l.Value())
	require.Equal(t, 0, l.Count())
}

func TestSemLockRLock(t *testing.T) {
	l := newLock(t, RecursiveMutex, 1, 1)
	require.ErrorIs(t, l.Release(), ErrNotOwned)
	require.True(t, l.TryAcquire())
	require.True(t, l.IsMine())
	require.False(t, l.TryAcquire(), "Go does not recurse: a second acquire blocks")
	require.NoError(t, l.Release())
	require.ErrorIs(t, l.Release(), ErrNotOwned)
	require.Equal(t, 1, l.Value())
}

func TestSemLockBounded(t *testing.T) {
	l := newLock(t, Semaphore, 2, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.NoError(t, l.Acquire(ctx))
	require.NoError(t, l.Acquire(ctx))
	require.ErrorIs(t, l.Acquire(ctx), mpbridge.ErrTimeout)
	require.NoError(t, l.Release())
	require.NoError(t, l.Release())
	require.ErrorIs(t, l.Release(), ErrReleasedTooManyTimes)
}

func TestSemLockRebuild(t *testing.T) {
	l := newLock(t, Semaphore, 0, ValueMax)
	st := l.State()
	require.Equal(t, Semaphore, st.Kind)
	require.Equal(t, ValueMax, st.MaxValue)
	require.Equal(t, l.Name(), st.Name)
	require.NotZero(t, st.Handle)

	r, err := Rebuild(st)
	require.NoError(t, err)
	require.Equal(t, 0, r.Count())
	require.NoError(t, r.Release())
	require.Equal(t, 1, l.Value())
	require.True(t, l.TryAcquire())
	require.NoError(t, r.Close())
	require.FileExists(t, Path(l.Name()), "closing a rebuilt SemLock does not unlink")
	require.NoError(t, l.Close())
	require.NoFileExists(t, Path(l.Name()))

	for _, bad := range []State{
		{Kind: 7, MaxValue: 1, Name: "/x"},
		{Kind: Semaphore, MaxValue: 0, Name: "/x"},
		{Kind: Semaphore, MaxValue: 1},
		{Kind: Semaphore, MaxValue: 1, Name: "/a/b"},
	} {
		_, err := Rebuild(bad)
		require.Error(t, err, "%+v", bad)
	}
}

func TestNewRejects(t *testing.T) {
	for _, c := range []struct {
		kind           Kind
		value, maxvalu int
	}{{5, 1, 1}, {Semaphore, 2, 1}, {Semaphore, 0, 0}, {Semaphore, -1, 1}} {
		_, err := New(c.kind, c.value, c.maxvalu, testOpts())
		require.Error(t, err)
	}
	_, err := New(Semaphore, 1, 1, &Options{Prefix: "/a/b", Untracked: true})
	require.Error(t, err)
}
