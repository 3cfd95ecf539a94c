package connection

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpbridge/mpbridge"
)

// DefaultHandshakeTimeout bounds a handshake when Options.HandshakeTimeout
// is zero.
const DefaultHandshakeTimeout = 10 * time.Second

// Options configures a Conn. A nil *Options, and zero fields, mean the
// defaults.
type Options struct {
	// MaxFrame caps the payload of an incoming frame (DefaultMaxFrame when
	// zero or negative). A larger frame is refused before anything is
	// allocated, with an error wrapping mpbridge.ErrTooLarge.
	MaxFrame int64
	// HandshakeTimeout bounds an authkey handshake made by Dial or by a
	// Listener (DefaultHandshakeTimeout when zero; negative: no limit
	// beyond the context's).
	HandshakeTimeout time.Duration
	// RefuseLegacy makes handshakes reject HMAC-MD5, i.e. every CPython
	// 3.11 or older peer and any peer choosing MD5. CPython has no such
	// option.
	RefuseLegacy bool
	// ReadAheadTCP lets a Conn over a TCP socket read ahead as one over a
	// Unix socket always does: a frame's header and a small payload then
	// cost one read(2) instead of two. It pays where each side waits for
	// the other's reply before sending again (a manager's requests and
	// replies: a 512-byte round trip on loopback 10% faster), and costs
	// where one side streams small frames (a receiver that drains each
	// segment as it comes is woken for every one: ~3× the CPU a frame),
	// so it is off by default. The manager package sets it on its
	// connections. See BenchmarkTCPReadAhead.
	ReadAheadTCP bool
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxFrame <= 0 {
		r.MaxFrame = DefaultMaxFrame
	}
	if r.HandshakeTimeout == 0 {
		r.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return r
}

// Conn is one end of a multiprocessing Connection: a byte stream carrying
// frames. Its methods may be called from several goroutines at once: sends
// are serialized by one mutex and receives (and Poll) by another, so one
// goroutine may send while another receives and frames never interleave.
type Conn struct {
	tr       transport
	readable bool
	writable bool
	opts     Options
	maxFrame atomic.Int64
	closed   atomic.Bool

	sendMu sync.Mutex
	cw     countingIO // writes through tr, counting bytes of the frame
	wbuf   []byte     // header+payload of small frames
	werr   error      // set once a frame was cut short: the stream is lost

	recvMu sync.Mutex
	cr     countingIO
	hdr    [maxHeader]byte
	rerr   error // set once a frame was half read or refused

	closeOnce sync.Once
	closeErr  error
	remote    net.Addr
}

// countingIO forwards to the transport and counts the bytes moved, to tell
// an error at a frame boundary from one in the middle of a frame.
type countingIO struct {
	tr transport
	n  int64
}

func (c *countingIO) Read(p []byte) (int, error) {
	n, err := c.tr.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingIO) Write(p []byte) (int, error) {
	n, err := c.tr.Write(p)
	c.n += int64(n)
	return n, err
}

func newConn(tr transport, readable, writable bool, opts *Options) *Conn {
	c := &Conn{tr: tr, readable: readable, writable: writable, opts: opts.withDefaults()}
	c.maxFrame.Store(c.opts.MaxFrame)
	c.cw.tr, c.cr.tr = tr, tr
	return c
}

// NewConn makes a duplex Conn over nc (a TCP or Unix socket, or anything
// else that is a net.Conn). The Conn owns nc: Close closes it. Deadlines on
// nc are managed by the Conn from the contexts it is given. Because nc
// belongs to this process alone, a Conn over a Unix socket (or a TCP socket
// with Options.ReadAheadTCP) reads ahead (a frame's header and a small
// payload cost one read(2)) until Fd or File is first called; File refuses
// to hand nc over while read-ahead input is waiting.
func NewConn(nc net.Conn, opts *Options) *Conn {
	tr := newPollerTransport(nc)
	c := newConn(tr, true, true, opts)
	// Read-ahead pays on Unix sockets (+35% throughput of 512-byte
	// frames, +10% round trips); on loopback TCP it made a stream of small
	// frames ~3× dearer (a receiver that drains each segment at once is
	// woken for every one) for 10% faster 512-byte round trips, so TCP
	// reads exactly unless asked (BenchmarkTCPReadAhead).
	switch nc.(type) {
	case *net.UnixConn:
		tr.readAhead.Store(true)
	case *net.TCPConn:
		tr.readAhead.Store(c.opts.ReadAheadTCP)
	}
	c.remote = nc.RemoteAddr()
	return c
}

// FromFile makes a Conn over an open file descriptor, typically a pipe end
// or socket inherited from a parent process, as Python's
// Connection(fd, readable, writable) does. The Conn owns f: Close closes it.
// The descriptor's blocking mode is left as it is (see the package
// documentation). At least one of readable and writable must be true.
func FromFile(f *os.File, readable, writable bool, opts *Options) (*Conn, error) {
	if !readable && !writable {
		return nil, errors.New("connection: at least one of readable and writable must be true")
	}
	if f == nil {
		return nil, errors.New("connection: nil file")
	}
	tr, err := newFdTransport(f)
	if err != nil {
		return nil, fmt.Errorf("connection: %s: %w", f.Name(), err)
	}
	return newConn(tr, readable, writable, opts), nil
}

// SendBytes sends p as one message (Python's send_bytes).
func (c *Conn) SendBytes(ctx context.Context, p []byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if err := c.checkSend(); err != nil {
		return err
	}
	if err := c.tr.arm(ctx, false); err != nil {
		return err
	}
	c.cw.n = 0
	err := writeFrame(&c.cw, &c.wbuf, p)
	c.tr.disarm(false)
	if err != nil {
		return c.sendFailed(err)
	}
	return nil
}

func (c *Conn) checkSend() error {
	switch {
	case c.closed.Load():
		return errClosed
	case !c.writable:
		return errors.New("connection: connection is read-only")
	case c.werr != nil:
		return c.werr
	}
	return nil
}

// sendFailed records a frame cut short, after which the peer cannot find
// the next frame.
func (c *Conn) sendFailed(err error) error {
	if c.closed.Load() {
		return errClosed
	}
	if c.cw.n > 0 {
		c.werr = fmt.Errorf("connection: not writable after a frame was cut short: %w", err)
	}
	return err
}

// RecvBytes receives one message (Python's recv_bytes). maxLen limits its
// length, like recv_bytes(maxlength); maxLen <= 0 means the Conn's cap, and
// a larger maxLen is lowered to the cap. A message over the limit is an
// error wrapping mpbridge.ErrTooLarge and, as in CPython, leaves the Conn
// unreadable. io.EOF means the peer closed the stream between messages.
func (c *Conn) RecvBytes(ctx context.Context, maxLen int64) ([]byte, error) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	limit := c.maxFrame.Load()
	if maxLen > 0 && maxLen < limit {
		limit = maxLen
	}
	size, err := c.beginRecv(ctx, limit)
	if err != nil {
		return nil, err
	}
	b, err := readPayload(&c.cr, size, nil)
	return b, c.endRecv(err)
}

