package spawn

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
	"github.com/mpbridge/mpbridge/pickle"
)

// captureArgs returns the decoded _args of a capture.
func captureArgs(t *testing.T, stem string) pickle.Tuple {
	t.Helper()
	_, procV, _ := readCapture(t, stem)
	proc, err := DecodeProcessObject(procV)
	require.NoError(t, err)
	return proc.Args
}

// TestRebuildersCoverCaptures checks that every queue and synchronize
// object CPython pickled has a rebuilder and parses into the Handles
// mpqueue attaches to (without attaching: the captured descriptor numbers
// mean nothing in this process).
func TestRebuildersCoverCaptures(t *testing.T) {
	stems, err := filepath.Glob("../testdata/spawn/py3.*/sync.bin")
	require.NoError(t, err)
	require.NotEmpty(t, stems)
	for _, f := range stems {
		dir := filepath.Dir(f)
		sync := captureArgs(t, filepath.Join(dir, "sync"))
		queues := captureArgs(t, filepath.Join(dir, "queues"))
		queue := captureArgs(t, filepath.Join(dir, "queue"))
		objs := append(append(append(pickle.Tuple{}, sync...), queues[:2]...), queue...)
		types := []string{"Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition",
			"SimpleQueue", "JoinableQueue", "Queue"}
		for i, o := range objs {
			_, g, ok := global(o)
			require.True(t, ok)
			require.Contains(t, rebuilders, g, g)
			h, err := mpqueue.ParseHandles(o, mpqueue.SpawnFd)
			require.NoError(t, err, "%s %d", dir, i)
			require.Equal(t, types[i], h.Type)
		}
		for _, o := range queues[2:] {
			_, g, _ := global(o)
			require.Equal(t, connectionRebuilder, g)
		}
		q, err := mpqueue.ParseHandles(queue[0], mpqueue.SpawnFd)
		require.NoError(t, err)
		require.Equal(t, semlock.ValueMax, q.Maxsize)
		require.True(t, strings.HasPrefix(q.RLock, "/mp-"))
	}
}

func TestAttachAndPassRoundTrip(t *testing.T) {
	opts := &mpqueue.Options{Prefix: "/mpbt", Untracked: true}
	q, err := mpqueue.New(3, opts)
	require.NoError(t, err)
	defer q.Close()
	ev, err := mpqueue.NewEvent(opts)
	require.NoError(t, err)
	defer ev.Close()

	// Pass both to a "child": here the same process, so the descriptors
	// are renumbered to fresh duplicates.
	fds := &childFds{}
	defer fds.closeDups()
	v, err := forChild(pickle.Tuple{q, ev, q}, fds)
	require.NoError(t, err)
	tup := v.(pickle.Tuple)
	require.Same(t, tup[0], tup[2], "an object passed twice is pickled once")
	require.Len(t, fds.files, 2, "the queue's two pipe ends")

	// The child numbers are 3 and 4; map them back onto fresh duplicates
	// of ours, which the rebuilt queue adopts. (Handing it the numbers of
	// fds' own files made two owners of each: the files' finalizers later
	// closed the numbers again, by then reused by other tests' sockets.)
	fdsOf := func(df any) (int, error) {
		n, err := mpqueue.SpawnFd(df)
		if err != nil {
			return -1, err
		}
		return unix.FcntlInt(fds.files[n-3].Fd(), unix.F_DUPFD_CLOEXEC, 3)
	}
	h, err := mpqueue.ParseHandles(tup[0], mpqueue.SpawnFd)
	require.NoError(t, err)
	require.Equal(t, 3, h.Reader)
	require.Equal(t, 4, h.Writer)
	got, err := mpqueue.Rebuild(tup[0], fdsOf, nil)
	require.NoError(t, err)
	q2 := got.(*mpqueue.Queue)
	defer q2.Close()
	ctx := context.Background()
	require.NoError(t, q2.Put(ctx, "via the copy"))
	item, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "via the copy", item)

	ev2, err := mpqueue.Rebuild(tup[1], nil, nil)
	require.NoError(t, err)
	defer ev2.(*mpqueue.Event).Close()
	require.NoError(t, ev2.(*mpqueue.Event).Set(ctx))
	set, err := ev.IsSet(ctx)
	require.NoError(t, err)
	require.True(t, set)
}

func TestTrackerUnlinksLeaks(t *testing.T) {
	var stderr bytes.Buffer
	tr, err := NewTracker(&stderr)
	require.NoError(t, err)
	name := semlock.NewName("/mpbt")
	s, err := semlock.Create(name, 0)
	require.NoError(t, err)
	s.Close()
	kept := semlock.NewName("/mpbt")
	s, err = semlock.Create(kept, 0)
	require.NoError(t, err)
	s.Close()
	defer semlock.Unlink(kept)
	for _, line := range []string{"REGISTER:" + name + ":semaphore\n", "PROBE:0:noop\n",
		"REGISTER:" + kept + ":semaphore\n", "UNREGISTER:" + kept + ":semaphore\n"} {
		_, err := tr.Fd().Write([]byte(line))
		require.NoError(t, err)
	}
	code, err := tr.Close(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, code, "leaks were cleaned up")
	_, err = os.Stat(semlock.Path(name))
	require.True(t, os.IsNotExist(err), "leaked semaphore unlinked")
	_, err = os.Stat(semlock.Path(kept))
	require.NoError(t, err, "unregistered semaphore left alone")
	require.Contains(t, stderr.String(), "leaked semaphore")
	require.Nil(t, tr.Fd())
}
