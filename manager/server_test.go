package manager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

var testKey = []byte("secret-key")

type testServer struct {
	*Server
	addr string
	done chan error
}

// startServer serves srv on a fresh local TCP port until the test ends.
func startServer(t testing.TB, srv *Server) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Listen(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	ts := &testServer{Server: srv, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return ts
}

func newQueueServer(t testing.TB, maxsize int, opts *ServerOptions) (*testServer, *Queue) {
	if opts == nil {
		opts = &ServerOptions{}
	}
	opts.Authkey = testKey
	srv := NewServer(opts)
	q := NewQueue(maxsize)
	srv.RegisterQueue("get_queue", q)
	return startServer(t, srv), q
}

func dial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, testKey, nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// openQueue returns a proxy of get_queue, closed when the test ends.
func openQueue(t testing.TB, c *Client) *QueueProxy {
	t.Helper()
	p, err := c.Queue(context.Background(), "get_queue", nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestClientServerQueue(t *testing.T) {
	ts, _ := newQueueServer(t, 3, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	q, err := c.Queue(ctx, "get_queue", nil, nil)
	require.NoError(t, err)
	require.Equal(t, queueExposed, q.Exposed())
	n, err := c.NumberOfObjects(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	require.NoError(t, q.Put(ctx, "a"))
	require.NoError(t, q.PutNowait(ctx, int64(2)))
	require.NoError(t, q.Put(ctx, pickle.Tuple{1.5, nil}))
	full, err := q.Full(ctx)
	require.NoError(t, err)
	require.True(t, full)
	require.ErrorIs(t, q.PutNowait(ctx, "x"), mpbridge.ErrFull)
	start := time.Now() // before the deadline is set: an exact lower bound
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	require.ErrorIs(t, q.Put(tctx, "x"), mpbridge.ErrFull)
	cancel()
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	size, err := q.Qsize(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, size)

	for _, want := range []any{"a", int64(2), pickle.Tuple{1.5, nil}} {
		v, err := q.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	empty, err := q.Empty(ctx)
	require.NoError(t, err)
	require.True(t, empty)
	_, err = q.GetNowait(ctx)
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	start = time.Now()
	tctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = q.Get(tctx)
	cancel()
	require.ErrorIs(t, err, mpbridge.ErrEmpty)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	for i := 0; i < 3; i++ {
		require.NoError(t, q.TaskDone(ctx))
	}
	err = q.TaskDone(ctx)
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "ValueError", pe.Name())
	require.NoError(t, q.Join(ctx))

	require.NoError(t, q.Close())
	n, err = c.NumberOfObjects(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, n)
}

func TestServerRefcounts(t *testing.T) {
	ts, _ := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p1, err := c.Create(ctx, "get_queue", nil, nil)
	require.NoError(t, err)
	p2, err := c.Create(ctx, "get_queue", nil, nil)
	require.NoError(t, err)
	require.Equal(t, p1.Token().ID, p2.Token().ID, "one shared object, one ident")
	require.Regexp(t, `^[0-9a-f]+$`, p1.Token().ID)
	info, err := c.DebugInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("  %s:       refcount=2\n    <queue.Queue object at 0x%s>", p1.Token().ID, p1.Token().ID), info)
	require.NoError(t, c.Incref(ctx, p1.Token().ID))
	require.NoError(t, c.Decref(ctx, p1.Token().ID))
	require.NoError(t, p1.Close())
	require.NoError(t, p1.Close(), "closing twice is fine")
	n, _ := c.NumberOfObjects(ctx)
	require.Equal(t, 1, n)
	require.NoError(t, p2.Close())
	n, _ = c.NumberOfObjects(ctx)
	require.Equal(t, 0, n)

	var re *RemoteError
	err = c.Decref(ctx, p1.Token().ID)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "KeyError", re.Type)
	err = c.Incref(ctx, "deadbeef")
	require.ErrorAs(t, err, &re)
	require.Equal(t, "KeyError", re.Type)
	require.Equal(t, "'deadbeef'", re.Message)
	_, err = p1.Call(ctx, "qsize", nil, nil)
	require.ErrorIs(t, err, mpbridge.ErrClosed)
}

func TestServerErrorsAndFallbacks(t *testing.T) {
	ts, _ := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	var re *RemoteError

	_, err := c.Create(ctx, "nope", nil, nil)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "KeyError", re.Type)
	require.True(t, strings.HasPrefix(re.Text, "Traceback (most recent call last):\n"), re.Text)

	_, err = c.ServerCall(ctx, "bogus", nil, nil)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "AssertionError", re.Type)
	require.Equal(t, "'bogus' unrecognized", re.Message)

	_, err = c.Create(ctx, "get_queue", pickle.Tuple{1}, nil)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "TypeError", re.Type)

	p, err := c.Create(ctx, "get_queue", nil, nil)
	require.NoError(t, err)
	defer p.Close()
	s, err := p.Repr(ctx)
	require.NoError(t, err)
	require.Equal(t, "<queue.Queue object at 0x"+p.Token().ID+">", s)
	v, err := p.Call(ctx, "__str__", nil, nil)
	require.NoError(t, err)
	require.Equal(t, s, v)

	_, err = p.Call(ctx, "not_exposed", nil, nil)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "KeyError", re.Type)
	require.Contains(t, re.Text, "AttributeError: method 'not_exposed' of <class 'queue.Queue'> object is not in exposed=")
	require.Contains(t, re.Text, "During handling of the above exception, another exception occurred:")

	_, err = p.GetValue(ctx)
	require.ErrorAs(t, err, &re)
	require.Equal(t, KindUnserializable, re.Kind)
	require.Contains(t, re.Error(), "Unserializable message: ")

	// An exception raised by the method is #ERROR: the exception object.
	_, err = p.Call(ctx, "get", pickle.Tuple{true, -1}, nil)
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "ValueError", pe.Name())
	require.Equal(t, pickle.Tuple{"'timeout' must be a non-negative number"}, pe.Args())
}