// RecvBytesInto receives one message into buf and returns its length
// (Python's recv_bytes_into). When the message is longer than buf, it is
// received whole anyway and returned in a *BufferTooShortError; the Conn
// remains usable. With a reused buf this allocates nothing per message.
func (c *Conn) RecvBytesInto(ctx context.Context, buf []byte) (int, error) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	size, err := c.beginRecv(ctx, c.maxFrame.Load())
	if err != nil {
		return 0, err
	}
	if size <= int64(len(buf)) {
		_, err = readPayload(&c.cr, size, buf[:size:size])
		return int(size), c.endRecv(err)
	}
	b, err := readPayload(&c.cr, int64(len(buf)), buf)
	if err == nil {
		b, err = readGrowing(&c.cr, size, b)
	}
	if err = c.endRecv(err); err != nil {
		return 0, err
	}
	return 0, &BufferTooShortError{Msg: b, Buf: len(buf)}
}

// beginRecv checks the Conn, arms ctx and reads a header. On success the
// caller reads the payload, then calls endRecv.
func (c *Conn) beginRecv(ctx context.Context, limit int64) (int64, error) {
	switch {
	case c.closed.Load():
		return 0, errClosed
	case !c.readable:
		return 0, errors.New("connection: connection is write-only")
	case c.rerr != nil:
		return 0, c.rerr
	}
	if err := c.tr.arm(ctx, true); err != nil {
		return 0, err
	}
	c.cr.n = 0
	size, err := readHeader(&c.cr, &c.hdr, limit)
	if err != nil {
		return 0, c.endRecv(err)
	}
	return size, nil
}

