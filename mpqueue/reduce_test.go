//go:build linux

package mpqueue

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
	"github.com/mpbridge/mpbridge/pickle"
)

type reducer interface{ Handles() Handles }

// Every type's pickled form round-trips through pickle bytes to the same
// Handles, and Rebuild opens a working object from it.
func TestReduceRoundTrip(t *testing.T) {
	opts := testOpts()
	lock, err := NewLock(opts)
	require.NoError(t, err)
	defer lock.Close()
	rlock, err := NewRLock(opts)
	require.NoError(t, err)
	defer rlock.Close()
	sem, err := NewSemaphore(2, opts)
	require.NoError(t, err)
	defer sem.Close()
	bsem, err := NewBoundedSemaphore(3, opts)
	require.NoError(t, err)
	defer bsem.Close()
	cond, err := NewCondition(nil, opts)
	require.NoError(t, err)
	defer cond.Close()
	ev, err := NewEvent(opts)
	require.NoError(t, err)
	defer ev.Close()
	q := testQueue(t, 7)
	sq, err := NewSimpleQueue(opts)
	require.NoError(t, err)
	defer sq.Close()
	jq, err := NewJoinable(0, opts)
	require.NoError(t, err)
	defer jq.Close()

	qo, err := q.Reduce(SpawnDupFd, os.Getpid())
	require.NoError(t, err)
	sqo, err := sq.Reduce(SpawnDupFd)
	require.NoError(t, err)
	jqo, err := jq.Reduce(SpawnDupFd, os.Getpid())
	require.NoError(t, err)
	cases := []struct {
		obj  *pickle.Object
		orig reducer
	}{
		{lock.Reduce(), lock}, {rlock.Reduce(), rlock}, {sem.Reduce(), sem}, {bsem.Reduce(), bsem},
		{cond.Reduce(), cond}, {ev.Reduce(), ev}, {qo, q}, {sqo, sq}, {jqo, jq},
	}
	for _, c := range cases {
		t.Run(c.orig.Handles().Type, func(t *testing.T) {
			data, err := pickle.Marshal(c.obj)
			require.NoError(t, err)
			v, err := pickle.Loads(data)
			require.NoError(t, err)
			h, err := ParseHandles(v, SpawnFd)
			require.NoError(t, err)
			require.Equal(t, c.orig.Handles(), h)
		})
	}

	// Rebuild a working queue from the pickle (with duplicated fds, as a
	// child would own its inherited copies).
	data, err := pickle.Marshal(qo)
	require.NoError(t, err)
	v, err := pickle.Loads(data)
	require.NoError(t, err)
	dupFds := func(df any) (int, error) {
		fd, err := SpawnFd(df)
		if err != nil {
			return -1, err
		}
		return dup(fd)
	}
	obj, err := Rebuild(v, dupFds, nil)
	require.NoError(t, err)
	rq := obj.(*Queue)
	defer rq.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, q.Put(ctx, "via pickle"))
	got, err := rq.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "via pickle", got)
	require.Equal(t, 7, rq.Maxsize())
}