// thing mirrors the Python test type of PROTOCOL.md §3.13.
type thing struct{ value int64 }

func (t *thing) Exposed() []string { return []string{"boom", "value"} }

func (t *thing) MayBlock(string, pickle.Tuple, *pickle.Dict) bool { return false }

func (t *thing) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "value":
		return t.value, nil
	case "child":
		return &thing{t.value + 1}, nil
	case "boom":
		return nil, ExcKeyError("missing-key")
	case "chan":
		return make(chan int), nil
	}
	return nil, ErrNoMethod
}

func (t *thing) PyValue() (any, error) { return t.value, nil }

func TestServerProxyResults(t *testing.T) {
	srv := NewServer(&ServerOptions{Authkey: testKey})
	srv.Register("Thing", func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (Object, error) {
		a, err := Signature{Name: "Thing", Params: []string{"value"}, Defaults: []any{int64(0)}}.Bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		v, _ := a[0].(int64)
		return &thing{v}, nil
	}, &RegisterOptions{MethodToTypeid: map[string]string{"child": "ThingRef"}, Exposed: []string{"boom", "value", "chan"}})
	srv.Register("ThingRef", nil, nil)
	ts := startServer(t, srv)
	c := dial(t, ts.addr)
	ctx := context.Background()

	p, err := c.Create(ctx, "Thing", pickle.Tuple{int64(5)}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"boom", "value", "chan", "child"}, p.Exposed())
	v, err := p.Call(ctx, "child", nil, nil)
	require.NoError(t, err)
	child, ok := v.(*Proxy)
	require.True(t, ok, "%T", v)
	require.Equal(t, "ThingRef", child.Token().Typeid)
	require.Equal(t, c.Address().Python(), child.Token().Address)
	v, err = child.Call(ctx, "value", nil, nil)
	require.NoError(t, err)
	require.Equal(t, int64(6), v)
	v, err = child.GetValue(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(6), v)
	n, _ := c.NumberOfObjects(ctx)
	require.Equal(t, 2, n)

	m, err := c.GetMethods(ctx, child.Token())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"boom", "value"}, m)

	_, err = p.Call(ctx, "boom", nil, nil)
	var pe *pickle.Exception
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "KeyError", pe.Name())

	_, err = p.Call(ctx, "chan", nil, nil)
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	require.Equal(t, KindUnserializable, re.Kind)

	require.NoError(t, child.Close())
	require.NoError(t, p.Close())
	n, _ = c.NumberOfObjects(ctx)
	require.Equal(t, 0, n)
}

