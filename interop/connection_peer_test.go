package interop

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/pytest"
)

// connPeer drives one scripts/conn_peer.py process. Requests run
// concurrently in the peer, so a call may block (accept) while others
// proceed. The peer inherits three descriptors: fd 3 is the far end of
// sock, fd 4 the read end of the pipe toPy writes, fd 5 the write end of
// the pipe fromPy reads.
type connPeer struct {
	py pytest.Python

	wmu sync.Mutex
	in  io.WriteCloser

	mu      sync.Mutex
	next    int
	pending map[int]chan connReply
	gone    error

	sock   *connection.Conn
	toPy   *connection.Conn
	fromPy *connection.Conn
}

type connReply struct {
	Result json.RawMessage `json:"result"`
	Error  *connPyError    `json:"error"`
	ID     int             `json:"id"`
}

// connPyError is an exception raised in the peer.
type connPyError struct {
	Type      string `json:"type"`
	Msg       string `json:"msg"`
	Traceback string `json:"traceback"`
}

func (e *connPyError) Error() string {
	return fmt.Sprintf("python %s: %s\n%s", e.Type, e.Msg, e.Traceback)
}

// startConnPeer starts the peer for py, killed when t ends.
func startConnPeer(t testing.TB, py pytest.Python) *connPeer {
	t.Helper()
	p := &connPeer{py: py, pending: map[int]chan connReply{}}
	sockMine, sockTheirs, err := connection.Pipe(true)
	require.NoError(t, err)
	toPyR, toPyW, err := connection.Pipe(false)
	require.NoError(t, err)
	fromPyR, fromPyW, err := connection.Pipe(false)
	require.NoError(t, err)
	p.sock, p.toPy, p.fromPy = sockMine, toPyW, fromPyR
	var inherit []*os.File
	for _, c := range []*connection.Conn{sockTheirs, toPyR, fromPyW} {
		f, err := c.File()
		require.NoError(t, err)
		inherit = append(inherit, f)
		require.NoError(t, c.Close())
	}

	cmd := py.Command(pytest.Script("conn_peer.py"))
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = inherit
	p.in, err = cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	pytest.Start(t, cmd)
	for _, f := range inherit {
		f.Close()
	}
	t.Cleanup(func() {
		p.in.Close()
		p.sock.Close()
		p.toPy.Close()
		p.fromPy.Close()
	})
	go p.readLoop(out)
	return p
}

func (p *connPeer) readLoop(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r connReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue
		}
		p.mu.Lock()
		ch := p.pending[r.ID]
		delete(p.pending, r.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	p.mu.Lock()
	p.gone = fmt.Errorf("conn_peer %s exited: %v", p.py.Version, sc.Err())
	for id, ch := range p.pending {
		ch <- connReply{ID: id, Error: &connPyError{Type: "PeerExited", Msg: p.gone.Error()}}
		delete(p.pending, id)
	}
	p.mu.Unlock()
}

// start sends a request and returns the channel its reply arrives on.
func (p *connPeer) start(op string, args map[string]any) <-chan connReply {
	ch := make(chan connReply, 1)
	req := map[string]any{"op": op}
	for k, v := range args {
		req[k] = v
	}
	p.mu.Lock()
	if p.gone != nil {
		p.mu.Unlock()
		ch <- connReply{Error: &connPyError{Type: "PeerExited", Msg: p.gone.Error()}}
		return ch
	}
	p.next++
	req["id"] = p.next
	p.pending[p.next] = ch
	p.mu.Unlock()
	b, _ := json.Marshal(req)
	p.wmu.Lock()
	_, err := p.in.Write(append(b, '\n'))
	p.wmu.Unlock()
	if err != nil {
		p.mu.Lock()
		delete(p.pending, req["id"].(int))
		p.mu.Unlock()
		ch <- connReply{Error: &connPyError{Type: "PeerExited", Msg: err.Error()}}
	}
	return ch
}

// wait waits for a reply and decodes its result into out (if non-nil).
func (p *connPeer) wait(ctx context.Context, ch <-chan connReply, out any) error {
	select {
	case r := <-ch:
		if r.Error != nil {
			return r.Error
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("conn_peer %s: no reply: %w", p.py.Version, ctx.Err())
	}
}

// call is start then wait.
func (p *connPeer) call(ctx context.Context, op string, args map[string]any, out any) error {
	return p.wait(ctx, p.start(op, args), out)
}

// must is call that fails the test on error.
func (p *connPeer) must(t testing.TB, ctx context.Context, op string, args map[string]any, out any) {
	t.Helper()
	require.NoError(t, p.call(ctx, op, args, out))
}

// b64 encodes an authkey for the peer: nil stays null.
func b64(key []byte) any {
	if key == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(key)
}