// CPython's own pickles, captured while spawning a child (testdata/spawn,
// made by scripts/spawn_capture.py), parse to the expected types.
func TestParseCapturedSpawnPickles(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/spawn/py3.*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs, "testdata/spawn holds the captures (scripts/spawn_capture.sh)")
	want := map[string][]string{
		"queue":  {TypeQueue},
		"sync":   {TypeLock, TypeRLock, TypeSemaphore, TypeBoundedSemaphore, TypeEvent, TypeCondition},
		"queues": {TypeSimpleQueue, TypeJoinableQueue},
	}
	for _, dir := range dirs {
		for name, types := range want {
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				raw, err := os.ReadFile(filepath.Join(dir, name+".bin"))
				require.NoError(t, err)
				dec := pickle.NewDecoder(bytes.NewReader(raw))
				var prep, proc any
				require.NoError(t, dec.Decode(&prep))
				require.NoError(t, dec.Decode(&proc))
				state := proc.(*pickle.Object).State.(*pickle.Dict)
				a, ok := state.Get("_args")
				require.True(t, ok)
				args := a.(pickle.Tuple)
				for i, typ := range types {
					h, err := ParseHandles(args[i], SpawnFd)
					require.NoError(t, err, "arg %d", i)
					require.Equal(t, typ, h.Type)
					checkNames(t, h)
				}
				if name == "queues" {
					h, err := ParseHandles(args[1], SpawnFd)
					require.NoError(t, err)
					require.Equal(t, 5, h.Maxsize)
					require.Equal(t, TypeRLock, h.Cond.Lock.Type)
				}
				if name == "sync" {
					h, err := ParseHandles(args[3], SpawnFd)
					require.NoError(t, err)
					require.Equal(t, 3, h.MaxValue)
					h, err = ParseHandles(args[4], SpawnFd)
					require.NoError(t, err)
					require.Equal(t, TypeLock, h.Cond.Lock.Type, "Event = Condition(Lock())")
				}
			})
		}
	}
}

// checkNames asserts every semaphore name in h is CPython's /mp-xxxxxxxx.
func checkNames(t *testing.T, h Handles) {
	t.Helper()
	for _, n := range []string{h.Name, h.Sleeping, h.Woken, h.Wait, h.Flag, h.RLock, h.WLock, h.Sem, h.Unfinished} {
		if n != "" {
			require.Regexp(t, `^/mp-[a-z0-9_]{8}$`, n)
		}
	}
	for _, sub := range []*Handles{h.Lock, h.Cond} {
		if sub != nil {
			checkNames(t, *sub)
		}
	}
	if h.Type == TypeQueue || h.Type == TypeSimpleQueue || h.Type == TypeJoinableQueue {
		require.Greater(t, h.Reader, 2)
		require.Greater(t, h.Writer, 2)
	}
}

func TestParseHandlesRejects(t *testing.T) {
	semState := func(name any) pickle.Tuple { return pickle.Tuple{int64(1), int64(1), int64(1), name} }
	lock := newObj(syncGlobal(TypeLock), semState("/mp-abcdefgh"))
	bad := []any{
		nil, "str", pickle.Tuple{},
		&pickle.Object{Callable: syncGlobal(TypeLock), Kind: pickle.Reduce},
		newObj(pickle.Global{Module: "os", Name: "system"}, pickle.Tuple{}),
		newObj(syncGlobal(TypeLock), semState(nil)),        // fork context
		newObj(syncGlobal(TypeLock), semState("/a/b")),     // bad name
		newObj(syncGlobal(TypeRLock), semState("/mp-abc")), // kind mismatch
		newObj(syncGlobal(TypeLock), pickle.Tuple{int64(1), int64(1), int64(0), "/x"}),
		newObj(syncGlobal(TypeCondition), pickle.Tuple{lock}),
		newObj(queuesGlobal(TypeQueue), pickle.Tuple{false}),
		newObj(queuesGlobal(TypeSimpleQueue), pickle.Tuple{lock, lock, lock, lock}),
		newObj(syncGlobal("Barrier"), pickle.Tuple{}),
	}
	for i, v := range bad {
		_, err := ParseHandles(v, SpawnFd)
		require.Error(t, err, fmt.Sprint(i))
	}
	_, err := SpawnFd("x")
	require.Error(t, err)
	df, err := SpawnDupFd(5)
	require.NoError(t, err)
	fd, err := SpawnFd(df)
	require.NoError(t, err)
	require.Equal(t, 5, fd)
	_, err = ForkserverIndex(df)
	require.Error(t, err)
}

func semlockState(name string) semlock.State {
	return semlock.State{Handle: 1, Kind: semlock.Semaphore, MaxValue: 1, Name: name}
}

func pickleMarshal(v any) ([]byte, error) { return pickle.Marshal(v) }
func pickleLoads(b []byte) (any, error)   { return pickle.Loads(b) }