func TestServerShutdown(t *testing.T) {
	ts, _ := newQueueServer(t, 0, &ServerOptions{RefuseShutdown: true})
	c := dial(t, ts.addr)
	ctx := context.Background()
	var re *RemoteError
	require.ErrorAs(t, c.Shutdown(ctx), &re)
	require.Equal(t, "PermissionError", re.Type)
	require.NoError(t, c.Dummy(ctx))

	ts2, _ := newQueueServer(t, 0, nil)
	c2 := dial(t, ts2.addr)
	// Two replies, as CPython: read both on a raw connection.
	conn, err := connection.Dial(ctx, ts2.addr, testKey, nil)
	require.NoError(t, err)
	defer conn.Close()
	req, _ := encodeRequest(nil, "shutdown", nil, nil)
	require.NoError(t, conn.SendBytes(ctx, req))
	for i := 0; i < 2; i++ {
		kind, payload, err := recvReply(ctx, conn)
		require.NoError(t, err)
		require.Equal(t, KindReturn, kind)
		require.Nil(t, payload)
	}
	select {
	case err := <-ts2.done:
		require.NoError(t, err)
		ts2.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
	require.True(t, ts2.ShutdownRequested())
	require.Error(t, c2.Dummy(ctx))
}

func TestServerWrongAuthkey(t *testing.T) {
	ts, _ := newQueueServer(t, 0, nil)
	_, err := Dial(context.Background(), ts.addr, []byte("wrong"), nil)
	require.ErrorIs(t, err, mpbridge.ErrAuthentication)
	c := dial(t, ts.addr)
	require.NoError(t, c.Dummy(context.Background()))
}

// rawChannel opens an authenticated method-call channel by hand.
func rawChannel(t *testing.T, addr string) *connection.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := connection.Dial(ctx, addr, testKey, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	req, _ := encodeRequest(nil, "accept_connection", pickle.Tuple{"raw"}, nil)
	kind, _, err := roundTrip(ctx, conn, req)
	require.NoError(t, err)
	require.Equal(t, KindReturn, kind)
	return conn
}

func TestServerHostileInput(t *testing.T) {
	ts, q := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p := openQueue(t, c)

	// An empty frame is a pickle that does not decode.
	conn := rawChannel(t, ts.addr)
	require.NoError(t, conn.SendBytes(ctx, nil))
	kind, _, err := recvReply(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, KindTraceback, kind)

	garbage := [][]byte{
		[]byte("\x80\x04garbage."),
		[]byte("\x80\x04K\x01."),        // not a tuple
		[]byte("\x80\x04(K\x01K\x02t."), // wrong length
		[]byte("\x80\x04(X\x03\x00\x00\x00abcX\x03\x00\x00\x00getK\x01K\x02t."), // args, kwds not a tuple/dict
		[]byte("\x80\x04" + strings.Repeat("(", 100000) + "."),
		[]byte("\x80\x04" + strings.Repeat("]", 100000) + "."),
	}
	conn2 := rawChannel(t, ts.addr)
	for _, g := range garbage {
		require.NoError(t, conn2.SendBytes(ctx, g))
		kind, _, err := recvReply(ctx, conn2)
		require.NoError(t, err, "%q", g)
		require.Equal(t, KindTraceback, kind, "%q", g)
	}
	require.NoError(t, p.Put(ctx, "still works"))
	v, err := p.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "still works", v)
	require.Equal(t, 0, q.qsize())
}

// rawDial authenticates a socket by hand and returns it with its Conn, so
// that a test can write bytes no Conn would.
func rawDial(t *testing.T, addr string) (net.Conn, *connection.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	conn := connection.NewConn(nc, nil)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, connection.AnswerChallenge(ctx, conn, testKey))
	require.NoError(t, connection.DeliverChallenge(ctx, conn, testKey))
	return nc, conn
}

