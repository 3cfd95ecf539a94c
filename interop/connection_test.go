package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/pytest"
)

// connSizes are the message sizes every pairing exchanges: empty, one byte,
// around CPython's 16 KiB single-write limit, and 1 MiB.
var connSizes = []int{0, 1, 16383, 16384, 16385, 1 << 20}

var connKey = []byte("interop-secret")

// connPattern is the payload of message i of n bytes; scripts/conn_peer.py
// builds the same (_pattern).
func connPattern(n, i int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(j ^ i)
	}
	return b
}

// connTransports are the channels of the Listener/Client matrix: the Go
// textual form of an address to listen on.
func connTransports(t *testing.T) []struct{ name, addr string } {
	dir, err := os.MkdirTemp("", "mpbc") // short: sun_path holds 108 bytes
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return []struct{ name, addr string }{
		{"tcp", "127.0.0.1:0"},
		{"unix", filepath.Join(dir, "s.sock")},
		{"abstract", fmt.Sprintf("@mpb-conn-%d-%d", os.Getpid(), time.Now().UnixNano())},
	}
}

// connKeyCase is one authkey pairing: the listener's key and the client's,
// and whether the Go side refuses MD5 (then legacy peers fail).
type connKeyCase struct {
	name           string
	listen, client []byte
	wrong          bool
	refuseLegacy   bool
}

var connKeyCases = []connKeyCase{
	{name: "nokey"},
	{name: "key", listen: connKey, client: connKey},
	{name: "emptykey", listen: []byte{}, client: []byte{}},
	{name: "wrongkey", listen: connKey, client: []byte("not-the-key"), wrong: true},
	{name: "refuselegacy", listen: connKey, client: connKey, refuseLegacy: true},
}

// refused reports whether the Go side refuses this peer for MD5.
func (kc connKeyCase) refused(py pytest.Python) bool { return kc.refuseLegacy && !py.Modern() }

// exchangeBytes sends every size from c to the peer's connection cid, which
// echoes them (from cid, or from the connection `to` when non-zero), and
// checks what comes back.
func exchangeBytes(t *testing.T, ctx context.Context, p *connPeer, send, recv *connection.Conn, cid, to int) {
	t.Helper()
	args := map[string]any{"cid": cid, "count": len(connSizes)}
	if to != 0 {
		args["to"] = to
	}
	echo := p.start("echo_bytes", args)
	for i, n := range connSizes {
		want := connPattern(n, i)
		require.NoError(t, send.SendBytes(ctx, want))
		got, err := recv.RecvBytes(ctx, 0)
		require.NoError(t, err, "size %d", n)
		require.True(t, bytes.Equal(want, got), "size %d came back as %d different bytes", n, len(got))
	}
	var sizes []int
	require.NoError(t, p.wait(ctx, echo, &sizes))
	require.Equal(t, connSizes, sizes)
}

// requirePyError checks an exception raised in the peer.
func requirePyError(t *testing.T, err error, typ, msg string) {
	t.Helper()
	pe, ok := err.(*connPyError)
	require.True(t, ok, "want a Python %s, got %v", typ, err)
	require.Equal(t, typ, pe.Type, pe.Error())
	require.Contains(t, pe.Msg, msg)
}

// requireAuth checks a Go handshake error.
func requireAuth(t *testing.T, err error, kind connection.AuthErrorKind, reason string) {
	t.Helper()
	var ae *connection.AuthError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, kind, ae.Kind, "%v", err)
	require.Contains(t, ae.Reason, reason)
}

// TestConnectionInterop runs the connection matrix against every installed
// CPython: Go Listener with a Python Client and Python Listener with a Go
// Dial over TCP, Unix and abstract sockets with every authkey pairing;
// descriptors handed from a Go parent to the Python peer and from a Python
// parent to a Go child; pickled values both ways. One conn_peer process per
// version serves all the cases of that version.
func TestConnectionInterop(t *testing.T) {
	// The Go child used when Python is the parent.
	fdecho, err := goBuild(t.TempDir(), "fdecho", "./connection/internal/fdecho")
	require.NoError(t, err)
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		p := startConnPeer(t, py)
		var version string
		p.must(t, ctx, "version", nil, &version)
		require.Equal(t, py.Version, version)

		for _, tr := range connTransports(t) {
			for _, kc := range connKeyCases {
				t.Run("GoListener/"+tr.name+"/"+kc.name, func(t *testing.T) { goListenerPyClient(t, ctx, p, tr.addr, kc) })
				t.Run("PyListener/"+tr.name+"/"+kc.name, func(t *testing.T) { pyListenerGoDial(t, ctx, p, tr.addr, kc) })
			}
		}
		t.Run("BadFrames", func(t *testing.T) { connBadFrames(t, ctx, p) })
		t.Run("GoParentHandsFds", func(t *testing.T) { goParentHandsFds(t, ctx, p) })
		for _, duplex := range []bool{true, false} {
			t.Run(fmt.Sprintf("PyParentHandsFds/duplex=%v", duplex), func(t *testing.T) { pyParentHandsFds(t, ctx, p, fdecho, duplex) })
		}
		t.Run("Pickles", func(t *testing.T) { connPickles(t, ctx, p, fdecho) })
	})
}

