package connection

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
)

// listenAddrs are one address of each kind to listen on.
func listenAddrs(t *testing.T) map[string]string {
	return map[string]string{
		"tcp":      "127.0.0.1:0",
		"tcp6":     "[::1]:0",
		"unix":     filepath.Join(t.TempDir(), "l.sock"),
		"abstract": "@mpb-test-" + randName(),
	}
}

func TestListenDial(t *testing.T) {
	for kind, addr := range listenAddrs(t) {
		for _, key := range [][]byte{nil, {}, testKey} {
			t.Run(kind+"/key="+pyBytesRepr(key), func(t *testing.T) {
				if kind == "tcp6" {
					if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
						t.Skip("no IPv6 loopback")
					} else {
						ln.Close()
					}
				}
				checkLeaks(t)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				l, err := Listen(ctx, addr, &ListenOptions{Authkey: key, Backlog: 4})
				require.NoError(t, err)
				defer l.Close()
				require.Equal(t, map[string]string{"tcp": "tcp", "tcp6": "tcp", "unix": "unix", "abstract": "unix"}[kind], l.Addr().Network)
				if kind == "abstract" {
					require.Equal(t, addr, l.Addr().String())
				}
				errc := make(chan error, 1)
				go func() {
					c, err := l.Accept(ctx)
					if err != nil {
						errc <- err
						return
					}
					defer c.Close()
					msg, err := c.RecvBytes(ctx, 0)
					if err == nil {
						err = c.SendBytes(ctx, append([]byte("echo:"), msg...))
					}
					errc <- err
				}()
				c, err := Dial(ctx, l.Addr().String(), key, nil)
				require.NoError(t, err)
				defer c.Close()
				require.NoError(t, c.SendBytes(ctx, []byte("hi")))
				got, err := c.RecvBytes(ctx, 0)
				require.NoError(t, err)
				require.Equal(t, "echo:hi", string(got))
				require.NoError(t, <-errc)
				c.Close()
				require.NoError(t, l.Close())
				if kind == "unix" {
					_, err := os.Stat(addr)
					require.True(t, os.IsNotExist(err), "socket file removed on Close")
				}
				_, err = l.Accept(ctx)
				require.ErrorIs(t, err, mpbridge.ErrClosed)
			})
		}
	}
}

func TestListenWrongKey(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failures := make(chan error, 1)
	l, err := Listen(ctx, "127.0.0.1:0", &ListenOptions{Authkey: testKey,
		OnHandshakeError: func(_ net.Addr, err error) { failures <- err }})
	require.NoError(t, err)
	defer l.Close()
	_, err = Dial(ctx, l.Addr().String(), []byte("wrong"), nil)
	checkAuth(t, err, AuthWrongKey, "digest sent was rejected")
	checkAuth(t, <-failures, AuthWrongKey, "digest received was wrong")
	// No handshake on the client side: the server times out, the client
	// sees the challenge as a message.
	c, err := Dial(ctx, l.Addr().String(), nil, nil)
	require.NoError(t, err)
	defer c.Close()
	msg, err := c.RecvBytes(ctx, 0)
	require.NoError(t, err)
	require.Contains(t, string(msg), "#CHALLENGE#{sha256}")
}

