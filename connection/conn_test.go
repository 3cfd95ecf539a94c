package connection

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
)

// pairKind makes two connected Conns: a sends to b (and, if duplex, b to a).
type pairKind struct {
	name   string
	duplex bool
	make   func(t *testing.T) (a, b *Conn)
}

func pairKinds() []pairKind {
	return []pairKind{
		{"pipe", false, func(t *testing.T) (*Conn, *Conn) {
			r, w, err := Pipe(false)
			require.NoError(t, err)
			return w, r
		}},
		{"socketpair", true, func(t *testing.T) (*Conn, *Conn) {
			a, b, err := Pipe(true)
			require.NoError(t, err)
			return a, b
		}},
		// Both descriptors taken, as when handed to children: blocking
		// again, each call non-blocking by itself, waits in poll(2).
		{"pipe-shared", false, func(t *testing.T) (*Conn, *Conn) {
			r, w, err := Pipe(false)
			require.NoError(t, err)
			require.GreaterOrEqual(t, r.Fd(), 0)
			require.GreaterOrEqual(t, w.Fd(), 0)
			return w, r
		}},
		{"socketpair-shared", true, func(t *testing.T) (*Conn, *Conn) {
			a, b, err := Pipe(true)
			require.NoError(t, err)
			require.GreaterOrEqual(t, a.Fd(), 0)
			require.GreaterOrEqual(t, b.Fd(), 0)
			return a, b
		}},
		// One descriptor taken: that end switches at once, the other at
		// its next call.
		{"socketpair-half", true, func(t *testing.T) (*Conn, *Conn) {
			a, b, err := Pipe(true)
			require.NoError(t, err)
			require.GreaterOrEqual(t, a.Fd(), 0)
			return a, b
		}},
		{"unix", true, func(t *testing.T) (*Conn, *Conn) { return netPair(t, "unix", "@mpb-test-"+randName()) }},
		{"tcp", true, func(t *testing.T) (*Conn, *Conn) { return netPair(t, "tcp", "127.0.0.1:0") }},
		{"netpipe", true, func(t *testing.T) (*Conn, *Conn) {
			x, y := net.Pipe()
			return NewConn(x, nil), NewConn(y, nil)
		}},
	}
}

func randName() string {
	var b [8]byte
	_, _ = io.ReadFull(randReader{}, b[:])
	return hexString(b[:])
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return unix.Getrandom(p, 0) }

// forEachPair runs f as a subtest for every kind of pair, checking for
// leaks and closing both ends afterwards. With buffered, net.Pipe is left
// out: its writes block until the other end reads.
func forEachPair(t *testing.T, buffered bool, f func(t *testing.T, k pairKind, a, b *Conn)) {
	for _, k := range pairKinds() {
		if buffered && k.name == "netpipe" {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			checkLeaks(t)
			a, b := k.make(t)
			defer a.Close()
			defer b.Close()
			f(t, k, a, b)
		})
	}
}

// netPair connects two sockets through a net.Listener.
func netPair(t testing.TB, network, addr string) (*Conn, *Conn) {
	return netPairOpts(t, network, addr, nil)
}

// netPairOpts is netPair with Conn options.
func netPairOpts(t testing.TB, network, addr string, opts *Options) (*Conn, *Conn) {
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	x, err := net.Dial(network, ln.Addr().String())
	require.NoError(t, err)
	y := <-ch
	require.NotNil(t, y)
	return NewConn(x, opts), NewConn(y, opts)
}

func payload(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i) ^ seed
	}
	return p
}

var testSizes = []int{0, 1, 512, 16383, 16384, 16385, 64 << 10, 1 << 20}