func TestServerHugeFrame(t *testing.T) {
	for _, hdr := range [][]byte{
		{0x7f, 0xff, 0xff, 0xff},                                                 // 2 GiB - 1
		{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0},                      // 2 GiB, 64-bit form
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // absurd
		{0x80, 0, 0, 0}, // negative
	} {
		ts, _ := newQueueServer(t, 0, nil)
		ctx := context.Background()
		nc, conn := rawDial(t, ts.addr)
		_, err := nc.Write(append(hdr, "\x80\x04"...))
		require.NoError(t, err)
		// The server drops the connection without reading 2 GiB.
		_, err = conn.RecvBytes(ctx, 0)
		require.Error(t, err)
		c := dial(t, ts.addr)
		require.NoError(t, c.Dummy(ctx))
	}
}

// A client whose connection closes while blocked in get must not take the
// next item: the server cancels the get.
func TestServerCancelsGetOfClosedConnection(t *testing.T) {
	ts, q := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p := openQueue(t, c)

	conn := rawChannel(t, ts.addr)
	req, _ := encodeRequest(p.Token().ID, "get", nil, nil)
	require.NoError(t, conn.SendBytes(ctx, req))
	require.Eventually(t, func() bool { g, _ := q.Waiters(); return g == 1 }, 5*time.Second, time.Millisecond)
	conn.Close()
	require.Eventually(t, func() bool { g, _ := q.Waiters(); return g == 0 }, 5*time.Second, time.Millisecond)
	require.NoError(t, p.Put(ctx, "next"))
	v, err := p.GetNowait(ctx)
	require.NoError(t, err)
	require.Equal(t, "next", v)
}

// Cancelling a Go client's Get leaves nothing behind and loses nothing.
func TestClientCancelledGet(t *testing.T) {
	ts, q := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p := openQueue(t, c)
	p.Slice = 200 * time.Millisecond
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := p.Get(cctx); done <- err }()
	require.Eventually(t, func() bool { g, _ := q.Waiters(); return g == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, p.Put(ctx, "x"))
	v, err := p.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, "x", v)
}

func TestClientManyBlockedGets(t *testing.T) {
	ts, _ := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p := openQueue(t, c)
	const n = 32
	var wg sync.WaitGroup
	got := make(chan any, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := p.Get(ctx)
			if err != nil {
				got <- err
				return
			}
			got <- v
		}()
	}
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < n; i++ {
		require.NoError(t, p.Put(ctx, int64(i)))
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for v := range got {
		i, ok := v.(int64)
		require.True(t, ok, "%v", v)
		seen[i] = true
	}
	require.Len(t, seen, n)
}

func TestRemoteErrorFormat(t *testing.T) {
	e := newRemoteError(KindTraceback, "Traceback (most recent call last):\n  File \"x\", line 1, in f\nKeyError: 'k'\n")
	require.Equal(t, "KeyError", e.Type)
	require.Equal(t, "'k'", e.Message)
	require.Contains(t, e.Error(), strings.Repeat("-", 75))
	require.False(t, errors.Is(e, mpbridge.ErrAuthentication))
}

// The server and client work over every address form: TCP IPv4 and IPv6,
// a Unix socket path and a Linux abstract name; tokens carry the server's
// address in Python's form.
func TestAddressForms(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", dir + "/m.sock", fmt.Sprintf("@mpbridge-test-%d", time.Now().UnixNano())} {
		t.Run(addr, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l, err := connection.Listen(ctx, addr, nil)
			if err != nil && strings.HasPrefix(addr, "[::1]") {
				t.Skipf("no IPv6: %v", err)
			}
			require.NoError(t, err)
			srv := NewServer(&ServerOptions{Authkey: testKey})
			srv.RegisterQueue("get_queue", NewQueue(0))
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, l) }()
			c := dial(t, l.Addr().String())
			q, err := c.Queue(ctx, "get_queue", nil, nil)
			require.NoError(t, err)
			require.NoError(t, q.Put(ctx, "x"))
			v, err := q.Get(ctx)
			require.NoError(t, err)
			require.Equal(t, "x", v)
			require.NoError(t, q.Close())
			want := l.Addr().Python()
			require.Equal(t, want, srv.Address())
			switch {
			case strings.HasPrefix(addr, "@"):
				require.Equal(t, "\x00"+addr[1:], want)
			case strings.HasPrefix(addr, "/"):
				require.Equal(t, addr, want)
			default:
				tup, ok := want.(pickle.Tuple)
				require.True(t, ok)
				require.Len(t, tup, 2)
			}
			cancel()
			<-done
		})
	}
}

