package connection

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/mpbridge/mpbridge"
)

const (
	// DefaultMaxFrame is the default cap on the payload of an incoming
	// frame (Options.MaxFrame): 256 MiB.
	DefaultMaxFrame = 256 << 20

	// SmallFrame is CPython's split point: a payload of up to this many
	// bytes is written in one write together with its header, a larger one
	// as the header and then the payload.
	SmallFrame = 16384

	// maxShort is the largest payload the 4-byte header can announce; a
	// longer one uses the escape: -1, then a u64be length.
	maxShort = math.MaxInt32

	// readChunk bounds what is allocated ahead of the bytes that arrive:
	// payloads up to this size are allocated at once, larger ones grow
	// (doubling) as their bytes are read.
	readChunk = 256 << 10

	// maxHeader is the size of the longest header: -1 and a u64.
	maxHeader = 12
)

// AppendHeader appends the header of a frame carrying n payload bytes to
// dst and returns the extended slice: i32be(n), or, when n > 0x7fffffff,
// i32be(-1) then u64be(n).
func AppendHeader(dst []byte, n int) []byte {
	if uint64(n) > maxShort {
		dst = binary.BigEndian.AppendUint32(dst, math.MaxUint32)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// scratchPool holds buffers for WriteFrame's single write of a small frame.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4+SmallFrame); return &b }}

// WriteFrame writes p to w as one frame, issuing the same writes as
// CPython's Connection._send_bytes: header and payload together when
// len(p) <= SmallFrame, otherwise the header, then the payload (with the
// -1 escape for more than 0x7fffffff bytes written as its own write first).
func WriteFrame(w io.Writer, p []byte) error {
	bp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bp)
	return writeFrame(w, bp, p)
}

// writeFrame is WriteFrame with a caller-owned scratch buffer, which holds
// the header, and the payload too for small frames.
func writeFrame(w io.Writer, scratch *[]byte, p []byte) error {
	n := len(p)
	b := AppendHeader((*scratch)[:0], n)
	if n <= SmallFrame {
		b = append(b, p...)
		*scratch = b
		_, err := w.Write(b)
		return err
	}
	*scratch = b
	if n <= maxShort {
		if _, err := w.Write(b); err != nil {
			return err
		}
	} else {
		if _, err := w.Write(b[:4]); err != nil {
			return err
		}
		if _, err := w.Write(b[4:]); err != nil {
			return fmt.Errorf("connection: frame cut short: %w", err)
		}
	}
	if _, err := w.Write(p); err != nil {
		return fmt.Errorf("connection: frame cut short: %w", err)
	}
	return nil
}

// ReadFrame reads one frame from r and returns its payload. It reads
// exactly the frame's bytes and nothing more. max caps the payload length
// (max <= 0 means DefaultMaxFrame); a longer frame gives an error wrapping
// mpbridge.ErrTooLarge before anything is allocated, with the payload left
// unread. A clean end of stream before the first header byte is io.EOF; a
// frame cut short wraps mpbridge.ErrCorrupt and io.ErrUnexpectedEOF; a
// negative length other than -1 wraps mpbridge.ErrCorrupt. Other errors from
// r are returned as they are.
func ReadFrame(r io.Reader, max int64) ([]byte, error) {
	var hdr [maxHeader]byte
	size, err := readHeader(r, &hdr, max)
	if err != nil {
		return nil, err
	}
	return readPayload(r, size, nil)
}

// readHeader reads a frame header into hdr and returns the announced length,
// checked against max (<= 0: DefaultMaxFrame).
func readHeader(r io.Reader, hdr *[maxHeader]byte, max int64) (int64, error) {
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, errUnexpectedEOF
		}
		return 0, err // io.EOF at a clean boundary, or an I/O error
	}
	n := HeaderLen(hdr[:4])
	if n > 4 {
		if _, err := io.ReadFull(r, hdr[4:n]); err != nil {
			return 0, midFrame(err)
		}
	}
	return ParseHeader(hdr[:n], max)
}

// HeaderLen returns the length of the frame header that starts with
// first, its first four bytes: 4, or 12 when they are the escape (-1) that
// a 64-bit length follows.
func HeaderLen(first []byte) int {
	if int32(binary.BigEndian.Uint32(first)) == -1 {
		return maxHeader
	}
	return 4
}

// ParseHeader returns the payload length that a whole frame header
// announces (hdr is HeaderLen bytes long), checked against max (<= 0:
// DefaultMaxFrame). A length that is negative, beyond int64 or above max
// is a *HeaderError.
func ParseHeader(hdr []byte, max int64) (int64, error) {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	max = min(max, math.MaxInt)
	size := int64(int32(binary.BigEndian.Uint32(hdr)))
	if size == -1 {
		u := binary.BigEndian.Uint64(hdr[4:12])
		if u > math.MaxInt64 {
			return 0, &HeaderError{Reason: fmt.Sprintf("frame length %d out of range", u)}
		}
		size = int64(u)
	} else if size < 0 {
		return 0, &HeaderError{Reason: fmt.Sprintf("negative frame length %d", size)}
	}
	if size > max {
		return 0, &HeaderError{Reason: fmt.Sprintf("frame of %d bytes exceeds the limit of %d", size, max), TooLarge: true}
	}
	return size, nil
}

// A HeaderError is a frame header announcing a length that cannot be read
// (CPython's OSError "bad message length"). It matches mpbridge.ErrTooLarge
// when the length is only above the reader's cap, mpbridge.ErrCorrupt when
// no frame can have it.
type HeaderError struct {
	Reason   string // what is wrong with the length
	TooLarge bool   // the length is valid but above the cap
}

func (e *HeaderError) Error() string { return "connection: bad message length: " + e.Reason }

// Unwrap returns mpbridge.ErrTooLarge or mpbridge.ErrCorrupt.
func (e *HeaderError) Unwrap() error {
	if e.TooLarge {
		return mpbridge.ErrTooLarge
	}
	return mpbridge.ErrCorrupt
}

// midFrame converts an error met after a frame's first byte: any end of
// file there is an unexpected one.
func midFrame(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errUnexpectedEOF
	}
	return err
}

// readPayload reads size bytes. When dst has room for them it fills
// dst[:size] and returns it; otherwise it allocates, at most readChunk bytes
// ahead of what has arrived.
func readPayload(r io.Reader, size int64, dst []byte) ([]byte, error) {
	if size == 0 {
		if dst != nil {
			return dst[:0], nil
		}
		return []byte{}, nil
	}
	if int64(cap(dst)) >= size {
		buf := dst[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, midFrame(err)
		}
		return buf, nil
	}
	return readGrowing(r, size, dst)
}

// readGrowing reads size bytes after the len(prefix) bytes already in
// prefix (which are part of the payload), growing the buffer as the bytes
// arrive.
func readGrowing(r io.Reader, size int64, prefix []byte) ([]byte, error) {
	have := int64(len(prefix))
	n := min(size, max(readChunk, 2*have))
	buf := make([]byte, n)
	copy(buf, prefix)
	for {
		if _, err := io.ReadFull(r, buf[have:]); err != nil {
			return nil, midFrame(err)
		}
		have = int64(len(buf))
		if have == size {
			return buf, nil
		}
		next := make([]byte, min(size, 2*have))
		copy(next, buf)
		buf = next
	}
}
