package manager

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

// Request frames captured from CPython 3.12 (PROTOCOL.md §3.12).
var capturedRequests = []string{
	// (None, 'create', ('get_queue',), {})
	"8004951e00000000000000284e8c06637265617465948c096765745f71756575659485947d9474942e",
	// ('7fe8313bdb80', 'get', (), {'timeout': 0.5})
	"8004953000000000000000288c0c376665383331336264623830948c0367657494297d948c0774696d656f757494473fe00000000000007374942e",
	// (None, 'dummy', (), {})
	"8004951000000000000000284e8c0564756d6d7994297d9474942e",
	// (None, 'accept_connection', ('MainProcess|Thread-1',), {})
	"8004953400000000000000284e8c116163636570745f636f6e6e656374696f6e948c144d61696e50726f636573737c5468726561642d319485947d9474942e",
}

func seedRequests(f *testing.F) {
	for _, h := range capturedRequests {
		b, err := hex.DecodeString(h)
		if err == nil {
			f.Add(b)
		}
	}
	for _, v := range []any{
		pickle.Tuple{"1", "put", pickle.Tuple{"x", true, 0.01}, pickle.NewDict(0)},
		pickle.Tuple{"1", "get", pickle.Tuple{false}, pickle.NewDict(0)},
		pickle.Tuple{"1", "qsize", pickle.Tuple{}, pickle.NewDict(0)},
		pickle.Tuple{nil, "create", pickle.Tuple{"get_queue"}, pickle.NewDict(0)},
		pickle.Tuple{"1", "#GETVALUE", pickle.Tuple{}, pickle.NewDict(0)},
	} {
		b, err := pickle.Dumps(v, 4)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x80\x04."))
	f.Add([]byte{})
}

// FuzzDecodeRequest checks the request decoder on arbitrary bytes: it
// never panics, and a request it accepts re-encodes to a pickle that
// decodes to the same request (decode → encode → decode is stable).
func FuzzDecodeRequest(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, exc, err := decodeRequest(data)
		if err != nil || exc != nil {
			return
		}
		enc, err := pickle.Dumps(pickle.Tuple{req.id, req.method, req.args, req.kwargs}, 4)
		if err != nil {
			return // e.g. an unhashable value inside a set key cannot be written back
		}
		req2, exc2, err := decodeRequest(enc)
		require.NoError(t, err)
		require.Nil(t, exc2)
		enc2, err := pickle.Dumps(pickle.Tuple{req2.id, req2.method, req2.args, req2.kwargs}, 4)
		require.NoError(t, err)
		require.True(t, bytes.Equal(enc, enc2), "re-encoding is not stable")
	})
}

// FuzzServeRequest runs arbitrary frames through the server's method-call
// path against a live queue: no panic, always a reply that decodes.
func FuzzServeRequest(f *testing.F) {
	seedRequests(f)
	srv := NewServer(nil)
	q := NewQueue(4)
	srv.RegisterQueue("get_queue", q)
	ident, _, err := srv.create(context.Background(), "get_queue", nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []string{"put", "get", "put_nowait", "get_nowait", "task_done", "join", "shutdown", "__repr__", "#GETVALUE", "qsize"} {
		b, _ := pickle.Dumps(pickle.Tuple{ident, m, pickle.Tuple{int64(1)}, pickle.NewDict(0)}, 4)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, reply := srv.prepareCall(data)
		if reply == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			reply, _ = srv.runCall(ctx, c)
			cancel()
		}
		kind, _, err := decodeReply(reply)
		require.NoError(t, err)
		require.Contains(t, []string{KindReturn, KindError, KindTraceback, KindProxy, KindUnserializable}, kind)
	})
}
