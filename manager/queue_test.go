package manager

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

func qcall(t *testing.T, q *Queue, method string, args ...any) (any, error) {
	t.Helper()
	return q.Call(context.Background(), method, pickle.Tuple(args), nil)
}

func kw(pairs ...any) *pickle.Dict {
	d := pickle.NewDict(len(pairs) / 2)
	for i := 0; i < len(pairs); i += 2 {
		_ = d.Set(pairs[i], pairs[i+1])
	}
	return d
}

func rawValue(t *testing.T, v any) any {
	t.Helper()
	r, ok := v.(Raw)
	require.True(t, ok, "want Raw, got %T", v)
	out, err := pickle.Loads(r.Pickle)
	require.NoError(t, err)
	return out
}

func TestQueueFIFOAndCounts(t *testing.T) {
	q := NewQueue(0)
	for i := 0; i < 100; i++ {
		_, err := qcall(t, q, "put", int64(i))
		require.NoError(t, err)
	}
	n, err := qcall(t, q, "qsize")
	require.NoError(t, err)
	require.Equal(t, int64(100), n)
	for i := 0; i < 100; i++ {
		v, err := qcall(t, q, "get_nowait")
		require.NoError(t, err)
		require.Equal(t, int64(i), rawValue(t, v))
	}
	e, err := qcall(t, q, "empty")
	require.NoError(t, err)
	require.Equal(t, true, e)
	_, err = qcall(t, q, "get_nowait")
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "_queue", pe.Module())
}

func TestQueueBounded(t *testing.T) {
	q := NewQueue(2)
	_, err := qcall(t, q, "put_nowait", "a")
	require.NoError(t, err)
	_, err = qcall(t, q, "put", "b", true, 0.01)
	require.NoError(t, err)
	f, _ := qcall(t, q, "full")
	require.Equal(t, true, f)
	_, err = qcall(t, q, "put_nowait", "c")
	require.ErrorIs(t, err, mpbridge.ErrFull)
	start := time.Now()
	_, err = q.Call(context.Background(), "put", pickle.Tuple{"c"}, kw("timeout", 0.05))
	require.ErrorIs(t, err, mpbridge.ErrFull)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	_, err = qcall(t, q, "put", "c", false)
	require.ErrorIs(t, err, mpbridge.ErrFull)
	_, err = qcall(t, q, "put", "c", true, -1)
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "ValueError", pe.Name())

	// A blocked put completes when a get frees a slot.
	done := make(chan error, 1)
	go func() {
		_, err := qcall(t, q, "put", "c")
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	v, err := qcall(t, q, "get")
	require.NoError(t, err)
	require.Equal(t, "a", rawValue(t, v))
	require.NoError(t, <-done)
}

func TestQueueGetTimeout(t *testing.T) {
	q := NewQueue(0)
	start := time.Now()
	_, err := q.Call(context.Background(), "get", nil, kw("timeout", 0.1))
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	el := time.Since(start)
	require.GreaterOrEqual(t, el, 100*time.Millisecond)
	require.Less(t, el, 2*time.Second)
	_, err = q.Call(context.Background(), "get", pickle.Tuple{true, -0.5}, nil)
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "ValueError", pe.Name())
	_, err = q.Call(context.Background(), "get", pickle.Tuple{true, "x"}, nil)
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "TypeError", pe.Name())
}

func TestQueueArgErrors(t *testing.T) {
	q := NewQueue(0)
	cases := []struct {
		method string
		args   pickle.Tuple
		kwargs *pickle.Dict
		msg    string
	}{
		{"put", nil, nil, "Queue.put() missing 1 required positional argument: 'item'"},
		{"put", pickle.Tuple{1, 2, 3, 4}, nil, "Queue.put() takes from 2 to 4 positional arguments but 5 were given"},
		{"qsize", pickle.Tuple{1}, nil, "Queue.qsize() takes 1 positional argument but 2 were given"},
		{"get", nil, kw("bogus", 1), "Queue.get() got an unexpected keyword argument 'bogus'"},
		{"put", pickle.Tuple{1}, kw("item", 1), "Queue.put() got multiple values for argument 'item'"},
	}
	for _, c := range cases {
		_, err := q.Call(context.Background(), c.method, c.args, c.kwargs)
		var pe *pickle.Exception
		require.ErrorAs(t, err, &pe, c.method)
		require.Equal(t, "TypeError", pe.Name())
		require.Equal(t, pickle.Tuple{c.msg}, pe.Args())
	}
	_, err := q.Call(context.Background(), "nope", nil, nil)
	require.ErrorIs(t, err, ErrNoMethod)
}

