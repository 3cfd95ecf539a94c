//go:build linux

package mpqueue

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// readModes runs f on a queue that reads ahead (this process is its only
// reader) and on one whose read end has been handed out (Handles), which
// reads byte-exactly.
func readModes(t *testing.T, opts *Options, f func(t *testing.T, q *Queue)) {
	for _, shared := range []bool{false, true} {
		name := "sole reader"
		if shared {
			name = "shared reader"
		}
		t.Run(name, func(t *testing.T) {
			q, err := New(0, opts)
			require.NoError(t, err)
			t.Cleanup(func() { _ = q.Close() })
			if shared {
				_ = q.Handles()
			}
			require.Equal(t, !shared, q.soleReader.Load())
			f(t, q)
		})
	}
}

// itemFrame is the frame a Queue writes for item.
func itemFrame(t *testing.T, item any) []byte {
	t.Helper()
	p, err := pickle.Marshal(item)
	require.NoError(t, err)
	return append(connection.AppendHeader(nil, len(p)), p...)
}

// available is how many bytes wait in the queue's pipe.
func available(q *Queue) int { return q.r.Available() }

// A sole reader takes everything the pipe holds in one read, finishing a
// frame the read cut, and serves the next items from it; once the read
// end is handed out, it returns what it holds and then reads nothing past
// a frame.
func TestQueueReadAhead(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	t.Run("whole frames", func(t *testing.T) {
		q := testQueue(t, 0)
		for i := 0; i < 10; i++ {
			rawPut(t, q, itemFrame(t, int64(i)))
		}
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(0), v)
		require.Zero(t, available(q), "one read took every frame")
		empty, err := q.Empty(ctx)
		require.NoError(t, err)
		require.False(t, empty, "items read ahead are not empty")

		_ = q.Handles() // the read end may now be read by another process
		later := itemFrame(t, "later")
		for i := 0; i < 3; i++ {
			rawPut(t, q, later)
		}
		for i := 1; i < 10; i++ {
			v, err := q.Get(ctx)
			require.NoError(t, err)
			require.Equal(t, int64(i), v)
			require.Equal(t, 3*len(later), available(q), "served from the buffer")
		}
		v, err = q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "later", v)
		require.Equal(t, 2*len(later), available(q), "exactly one frame read")
	})
	t.Run("frame cut by the read", func(t *testing.T) {
		q := testQueue(t, 0)
		a, b, c := itemFrame(t, "a"), itemFrame(t, "bbbbbbbb"), itemFrame(t, "c")
		rawPut(t, q, append(append([]byte(nil), a...), b[:7]...))
		go func() {
			time.Sleep(50 * time.Millisecond)
			_, _ = unix.Write(q.w.Fd(), append(append([]byte(nil), b[7:]...), c...))
		}()
		start := time.Now()
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "a", v)
		require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "the cut frame is finished before Get returns")
		require.Equal(t, len(c), available(q), "the rest of b, and not a byte of c")
		_, _ = q.Files()
		v, err = q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "bbbbbbbb", v)
		require.Equal(t, len(c), available(q))
		v, err = q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "c", v)
	})
	readModes(t, testOpts(), func(t *testing.T, q *Queue) {
		// Items larger than the buffer between small ones, in order.
		items := []any{"x", make([]byte, 3*aheadSize+5), int64(7), make([]byte, aheadSize-20), "y"}
		done := make(chan error, 1)
		go func() {
			for _, it := range items {
				if err := q.Put(ctx, it); err != nil {
					done <- err
					return
				}
			}
			done <- q.Flush(ctx)
		}()
		for i, want := range items {
			v, err := q.Get(ctx)
			require.NoError(t, err)
			require.Equal(t, want, v, "item %d", i)
		}
		require.NoError(t, <-done)
	})
}

