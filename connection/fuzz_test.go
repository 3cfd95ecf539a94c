package connection

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mpbridge/mpbridge"
)

// readAll reads frames until an error; it returns the frames, the error and
// the input offset after each frame.
func readAll(r io.Reader, size int, max int64) (frames [][]byte, ends []int, err error) {
	cr := &countReader{r: r}
	for {
		f, err := ReadFrame(cr, max)
		if err != nil {
			return frames, ends, err
		}
		frames = append(frames, f)
		ends = append(ends, cr.n)
		if len(frames) > size+1 {
			panic("more frames than bytes")
		}
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// errClass names the kind of a frame reading error.
func errClass(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, mpbridge.ErrTooLarge):
		return "too large"
	case errors.Is(err, io.ErrUnexpectedEOF) && errors.Is(err, mpbridge.ErrCorrupt):
		return "truncated"
	case errors.Is(err, mpbridge.ErrCorrupt):
		return "corrupt"
	}
	return "other: " + err.Error()
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0}, int64(0))
	f.Add(frame([]byte("hello")), int64(5))
	f.Add(append(frame([]byte("a")), frame(bytes.Repeat([]byte{7}, 300))...), int64(100))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'}, int64(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xfe}, int64(0))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1}, int64(0))
	f.Add([]byte{0, 0, 0, 9, 1, 2}, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, max int64) {
		if max <= 0 || max > 1<<20 {
			max = 1 << 20 // keep allocations small; the cap logic is the same
		}
		frames, ends, err := readAll(bytes.NewReader(data), len(data), max)
		class := errClass(err)
		if class[0] == 'o' {
			t.Fatalf("unexpected error %v", err)
		}
		// Byte-at-a-time and half reads give the same frames and error.
		for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
			frames2, ends2, err2 := readAll(r, len(data), max)
			if errClass(err2) != class || len(frames2) != len(frames) {
				t.Fatalf("chunked read: %d frames, %v; one read: %d frames, %v", len(frames2), err2, len(frames), err)
			}
			for i := range frames {
				if !bytes.Equal(frames[i], frames2[i]) || ends[i] != ends2[i] {
					t.Fatalf("frame %d differs", i)
				}
			}
		}
		// Re-encoding gives frames that read back the same, and the same
		// bytes wherever the input used the short header.
		var out bytes.Buffer
		prev, sameForm := 0, true
		for i, fr := range frames {
			if err := WriteFrame(&out, fr); err != nil {
				t.Fatal(err)
			}
			if ends[i]-prev != 4+len(fr) {
				sameForm = false // the input used the -1 escape for a short frame
			}
			prev = ends[i]
		}
		if sameForm && !bytes.Equal(out.Bytes(), data[:prev]) {
			t.Fatalf("re-encoded frames differ from the input")
		}
		again, _, err3 := readAll(bytes.NewReader(out.Bytes()), out.Len(), max)
		if err3 != io.EOF || len(again) != len(frames) {
			t.Fatalf("re-read: %d frames, %v", len(again), err3)
		}
		for i := range frames {
			if !bytes.Equal(again[i], frames[i]) {
				t.Fatalf("re-read frame %d differs", i)
			}
		}
	})
}

// runHandshakeAgainst runs side (DeliverChallenge or AnswerChallenge) over a
// net.Pipe whose far end is driven by peer; everything the Go side writes is
// drained. It fails the test if side hangs or returns anything but nil or
// an *AuthError.
func runHandshakeAgainst(t *testing.T, refuse bool, side func(context.Context, *Conn, []byte) error, peer func(p net.Conn)) error {
	x, y := net.Pipe()
	c := NewConn(x, &Options{RefuseLegacy: refuse})
	peerDone := make(chan struct{})
	go func() {
		defer close(peerDone)
		peer(y)
		y.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- side(ctx, c, testKey) }()
	var err error
	select {
	case err = <-res:
	case <-time.After(10 * time.Second):
		t.Fatal("handshake hung")
	}
	c.Close()
	<-peerDone
	if err != nil {
		var ae *AuthError
		if !errors.As(err, &ae) || !errors.Is(err, mpbridge.ErrAuthentication) {
			t.Fatalf("untyped error %T %v", err, err)
		}
		if ae.Kind < AuthWrongKey || ae.Kind > AuthCanceled || ae.Reason == "" {
			t.Fatalf("bad AuthError %#v", ae)
		}
	}
	return err
}

// drain reads and discards everything from p in the background.
func drain(p net.Conn) { go func() { _, _ = io.Copy(io.Discard, p) }() }

var fuzzDigests = []string{"", "md5", "sha256", "sha384", "sha3_256", "sha3_384"}