func TestConnRoundTrip(t *testing.T) {
	ctx := context.Background()
	forEachPair(t, false, func(t *testing.T, k pairKind, a, b *Conn) {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		send := func(c *Conn, seed byte) {
			defer wg.Done()
			for _, n := range testSizes {
				if err := c.SendBytes(ctx, payload(n, seed)); err != nil {
					errs <- err
					return
				}
			}
		}
		recv := func(c *Conn, seed byte) {
			for _, n := range testSizes {
				got, err := c.RecvBytes(ctx, 0)
				require.NoError(t, err)
				require.Equal(t, n, len(got))
				require.True(t, bytes.Equal(payload(n, seed), got), "size %d", n)
			}
		}
		wg.Add(1)
		go send(a, 1)
		if k.duplex {
			wg.Add(1)
			go send(b, 2)
			recv(a, 2)
		}
		recv(b, 1)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		// The peer's Close is a clean end of stream.
		require.NoError(t, a.Close())
		_, err := b.RecvBytes(ctx, 0)
		require.ErrorIs(t, err, io.EOF)
	})
}

// TestConnConcurrentSendersDoNotInterleave: frames from many goroutines
// arrive whole.
func TestConnConcurrentSendersDoNotInterleave(t *testing.T) {
	ctx := context.Background()
	forEachPair(t, false, func(t *testing.T, k pairKind, a, b *Conn) {
		const senders, each = 8, 40
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					n := []int{10, 5000, 20000, 70000}[i%4]
					if err := a.SendBytes(ctx, bytes.Repeat([]byte{byte(s)}, n)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		counts := map[byte]int{}
		for range senders * each {
			got, err := b.RecvBytes(ctx, 0)
			require.NoError(t, err)
			require.NotEmpty(t, got)
			require.Equal(t, bytes.Repeat(got[:1], len(got)), got, "interleaved frame")
			counts[got[0]]++
		}
		wg.Wait()
		for s := range senders {
			require.Equal(t, each, counts[byte(s)])
		}
	})
}

func TestConnRecvTimeoutAtBoundaryKeepsConn(t *testing.T) {
	forEachPair(t, false, func(t *testing.T, k pairKind, a, b *Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.RecvBytes(ctx, 0)
		el := time.Since(start)
		require.ErrorIs(t, err, mpbridge.ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.GreaterOrEqual(t, el, 90*time.Millisecond)
		require.Less(t, el, 3*time.Second)
		// Nothing was consumed: the Conn still works.
		go func() { _ = a.SendBytes(context.Background(), []byte("later")) }()
		got, err := b.RecvBytes(context.Background(), 0)
		require.NoError(t, err)
		require.Equal(t, "later", string(got))

		// Cancellation without a deadline.
		ctx2, cancel2 := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel2)
		_, err = b.RecvBytes(ctx2, 0)
		require.ErrorIs(t, err, context.Canceled)
		// An already-finished context fails at once.
		_, err = b.RecvBytes(ctx2, 0)
		require.ErrorIs(t, err, context.Canceled)
	})
}

// TestConnRecvTimeoutMidFrame: a receive stopped inside a frame leaves the
// Conn unreadable rather than out of step.
func TestConnRecvTimeoutMidFrame(t *testing.T) {
	forEachPair(t, true, func(t *testing.T, k pairKind, a, b *Conn) {
		rawWrite(t, a, []byte{0, 0, 0, 10, 'a', 'b'})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := b.RecvBytes(ctx, 0)
		require.ErrorIs(t, err, mpbridge.ErrTimeout)
		rawWrite(t, a, []byte("cdefghij"))
		_, err = b.RecvBytes(context.Background(), 0)
		require.Error(t, err)
		require.ErrorIs(t, err, mpbridge.ErrTimeout, "the sticky error wraps the first")
	})
}

// rawWrite writes bytes to c's descriptor, bypassing the framing.
func rawWrite(t *testing.T, c *Conn, p []byte) {
	t.Helper()
	_, err := rawTransport(c).Write(p)
	require.NoError(t, err)
}

// rawTransport returns the transport that carries c's bytes now: a Pipe
// end's own or shared one, else c's.
func rawTransport(c *Conn) transport {
	pt, ok := c.tr.(*pairTransport)
	if !ok {
		return c.tr
	}
	if sh := pt.shared.Load(); sh != nil {
		return sh
	}
	return pt.own
}

// nonblocking reports whether fd's open file description has O_NONBLOCK.
func nonblocking(t *testing.T, fd uintptr) bool {
	t.Helper()
	fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	require.NoError(t, err)
	return fl&unix.O_NONBLOCK != 0
}

func TestConnBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes []byte
		want  []error
	}{
		{"truncated header", []byte{0, 0}, []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}},
		{"truncated body", []byte{0, 0, 0, 9, 1, 2, 3}, []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}},
		{"negative length", []byte{0xff, 0xff, 0xff, 0xfe}, []error{mpbridge.ErrCorrupt}},
		{"2 GiB announced", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0}, []error{mpbridge.ErrTooLarge}},
		{"over the cap", []byte{0x10, 0, 0, 1}, []error{mpbridge.ErrTooLarge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachPair(t, true, func(t *testing.T, _ pairKind, a, b *Conn) {
				rawWrite(t, a, tc.bytes)
				require.NoError(t, a.Close()) // the peer closes mid-frame
				_, err := b.RecvBytes(context.Background(), 0)
				for _, want := range tc.want {
					require.ErrorIs(t, err, want)
				}
				require.NotErrorIs(t, err, io.EOF)
				// The Conn stays unusable for reading.
				_, err2 := b.RecvBytes(context.Background(), 0)
				require.Error(t, err2)
				require.NotErrorIs(t, err2, io.EOF)
			})
		})
	}
}

