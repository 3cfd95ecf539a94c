//go:build linux

package mpqueue

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
)

// readAllFrames feeds data into a pipe through write (which may split it)
// and reads frames until end of file or an error, byte-exactly.
func readAllFrames(t *testing.T, data []byte, chunk int) (frames [][]byte, last error) {
	return readAllFramesMode(t, data, chunk, false)
}

// readAllFramesMode is readAllFrames, reading ahead if ahead is set.
func readAllFramesMode(t *testing.T, data []byte, chunk int, ahead bool) (frames [][]byte, last error) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		for b := data; len(b) > 0; {
			n := min(chunk, len(b))
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}()
	p, err := newPipeEnd(r)
	if err != nil {
		return nil, err
	}
	wt := &waiter{ctx: context.Background(), closing: make(chan struct{}), stall: 10 * time.Second}
	for {
		var f []byte
		var sr stopReason
		if ahead {
			f, sr, err = p.readFrameAhead(wt, 1<<20, true)
		} else {
			f, sr, err = p.readFrame(wt, 1<<20)
		}
		if sr != stopNone {
			t.Fatalf("unexpected stop %v", sr)
		}
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
}

// FuzzReadFrame checks the frame reader on arbitrary pipe contents: it
// never panics or hangs, every frame returned is a PROTO-led payload within
// the limit, any failure other than a clean end of file is ErrCorrupt,
// reading the bytes one at a time gives the same result as one write,
// reading ahead (one write or byte at a time) gives the same frames and
// the same kind of end as reading byte-exactly, and re-framing the
// payloads reads back the same payloads.
func FuzzReadFrame(f *testing.F) {
	q := func(p []byte) []byte { return append(connection.AppendHeader(nil, len(p)), p...) }
	f.Add(q([]byte{0x80, 4, 0x95, 5, 0, 0, 0, 0, 0, 0, 0, 0x8c, 1, 'x', 0x94, 0x2e}))
	f.Add(append(q([]byte{0x80, 4, 'N', '.'}), q([]byte{0x80, 2, 'K', 1, '.'})...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 0x80, 4})
	f.Add([]byte{0, 0, 0, 5, 'x'})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		frames, err := readAllFrames(t, data, len(data)+1)
		consumed := 0
		for _, fr := range frames {
			if len(fr) == 0 || fr[0] != opPROTO || len(fr) > 1<<20 {
				t.Fatalf("bad frame %x", fr)
			}
			consumed += 4 + len(fr)
		}
		if consumed > len(data) {
			t.Fatalf("consumed %d of %d bytes", consumed, len(data))
		}
		if err != io.EOF && !errors.Is(err, mpbridge.ErrCorrupt) {
			t.Fatalf("error %v is neither EOF nor ErrCorrupt", err)
		}
		frames1, err1 := readAllFrames(t, data, 1)
		if len(frames1) != len(frames) || (err == io.EOF) != (err1 == io.EOF) {
			t.Fatalf("byte-at-a-time: %d frames, %v; one write: %d frames, %v", len(frames1), err1, len(frames), err)
		}
		for i := range frames {
			if string(frames[i]) != string(frames1[i]) {
				t.Fatalf("frame %d differs byte-at-a-time", i)
			}
		}
		for _, chunk := range []int{len(data) + 1, 1} {
			framesA, errA := readAllFramesMode(t, data, chunk, true)
			if len(framesA) != len(frames) || (errA == io.EOF) != (err == io.EOF) ||
				(errA != io.EOF && !errors.Is(errA, mpbridge.ErrCorrupt)) {
				t.Fatalf("reading ahead (writes of %d): %d frames, %v; byte-exactly: %d frames, %v", chunk, len(framesA), errA, len(frames), err)
			}
			for i := range frames {
				if string(frames[i]) != string(framesA[i]) {
					t.Fatalf("frame %d differs reading ahead", i)
				}
			}
		}
		var again []byte
		for _, fr := range frames {
			again = append(again, q(fr)...)
		}
		frames2, err2 := readAllFrames(t, again, len(again)+1)
		if err2 != io.EOF || len(frames2) != len(frames) {
			t.Fatalf("re-framed: %d frames, %v", len(frames2), err2)
		}
	})
}

// FuzzParseHandles feeds arbitrary pickles to ParseHandles: it never
// panics, and whatever it accepts has a type.
func FuzzParseHandles(f *testing.F) {
	for _, name := range []string{"queue", "sync", "queues"} {
		if raw, err := os.ReadFile("../testdata/spawn/py3.12/" + name + ".bin"); err == nil {
			f.Add(raw)
		}
	}
	lock := reduceSemLock(TypeLock, semlockState("/mp-abcdefgh"))
	if b, err := pickleMarshal(lock); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := pickleLoads(data)
		if err != nil {
			return
		}
		h, err := ParseHandles(v, SpawnFd)
		if err != nil {
			return
		}
		if h.Type == "" {
			t.Fatal("parsed handles without a type")
		}
	})
}
