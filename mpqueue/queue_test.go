//go:build linux

package mpqueue

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

func testQueue(t *testing.T, maxsize int) *Queue {
	t.Helper()
	q, err := New(maxsize, testOpts())
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestQueuePutGet(t *testing.T) {
	q := testQueue(t, 0)
	ctx := ctxT(t, 10*time.Second)
	items := []any{int64(1), "x", []byte("bytes"), pickle.Tuple{int64(1), "a"}, nil, true, 2.5}
	for _, it := range items {
		require.NoError(t, q.Put(ctx, it))
	}
	n, err := q.Qsize(ctx)
	require.NoError(t, err)
	require.Equal(t, len(items), n)
	for _, want := range items {
		got, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	empty, err := q.Empty(ctx)
	require.NoError(t, err)
	require.True(t, empty)
	_, err = q.GetNowait(ctx)
	require.ErrorIs(t, err, mpbridge.ErrEmpty)

	start := time.Now()
	_, err = q.Get(ctxT(t, 100*time.Millisecond))
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	require.Error(t, q.Put(ctx, make(chan int)), "unpicklable item is reported by Put")
	n, _ = q.Qsize(ctx)
	require.Equal(t, 0, n, "the slot of a failed put is released")
}

func TestQueueWireFormat(t *testing.T) {
	q := testQueue(t, 0)
	ctx := ctxT(t, 10*time.Second)
	require.NoError(t, q.Put(ctx, "x"))
	require.NoError(t, q.Flush(ctx))
	buf := make([]byte, 64)
	n, err := unix.Read(q.r.Fd(), buf)
	require.NoError(t, err)
	// PROTOCOL.md §4.1: 'x' as CPython's Queue writes it.
	want := []byte{0, 0, 0, 0x10, 0x80, 4, 0x95, 5, 0, 0, 0, 0, 0, 0, 0, 0x8c, 1, 'x', 0x94, 0x2e}
	require.Equal(t, want, buf[:n])
}

func TestQueueBounded(t *testing.T) {
	q := testQueue(t, 2)
	ctx := ctxT(t, 10*time.Second)
	require.NoError(t, q.Put(ctx, 1))
	require.NoError(t, q.PutNowait(ctx, 2))
	full, err := q.Full(ctx)
	require.NoError(t, err)
	require.True(t, full)
	require.ErrorIs(t, q.PutNowait(ctx, 3), mpbridge.ErrFull)
	start := time.Now()
	err = q.Put(ctxT(t, 80*time.Millisecond), 3)
	require.ErrorIs(t, err, mpbridge.ErrFull)
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, 3) }()
	time.Sleep(20 * time.Millisecond)
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
	require.NoError(t, <-done)
	for _, want := range []int64{2, 3} {
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
}

// Put of an item bigger than the pipe returns at once; Get in the same
// goroutine then reads it (the feeder writes it meanwhile).
func TestQueueBigItemOneGoroutine(t *testing.T) {
	q := testQueue(t, 0)
	ctx := ctxT(t, 20*time.Second)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for i := 0; i < 3; i++ {
		require.NoError(t, q.Put(ctx, big))
	}
	require.NoError(t, q.Put(ctx, "after"))
	for i := 0; i < 3; i++ {
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, big, v)
	}
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "after", v)
	require.NoError(t, q.Flush(ctx))
}