func TestConnMaxLen(t *testing.T) {
	ctx := context.Background()
	a, b, err := Pipe(true)
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	require.NoError(t, a.SendBytes(ctx, []byte("0123456789")))
	require.NoError(t, a.SendBytes(ctx, []byte("01234567890")))
	got, err := b.RecvBytes(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(got))
	_, err = b.RecvBytes(ctx, 10)
	require.ErrorIs(t, err, mpbridge.ErrTooLarge)
	require.Contains(t, err.Error(), "bad message length")
	_, err = b.RecvBytes(ctx, 0)
	require.ErrorIs(t, err, mpbridge.ErrTooLarge, "unreadable after bad message length, like CPython")
	// The other direction still works.
	require.NoError(t, b.SendBytes(ctx, []byte("x")))
	got, err = a.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "x", string(got))

	b.SetMaxFrame(5)
	require.Equal(t, int64(5), b.MaxFrame())
}

func TestConnRecvBytesInto(t *testing.T) {
	ctx := context.Background()
	forEachPair(t, false, func(t *testing.T, k pairKind, a, b *Conn) {
		go func() {
			for _, p := range [][]byte{[]byte("hello"), payload(300000, 3), []byte("after"), {}} {
				if err := a.SendBytes(ctx, p); err != nil {
					t.Error(err)
				}
			}
		}()
		buf := make([]byte, 100)
		n, err := b.RecvBytesInto(ctx, buf)
		require.NoError(t, err)
		require.Equal(t, "hello", string(buf[:n]))
		n, err = b.RecvBytesInto(ctx, buf)
		var short *BufferTooShortError
		require.ErrorAs(t, err, &short)
		require.Zero(t, n)
		require.Equal(t, 100, short.Buf)
		require.True(t, bytes.Equal(payload(300000, 3), short.Msg))
		n, err = b.RecvBytesInto(ctx, buf)
		require.NoError(t, err, "usable after BufferTooShort")
		require.Equal(t, "after", string(buf[:n]))
		n, err = b.RecvBytesInto(ctx, buf)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// TestConnZeroAllocs: SendBytes and RecvBytesInto with a reused buffer
// allocate nothing per message.
func TestConnZeroAllocs(t *testing.T) {
	ctx := context.Background()
	forEachPair(t, true, func(t *testing.T, k pairKind, a, b *Conn) {
		msg := payload(512, 1)
		buf := make([]byte, 1024)
		allocs := testing.AllocsPerRun(200, func() {
			if err := a.SendBytes(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if _, err := b.RecvBytesInto(ctx, buf); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs)
	})
}

func TestConnPoll(t *testing.T) {
	forEachPair(t, false, func(t *testing.T, k pairKind, a, b *Conn) {
		ctx := context.Background()
		ok, err := b.Poll(ctx, 0)
		require.NoError(t, err)
		require.False(t, ok)

		start := time.Now()
		ok, err = b.Poll(ctx, 80*time.Millisecond)
		require.NoError(t, err)
		require.False(t, ok)
		require.GreaterOrEqual(t, time.Since(start), 75*time.Millisecond)

		// A context deadline before the timeout ends the wait.
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err = b.Poll(cctx, -1)
		cancel()
		require.ErrorIs(t, err, mpbridge.ErrTimeout)

		go func() {
			time.Sleep(30 * time.Millisecond)
			_ = a.SendBytes(ctx, []byte("ping"))
		}()
		ok, err = b.Poll(ctx, 5*time.Second)
		require.NoError(t, err)
		require.True(t, ok)
		got, err := b.RecvBytes(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, "ping", string(got))

		// The peer's end of stream counts as input, as in Python.
		require.NoError(t, a.Close())
		ok, err = b.Poll(ctx, 5*time.Second)
		require.NoError(t, err)
		require.True(t, ok)
	})
}

// TestConnCloseUnblocks: Close ends calls blocked in other goroutines.
func TestConnCloseUnblocks(t *testing.T) {
	forEachPair(t, false, func(t *testing.T, k pairKind, a, b *Conn) {
		errc := make(chan error, 2)
		go func() { _, err := b.RecvBytes(context.Background(), 0); errc <- err }()
		go func() { _, err := b.Poll(context.Background(), -1); errc <- err }()
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, b.Close())
		for range 2 {
			select {
			case err := <-errc:
				require.ErrorIs(t, err, mpbridge.ErrClosed)
			case <-time.After(3 * time.Second):
				t.Fatal("blocked call not ended by Close")
			}
		}
		require.NoError(t, b.Close(), "second Close")
		require.ErrorIs(t, b.SendBytes(context.Background(), nil), mpbridge.ErrClosed)
		_, err := b.File()
		require.ErrorIs(t, err, mpbridge.ErrClosed)
	})
}

// TestConnSendBlockedOnFullPipe: a send waiting for the reader honours its
// context and leaves the write side unusable (the frame was cut).
func TestConnSendBlockedOnFullPipe(t *testing.T) {
	checkLeaks(t)
	r, w, err := Pipe(false)
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = w.SendBytes(ctx, make([]byte, 1<<20)) // more than the 64 KiB pipe buffer
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
	err = w.SendBytes(context.Background(), []byte("x"))
	require.ErrorIs(t, err, mpbridge.ErrTimeout, "sticky after a cut frame")
}

// TestPipeStaysBlocking: O_NONBLOCK is never set on descriptors that may be
// shared with Python.
func TestPipeStaysBlocking(t *testing.T) {
	ctx := context.Background()
	for _, duplex := range []bool{false, true} {
		a, b, err := Pipe(duplex)
		require.NoError(t, err)
		w, r := b, a
		if duplex {
			w, r = a, b
		}
		require.NoError(t, w.SendBytes(ctx, []byte("x")))
		_, err = r.RecvBytes(ctx, 0)
		require.NoError(t, err)
		tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err = r.RecvBytes(tctx, 0)
		cancel()
		require.ErrorIs(t, err, mpbridge.ErrTimeout)
		_, err = r.Poll(ctx, 10*time.Millisecond)
		require.NoError(t, err)
		for _, c := range []*Conn{a, b} {
			require.False(t, nonblocking(t, uintptr(c.Fd())), "duplex=%v", duplex)
			f, err := c.File()
			require.NoError(t, err)
			require.False(t, nonblocking(t, f.Fd()))
			f.Close()
		}
		a.Close()
		b.Close()
	}
}

func TestPipeDirections(t *testing.T) {
	r, w, err := Pipe(false)
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	require.True(t, r.Readable())
	require.False(t, r.Writable())
	require.False(t, w.Readable())
	require.True(t, w.Writable())
	require.Error(t, r.SendBytes(context.Background(), []byte("x")))
	_, err = w.RecvBytes(context.Background(), 0)
	require.Error(t, err)
	_, err = w.Poll(context.Background(), 0)
	require.Error(t, err)
	_, err = FromFile(os.Stdin, false, false, nil)
	require.Error(t, err)
}

// TestFromFileHandsOver: a Conn made from a descriptor reads exactly one
// frame at a time, so the descriptor can be handed on between messages.
func TestFromFileHandsOver(t *testing.T) {
	ctx := context.Background()
	a, b0, err := Pipe(true)
	require.NoError(t, err)
	defer a.Close()
	f0, err := b0.File()
	require.NoError(t, err)
	require.NoError(t, b0.Close())
	b, err := FromFile(f0, true, true, nil)
	require.NoError(t, err)
	require.NoError(t, a.SendBytes(ctx, []byte("first")))
	require.NoError(t, a.SendBytes(ctx, []byte("second")))
	got, err := b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "first", string(got))
	f, err := b.File()
	require.NoError(t, err)
	require.NoError(t, b.Close())
	c, err := FromFile(f, true, true, nil)
	require.NoError(t, err)
	defer c.Close()
	got, err = c.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "second", string(got))
}

func TestConnErrorsNameTheCause(t *testing.T) {
	a, b, err := Pipe(true)
	require.NoError(t, err)
	defer b.Close()
	a.Close()
	err = b.SendBytes(context.Background(), []byte("x"))
	require.Error(t, err)
	require.True(t, isPeerGone(err), "%v", err)
	_, err = b.RecvBytes(context.Background(), 0)
	require.ErrorIs(t, err, io.EOF)
	require.True(t, errors.Is(fmt.Errorf("wrapped: %w", errTimeout), mpbridge.ErrTimeout))
}

// TestFromFileRegularFile: a Conn over a regular file (no RWF_NOWAIT, no
// waiting) reads the frames written to it.
func TestFromFileRegularFile(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/frames"
	var buf bytes.Buffer
	for _, n := range []int{0, 3, 20000} {
		require.NoError(t, WriteFrame(&buf, payload(n, 9)))
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	c, err := FromFile(f, true, false, nil)
	require.NoError(t, err)
	defer c.Close()
	for _, n := range []int{0, 3, 20000} {
		got, err := c.RecvBytes(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, payload(n, 9), got)
	}
	_, err = c.RecvBytes(ctx, 0)
	require.ErrorIs(t, err, io.EOF)
}

// TestConnWithoutNowait runs descriptor Conns the way they run on kernels
// without RWF_NOWAIT for the descriptor: poll(2), then a plain read/write.
func TestConnWithoutNowait(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	a, b, err := Pipe(true)
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	for _, c := range []*Conn{a, b} {
		require.GreaterOrEqual(t, c.Fd(), 0) // the shared path, sharedfd's calls
		c.tr.(*pairTransport).shared.Load().io.Plain()
	}
	go func() {
		for _, n := range testSizes {
			if err := a.SendBytes(ctx, payload(n, 5)); err != nil {
				t.Error(err)
			}
		}
	}()
	for _, n := range testSizes {
		got, err := b.RecvBytes(ctx, 0)
		require.NoError(t, err)
		require.True(t, bytes.Equal(payload(n, 5), got), "size %d", n)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = b.RecvBytes(tctx, 0)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
	errc := make(chan error, 1)
	go func() { _, err := b.RecvBytes(ctx, 0); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, b.Close())
	require.ErrorIs(t, <-errc, mpbridge.ErrClosed)
}

// TestPipeReaderGone: writing to a pipe whose reader is gone reports the
// peer gone.
func TestPipeReaderGone(t *testing.T) {
	checkLeaks(t)
	var fds [2]int
	require.NoError(t, unix.Pipe2(fds[:], unix.O_CLOEXEC))
	require.NoError(t, unix.Close(fds[0]))
	c, err := FromFile(os.NewFile(uintptr(fds[1]), "w"), false, true, nil)
	require.NoError(t, err)
	defer c.Close()
	err = c.SendBytes(context.Background(), []byte("x"))
	require.True(t, isPeerGone(err), "%v", err)
}

// TestConnReadAhead: a Unix socket Conn (and a TCP one with ReadAheadTCP)
// reads ahead, so frames sent back to back (small, large, empty and mixed)
// must still come out one by one and whole, Poll must see input already read
// ahead, File must refuse to hand the socket over while such input waits,
// and once the descriptor is taken the Conn must read exactly (a frame
// received leaves the next one whole in the kernel).
func TestConnReadAhead(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T) (send, recv *Conn)
	}{
		{"unix", func(t *testing.T) (*Conn, *Conn) { return netPair(t, "unix", "@"+randName()) }},
		{"tcp with ReadAheadTCP", func(t *testing.T) (*Conn, *Conn) {
			return netPairOpts(t, "tcp", "127.0.0.1:0", &Options{ReadAheadTCP: true})
		}},
		{"pipe", func(t *testing.T) (*Conn, *Conn) {
			r, w, err := Pipe(false)
			require.NoError(t, err)
			return w, r
		}},
		{"socketpair", func(t *testing.T) (*Conn, *Conn) {
			a, b, err := Pipe(true)
			require.NoError(t, err)
			return a, b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.make(t)
			defer a.Close()
			defer b.Close()
			testConnReadAhead(t, a, b)
		})
	}
}

func testConnReadAhead(t *testing.T, a, b *Conn) {
	ctx := context.Background()
	sizes := []int{0, 1, 3, 4, 5, 100, readAheadSize - 4, readAheadSize - 1, readAheadSize, readAheadSize + 1, 3 * readAheadSize, 7, 40001}
	go func() {
		for i, n := range sizes {
			if err := a.SendBytes(ctx, payload(n, byte(i))); err != nil {
				return
			}
		}
	}()
	for i, n := range sizes {
		got, err := b.RecvBytes(ctx, 0)
		require.NoError(t, err, "frame %d", i)
		require.Equal(t, payload(n, byte(i)), got, "frame %d (%d bytes)", i, n)
	}

	// Two small frames arrive in one read; the second is then buffered.
	require.NoError(t, a.SendBytes(ctx, []byte("one")))
	require.NoError(t, a.SendBytes(ctx, []byte("two")))
	require.Eventually(t, func() bool {
		ok, err := b.Poll(ctx, 0)
		return err == nil && ok
	}, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let "two" arrive before the read
	got, err := b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "one", string(got))
	require.True(t, readAheadBuffered(b), "both frames came in one read")
	ok, err := b.Poll(ctx, 0)
	require.NoError(t, err)
	require.True(t, ok, "input read ahead is input")
	_, err = b.File()
	require.Error(t, err, "handing over the descriptor would lose the buffered frame")
	got, err = b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "two", string(got))
	f, err := b.File()
	require.NoError(t, err)
	f.Close()

	// The descriptor has been taken: each receive reads its frame only.
	require.NoError(t, a.SendBytes(ctx, []byte("three")))
	require.NoError(t, a.SendBytes(ctx, []byte("four!")))
	require.Eventually(t, func() bool {
		n, err := unix.IoctlGetInt(b.Fd(), unix.TIOCINQ)
		return err == nil && n == 2*(4+5)
	}, 5*time.Second, time.Millisecond)
	got, err = b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "three", string(got))
	require.False(t, readAheadBuffered(b))
	n, err := unix.IoctlGetInt(b.Fd(), unix.TIOCINQ)
	require.NoError(t, err)
	require.Equal(t, 4+5, n, "the next frame is left whole for whoever reads next")
	got, err = b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "four!", string(got))

	// The peer closing between frames is io.EOF, after the frames it sent.
	require.NoError(t, a.SendBytes(ctx, []byte("last")))
	require.NoError(t, a.Close())
	got, err = b.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, "last", string(got))
	_, err = b.RecvBytes(ctx, 0)
	require.ErrorIs(t, err, io.EOF)
}

