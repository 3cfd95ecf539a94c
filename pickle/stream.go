package pickle

import (
	"errors"
	"io"
)

// A Decoder reads pickles from a stream, one per Decode.
//
// Decode reads exactly one pickle, up to and including its STOP opcode,
// and never a byte past it (except the rest of a FRAME that STOP is in,
// which CPython reads too): the stream can be shared with other readers,
// such as a pipe that also carries non-pickle data. Frames are read whole;
// unframed opcodes are read one at a time, so wrap a slow unbuffered
// reader in a bufio.Reader only if nothing else reads from it. A Decoder
// is not safe for concurrent use.
type Decoder struct {
	r    io.Reader
	opts *DecodeOptions
	buf  []byte // reused for pickles larger than aliasLimit
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// SetOptions sets the decoding options (nil means the defaults).
func (dec *Decoder) SetOptions(opts *DecodeOptions) { dec.opts = opts }

// Decode reads the next pickle and stores its value in the value v points
// to: a *any receives the value model, other pointers go through the
// mapping layer (see Unmarshal). At the end of the stream, before any byte
// of a pickle, it returns io.EOF; a pickle cut short is a *SyntaxError
// matching ErrTruncated and io.ErrUnexpectedEOF. Errors of the reader are
// returned as they are.
func (dec *Decoder) Decode(v any) error {
	if p, ok := v.(*any); ok && p != nil {
		m, err := dec.DecodeValue()
		if err != nil {
			return err
		}
		*p = m
		return nil
	}
	dst, err := targetValue(v)
	if err != nil {
		return err
	}
	m, err := dec.DecodeValue()
	if err != nil {
		return err
	}
	return assignModel(m, dst)
}

// DecodeValue reads the next pickle and returns its value-model value.
func (dec *Decoder) DecodeValue() (any, error) {
	data, err := dec.readPickle()
	if err != nil {
		return nil, err
	}
	mode := inputBorrowed
	if len(data) <= aliasLimit {
		mode = inputCopy
	}
	return loadBuffer(data, mode, dec.opts)
}

// readPickle reads the bytes of one pickle into the reused buffer (which
// decoded values never alias: see loadBuffer's modes).
func (dec *Decoder) readPickle() ([]byte, error) {
	maxAlloc := DefaultMaxAlloc
	if dec.opts != nil && dec.opts.MaxAlloc > 0 {
		maxAlloc = dec.opts.MaxAlloc
	}
	s := scanner{r: dec.r, buf: dec.buf[:0], max: maxAlloc}
	if s.buf == nil {
		s.buf = make([]byte, 0, 512)
	}
	err := s.scan()
	dec.buf = s.buf[:0]
	if cap(dec.buf) > 4*aliasLimit {
		dec.buf = nil // do not keep a huge buffer for the next pickle
	}
	if err != nil {
		return nil, err
	}
	return s.buf, nil
}

// scanner reads one pickle opcode by opcode, using the argument layouts of
// the opcode table, without interpreting it.
type scanner struct {
	r   io.Reader
	buf []byte
	max int
	// frameEnd is the end of the frame being walked (in buf), or 0.
	frameEnd int
}

// fill appends exactly n more bytes from the reader, growing the buffer
// only as data arrives (a hostile length cannot make it allocate more than
// twice what was actually sent).
func (s *scanner) fill(n int) error {
	if n > s.max-len(s.buf) || n < 0 {
		return detail(ErrLimit, "pickle larger than MaxAlloc (%d bytes)", s.max)
	}
	for n > 0 {
		chunk := n
		if room := cap(s.buf) - len(s.buf); chunk > room {
			grow := max(cap(s.buf), 4096)
			chunk = min(n, room+grow)
			nb := make([]byte, len(s.buf), len(s.buf)+chunk)
			copy(nb, s.buf)
			s.buf = nb
		}
		m, err := io.ReadFull(s.r, s.buf[len(s.buf):len(s.buf)+chunk])
		s.buf = s.buf[:len(s.buf)+m]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if len(s.buf) == 0 {
					return io.EOF
				}
				return &SyntaxError{Offset: int64(len(s.buf)), Err: ErrTruncated}
			}
			return err
		}
		n -= chunk
	}
	return nil
}

