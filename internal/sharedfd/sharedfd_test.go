package sharedfd

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
)

// pair returns the two ends of a pipe or a socketpair, blocking mode, as
// a Python process would share them.
func pair(t *testing.T, kind string) (r, w int) {
	t.Helper()
	var fds [2]int
	var err error
	if kind == "pipe" {
		err = unix.Pipe2(fds[:], unix.O_CLOEXEC)
	} else {
		fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	}
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func newFD(t *testing.T, fd int, plain bool) *FD {
	t.Helper()
	f, err := New(fd)
	require.NoError(t, err)
	if plain {
		f.Plain()
	}
	return f
}

func blocking(t *testing.T, fd int) bool {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	return fl&unix.O_NONBLOCK == 0
}

// TestNeverBlocks checks, for each kind of descriptor and both ways of
// calling, that an empty descriptor reads EAGAIN, a full one writes
// EAGAIN, bytes come through in order, the end of file reads io.EOF, and
// the descriptors are still in blocking mode afterwards.
func TestNeverBlocks(t *testing.T) {
	for _, kind := range []string{"pipe", "socketpair"} {
		for _, plain := range []bool{false, true} {
			name := kind
			if plain {
				name += "/plain"
			}
			t.Run(name, func(t *testing.T) {
				r, w := pair(t, kind)
				fr, fw := newFD(t, r, plain), newFD(t, w, plain)
				require.Equal(t, kind == "socketpair" && !plain, fr.sock)
				buf := make([]byte, 64)

				n, err := fr.TryRead(buf)
				require.Equal(t, unix.EAGAIN, err)
				require.Zero(t, n)

				var sent []byte
				chunk := bytes.Repeat([]byte("abcdefgh"), 512)
				start := time.Now()
				for {
					n, err := fw.TryWritev(AppendIovec(AppendIovec(nil, chunk[:100]), chunk[100:]))
					if err == unix.EAGAIN {
						require.Zero(t, n)
						break
					}
					require.NoError(t, err)
					require.Positive(t, n)
					sent = append(sent, chunk[:n]...)
					require.Less(t, time.Since(start), 10*time.Second, "never filled")
				}
				ready, err := fw.Poll(unix.POLLOUT, 0)
				require.NoError(t, err)
				require.False(t, ready)

				var got []byte
				big := make([]byte, 10000)
				for len(got) < len(sent) {
					n, err := fr.TryRead(big)
					require.NoError(t, err)
					got = append(got, big[:n]...)
				}
				require.True(t, bytes.Equal(sent, got))
				_, err = fr.TryRead(buf)
				require.Equal(t, unix.EAGAIN, err)

				n, err = fw.TryWrite([]byte("tail"))
				require.NoError(t, err)
				require.Equal(t, 4, n)
				ready, err = fr.Poll(unix.POLLIN, time.Second)
				require.NoError(t, err)
				require.True(t, ready)
				n, err = fr.ReadReady(buf)
				require.NoError(t, err)
				require.Equal(t, "tail", string(buf[:n]))

				require.True(t, blocking(t, r))
				require.True(t, blocking(t, w))
				require.NoError(t, unix.Close(w))
				_, err = fr.TryRead(buf)
				require.Equal(t, io.EOF, err)
			})
		}
	}
}

// TestPollTimes checks that Poll waits about as long as asked when nothing
// comes, and not at all for d <= 0.
func TestPollTimes(t *testing.T) {
	r, _ := pair(t, "pipe")
	f := newFD(t, r, false)
	for _, d := range []time.Duration{-time.Second, 0, 1, 30 * time.Millisecond} {
		start := time.Now()
		ready, err := f.Poll(unix.POLLIN, d)
		el := time.Since(start)
		require.NoError(t, err)
		require.False(t, ready)
		require.GreaterOrEqual(t, el, max(d, 0))
		require.Less(t, el, max(d, 0)+2*time.Second)
	}
}

func TestClosedDescriptor(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	fd := int(r.Fd())
	f := newFD(t, fd, false)
	require.NoError(t, r.Close())
	_, err = f.Poll(unix.POLLIN, time.Second)
	require.ErrorIs(t, err, mpbridge.ErrClosed)
	_, err = New(fd)
	require.Error(t, err)
}

func TestAdvance(t *testing.T) {
	a, b, c := []byte("abc"), []byte("de"), []byte("fghi")
	for n := 0; n <= 9; n++ {
		iovs := AppendIovec(AppendIovec(AppendIovec(AppendIovec(nil, a), nil), b), c)
		require.Len(t, iovs, 3)
		rest := Advance(iovs, n)
		var got []byte
		for _, iov := range rest {
			got = append(got, unsafe.Slice(iov.Base, iov.Len)...)
		}
		require.Equal(t, "abcdefghi"[n:], string(got), "n=%d", n)
	}
}
