//go:build linux

package mpqueue

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/internal/sharedfd"
)

// opPROTO is the first byte of every pickle of protocol 2 or higher; every
// frame that CPython's Queue writes starts with it.
const opPROTO = 0x80

// readChunk bounds how far a payload buffer is allocated ahead of the bytes
// that have arrived.
const readChunk = 64 << 10

// readFrame reads exactly one frame — the header, then the payload — and
// nothing beyond it. Until the first byte arrives it honours w (context,
// Close, nowait) and returns a stopReason with nothing consumed. Once a
// byte has been read the frame is finished whatever the context says,
// unless no byte arrives for w.stall, which means the writer died mid-frame
// (a *CorruptError matching mpbridge.ErrTimeout). A header announcing a
// negative length or more than maxFrame bytes, or a payload that does not
// start with PROTO, is a *CorruptError: the pipe is out of step. io.EOF
// means every write end is closed.
func (p *pipeEnd) readFrame(w *waiter, maxFrame int64) ([]byte, stopReason, error) {
	var hdr [12]byte
	n, sr, err := p.readBoundary(w, hdr[:4])
	if sr != stopNone || err != nil {
		return nil, sr, err
	}
	hlen, _, err := p.readHeader(w, &hdr, hdr[:n])
	if err != nil {
		return nil, stopNone, err
	}
	size, err := frameSize(hdr[:hlen], maxFrame)
	if err != nil {
		return nil, stopNone, err
	}
	buf, err := p.readPayload(w, hdr[:hlen], size, nil)
	return buf, stopNone, err
}

// readHeader completes a frame header in hdr: its first bytes are taken
// from prefix (bytes already read at the frame's start), the rest read
// byte-exactly from the pipe. It returns the header's length and how many
// bytes of prefix it used.
func (p *pipeEnd) readHeader(w *waiter, hdr *[12]byte, prefix []byte) (hlen, used int, err error) {
	used = copy(hdr[:4], prefix)
	if err := p.readFull(w, hdr[used:4], hdr[:used]); err != nil {
		return 0, used, err
	}
	hlen = connection.HeaderLen(hdr[:4])
	m := copy(hdr[4:hlen], prefix[used:])
	used += m
	if err := p.readFull(w, hdr[4+m:hlen], hdr[:4+m]); err != nil {
		return 0, used, err
	}
	return hlen, used, nil
}

// frameSize decodes a frame header; a length no pickle can have (or above
// maxFrame) is a *CorruptError.
func frameSize(hdr []byte, maxFrame int64) (int64, error) {
	size, err := connection.ParseHeader(hdr, maxFrame)
	var he *connection.HeaderError
	switch {
	case errors.As(err, &he):
		return 0, &CorruptError{Reason: he.Reason, Data: clone(hdr)}
	case err != nil:
		return 0, err
	case size == 0:
		return 0, &CorruptError{Reason: "empty frame where a pickle was expected", Data: clone(hdr)}
	}
	return size, nil
}

// readPayload reads the size bytes of a payload whose header hdr has been
// read, of which prefix has already arrived (len(prefix) <= size), and
// nothing beyond them. The buffer grows with the bytes that arrive, so a
// lying header costs no more memory than the bytes really sent.
func (p *pipeEnd) readPayload(w *waiter, hdr []byte, size int64, prefix []byte) ([]byte, error) {
	buf := make([]byte, max(min(size, readChunk), int64(len(prefix))))
	have := int64(copy(buf, prefix))
	for have == 0 { // the first bytes of the payload: is it a pickle?
		n, err := p.readSome(w, buf, buf[:0])
		if err != nil {
			return nil, withHeader(err, hdr)
		}
		have = int64(n)
	}
	if buf[0] != opPROTO {
		return nil, notPickle(hdr, buf[:have])
	}
	for {
		if err := p.readFull(w, buf[have:], buf[:have]); err != nil {
			return nil, withHeader(err, hdr)
		}
		have = int64(len(buf))
		if have == size {
			return buf, nil
		}
		nb := make([]byte, min(size, 2*have))
		copy(nb, buf)
		buf = nb
	}
}