// readAheadBuffered reports whether c holds input read ahead.
func readAheadBuffered(c *Conn) bool {
	if p, ok := c.tr.(*pairTransport); ok {
		return p.own.buffered()
	}
	return c.tr.(*pollerTransport).buffered()
}

// TestReadAheadOnlyWhenAlone: a TCP Conn by default and a Conn made by
// FromFile never read ahead; a Pipe's ends do, non-blocking, until either
// end's descriptor is taken. Then the descriptor taken is blocking again,
// and both ends read exactly, the other one from its next call.
func TestReadAheadOnlyWhenAlone(t *testing.T) {
	ctx := context.Background()
	tx, ty := netPair(t, "tcp", "127.0.0.1:0")
	defer tx.Close()
	defer ty.Close()
	require.False(t, tx.tr.(*pollerTransport).readAhead.Load())
	require.False(t, ty.tr.(*pollerTransport).readAhead.Load())

	for _, duplex := range []bool{false, true} {
		for _, taken := range []int{0, 1} {
			t.Run(fmt.Sprintf("duplex=%v/taken=%d", duplex, taken), func(t *testing.T) {
				x, y, err := Pipe(duplex)
				require.NoError(t, err)
				defer x.Close()
				defer y.Close()
				ends := []*Conn{x, y}
				for _, c := range ends {
					p := c.tr.(*pairTransport)
					require.True(t, p.own.readAhead.Load())
					require.Nil(t, p.shared.Load())
					require.True(t, nonblocking(t, uintptr(p.own.fd())), "private: in Go's poller")
					p.own.readAhead.Store(true) // own.fd cleared it
				}
				c, other := ends[taken], ends[1-taken]
				fd := c.Fd()
				require.GreaterOrEqual(t, fd, 0)
				require.False(t, nonblocking(t, uintptr(fd)), "a descriptor handed out is blocking")
				require.Equal(t, fd, c.Fd(), "taken once, the descriptor stays")
				f, err := c.File()
				require.NoError(t, err)
				require.False(t, nonblocking(t, f.Fd()))
				f.Close()
				p := c.tr.(*pairTransport)
				require.False(t, p.own.readAhead.Load())
				require.NotNil(t, p.shared.Load())

				// The other end, idle, switched with it.
				op := other.tr.(*pairTransport)
				require.NotNil(t, op.shared.Load())
				require.True(t, op.retired.Load())
				require.False(t, op.own.readAhead.Load())
				w, r := x, y
				if !duplex {
					w, r = y, x
				}
				require.NoError(t, w.SendBytes(ctx, []byte("hello")))
				got, err := r.RecvBytes(ctx, 0)
				require.NoError(t, err)
				require.Equal(t, "hello", string(got))
			})
		}
	}

	// An end with a receive waiting in Go's poller when the other end is
	// handed out finishes that receive there and switches at its next call.
	for _, duplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("busy/duplex=%v", duplex), func(t *testing.T) {
			x, y, err := Pipe(duplex)
			require.NoError(t, err)
			defer x.Close()
			defer y.Close()
			r, w := x, y // x reads, y writes (and is handed out)
			rp := r.tr.(*pairTransport)
			got := make(chan string, 1)
			go func() {
				b, err := r.RecvBytes(ctx, 0)
				if err != nil {
					got <- err.Error()
					return
				}
				got <- string(b)
			}()
			require.Eventually(t, func() bool {
				if !r.recvMu.TryLock() {
					return true
				}
				r.recvMu.Unlock()
				return false
			}, 5*time.Second, time.Millisecond, "the receive is waiting")
			f, err := w.File()
			require.NoError(t, err)
			defer f.Close()
			require.False(t, rp.retired.Load(), "a receive is waiting in the poller")
			require.NoError(t, w.SendBytes(ctx, []byte("one")))
			require.Equal(t, "one", <-got)
			require.NoError(t, w.SendBytes(ctx, []byte("two")))
			b, err := r.RecvBytes(ctx, 0)
			require.NoError(t, err)
			require.Equal(t, "two", string(b))
			require.True(t, rp.retired.Load(), "switched at its next call")
		})
	}

	// A Conn made by FromFile reads exactly: its descriptor may be shared.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	c, err := FromFile(os.NewFile(uintptr(fds[0]), "a"), true, true, nil)
	require.NoError(t, err)
	defer c.Close()
	defer unix.Close(fds[1])
	require.IsType(t, &fdTransport{}, c.tr)
}