// ensure makes the n bytes at pos available: inside a frame they must
// already be there; outside one they are read.
func (s *scanner) ensure(pos, n int) error {
	if have := len(s.buf) - pos; have < n {
		return s.fill(n - have)
	}
	return nil
}

func (s *scanner) scan() error {
	pos := 0
	for {
		if err := s.ensure(pos, 1); err != nil {
			return err
		}
		op := s.buf[pos]
		info, ok := lookupOp(op)
		if !ok {
			return &SyntaxError{Offset: int64(pos), Op: op, Err: ErrUnknownOpcode}
		}
		argStart := pos + 1
		n, err := s.argLen(info.Arg, argStart)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) || err == io.EOF {
				if err == io.EOF {
					err = &SyntaxError{Offset: int64(pos), Op: op, OpName: info.Name, Err: ErrTruncated}
				}
				return err
			}
			if errors.Is(err, ErrLimit) || errors.Is(err, ErrBadValue) {
				return &SyntaxError{Offset: int64(pos), Op: op, OpName: info.Name, Err: err}
			}
			return err
		}
		pos = argStart + n
		switch op {
		case opSTOP:
			return nil
		case opFRAME:
			size, _ := lenPrefix(s.buf[argStart:], 8, false)
			if size > uint64(s.max) {
				return &SyntaxError{Offset: int64(argStart - 1), Op: op, OpName: info.Name,
					Err: detail(ErrLimit, "frame of %d bytes is larger than MaxAlloc", size)}
			}
			if err := s.ensure(pos, int(size)); err != nil {
				return err
			}
		}
	}
}

// argLen returns the length of the argument at pos, reading as needed.
func (s *scanner) argLen(k argKind, pos int) (int, error) {
	l := argLayouts[k]
	switch {
	case k == argNone:
		return 0, nil
	case l.fixed > 0:
		return l.fixed, s.ensure(pos, l.fixed)
	case l.lines > 0:
		// Newline-terminated: read a byte at a time past what is buffered.
		n := 0
		for range l.lines {
			for {
				if err := s.ensure(pos+n, 1); err != nil {
					return 0, err
				}
				n++
				if s.buf[pos+n-1] == '\n' {
					break
				}
				if n > s.max {
					return 0, detail(ErrLimit, "line longer than MaxAlloc")
				}
			}
		}
		return n, nil
	}
	if err := s.ensure(pos, l.lenSize); err != nil {
		return 0, err
	}
	n, err := argLen(k, s.buf[pos:])
	if err != nil {
		return 0, err
	}
	if n >= 0 {
		return n, nil
	}
	// argLen has rejected a negative prefix: only the size is wanted here.
	size, _ := lenPrefix(s.buf[pos:], l.lenSize, false)
	if size > uint64(s.max) {
		return 0, detail(ErrLimit, "argument of %d bytes is larger than MaxAlloc", size)
	}
	total := l.lenSize + int(size)
	return total, s.ensure(pos, total)
}

// An Encoder writes pickles to a stream, one per Encode. It reuses its
// buffer and memo tables between calls (each pickle has its own memo, as
// with CPython's pickle.dumps). An Encoder is not safe for concurrent use.
type Encoder struct {
	w    io.Writer
	e    *encodeState
	opts EncodeOptions
}

// NewEncoder returns an encoder writing protocol DefaultProtocol to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, e: newEncodeState(), opts: EncodeOptions{Protocol: DefaultProtocol}}
}

// SetProtocol sets the protocol of the following pickles (0–5; negative
// means HighestProtocol).
func (enc *Encoder) SetProtocol(protocol int) { enc.opts.Protocol = protocol }

// SetOptions sets the encoding options; nil means DefaultProtocol and no
// hooks.
func (enc *Encoder) SetOptions(opts *EncodeOptions) {
	if opts == nil {
		enc.opts = EncodeOptions{Protocol: DefaultProtocol}
		return
	}
	enc.opts = *opts
}

// Encode writes one pickle of v (see Dumps) with a single Write call.
func (enc *Encoder) Encode(v any) error {
	e := enc.e
	if err := e.configure(&enc.opts); err != nil {
		return err
	}
	err := e.dump(v)
	if err == nil {
		_, err = enc.w.Write(e.buf)
	}
	e.reset()
	return err
}