// TestListenerStalledClientDoesNotDelayOthers: a client that connects and
// says nothing holds only its own handshake; others are served at once,
// and the stalled one is dropped at the handshake deadline.
func TestListenerStalledClientDoesNotDelayOthers(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const handshakeTimeout = 3 * time.Second
	var mu sync.Mutex
	var failed []error
	l, err := Listen(ctx, "127.0.0.1:0", &ListenOptions{Authkey: testKey, Backlog: 1,
		Options: Options{HandshakeTimeout: handshakeTimeout},
		OnHandshakeError: func(_ net.Addr, err error) {
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		}})
	require.NoError(t, err)
	defer l.Close()

	var stalled []net.Conn
	for range 3 {
		nc, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		stalled = append(stalled, nc)
	}
	defer func() {
		for _, nc := range stalled {
			nc.Close()
		}
	}()
	start := time.Now()
	go func() {
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			_ = c.SendBytes(ctx, []byte("served"))
			c.Close()
		}
	}()
	for range 5 {
		c, err := Dial(ctx, l.Addr().String(), testKey, nil)
		require.NoError(t, err)
		got, err := c.RecvBytes(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, "served", string(got))
		c.Close()
	}
	require.Less(t, time.Since(start), handshakeTimeout, "good clients waited for the stalled ones")

	// The stalled clients are dropped at the deadline.
	for _, nc := range stalled {
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		hdr, err := ReadFrame(nc, 256)
		require.NoError(t, err)
		require.Contains(t, string(hdr), "#CHALLENGE#")
		_, err = ReadFrame(nc, 256)
		require.ErrorIs(t, err, io.EOF, "dropped")
	}
	require.GreaterOrEqual(t, time.Since(start), handshakeTimeout-100*time.Millisecond)
	// The callback runs just after the connection is closed.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(failed) == 3
	}, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, err := range failed {
		checkAuth(t, err, AuthTimeout, "timed out waiting for the reply")
	}
}

// TestListenerCloseAbandonsHandshakes: Close returns promptly with
// handshakes in progress and leaves nothing behind.
func TestListenerCloseAbandonsHandshakes(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	l, err := Listen(ctx, "@mpb-test-"+randName(), &ListenOptions{Authkey: testKey, Options: Options{HandshakeTimeout: time.Minute}})
	require.NoError(t, err)
	var conns []net.Conn
	for range 4 {
		nc, err := net.Dial("unix", l.Addr().String())
		require.NoError(t, err)
		conns = append(conns, nc)
	}
	// One authenticated connection left waiting for Accept.
	c, err := Dial(ctx, l.Addr().String(), testKey, nil)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	require.NoError(t, l.Close())
	require.Less(t, time.Since(start), 2*time.Second)
	_, err = c.RecvBytes(ctx, 0)
	require.Error(t, err, "the unaccepted connection was closed")
	c.Close()
	for _, nc := range conns {
		nc.Close()
	}
	require.NoError(t, l.Close())
}

func TestListenerMaxPending(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := Listen(ctx, "127.0.0.1:0", &ListenOptions{MaxPending: 1})
	require.NoError(t, err)
	defer l.Close()
	var clients []*Conn
	for i := range 3 {
		c, err := Dial(ctx, l.Addr().String(), nil, nil)
		require.NoError(t, err)
		require.NoError(t, c.SendBytes(ctx, []byte{byte(i)}))
		clients = append(clients, c)
	}
	for range 3 {
		s, err := l.Accept(ctx)
		require.NoError(t, err)
		_, err = s.RecvBytes(ctx, 0)
		require.NoError(t, err)
		s.Close()
	}
	for _, c := range clients {
		c.Close()
	}
}

func TestAcceptContext(t *testing.T) {
	checkLeaks(t)
	l, err := Listen(context.Background(), "127.0.0.1:0", nil)
	require.NoError(t, err)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = l.Accept(ctx)
	require.ErrorIs(t, err, mpbridge.ErrTimeout)
}

func TestDialEmptyKeyToNonAuthenticatingServer(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	// Like a CPython 3.12 Listener(authkey=b''): no challenge at all.
	l, err := Listen(ctx, "127.0.0.1:0", nil)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept(ctx)
		if err == nil {
			defer c.Close()
			_, _ = c.RecvBytes(ctx, 0)
		}
	}()
	start := time.Now()
	_, err = Dial(ctx, l.Addr().String(), []byte{}, &Options{HandshakeTimeout: 200 * time.Millisecond})
	checkAuth(t, err, AuthTimeout, "authkey=b'' does not authenticate")
	require.GreaterOrEqual(t, time.Since(start), 190*time.Millisecond)
}

func TestListenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Listen(ctx, "nonsense", nil)
	require.Error(t, err)
	l, err := Listen(ctx, filepath.Join(t.TempDir(), "s"), nil)
	require.NoError(t, err)
	defer l.Close()
	_, err = Listen(ctx, l.Addr().String(), nil)
	require.Error(t, err, "the socket file exists")
	_, err = Dial(ctx, filepath.Join(t.TempDir(), "missing"), nil, nil)
	require.Error(t, err)
}