// notPickle is the error for a payload that does not start with PROTO.
func notPickle(hdr, payload []byte) error {
	return &CorruptError{Reason: "payload does not start with the PROTO opcode",
		Data: append(clone(hdr), head(payload, 64)...)}
}

// aheadSize is how much a queue whose read end this process alone holds
// reads at once: a pipe's default capacity.
const aheadSize = 64 << 10

// aheadFrame is a frame read ahead of the one returned, or the error that
// reading it gave.
type aheadFrame struct {
	data []byte
	err  error
}

// readFrameAhead is readFrame for a reader that may hold frames read ahead
// of the one it returns (p.ready). While sole is true — no other process
// holds the read end, so no one else can want the bytes after this frame —
// it reads whatever the pipe holds, up to aheadSize, and later calls take
// the frames from p.ready without a system call. When sole is false it
// returns what p.ready holds and then reads byte-exactly, as readFrame.
// Either way it leaves the pipe at a frame boundary (splitAhead finishes a
// frame the read cut), so a process that starts reading the pipe once the
// read end is shared reads whole frames.
func (p *pipeEnd) readFrameAhead(w *waiter, maxFrame int64, sole bool) ([]byte, stopReason, error) {
	if p.next == len(p.ready) {
		if !sole {
			return p.readFrame(w, maxFrame)
		}
		if p.ahead == nil {
			p.ahead = make([]byte, aheadSize)
		}
		n, sr, err := p.readBoundary(w, p.ahead)
		if sr != stopNone || err != nil {
			return nil, sr, err
		}
		p.ready, p.next = p.splitAhead(w, maxFrame, p.ahead[:n], p.ready[:0]), 0
	}
	f := p.ready[p.next]
	p.ready[p.next] = aheadFrame{} // so that p.ready[:0] holds nothing alive
	p.next++
	p.buffered.Store(int64(len(p.ready) - p.next))
	return f.data, stopNone, f.err
}