// endRecv disarms the context and records an error that leaves the stream
// out of step: anything after the first byte of a frame, and a refused
// frame.
func (c *Conn) endRecv(err error) error {
	c.tr.disarm(true)
	if err == nil {
		return nil
	}
	if c.closed.Load() {
		return errClosed
	}
	if c.cr.n > 0 || errors.Is(err, mpbridge.ErrTooLarge) {
		c.rerr = fmt.Errorf("connection: not readable after an earlier error: %w", err)
		if c.cr.n > 0 && !errors.Is(err, mpbridge.ErrCorrupt) {
			return fmt.Errorf("connection: receive stopped in the middle of a frame: %w", err)
		}
	}
	return err
}

// Poll reports whether input is available (a message, or the peer's end of
// stream) within timeout, like Python's poll(timeout): zero checks without
// waiting, a negative timeout waits until input arrives or ctx ends (Python's
// poll(None)). It waits for any ongoing receive to finish first.
func (c *Conn) Poll(ctx context.Context, timeout time.Duration) (bool, error) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	switch {
	case c.closed.Load():
		return false, errClosed
	case !c.readable:
		return false, errors.New("connection: connection is write-only")
	case c.rerr != nil:
		return false, c.rerr
	}
	ok, err := c.tr.poll(ctx, timeout)
	if c.closed.Load() {
		return false, errClosed
	}
	return ok, err
}

// Close closes the Conn. Calls blocked in other goroutines return an error
// wrapping mpbridge.ErrClosed (for a descriptor-based Conn within 50 ms).
// Closing twice is not an error.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.tr.shutdown()
		c.recvMu.Lock()
		c.sendMu.Lock()
		c.closeErr = c.tr.close()
		c.sendMu.Unlock()
		c.recvMu.Unlock()
	})
	return c.closeErr
}

// Closed reports whether Close has been called.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Readable reports whether the Conn was made for receiving.
func (c *Conn) Readable() bool { return c.readable }

// Writable reports whether the Conn was made for sending.
func (c *Conn) Writable() bool { return c.writable }

// SetMaxFrame sets the cap on incoming frames (n <= 0: DefaultMaxFrame).
func (c *Conn) SetMaxFrame(n int64) {
	if n <= 0 {
		n = DefaultMaxFrame
	}
	c.maxFrame.Store(n)
}

// MaxFrame returns the cap on incoming frames.
func (c *Conn) MaxFrame() int64 { return c.maxFrame.Load() }

// Fd returns the Conn's file descriptor, or -1 if it has none (a net.Pipe,
// or a closed Conn). It stays owned by the Conn and is valid until Close.
// Because the caller may share it, a Conn that was reading ahead (see
// NewConn and Pipe) reads each frame exactly from then on; take the
// descriptor before receiving if another process is to read from it. On
// an end of a Pipe, the first Fd or File waits for a send or receive in
// progress to finish and makes the descriptor blocking again (see Pipe).
func (c *Conn) Fd() int {
	_ = c.expose() // on failure (the Conn closed, no descriptor left for a duplicate) fd reports -1
	return c.tr.fd()
}

// File returns a duplicate of the Conn's descriptor as an *os.File, to hand
// to a child process (exec.Cmd.ExtraFiles). The caller closes it; the Conn
// is unaffected, except that one that was reading ahead (see NewConn and Pipe) reads
// each frame exactly from then on, and File fails while input read ahead is
// waiting (receive it first). Do not call File while another goroutine
// receives on the Conn.
func (c *Conn) File() (*os.File, error) {
	if c.closed.Load() {
		return nil, errClosed
	}
	if err := c.expose(); err != nil {
		return nil, err
	}
	return c.tr.file()
}

// exposer is a transport that must change before its descriptor is handed
// out (pairTransport), with no call in progress.
type exposer interface {
	exposed() bool
	expose() error
}

// expose readies the transport for handing out its descriptor.
func (c *Conn) expose() error {
	e, ok := c.tr.(exposer)
	if !ok || e.exposed() {
		return nil
	}
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.closed.Load() {
		return errClosed
	}
	return e.expose()
}

// RemoteAddr returns the peer's address for a socket Conn, or nil.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }
