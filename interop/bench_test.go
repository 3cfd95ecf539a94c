package interop

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/pytest"
)

// BenchmarkPipeWithPython/<channel>/<size>/<rtt|stream>: Go Conns
// exchanging frames with a CPython process (conn_peer.py, echoing from a
// thread with recv_bytes_into a reused buffer, as bench_conn.py's child
// does) over the channels multiprocessing hands to children, to show how
// the Go side's choices fare across processes and not only between
// goroutines (BenchmarkConn in the connection package). It led to
// descriptor Conns waiting in poll(2) rather than Go's poller, which
// doubled these round trips.
//
//   - socketpair: the Go end of a Pipe(true), Python holding the other.
//   - pipe: two Pipe(false)s, Go writing one and reading the other.
//
// rtt: Go sends, Python echoes. stream: Go sends b.N frames from one
// goroutine while another receives the echoes.
//
//	go test -run '^$' -bench BenchmarkPipeWithPython ./interop/
//
// The newest CPython found is used (MPBRIDGE_PYTHONS picks another).
func BenchmarkPipeWithPython(b *testing.B) {
	pys := pytest.Pythons(b)
	py := pys[len(pys)-1]
	for _, ch := range []string{"socketpair", "pipe"} {
		for _, size := range []int{512, 64 << 10} {
			for _, mode := range []string{"rtt", "stream"} {
				if mode == "stream" && size > 512 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%d/%s", ch, size, mode), func(b *testing.B) {
					benchPipeWithPython(b, py, ch, size, mode)
				})
			}
		}
	}
}

func benchPipeWithPython(b *testing.B, py pytest.Python, ch string, size int, mode string) {
	ctx := context.Background()
	p := startConnPeer(b, py)
	var send, recv *connection.Conn
	args := map[string]any{}
	if ch == "socketpair" {
		send, recv = p.sock, p.sock
		var cid int
		p.must(b, ctx, "fromfd", map[string]any{"fd": 3}, &cid)
		args["cid"] = cid
	} else {
		send, recv = p.toPy, p.fromPy
		var in, out int
		p.must(b, ctx, "fromfd", map[string]any{"fd": 4, "writable": false}, &in)
		p.must(b, ctx, "fromfd", map[string]any{"fd": 5, "readable": false}, &out)
		args["cid"], args["to"] = in, out
	}
	msg := make([]byte, size)
	buf := make([]byte, size)
	echo := func(n int) <-chan connReply {
		a := map[string]any{"count": n, "into": size}
		for k, v := range args {
			a[k] = v
		}
		return p.start("echo_bytes", a)
	}
	warm := echo(10) // the peer's thread, both ends' buffers
	for range 10 {
		require.NoError(b, send.SendBytes(ctx, msg))
		_, err := recv.RecvBytesInto(ctx, buf)
		require.NoError(b, err)
	}
	require.NoError(b, p.wait(ctx, warm, nil))
	done := echo(b.N)
	b.SetBytes(int64(size))
	b.ResetTimer()
	if mode == "rtt" {
		for range b.N {
			if err := send.SendBytes(ctx, msg); err != nil {
				b.Fatal(err)
			}
			if _, err := recv.RecvBytesInto(ctx, buf); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		errc := make(chan error, 1)
		go func() {
			for range b.N {
				if err := send.SendBytes(ctx, msg); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for range b.N {
			if _, err := recv.RecvBytesInto(ctx, buf); err != nil {
				b.Fatal(err)
			}
		}
		require.NoError(b, <-errc)
	}
	b.StopTimer()
	require.NoError(b, p.wait(ctx, done, nil))
}