func goListenerPyClient(t *testing.T, ctx context.Context, p *connPeer, addr string, kc connKeyCase) {
	failures := make(chan error, 1)
	l, err := connection.Listen(ctx, addr, &connection.ListenOptions{Authkey: kc.listen,
		Options:          connection.Options{RefuseLegacy: kc.refuseLegacy},
		OnHandshakeError: func(_ net.Addr, err error) { failures <- err }})
	require.NoError(t, err)
	defer l.Close()
	client := p.start("client", map[string]any{"address": l.Addr().PythonRepr(), "authkey": b64(kc.client)})
	switch {
	case kc.wrong:
		requirePyError(t, p.wait(ctx, client, nil), "AuthenticationError", "digest sent was rejected")
		requireAuth(t, <-failures, connection.AuthWrongKey, "digest received was wrong")
		return
	case kc.refused(p.py):
		// The Go challenger sends #FAILURE# to the MD5 reply.
		requirePyError(t, p.wait(ctx, client, nil), "AuthenticationError", "digest sent was rejected")
		requireAuth(t, <-failures, connection.AuthProtocol, "RefuseLegacy")
		return
	}
	c, err := l.Accept(ctx)
	require.NoError(t, err)
	exchangeAndClose(t, ctx, p, c, client)
}

func pyListenerGoDial(t *testing.T, ctx context.Context, p *connPeer, addr string, kc connKeyCase) {
	a, err := connection.ParseAddress(addr)
	require.NoError(t, err)
	var l struct {
		Lid     int    `json:"lid"`
		Address string `json:"address"`
	}
	p.must(t, ctx, "listen", map[string]any{"address": a.PythonRepr(), "authkey": b64(kc.listen)}, &l)
	defer p.call(ctx, "close", map[string]any{"lid": l.Lid}, nil)
	bound, err := connection.ParsePythonAddress(l.Address)
	require.NoError(t, err, l.Address)
	if a.IsAbstract() {
		require.Equal(t, a, bound, "Python reports the abstract name as bytes")
	}
	accept := p.start("accept", map[string]any{"lid": l.Lid})
	clientKey := kc.client
	if kc.name == "emptykey" && p.py.Minor < 13 {
		// CPython ≤3.12 Listeners do not authenticate with b'': a Go client
		// with an empty key times out waiting for a challenge ...
		_, err := connection.Dial(ctx, bound.String(), []byte{}, &connection.Options{HandshakeTimeout: 300 * time.Millisecond})
		requireAuth(t, err, connection.AuthTimeout, "does not authenticate")
		var cid int
		require.NoError(t, p.wait(ctx, accept, &cid))
		p.must(t, ctx, "close", map[string]any{"cid": cid}, nil)
		// ... and one without a key gets through.
		accept = p.start("accept", map[string]any{"lid": l.Lid})
		clientKey = nil
	}
	c, err := connection.Dial(ctx, bound.String(), clientKey, &connection.Options{RefuseLegacy: kc.refuseLegacy})
	switch {
	case kc.wrong:
		requireAuth(t, err, connection.AuthWrongKey, "digest sent was rejected")
		requirePyError(t, p.wait(ctx, accept, nil), "AuthenticationError", "digest received was wrong")
		return
	case kc.refused(p.py):
		// The Go responder does not answer a legacy challenge, as CPython
		// 3.12+ does not answer one it cannot use: Python sees the close.
		requireAuth(t, err, connection.AuthProtocol, "RefuseLegacy")
		requirePyError(t, p.wait(ctx, accept, nil), "EOFError", "")
		return
	}
	require.NoError(t, err)
	exchangeAndClose(t, ctx, p, c, accept)
}

// exchangeAndClose takes the peer's connection id from pending (its client
// or accept call), exchanges every size over it, closes it on the Python
// side and checks that c then sees a clean end of stream.
func exchangeAndClose(t *testing.T, ctx context.Context, p *connPeer, c *connection.Conn, pending <-chan connReply) {
	defer c.Close()
	var cid int
	require.NoError(t, p.wait(ctx, pending, &cid))
	exchangeBytes(t, ctx, p, c, c, cid, 0)
	p.must(t, ctx, "close", map[string]any{"cid": cid}, nil)
	_, err := c.RecvBytes(ctx, 0)
	require.ErrorIs(t, err, io.EOF)
}

