package pickle_test

// Fuzz targets, one per decoder entry point, seeded with the golden files
// (every CPython version, deduplicated) and the benchmark corpus. Crashers
// found by `go test -fuzz` are kept in testdata/fuzz/<Target>/ and run as
// regression tests by plain `go test`.
//
//	go test ./pickle -run '^$' -fuzz '^FuzzLoads$' -fuzztime 5m -parallel 1
//	go test ./pickle -run '^$' -fuzz '^FuzzDecoderReader$' -fuzztime 5m -parallel 1
//	go test ./pickle -run '^$' -fuzz '^FuzzDisassemble$' -fuzztime 2m -parallel 1

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// fuzzSeedMax skips golden files larger than this as seeds (they slow the
// fuzzer down without adding opcodes).
const fuzzSeedMax = 16 << 10

// addFuzzSeeds adds every distinct small golden and corpus file, and a few
// hand-made edge cases.
func addFuzzSeeds(f *testing.F) {
	seen := map[[32]byte]bool{}
	add := func(data []byte) {
		k := sha256.Sum256(data)
		if !seen[k] && len(data) <= fuzzSeedMax {
			seen[k] = true
			f.Add(data)
		}
	}
	var files []string
	for _, pat := range []string{goldenDir + "/3.*/*.pickle", "../testdata/pickle/corpus/*.pickle"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		f.Fatal("no golden files: run scripts/gen_pickle_golden.sh")
	}
	sort.Strings(files)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(data)
	}
	for _, s := range []string{
		"", ".", "\xff", "N", "N.", "(.", "0.", "\x80\x05.", "\x80\x06N.", "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.",
		"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7fN.", "]\x94h\x00a.", "]\x94h\x01a.", "(l.", "}(K\x01K\x02u.",
		"\x8c\x01a\x8c\x01b\x93.", "cbuiltins\nint\n.", "K\x01K\x02\x86\x94h\x00.", "I12345678901234567890\n.",
		"L-99999999999999999999999999L\n.", "F1e400\n.", "Vabc\\u20ac\n.", "S'a\\nb'\n.", "\x8a\xff" + string(make([]byte, 8)),
		"\x8b\xff\xff\xff\x7f", "B\xff\xff\xff\x7f", "\x8e\xff\xff\xff\xff\xff\xff\xff\xff", "\x97.", "\x98.", "\x82\x01.",
	} {
		add([]byte(s))
	}
}

// checkDecodeError checks what a failed decode of in-memory bytes reports:
// a *pickle.SyntaxError (with offset and opcode) that is mpbridge.ErrCorrupt,
// or, for input beyond a limit, mpbridge.ErrTooLarge, or pickle.ErrNoHook for
// an opcode that needs a hook (EXT codes, out-of-band buffers).
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var se *pickle.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("decode error is not a *pickle.SyntaxError: %T %v", err, err)
	}
	if !errors.Is(err, mpbridge.ErrCorrupt) && !errors.Is(err, mpbridge.ErrTooLarge) && !errors.Is(err, pickle.ErrNoHook) {
		t.Fatalf("decode error is neither mpbridge.ErrCorrupt, ErrTooLarge nor ErrNoHook: %v", err)
	}
}

// checkReencode checks the encode invariants for a decoded value v at
// protocol p: encoding succeeds (or fails with an error of this package),
// the encoding decodes, and encoding that again gives the same bytes. With
// strict, decode(encode(v)) must also equal v; that holds at protocols 4
// and 5, while lower protocols may change an object's shape as CPython does
// (NEWOBJ becomes REDUCE of copyreg.__newobj__ below 2, globals take their
// Python 2 names below 3, sometimes lossily: FileNotFoundError → OSError).
func checkReencode(t *testing.T, v any, p int, strict bool) {
	t.Helper()
	enc, err := pickle.Dumps(v, p)
	if err != nil {
		checkEncodeError(t, err, p)
		return
	}
	v2, err := pickle.Loads(enc)
	if err != nil {
		t.Fatalf("protocol %d: decoding our own encoding: %v\n%x", p, err, enc)
	}
	if strict {
		if err := modelEqual(v, v2, false); err != nil {
			t.Fatalf("protocol %d: decode(encode(v)) != v: %v", p, err)
		}
	}
	enc2, err := pickle.Dumps(v2, p)
	if err != nil {
		t.Fatalf("protocol %d: re-encoding: %v", p, err)
	}
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("protocol %d: encode(decode(encode(v))) != encode(v)\n%s", p, diffPickles(enc, enc2))
	}
}