// FuzzDeliverChallenge plays arbitrary responders against the challenger.
// With mode&1 the responder first reads the challenge and sends a correct
// reply in the digest picked by mode>>2, then the fuzzed bytes.
func FuzzDeliverChallenge(f *testing.F) {
	f.Add([]byte{}, byte(0))
	f.Add([]byte{}, byte(1))
	f.Add([]byte{}, byte(1|2))
	f.Add([]byte{}, byte(1|4))
	f.Add(frame([]byte("{sha256}"+string(make([]byte, 32)))), byte(0))
	f.Add(frame(make([]byte, 16)), byte(0))
	f.Add(frame(make([]byte, 300)), byte(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xfe}, byte(0))
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		runHandshakeAgainst(t, mode&2 != 0, DeliverChallenge, func(p net.Conn) {
			if mode&1 != 0 {
				chal, err := ReadFrame(p, 256)
				if err != nil || len(chal) < len(challengeTag) {
					return
				}
				m := chal[len(challengeTag):]
				d := fuzzDigests[int(mode>>2)%len(fuzzDigests)]
				var reply []byte
				if d == "" {
					reply = mac("md5", testKey, m)
				} else {
					reply = append([]byte("{"+d+"}"), mac(d, testKey, m)...)
				}
				drain(p)
				if WriteFrame(p, reply) != nil {
					return
				}
			} else {
				drain(p)
			}
			_, _ = p.Write(data)
		})
	})
}

// FuzzAnswerChallenge plays arbitrary challengers against the responder.
// With mode&1 the challenger first sends a valid challenge (legacy,
// '{sha256}' or '{sha3_384}' by mode>>2), then the fuzzed bytes.
func FuzzAnswerChallenge(f *testing.F) {
	welcome := frame([]byte(welcomeMsg))
	f.Add(welcome, byte(1))
	f.Add(welcome, byte(1|4))
	f.Add(welcome, byte(1|8))
	f.Add(welcome, byte(1|2))
	f.Add(frame([]byte(failureMsg)), byte(1))
	f.Add(append(frame(append([]byte(challengeTag), make([]byte, 20)...)), welcome...), byte(0))
	f.Add(frame([]byte(challengeTag+"{sha256}")), byte(0))
	f.Add(frame([]byte("#CHALLENGE#{blake2b}0123456789012345678901234567890123456789")), byte(0))
	f.Add(frame([]byte("garbage")), byte(0))
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		runHandshakeAgainst(t, mode&2 != 0, AnswerChallenge, func(p net.Conn) {
			drain(p)
			if mode&1 != 0 {
				var chal []byte
				switch (mode >> 2) % 3 {
				case 0:
					chal = append([]byte(challengeTag), seq(20)...)
				case 1:
					chal = append([]byte(challengeTag+"{sha256}"), seq(40)...)
				default:
					chal = append([]byte(challengeTag+"{sha3_384}"), seq(40)...)
				}
				if WriteFrame(p, chal) != nil {
					return
				}
			}
			_, _ = p.Write(data)
		})
	})
}

// FuzzConnRecv writes arbitrary bytes into real channels, in chunks of
// chunk bytes (0: all at once; at most 64 writes), and requires every kind of Conn to receive
// what ReadFrame reads from the same bytes in memory: the same frames, then
// the same kind of end. It runs over the pairs of the Conn tests but
// net.Pipe, covering the transports' reading (a Pipe's ends reading ahead
// in Go's poller, the shared path after Fd, a Unix socket reading ahead)
// where FuzzReadFrame covers the framing alone.
func FuzzConnRecv(f *testing.F) {
	f.Add(frame([]byte("hello")), uint8(0), int64(5))
	f.Add(append(frame([]byte("a")), frame(bytes.Repeat([]byte{7}, 5000))...), uint8(1), int64(0))
	f.Add(append(frame(bytes.Repeat([]byte{1}, 4093)), frame([]byte("xy"))...), uint8(3), int64(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'}, uint8(2), int64(0))
	f.Add([]byte{0, 0, 0, 9, 1, 2}, uint8(0), int64(0))
	f.Add([]byte{0x10, 0, 0, 1}, uint8(0), int64(100))
	f.Fuzz(checkConnRecv)
}

func checkConnRecv(t *testing.T, data []byte, chunk uint8, max int64) {
	if max <= 0 || max > 1<<20 {
		max = 1 << 20
	}
	want, _, werr := readAll(bytes.NewReader(data), len(data), max)
	for _, k := range pairKinds() {
		if k.name == "netpipe" { // writes wait for the reader, which may stop at an error
			continue
		}
		a, c := k.make(t)
		w := connWriter{a}
		c.SetMaxFrame(max)
		go func() {
			step := int(chunk) // at most 64 writes: keep the fuzzer fast
			if step == 0 {
				step = len(data)
			}
			if step < len(data)/64 {
				step = len(data) / 64
			}
			for p := data; len(p) > 0; {
				n := min(step, len(p))
				if _, err := w.Write(p[:n]); err != nil {
					break
				}
				p = p[n:]
			}
			w.Close()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var got [][]byte
		var err error
		for {
			var b []byte
			if b, err = c.RecvBytes(ctx, 0); err != nil {
				break
			}
			got = append(got, b)
			if len(got) > len(data)+1 {
				t.Fatalf("%s: more frames than bytes", k.name)
			}
		}
		cancel()
		a.Close()
		c.Close()
		if errClass(err) != errClass(werr) || len(got) != len(want) {
			t.Fatalf("%s: %d frames, %v; in memory: %d frames, %v", k.name, len(got), err, len(want), werr)
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: frame %d differs", k.name, i)
			}
		}
	}
}

// connWriter writes raw bytes to a Conn's channel, bypassing the framing,
// and Close closes the Conn (the reader then sees the end of the stream).
type connWriter struct{ c *Conn }

func (w connWriter) Write(p []byte) (int, error) { return rawTransport(w.c).Write(p) }

func (w connWriter) Close() error { return w.c.Close() }