// A corrupt frame whose header is sound is consumed whole, so the next
// item is delivered, reading ahead or not.
func TestQueueCorruptThenGood(t *testing.T) {
	frame := func(payload []byte) []byte {
		return append(connection.AppendHeader(nil, len(payload)), payload...)
	}
	for _, bad := range [][]byte{frame([]byte("\x8c\x01x\x94.")), frame(nil), frame([]byte{0x80, 4, 0xff})} {
		readModes(t, testOpts(), func(t *testing.T, q *Queue) {
			ctx := ctxT(t, 5*time.Second)
			rawPut(t, q, append(append([]byte(nil), bad...), itemFrame(t, "good")...))
			_, err := q.Get(ctx)
			require.ErrorIs(t, err, mpbridge.ErrCorrupt)
			v, err := q.Get(ctx)
			require.NoError(t, err)
			require.Equal(t, "good", v)
		})
	}
}

// A queue attached with ProducerHandles puts but cannot get; the queue it
// came from stays its only reader.
func TestQueueProducerHandles(t *testing.T) {
	for _, typ := range []string{TypeQueue, TypeSimpleQueue, TypeJoinableQueue} {
		t.Run(typ, func(t *testing.T) {
			ctx := ctxT(t, 10*time.Second)
			var (
				h    Handles
				pq   *pipeQueue
				get  func() (any, error)
				put  func(any) error
				prod interface {
					Close() error
				}
				prodGet   func() (any, error)
				prodEmpty func() (bool, error)
			)
			switch typ {
			case TypeQueue:
				q := testQueue(t, 0)
				h, pq, get = q.ProducerHandles(), q.pipeQueue, func() (any, error) { return q.Get(ctx) }
			case TypeSimpleQueue:
				q, err := NewSimpleQueue(testOpts())
				require.NoError(t, err)
				t.Cleanup(func() { _ = q.Close() })
				h, pq, get = q.ProducerHandles(), q.pipeQueue, func() (any, error) { return q.Get(ctx) }
			case TypeJoinableQueue:
				q, err := NewJoinable(0, testOpts())
				require.NoError(t, err)
				t.Cleanup(func() { _ = q.Close() })
				h, pq, get = q.ProducerHandles(), q.pipeQueue, func() (any, error) { return q.Get(ctx) }
			}
			require.Equal(t, typ, h.Type)
			require.Equal(t, -1, h.Reader)
			w, err := unix.Dup(int(pq.WriterFile().Fd()))
			require.NoError(t, err)
			h.Writer = w
			switch typ {
			case TypeQueue:
				p, err := AttachQueue(h, nil)
				require.NoError(t, err)
				prod, put, prodGet = p, func(v any) error { return p.Put(ctx, v) }, func() (any, error) { return p.Get(ctx) }
				prodEmpty = func() (bool, error) { return p.Empty(ctx) }
				r, _ := p.Files()
				require.Nil(t, r)
				_, err = p.Reduce(nil, 1)
				require.ErrorIs(t, err, mpbridge.ErrClosed)
			case TypeSimpleQueue:
				p, err := AttachSimpleQueue(h, nil)
				require.NoError(t, err)
				prod, put, prodGet = p, func(v any) error { return p.Put(ctx, v) }, func() (any, error) { return p.Get(ctx) }
				prodEmpty = func() (bool, error) { return p.Empty(ctx) }
			case TypeJoinableQueue:
				p, err := AttachJoinable(h, nil)
				require.NoError(t, err)
				prod, put, prodGet = p, func(v any) error { return p.Put(ctx, v) }, func() (any, error) { return p.Get(ctx) }
				prodEmpty = func() (bool, error) { return p.Empty(ctx) }
			}
			defer prod.Close()
			for i := 0; i < 5; i++ {
				require.NoError(t, put(fmt.Sprint("item ", i)))
			}
			for i := 0; i < 5; i++ {
				v, err := get()
				require.NoError(t, err)
				require.Equal(t, fmt.Sprint("item ", i), v)
			}
			_, err = prodGet()
			require.ErrorIs(t, err, mpbridge.ErrClosed)
			_, err = prodEmpty()
			require.ErrorIs(t, err, mpbridge.ErrClosed)
			require.True(t, pq.soleReader.Load(), "ProducerHandles and WriterFile leave this process the only reader")
		})
	}
}
