package spawn

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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

// TestHandlesFromCaptures reads the Handles of every queue and
// synchronize object CPython pickled, then checks that HandlesToPickle
// gives back the same pickle apart from the semaphore handles (addresses
// in the parent, ignored by children) and the queue's opid.
func TestHandlesFromCaptures(t *testing.T) {
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
			h, err := HandlesFromPickle(o)
			require.NoError(t, err, "%s %d", dir, i)
			require.Equal(t, types[i], h.Type)
			back, err := HandlesToPickle(h)
			require.NoError(t, err)
			a, err := pickle.Dumps(normalize(o), 4)
			require.NoError(t, err)
			b, err := pickle.Dumps(normalize(back), 4)
			require.NoError(t, err)
			require.Equal(t, a, b, "%s %s", dir, h.Type)
		}
		bs, _ := HandlesFromPickle(sync[3])
		require.Equal(t, 3, bs.MaxValue)
		jq, _ := HandlesFromPickle(queues[1])
		require.Equal(t, 5, jq.Maxsize)
		require.Equal(t, "RLock", jq.Cond.Lock.Type)
		q, _ := HandlesFromPickle(queue[0])
		require.Equal(t, semlock.ValueMax, q.Maxsize)
		require.True(t, strings.HasPrefix(q.RLock, "/mp-"))
	}
}

// normalize zeroes semaphore handles and queue opids.
func normalize(v any) any {
	switch x := v.(type) {
	case pickle.Tuple:
		out := make(pickle.Tuple, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case *pickle.Dict:
		out := pickle.NewDict(x.Len())
		for k, e := range x.All() {
			out.Set(k, normalize(e))
		}
		return out
	case *pickle.Object:
		out := *x
		g, _ := x.Callable.(pickle.Global)
		st, isTuple := x.State.(pickle.Tuple)
		switch {
		case isTuple && g.Module == syncModule && g.Name != "Condition":
			out.State = pickle.Tuple{int64(0), st[1], st[2], st[3]}
			return &out
		case isTuple && (g.Name == "Queue" || g.Name == "JoinableQueue"):
			ns := append(pickle.Tuple{}, st...)
			ns[7] = int64(0)
			out.State = ns
		}
		out.Args = normalize(out.Args).(pickle.Tuple)
		out.State = normalize(out.State)
		return &out
	}
	return v
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

	// The child numbers are 3 and 4; map them back onto our duplicates.
	h, err := HandlesFromPickle(tup[0])
	require.NoError(t, err)
	require.Equal(t, 3, h.Reader)
	require.Equal(t, 4, h.Writer)
	h.Reader, h.Writer = int(fds.files[0].Fd()), int(fds.files[1].Fd())
	fds.dups = nil // adopted by the attached queue
	got, err := Attach(h)
	require.NoError(t, err)
	q2 := got.(*mpqueue.Queue)
	defer q2.Close()
	ctx := context.Background()
	require.NoError(t, q2.Put(ctx, "via the copy"))
	item, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "via the copy", item)

	eh, err := HandlesFromPickle(tup[1])
	require.NoError(t, err)
	ev2, err := Attach(eh)
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