// splitAhead appends to out the frames that begin in chunk, the bytes just
// read at a frame boundary, and returns it (never empty, chunk being not).
// A frame that chunk cuts is finished byte-exactly (readFrame's rules for
// the middle of a frame). A frame that fails is one entry with its error,
// consuming what readFrame would: an empty frame or a payload that is not
// a pickle ends there and the frames after it follow; a bad header ends
// the chunk, the pipe being out of step.
func (p *pipeEnd) splitAhead(w *waiter, maxFrame int64, chunk []byte, out []aheadFrame) []aheadFrame {
	for len(chunk) > 0 {
		var hdr [12]byte
		hlen, used, err := p.readHeader(w, &hdr, chunk)
		if err != nil {
			return append(out, aheadFrame{err: err})
		}
		rest := chunk[used:]
		size, err := frameSize(hdr[:hlen], maxFrame)
		if err != nil {
			out = append(out, aheadFrame{err: err})
			if hlen == 4 && hdr == [12]byte{} { // an empty frame: still in step
				chunk = rest
				continue
			}
			return out
		}
		if int64(len(rest)) < size { // the frame goes on in the pipe
			data, err := p.readPayload(w, hdr[:hlen], size, rest)
			return append(out, aheadFrame{data: data, err: err})
		}
		payload := rest[:size]
		if payload[0] != opPROTO {
			out = append(out, aheadFrame{err: notPickle(hdr[:hlen], payload)})
		} else {
			out = append(out, aheadFrame{data: clone(payload)})
		}
		chunk = rest[size:]
	}
	return out
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// withHeader puts the frame's header in front of the bytes a payload
// error reports.
func withHeader(err error, hdr []byte) error {
	if ce, ok := err.(*CorruptError); ok {
		ce.Data = append(clone(hdr), ce.Data...)
	}
	return err
}

// readBoundary reads at least one byte into b, waiting as w allows.
// When the pipe is empty it keeps trying for up to boundarySpin before it
// sleeps in poll, as long as items have been arriving within that time: a
// producer that writes to a pipe with a sleeping reader pays for waking it
// on every item, which made a CPython producer 10–15% slower when this
// reader (or any reader as fast) kept the pipe empty, and a reply that
// comes within the spin is read without a sleep and a wake-up. When waits
// are longer than the spin, it sleeps at once, so a slow stream costs no
// CPU.
func (p *pipeEnd) readBoundary(w *waiter, b []byte) (int, stopReason, error) {
	for {
		n, err := p.TryRead(b)
		if n > 0 {
			return n, stopNone, nil
		}
		if err != unix.EAGAIN {
			return 0, stopNone, err
		}
		if w.nowait {
			return 0, stopDeadline, nil
		}
		if sr := w.stopped(); sr != stopNone {
			return 0, sr, nil
		}
		start := time.Now()
		if !p.longWaits.Load() {
			if n, err := p.spinRead(b, boundarySpin); n > 0 || err != nil {
				return n, stopNone, err
			}
			p.longWaits.Store(true)
		}
		d := w.slice()
		if d <= 0 {
			return 0, stopDeadline, nil
		}
		ready, err := p.Poll(unix.POLLIN, d)
		if err != nil {
			return 0, stopNone, err
		}
		if !ready {
			continue
		}
		n, err = p.ReadReady(b)
		if err != nil {
			return 0, stopNone, err
		}
		p.longWaits.Store(time.Since(start) >= boundarySpin)
		return n, stopNone, nil
	}
}

// boundarySpin is how long a reader at a frame boundary keeps trying
// before it sleeps: a few items' time for a CPython producer, a round
// trip for a peer that answers.
const boundarySpin = 20 * time.Microsecond

// spinRead tries to read for up to d without sleeping, yielding the CPU
// between tries; n == 0 with a nil error means nothing came. Yielding
// (A/B against a bare spin, session 4): put→get round trips within 1.5×
// of the raw pipe in 22 of 24 rounds instead of 6 of 15 (the bare spin's
// bad rounds, 1.6–4.8×, were the two processes sharing a CPU), and a
// CPython producer feeding a Go consumer 1.01–1.18× as fast as feeding a
// Python one instead of 0.84–0.99×.
func (p *pipeEnd) spinRead(b []byte, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for {
		n, err := p.TryRead(b)
		if n > 0 {
			return n, nil
		}
		if err != unix.EAGAIN {
			return 0, err
		}
		if !time.Now().Before(deadline) {
			return 0, nil
		}
		// Let the writer have this CPU if it is waiting for one: on two
		// CPUs the two processes often share one, and a spin that does
		// not yield then only delays the item it waits for.
		_, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// readFull fills b in the middle of a frame (got holds the frame's bytes
// so far, for error reports). It gives up only when the writer has closed
// (cut short) or sent nothing for w.stall.
func (p *pipeEnd) readFull(w *waiter, b, got []byte) error {
	for len(b) > 0 {
		n, err := p.readSome(w, b, got)
		if err != nil {
			return err
		}
		got = got[:len(got)+n]
		b = b[n:]
	}
	return nil
}

// readSome reads at least one byte into b in the middle of a frame.
func (p *pipeEnd) readSome(w *waiter, b, got []byte) (int, error) {
	var since time.Time
	for {
		n, err := p.TryRead(b)
		switch {
		case n > 0:
			return n, nil
		case err == io.EOF:
			return 0, &CorruptError{Reason: "frame cut short by end of file", Data: clone(got), Err: io.ErrUnexpectedEOF}
		case err != unix.EAGAIN:
			return 0, err
		}
		if since.IsZero() {
			since = time.Now()
		}
		idle := time.Since(since)
		if idle >= w.stall {
			return 0, &CorruptError{Reason: fmt.Sprintf("frame stopped arriving for %v (writer died mid-frame?)", w.stall),
				Data: clone(got), Err: mpbridge.ErrTimeout}
		}
		ready, err := p.Poll(unix.POLLIN, min(pollSlice, w.stall-idle))
		if err != nil {
			return 0, err
		}
		if ready {
			n, err := p.ReadReady(b)
			if err == io.EOF {
				return 0, &CorruptError{Reason: "frame cut short by end of file", Data: clone(got), Err: io.ErrUnexpectedEOF}
			}
			return n, err
		}
	}
}

// outFrame is an item handed to a queue's writer: the Go value (returned
// if it cannot be delivered) and its frame, a header and the pickle,
// written together with one writev.
type outFrame struct {
	item    any
	hdr     [12]byte
	hlen    int
	payload []byte
	buf     *[]byte // payload's storage, from payloadPool; nil if not pooled
}

// payloadPool recycles the buffers items are pickled into: a frame's
// payload is needed only until the frame is on the pipe, so a written
// frame gives its buffer back (recycle) and a busy producer pickles
// without allocating.
var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledPayload bounds the buffers kept for reuse.
const maxPooledPayload = 64 << 10

// recycle gives the payload buffer of a frame written in full back to
// payloadPool. The frame must not be written again.
func (f *outFrame) recycle() {
	if f.buf != nil && cap(f.payload) <= maxPooledPayload {
		*f.buf = f.payload[:0]
		payloadPool.Put(f.buf)
	}
	f.buf, f.payload = nil, nil
}

func newOutFrame(item any, payload []byte) *outFrame {
	f := &outFrame{item: item, payload: payload}
	f.hlen = len(connection.AppendHeader(f.hdr[:0], len(payload)))
	return f
}

// size is the frame's length on the wire.
func (f *outFrame) size() int { return f.hlen + len(f.payload) }

// frameWriter writes whole frames through iovecs and keeps count of how
// many are complete (done) and how far the next one has got (off).
type frameWriter struct {
	frames  []*outFrame
	iovs    []unix.Iovec
	scratch []unix.Iovec
	done    int
	off     int
}

// reset starts writing frames, of which off bytes of frames[0] are
// already on the pipe.
func (fw *frameWriter) reset(frames []*outFrame, off int) {
	fw.frames, fw.done, fw.off = frames, 0, off
	fw.build(len(frames))
}

// build points iovs at the unwritten bytes of frames[done:keep].
func (fw *frameWriter) build(keep int) {
	iovs := fw.scratch[:0]
	for _, f := range fw.frames[fw.done:keep] {
		iovs = sharedfd.AppendIovec(iovs, f.hdr[:f.hlen])
		iovs = sharedfd.AppendIovec(iovs, f.payload)
	}
	fw.scratch = iovs
	fw.iovs = sharedfd.Advance(iovs, fw.off)
	fw.frames = fw.frames[:keep]
}

// wrote accounts for n bytes written.
func (fw *frameWriter) wrote(n int) {
	fw.iovs = sharedfd.Advance(fw.iovs, n)
	for n > 0 {
		rest := fw.frames[fw.done].size() - fw.off
		if n < rest {
			fw.off += n
			return
		}
		n -= rest
		fw.done++
		fw.off = 0
	}
}

// finished reports whether every frame is written.
func (fw *frameWriter) finished() bool { return fw.done == len(fw.frames) }

// release drops the references to the frames written.
func (fw *frameWriter) release() { fw.frames, fw.iovs = nil, nil; clear(fw.scratch[:cap(fw.scratch)]) }

// writeFrames writes whole frames. Before the first byte of a frame, it
// stops if w says so; once a frame has started it is always finished. It
// returns how many frames were written completely, how many bytes of the
// next one were written, and why it stopped.
func (p *pipeEnd) writeFrames(w *waiter, frames []*outFrame, off int) (done, partial int, sr stopReason, err error) {
	var fw frameWriter
	fw.reset(frames, off)
	for !fw.finished() {
		n, err := p.TryWritev(fw.iovs)
		if n > 0 {
			fw.wrote(n)
			continue
		}
		if err != unix.EAGAIN {
			return fw.done, fw.off, stopNone, fmt.Errorf("mpqueue: write: %w", err)
		}
		if fw.off == 0 {
			if sr := w.stopped(); sr != stopNone {
				return fw.done, 0, sr, nil
			}
		}
		if _, err := p.Poll(unix.POLLOUT, pollSlice); err != nil {
			return fw.done, fw.off, stopNone, err
		}
	}
	return fw.done, 0, stopNone, nil
}