func TestQueueConcurrent(t *testing.T) {
	q := testQueue(t, 50)
	ctx := ctxT(t, 30*time.Second)
	const producers, consumers, per = 4, 3, 500
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := q.Put(ctx, pickle.Tuple{int64(p), int64(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}(p)
	}
	results := make([][]pickle.Tuple, consumers)
	var cw sync.WaitGroup
	for c := 0; c < consumers; c++ {
		cw.Add(1)
		go func(c int) {
			defer cw.Done()
			for {
				v, err := q.Get(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if v == nil {
					return
				}
				results[c] = append(results[c], v.(pickle.Tuple))
			}
		}(c)
	}
	wg.Wait()
	for c := 0; c < consumers; c++ {
		require.NoError(t, q.Put(ctx, nil))
	}
	cw.Wait()
	checkExactlyOnce(t, results, producers, per)
}

// checkExactlyOnce checks that every (producer, seq) arrived once and that
// each consumer saw each producer's items in increasing order.
func checkExactlyOnce(t *testing.T, results [][]pickle.Tuple, producers, per int) {
	t.Helper()
	seen := make(map[[2]int64]bool)
	for c, r := range results {
		last := map[int64]int64{}
		for _, it := range r {
			p, i := it[0].(int64), it[1].(int64)
			if l, ok := last[p]; ok && i <= l {
				t.Fatalf("consumer %d: producer %d order %d after %d", c, p, i, l)
			}
			last[p] = i
			k := [2]int64{p, i}
			require.False(t, seen[k], "duplicate %v", k)
			seen[k] = true
		}
	}
	require.Len(t, seen, producers*per)
}

func TestQueueFlushAndCloseReturnUndelivered(t *testing.T) {
	q := testQueue(t, 0)
	ctx := ctxT(t, 10*time.Second)
	item := bytes.Repeat([]byte{'z'}, 20000)
	var put int
	for put = 0; put < 10; put++ { // ~200 KB: more than the 64 KiB pipe
		require.NoError(t, q.Put(ctx, item))
	}
	err := q.Flush(ctxT(t, 100*time.Millisecond))
	var ue *UndeliveredError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
	require.NotEmpty(t, ue.Items)

	err = q.Close()
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, mpbridge.ErrClosed)
	require.NotEmpty(t, ue.Items)
	require.Less(t, len(ue.Items), put, "some items were written")
	require.Equal(t, item, ue.Items[0])
	require.ErrorIs(t, q.Put(ctx, 1), mpbridge.ErrClosed)
	_, err = q.Get(ctx)
	require.ErrorIs(t, err, mpbridge.ErrClosed)
	require.NoError(t, q.Close())
}

func TestQueueCloseWakesBlockedCalls(t *testing.T) {
	q, err := New(1, testOpts())
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, q.Put(ctx, 1))
	errs := make(chan error, 1)
	go func() { errs <- q.Put(ctx, 2) }() // blocks: full
	time.Sleep(30 * time.Millisecond)
	e, err := NewSimpleQueue(testOpts())
	require.NoError(t, err)
	gerrs := make(chan error, 1)
	go func() { _, err := e.Get(ctx); gerrs <- err }() // blocks: empty
	time.Sleep(30 * time.Millisecond)
	require.NoError(t, q.Close())
	require.NoError(t, e.Close())
	for _, ch := range []chan error{errs, gerrs} {
		select {
		case err := <-ch:
			require.ErrorIs(t, err, mpbridge.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not end a blocked call")
		}
	}
}

// rawPut writes bytes straight into a queue's pipe, as a broken peer would.
func rawPut(t *testing.T, q *Queue, b []byte) {
	t.Helper()
	_, err := unix.Write(q.w.Fd(), b)
	require.NoError(t, err)
}

func TestQueueCorrupt(t *testing.T) {
	frame := func(payload []byte) []byte {
		return append(connection.AppendHeader(nil, len(payload)), payload...)
	}
	tests := []struct {
		name, reason string
		raw          []byte
	}{
		{"absurd length", "exceeds the limit", []byte{0x7f, 0xff, 0xff, 0xff}},
		{"negative length", "negative frame length", []byte{0xff, 0xff, 0xff, 0xfe}},
		{"escape out of range", "out of range", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0}},
		{"not PROTO", "PROTO", frame([]byte("\x8c\x01x\x94."))},
		{"empty frame", "empty frame", frame(nil)},
		{"bad pickle", "does not unpickle", frame([]byte{0x80, 4, 0xff})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := testQueue(t, 0)
			rawPut(t, q, tc.raw)
			_, err := q.Get(ctxT(t, 5*time.Second))
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, mpbridge.ErrCorrupt)
			require.Contains(t, ce.Reason, tc.reason)
			require.NotEmpty(t, ce.Data)
		})
	}
}

// A writer that dies mid-frame: the reader reports a stall, with the bytes.
func TestQueueStalledFrame(t *testing.T) {
	q, err := New(0, &Options{Prefix: testPrefix, StallTimeout: 150 * time.Millisecond})
	require.NoError(t, err)
	defer q.Close()
	rawPut(t, q, []byte{0, 0, 0, 100, 0x80, 4})
	start := time.Now()
	_, err = q.Get(ctxT(t, 10*time.Second))
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
	require.Equal(t, []byte{0, 0, 0, 100, 0x80, 4}, ce.Data)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
}

// A peer holding the read lock while data waits unread is presumed dead.
func TestQueueReadLockHolderDead(t *testing.T) {
	q, err := New(0, &Options{Prefix: testPrefix, StallTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxT(t, 10*time.Second)
	require.NoError(t, q.Put(ctx, "stuck"))
	require.NoError(t, q.Flush(ctx))
	dead, err := AttachLock(Handles{Type: TypeLock, Name: q.rlock.Name()})
	require.NoError(t, err)
	defer dead.Close()
	require.True(t, dead.TryAcquire()) // the "dead" holder
	start := time.Now()
	_, err = q.Get(ctx)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
	require.NotErrorIs(t, err, mpbridge.ErrEmpty)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	// With a deadline shorter than the stall timeout it is just Empty.
	_, err = q.Get(ctxT(t, 50*time.Millisecond))
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	require.NoError(t, dead.Release())
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "stuck", v)
}

func TestQueueAttachInProcess(t *testing.T) {
	q := testQueue(t, 3)
	ctx := ctxT(t, 10*time.Second)
	h := q.Handles()
	r, err := unix.Dup(h.Reader)
	require.NoError(t, err)
	w, err := unix.Dup(h.Writer)
	require.NoError(t, err)
	h.Reader, h.Writer = r, w
	other, err := AttachQueue(h, nil)
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, q.Put(ctx, "from q"))
	v, err := other.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "from q", v)
	require.NoError(t, other.Put(ctx, "from other"))
	v, err = q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "from other", v)
	require.Equal(t, 3, other.Maxsize())
	_, err = AttachSimpleQueue(h, nil)
	require.Error(t, err)
}

func TestSimpleQueue(t *testing.T) {
	q, err := NewSimpleQueue(testOpts())
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxT(t, 10*time.Second)
	empty, err := q.Empty(ctx)
	require.NoError(t, err)
	require.True(t, empty)
	for i := 0; i < 5; i++ {
		require.NoError(t, q.Put(ctx, fmt.Sprint(i)))
	}
	for i := 0; i < 5; i++ {
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), v)
	}
	_, err = q.Get(ctxT(t, 50*time.Millisecond))
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	require.Equal(t, TypeSimpleQueue, q.Handles().Type)
}

func TestJoinableQueue(t *testing.T) {
	q, err := NewJoinable(0, testOpts())
	require.NoError(t, err)
	defer q.Close()
	ctx := ctxT(t, 10*time.Second)
	require.ErrorIs(t, q.TaskDone(ctx), ErrTaskDone)
	require.NoError(t, q.Join(ctx), "nothing unfinished")
	for i := 0; i < 3; i++ {
		require.NoError(t, q.Put(ctx, i))
	}
	require.Equal(t, 3, q.Unfinished())
	require.ErrorIs(t, q.Join(ctxT(t, 60*time.Millisecond)), mpbridge.ErrTimeout)
	joined := make(chan error, 1)
	go func() { joined <- q.Join(ctx) }()
	for i := 0; i < 3; i++ {
		_, err := q.Get(ctx)
		require.NoError(t, err)
		select {
		case <-joined:
			t.Fatal("join returned early")
		default:
		}
		require.NoError(t, q.TaskDone(ctx))
	}
	select {
	case err := <-joined:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("join not woken")
	}
	h := q.Handles()
	require.Equal(t, TypeJoinableQueue, h.Type)
	require.NotNil(t, h.Cond)
	require.NotEmpty(t, h.Unfinished)
}

func dup(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// The pipe's descriptors are shared with other processes, so their open
// file description must stay in blocking mode (O_NONBLOCK is not ours to
// set), both for a queue created here and for one attached to.
func TestQueueDescriptorsStayBlocking(t *testing.T) {
	q := testQueue(t, 0)
	ctx := ctxT(t, 10*time.Second)
	require.NoError(t, q.Put(ctx, "x"))
	_, err := q.Get(ctx)
	require.NoError(t, err)
	h := q.Handles()
	for _, fd := range []int{h.Reader, h.Writer} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		require.NoError(t, err)
		require.Zero(t, fl&unix.O_NONBLOCK, "fd %d", fd)
	}
}

// TestReaderSpinsOnlyForShortWaits: a Get that waited longer than the
// spin makes the next wait sleep at once (no CPU burnt on slow streams);
// items that are already there, or come within the spin, turn it back on.
func TestReaderSpinsOnlyForShortWaits(t *testing.T) {
	ctx := context.Background()
	q := testQueue(t, 0)
	require.False(t, q.r.longWaits.Load(), "a new reader spins")
	go func() {
		time.Sleep(5 * time.Millisecond)
		_ = q.Put(ctx, "late")
	}()
	start := time.Now()
	v, err := q.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "late", v)
	require.GreaterOrEqual(t, time.Since(start), 5*time.Millisecond)
	require.True(t, q.r.longWaits.Load(), "a 5 ms wait turns the spin off")

	// In a stream the waits are short, which turns the spin on again (a
	// busy machine can stretch one wait: retry rather than assert one
	// schedule).
	require.Eventually(t, func() bool {
		const n = 2000
		go func() {
			for i := 0; i < n; i++ {
				_ = q.Put(ctx, int64(i))
			}
		}()
		for i := 0; i < n; i++ {
			if _, err := q.Get(ctx); err != nil {
				return false
			}
		}
		return !q.r.longWaits.Load()
	}, 10*time.Second, time.Millisecond)
}