// connPair connects the peer as a Python Client to a Go Listener (no key)
// and returns both ends.
func connPair(t *testing.T, ctx context.Context, p *connPeer, opts *connection.Options) (*connection.Conn, int) {
	var o connection.ListenOptions
	if opts != nil {
		o.Options = *opts
	}
	l, err := connection.Listen(ctx, "127.0.0.1:0", &o)
	require.NoError(t, err)
	defer l.Close()
	client := p.start("client", map[string]any{"address": l.Addr().PythonRepr()})
	c, err := l.Accept(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	var cid int
	require.NoError(t, p.wait(ctx, client, &cid))
	return c, cid
}

// connBadFrames: truncated and oversized frames give the same failures on
// both sides: Python's OSError texts, Go's typed errors.
func connBadFrames(t *testing.T, ctx context.Context, p *connPeer) {
	truncated := []byte{0, 0, 0, 16, 'a', 'b', 'c'}
	t.Run("PythonCutsFrame", func(t *testing.T) {
		c, cid := connPair(t, ctx, p, nil)
		p.must(t, ctx, "raw_write", map[string]any{"cid": cid, "data": b64(truncated)}, nil)
		p.must(t, ctx, "close", map[string]any{"cid": cid}, nil)
		_, err := c.RecvBytes(ctx, 0)
		require.ErrorIs(t, err, mpbridge.ErrCorrupt)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Contains(t, err.Error(), "got end of file during message")
	})
	t.Run("GoCutsFrame", func(t *testing.T) {
		c, cid := connPair(t, ctx, p, nil)
		f, err := c.File()
		require.NoError(t, err)
		_, err = f.Write(truncated)
		require.NoError(t, err)
		f.Close()
		c.Close()
		err = p.call(ctx, "recv_bytes", map[string]any{"cid": cid}, nil)
		requirePyError(t, err, "OSError", "got end of file during message")
		p.must(t, ctx, "close", map[string]any{"cid": cid}, nil)
	})
	t.Run("Oversized", func(t *testing.T) {
		c, cid := connPair(t, ctx, p, &connection.Options{MaxFrame: 10})
		require.NoError(t, c.SendBytes(ctx, make([]byte, 11)))
		err := p.call(ctx, "recv_bytes", map[string]any{"cid": cid, "maxlength": 10}, nil)
		requirePyError(t, err, "OSError", "bad message length")
		p.must(t, ctx, "send_bytes", map[string]any{"cid": cid, "data": b64(make([]byte, 11))}, nil)
		_, err = c.RecvBytes(ctx, 0)
		require.ErrorIs(t, err, mpbridge.ErrTooLarge)
		require.Contains(t, err.Error(), "bad message length")
		p.must(t, ctx, "close", map[string]any{"cid": cid}, nil)
	})
}

// goParentHandsFds: the peer inherited a socketpair end (fd 3) and two
// os.pipe ends (fds 4 and 5) from this process; it wraps them in
// multiprocessing.connection.Connection and exchanges frames.
func goParentHandsFds(t *testing.T, ctx context.Context, p *connPeer) {
	var sock, in, out int
	p.must(t, ctx, "fromfd", map[string]any{"fd": 3}, &sock)
	p.must(t, ctx, "fromfd", map[string]any{"fd": 4, "writable": false}, &in)
	p.must(t, ctx, "fromfd", map[string]any{"fd": 5, "readable": false}, &out)
	exchangeBytes(t, ctx, p, p.sock, p.sock, sock, 0)
	exchangeBytes(t, ctx, p, p.toPy, p.fromPy, in, out)
	for _, cid := range []int{sock, in, out} {
		p.must(t, ctx, "close", map[string]any{"cid": cid}, nil)
	}
	_, err := p.sock.RecvBytes(ctx, 0)
	require.ErrorIs(t, err, io.EOF)
	_, err = p.fromPy.RecvBytes(ctx, 0)
	require.ErrorIs(t, err, io.EOF)
}

// pyParentHandsFds: the peer makes a Pipe, hands one end to a Go child
// (connection/internal/fdecho) and checks that its frames come back.
func pyParentHandsFds(t *testing.T, ctx context.Context, p *connPeer, fdecho string, duplex bool) {
	var res struct {
		RC     int    `json:"rc"`
		Stderr string `json:"stderr"`
		Got    []int  `json:"got"`
	}
	p.must(t, ctx, "spawn", map[string]any{"argv": []string{fdecho}, "duplex": duplex, "sizes": connSizes}, &res)
	require.Equal(t, 0, res.RC, res.Stderr)
	require.Equal(t, connSizes, res.Got)
}