// FuzzLoads: Loads never panics; errors are typed; whatever decodes
// re-encodes to an equal value at protocol 4, and stably at a protocol
// picked from the input.
func FuzzLoads(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := pickle.Loads(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkReencode(t, v, pickle.DefaultProtocol, true)
		if p := len(data) % (pickle.HighestProtocol + 1); p != pickle.DefaultProtocol {
			checkReencode(t, v, p, p >= 4)
		}
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzDecoderReader: a Decoder reading one byte per Read gives the same
// result as Loads on the whole input, and never reads past the end of the
// pickle (a pipe shared with Python must stay in sync): just after its STOP
// opcode or, when the STOP lies inside a frame that goes on, at the end of
// that frame, which CPython's unpickler also reads whole.
func FuzzDecoderReader(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: iotest.OneByteReader(bytes.NewReader(data))}
		var got any
		derr := pickle.NewDecoder(cr).Decode(&got)
		want, lerr := pickle.Loads(data)
		if derr != nil {
			if lerr == nil {
				t.Fatalf("Decoder failed where Loads succeeded: %v", derr)
			}
			if errors.Is(derr, io.EOF) && !errors.Is(derr, io.ErrUnexpectedEOF) && len(data) != 0 {
				t.Fatalf("io.EOF after %d bytes of %d: want io.ErrUnexpectedEOF inside a pickle", cr.n, len(data))
			}
			return
		}
		if lerr != nil {
			t.Fatalf("Loads failed where the Decoder succeeded: %v", lerr)
		}
		if err := modelEqual(want, got, false); err != nil {
			t.Fatalf("Decoder and Loads differ: %v", err)
		}
		if end := pickleEnd(t, data); cr.n != end {
			t.Fatalf("Decoder consumed %d bytes; the pickle ends after %d", cr.n, end)
		}
		if again, err := pickle.Loads(data[:cr.n]); err != nil || modelEqual(want, again, false) != nil {
			t.Fatalf("the %d bytes the Decoder consumed do not decode alone: %v", cr.n, err)
		}
	})
}

// pickleEnd returns the length of the pickle at the start of data, which
// decodes: the offset after its first STOP opcode or, when that STOP lies
// inside a frame going on further, the end of that frame. It walks the
// opcodes of protocols 0-5 by their argument formats (pickletools'
// ArgumentDescriptors), independently of the decoder and of Disassemble.
func pickleEnd(t *testing.T, data []byte) int {
	t.Helper()
	frameEnd := 0
	for i := 0; i < len(data); {
		op := data[i]
		i++
		n, ok := opArgLen(op, data[i:])
		if !ok {
			t.Fatalf("opcode 0x%02x at %d: bad argument in a pickle that decodes", op, i-1)
		}
		if op == 0x95 { // FRAME
			frameEnd = i + 8 + int(binary.LittleEndian.Uint64(data[i:]))
		}
		i += n
		if op == '.' {
			return max(i, frameEnd)
		}
	}
	t.Fatal("no STOP in a pickle that decodes")
	return 0
}

// opArgLen returns the length of the argument of opcode op at the start
// of rest.
func opArgLen(op byte, rest []byte) (int, bool) {
	counted := func(size int) (int, bool) { // a little-endian length, then that many bytes
		if len(rest) < size {
			return 0, false
		}
		var n uint64
		for k := size - 1; k >= 0; k-- {
			n = n<<8 | uint64(rest[k])
		}
		if n > uint64(len(rest)) {
			return 0, false
		}
		return size + int(n), true
	}
	lines := func(count int) (int, bool) { // newline-terminated
		n := 0
		for ; count > 0; count-- {
			j := bytes.IndexByte(rest[n:], '\n')
			if j < 0 {
				return 0, false
			}
			n += j + 1
		}
		return n, true
	}
	switch op {
	case 'K', 'h', 'q', 0x82, 0x80: // BININT1 BINGET BINPUT EXT1 PROTO
		return 1, len(rest) >= 1
	case 'M', 0x83: // BININT2 EXT2
		return 2, len(rest) >= 2
	case 'J', 'j', 'r', 0x84: // BININT LONG_BINGET LONG_BINPUT EXT4
		return 4, len(rest) >= 4
	case 'G', 0x95: // BINFLOAT FRAME
		return 8, len(rest) >= 8
	case 0x8a, 'U', 0x8c, 'C': // LONG1 SHORT_BINSTRING SHORT_BINUNICODE SHORT_BINBYTES
		return counted(1)
	case 0x8b, 'T', 'X', 'B': // LONG4 BINSTRING BINUNICODE BINBYTES
		return counted(4)
	case 0x8d, 0x8e, 0x96: // BINUNICODE8 BINBYTES8 BYTEARRAY8
		return counted(8)
	case 'I', 'L', 'F', 'S', 'V', 'g', 'p', 'P': // INT LONG FLOAT STRING UNICODE GET PUT PERSID
		return lines(1)
	case 'c', 'i': // GLOBAL INST
		return lines(2)
	}
	return 0, true
}

// FuzzDisassemble: the disassembler never panics, and a pickle that decodes
// also disassembles to some output.
func FuzzDisassemble(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := disassemble(&out, data)
		if err == nil && out.Len() == 0 && len(data) > 0 {
			t.Fatal("disassembly succeeded with no output")
		}
	})
}

// checkEncodeError checks the error of encoding a decoded value: it must
// come from this package's checks (an unencodable value at protocol p,
// such as NEWOBJ_EX below protocol 4 or a non-ASCII global below 3).
func checkEncodeError(t *testing.T, err error, p int) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "pickle: ") {
		t.Fatalf("protocol %d: encode error from outside the package: %v", p, err)
	}
}