// owned records the callers it sees and the connections that closed, as an
// RLock must to release what a vanished connection held.
type owned struct {
	mu      sync.Mutex
	callers []CallerInfo
	closed  []CallerInfo
}

func (o *owned) Exposed() []string { return []string{"who"} }

func (o *owned) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	c, ok := CallerFromContext(ctx)
	if !ok {
		return nil, ExcRuntimeError("no caller")
	}
	o.mu.Lock()
	o.callers = append(o.callers, c)
	o.mu.Unlock()
	return int64(c.ConnID), nil
}

func (o *owned) ConnClosed(c CallerInfo) {
	o.mu.Lock()
	o.closed = append(o.closed, c)
	o.mu.Unlock()
}

func TestServerCallerAndConnClosed(t *testing.T) {
	obj := &owned{}
	srv := NewServer(&ServerOptions{Authkey: testKey})
	srv.Register("Owned", func(context.Context, pickle.Tuple, *pickle.Dict) (Object, error) { return obj, nil }, nil)
	ts := startServer(t, srv)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p, err := c.Create(ctx, "Owned", nil, nil)
	require.NoError(t, err)
	defer p.Close()
	a, err := p.Call(ctx, "who", nil, nil)
	require.NoError(t, err)
	b, err := p.Call(ctx, "who", nil, nil)
	require.NoError(t, err)
	require.Equal(t, a, b, "sequential calls reuse the pooled connection")
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool {
		obj.mu.Lock()
		defer obj.mu.Unlock()
		return len(obj.closed) == 1
	}, 5*time.Second, time.Millisecond)
	obj.mu.Lock()
	defer obj.mu.Unlock()
	require.Equal(t, uint64(a.(int64)), obj.closed[0].ConnID)
	require.True(t, strings.HasPrefix(obj.closed[0].Name, "mpbridge-go-"), obj.closed[0].Name)
}

// A client that connects and never answers the challenge holds only its
// own connection, which the server drops after HandshakeTimeout.
func TestServerSlowHandshake(t *testing.T) {
	ts, _ := newQueueServer(t, 0, &ServerOptions{HandshakeTimeout: 200 * time.Millisecond})
	nc, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer nc.Close()
	start := time.Now()
	c := dial(t, ts.addr)
	require.NoError(t, c.Dummy(context.Background()))
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 4096)
	for {
		if _, err := nc.Read(buf); err != nil {
			break // the server closed it
		}
	}
	el := time.Since(start)
	require.GreaterOrEqual(t, el, 200*time.Millisecond)
	require.Less(t, el, 5*time.Second)
}

func TestServeConn(t *testing.T) {
	srv := NewServer(&ServerOptions{Authkey: testKey})
	srv.RegisterQueue("get_queue", NewQueue(0))
	a, b, err := connection.Pipe(true)
	require.NoError(t, err)
	ctx := context.Background()
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeConn(ctx, b) }()
	require.NoError(t, connection.AnswerChallenge(ctx, a, testKey))
	require.NoError(t, connection.DeliverChallenge(ctx, a, testKey))
	req, _ := encodeRequest(nil, "create", pickle.Tuple{"get_queue"}, nil)
	kind, payload, err := roundTrip(ctx, a, req)
	require.NoError(t, err)
	require.Equal(t, KindReturn, kind)
	require.Len(t, payload, 2)
	<-done
	require.Equal(t, 1, srv.NumberOfObjects())
	a.Close()
}