// A get whose context is cancelled must not take the item put afterwards.
func TestQueueCancelledGetTakesNothing(t *testing.T) {
	q := NewQueue(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := q.Call(ctx, "get", nil, nil)
		done <- err
	}()
	require.Eventually(t, func() bool { g, _ := q.Waiters(); return g == 1 }, time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	_, err := qcall(t, q, "put", "next")
	require.NoError(t, err)
	v, err := qcall(t, q, "get_nowait")
	require.NoError(t, err)
	require.Equal(t, "next", rawValue(t, v))
}

// A wake-up given to a getter that then gives up passes on to another.
func TestQueueNoLostWakeup(t *testing.T) {
	q := NewQueue(0)
	const getters = 8
	var wg sync.WaitGroup
	ctxs := make([]context.CancelFunc, getters)
	got := make(chan any, getters)
	for i := 0; i < getters; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := q.Call(ctx, "get", nil, nil)
			if err == nil {
				got <- rawValue(t, v)
			}
		}()
	}
	require.Eventually(t, func() bool { g, _ := q.Waiters(); return g == getters }, time.Second, time.Millisecond)
	for i := 0; i < getters; i++ {
		_, err := qcall(t, q, "put", int64(i))
		require.NoError(t, err)
		if i%2 == 0 {
			ctxs[i]()
		}
	}
	// Every item is taken by exactly one getter or stays queued.
	time.Sleep(50 * time.Millisecond)
	for _, c := range ctxs {
		c()
	}
	wg.Wait()
	close(got)
	n := 0
	for range got {
		n++
	}
	require.Equal(t, getters, n+q.qsize())
}

func TestQueueUndeliveredGoesBack(t *testing.T) {
	q := NewQueue(0)
	_, _ = qcall(t, q, "put", "a")
	_, _ = qcall(t, q, "put", "b")
	v, err := qcall(t, q, "get")
	require.NoError(t, err)
	v.(Raw).Undelivered()
	v, err = qcall(t, q, "get")
	require.NoError(t, err)
	require.Equal(t, "a", rawValue(t, v))
}

func TestQueueTaskDoneJoin(t *testing.T) {
	q := NewQueue(0)
	_, err := qcall(t, q, "task_done")
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "ValueError", pe.Name())
	require.Equal(t, pickle.Tuple{"task_done() called too many times"}, pe.Args())

	_, _ = qcall(t, q, "put", 1)
	_, _ = qcall(t, q, "put", 2)
	joined := make(chan error, 1)
	go func() { _, err := qcall(t, q, "join"); joined <- err }()
	_, _ = qcall(t, q, "get")
	_, _ = qcall(t, q, "task_done")
	select {
	case <-joined:
		t.Fatal("join returned with a task unfinished")
	case <-time.After(30 * time.Millisecond):
	}
	_, _ = qcall(t, q, "get")
	_, _ = qcall(t, q, "task_done")
	require.NoError(t, <-joined)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _ = qcall(t, q, "put", 3)
	require.ErrorIs(t, q.Join(ctx), mpbridge.ErrTimeout)
}

func TestQueueShutdown(t *testing.T) {
	q := NewQueue(1)
	_, _ = qcall(t, q, "put", 1)
	blockedPut := make(chan error, 1)
	go func() { _, err := qcall(t, q, "put", 2); blockedPut <- err }()
	require.Eventually(t, func() bool { _, p := q.Waiters(); return p == 1 }, time.Second, time.Millisecond)
	_, err := qcall(t, q, "shutdown")
	require.NoError(t, err)
	err = <-blockedPut
	require.ErrorIs(t, errorFromReply(asPyException(err)), mpbridge.ErrShutdown)
	// Not immediate: the item is still there, then ShutDown.
	v, err := qcall(t, q, "get")
	require.NoError(t, err)
	require.Equal(t, int64(1), rawValue(t, v))
	_, err = qcall(t, q, "get")
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "queue", pe.Module())
	require.Equal(t, "ShutDown", pe.Name())

	q2 := NewQueue(0)
	_, _ = qcall(t, q2, "put", 1)
	_, _ = qcall(t, q2, "put", 2)
	joined := make(chan error, 1)
	go func() { _, err := qcall(t, q2, "join"); joined <- err }()
	_, err = q2.Call(context.Background(), "shutdown", nil, kw("immediate", true))
	require.NoError(t, err)
	require.NoError(t, <-joined)
	require.Equal(t, 0, q2.qsize())
	_, err = qcall(t, q2, "get_nowait")
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "ShutDown", pe.Name())
}

func TestQueueGoAPI(t *testing.T) {
	q := NewQueue(1)
	ctx := context.Background()
	require.NoError(t, q.Put(ctx, map[string]any{"a": int64(1)}))
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, q.Put(tctx, 2), mpbridge.ErrFull)
	require.ErrorIs(t, q.PutNowait(ctx, 2), mpbridge.ErrFull)
	v, err := q.Get(ctx)
	require.NoError(t, err)
	d, ok := v.(*pickle.Dict)
	require.True(t, ok)
	a, _ := d.Get("a")
	require.Equal(t, int64(1), a)
	_, err = q.GetNowait(ctx)
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	tctx2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	_, err = q.Get(tctx2)
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	require.NoError(t, q.TaskDone(ctx))
	require.NoError(t, q.Join(ctx))
	q.Shutdown(false)
	require.ErrorIs(t, q.Put(ctx, 1), mpbridge.ErrShutdown)
	_, err = q.Get(ctx)
	require.True(t, errors.Is(err, mpbridge.ErrShutdown))
}

func TestRing(t *testing.T) {
	var r ring
	for round := 0; round < 3; round++ {
		for i := 0; i < 1000; i++ {
			r.push([]byte{byte(i)})
			if i%3 == 0 {
				r.pushFront([]byte{0xff})
				require.Equal(t, []byte{0xff}, r.pop())
			}
		}
		for i := 0; i < 1000; i++ {
			require.Equal(t, []byte{byte(i)}, r.pop())
		}
		require.Equal(t, 0, r.len())
		require.LessOrEqual(t, len(r.buf), ringMin)
	}
}
