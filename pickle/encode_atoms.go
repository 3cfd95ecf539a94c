package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Atoms: bool, int, float, str and bytes, as the C pickler writes them.

var noIdx = [len(wellKnownNames)]int{-1, -1, -1, -1}

// wellKnownNames are the strings the pickler writes by itself: the module
// and names of the globals of complex and bytearray (protocol 4+) and the
// codec name of bytes (protocols 0–2). CPython interns them, and so does
// Python code using them as literals or as the module of a builtin class:
// in CPython's pickles they share one memo entry with any equal interned
// string. A decoded complex or bytearray has lost its strings, so the
// encoder shares a name it writes by itself with an equal string of the
// data (and only then: two equal strings of the data are shared only if
// they were one object).
var wellKnownNames = [...]string{"builtins", "complex", "bytearray", strLatin1}

// wellKnownByLen maps a length to the index of the one well-known name of
// that length (their lengths differ), or -1.
var wellKnownByLen = func() (t [16]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, w := range wellKnownNames {
		if t[len(w)] >= 0 {
			panic("pickle: two well-known names of one length")
		}
		t[len(w)] = int8(i)
	}
	return t
}()

// wellKnown returns the index in wellKnownNames of s's value, or -1, and
// whether s is the pickler's own copy.
func wellKnown(s string) (int, bool) {
	if len(s) >= len(wellKnownByLen) {
		return -1, false
	}
	i := wellKnownByLen[len(s)]
	if i < 0 || s != wellKnownNames[i] {
		return -1, false
	}
	return int(i), unsafe.StringData(s) == unsafe.StringData(wellKnownNames[i])
}

func (e *encodeState) saveBool(b bool) {
	switch {
	case e.proto >= 2 && b:
		e.op(opNEWTRUE)
	case e.proto >= 2:
		e.op(opNEWFALSE)
	case b:
		e.writeString("I01\n")
	default:
		e.writeString("I00\n")
	}
}

func (e *encodeState) saveInt(i int64) {
	if i >= math.MinInt32 && i <= math.MaxInt32 {
		switch {
		case e.proto == 0:
			e.op(opINT)
			e.buf = strconv.AppendInt(e.buf, i, 10)
			e.buf = append(e.buf, '\n')
		case i >= 0 && i <= 0xff:
			e.op2(opBININT1, byte(i))
		case i >= 0 && i <= 0xffff:
			e.op(opBININT2)
			e.buf = append(e.buf, byte(i), byte(i>>8))
		default:
			e.op(opBININT)
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(int32(i)))
		}
		return
	}
	if e.proto < 2 {
		e.op(opLONG)
		e.buf = strconv.AppendInt(e.buf, i, 10)
		e.buf = append(e.buf, 'L', '\n')
		return
	}
	// LONG1 with the minimal two's complement: (bit_length >> 3) + 1
	// bytes, less one for a negative number whose top byte is redundant.
	u := uint64(i)
	abs := u
	if i < 0 {
		abs = -u
	}
	nbytes := (bitLen64(abs) >> 3) + 1
	var b [9]byte
	for j := range nbytes {
		if j < 8 {
			b[j] = byte(u >> (8 * j))
		} else if i < 0 {
			b[j] = 0xff
		}
	}
	if i < 0 && nbytes > 1 && b[nbytes-1] == 0xff && b[nbytes-2]&0x80 != 0 {
		nbytes--
	}
	e.op2(opLONG1, byte(nbytes))
	e.buf = append(e.buf, b[:nbytes]...)
}

func bitLen64(u uint64) int {
	n := 0
	for u != 0 {
		n++
		u >>= 1
	}
	return n
}

func (e *encodeState) saveUint(u uint64) {
	if u <= math.MaxInt64 {
		e.saveInt(int64(u))
		return
	}
	e.saveBig(new(big.Int).SetUint64(u))
}

func (e *encodeState) saveBig(x *big.Int) {
	if x.IsInt64() {
		e.saveInt(x.Int64())
		return
	}
	if e.proto < 2 {
		e.op(opLONG)
		e.buf = x.Append(e.buf, 10)
		e.buf = append(e.buf, 'L', '\n')
		return
	}
	b := encodeLong(x)
	if len(b) < 256 {
		e.op2(opLONG1, byte(len(b)))
	} else {
		e.op(opLONG4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(b)))
	}
	e.buf = append(e.buf, b...)
}

// encodeLong returns the little-endian two's complement of x in CPython's
// encode_long length.
func encodeLong(x *big.Int) []byte {
	if x.Sign() == 0 {
		return nil
	}
	nbytes := (x.BitLen() >> 3) + 1
	var mag *big.Int
	if x.Sign() < 0 {
		mag = new(big.Int).Lsh(big.NewInt(1), uint(8*nbytes))
		mag.Add(mag, x)
	} else {
		mag = x
	}
	be := mag.FillBytes(make([]byte, nbytes))
	b := make([]byte, nbytes)
	for i, c := range be {
		b[nbytes-1-i] = c
	}
	if x.Sign() < 0 && nbytes > 1 && b[nbytes-1] == 0xff && b[nbytes-2]&0x80 != 0 {
		b = b[:nbytes-1]
	}
	return b
}

func (e *encodeState) saveFloat(f float64) {
	if e.proto == 0 {
		e.op(opFLOAT)
		e.writeString(floatRepr(f))
		e.buf = append(e.buf, '\n')
		return
	}
	e.op(opBINFLOAT)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

func (e *encodeState) saveStr(s string) error {
	k := strKey(s)
	slot := e.lookup(k)
	if slot < 0 {
		return nil
	}
	wk, synth := wellKnown(s)
	if wk >= 0 {
		idx := e.synthIdx[wk]
		if synth && idx < 0 {
			idx = e.seenIdx[wk]
		}
		if idx >= 0 {
			e.writeGet(idx)
			return nil
		}
		if synth {
			e.synthIdx[wk] = e.memoLen
		} else if e.seenIdx[wk] < 0 {
			e.seenIdx[wk] = e.memoLen
		}
	}
	if e.proto >= 4 && len(s) <= 0xff { // the common case, written at once
		e.open()
		e.buf = append(append(e.buf, opSHORT_BINUNICODE, byte(len(s))), s...)
		// memoizeAt, unrolled for protocol 4+: calling it costs ~8% of
		// encoding a str-heavy dict.
		e.memo.set(slot, k, e.memoLen)
		e.memoLen++
		e.buf = append(e.buf, opMEMOIZE)
		return nil
	}
	if e.proto == 0 {
		start := len(e.buf)
		e.buf = slices.Grow(e.buf, len(s)+2) // opcode, s unescaped, newline
		e.op(opUNICODE)
		buf, err := appendRawUnicodeEscape(e.buf, s)
		if err != nil {
			e.buf = e.buf[:start] // as if nothing had been written
			return err
		}
		e.buf = append(buf, '\n')
	} else {
		var hdr [9]byte
		h, err := sizedHeader(&hdr, len(s), e.proto, e.proto >= 4, opSHORT_BINUNICODE, opBINUNICODE, opBINUNICODE8, "a string")
		if err != nil {
			return err
		}
		e.writeData(h, s)
	}
	e.memoizeAt(slot, k)
	return nil
}

// appendRawUnicodeEscape appends s in the C pickler's raw_unicode_escape
// to out: latin-1 bytes, with \uXXXX for code points above 0xff and for
// \, NUL, \n, \r and ^Z, and \UXXXXXXXX above 0xffff. It returns an
// error if s is not UTF-8 (out may then have been appended to).
func appendRawUnicodeEscape(out []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); {
		r, size := decodeRune(s[i:])
		if r < 0 {
			return out, fmt.Errorf("pickle: string is not UTF-8 (byte 0x%02x at %d)", s[i], i)
		}
		i += size
		switch {
		case r >= 0x10000:
			out = appendHexEscape(out, 'U', uint32(r), 8)
		case r >= 0x100 || r == '\\' || r == 0 || r == '\n' || r == '\r' || r == 0x1a:
			out = appendHexEscape(out, 'u', uint32(r), 4)
		default:
			out = append(out, byte(r))
		}
	}
	return out, nil
}

func (e *encodeState) saveBytes(b []byte, k memoKey) error {
	if e.memoGet(k) {
		return nil
	}
	if e.proto < 3 {
		if len(b) == 0 {
			return e.saveReduceTo(globalBytes, k)
		}
		// codecs.encode(latin-1 str, 'latin1'): Python 2 reads it as str.
		if err := e.saveGlobal(globalEncode); err != nil {
			return err
		}
		if err := e.saveFreshTuple(latin1Decode(b), strLatin1); err != nil {
			return err
		}
		e.op(opREDUCE)
		e.memoize(k)
		return nil
	}
	var hdr [9]byte
	h, err := sizedHeader(&hdr, len(b), e.proto, true, opSHORT_BINBYTES, opBINBYTES, opBINBYTES8, "a bytes object")
	if err != nil {
		return err
	}
	e.writeData(h, unsafe.String(unsafe.SliceData(b), len(b)))
	e.memoize(k)
	return nil
}

// strLatin1 is the codec name CPython's pickler passes to _codecs.encode.
const strLatin1 = "latin1"

// latin1Decode returns b decoded as latin-1, as a new string (or a shared
// one-character string, which CPython caches).
func latin1Decode(b []byte) string {
	if len(b) == 1 {
		return latin1Strs[b[0]]
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteByte(0xc0 | c>>6)
			sb.WriteByte(0x80 | c&0x3f)
		}
	}
	return sb.String()
}

// sizedHeader fills hdr with the opcode and length of an n-byte payload:
// the one-byte-length opcode short (if allowed), else the four-byte one,
// else (protocol 4+) the eight-byte one.
func sizedHeader(hdr *[9]byte, n, proto int, shortOK bool, short, long4, long8 byte, what string) ([]byte, error) {
	switch {
	case n <= 0xff && shortOK:
		hdr[0], hdr[1] = short, byte(n)
		return hdr[:2], nil
	case uint64(n) <= 0xffffffff:
		hdr[0] = long4
		binary.LittleEndian.PutUint32(hdr[1:], uint32(n))
		return hdr[:5], nil
	case proto >= 4:
		hdr[0] = long8
		binary.LittleEndian.PutUint64(hdr[1:], uint64(n))
		return hdr[:9], nil
	}
	return nil, fmt.Errorf("pickle: serializing %s larger than 4 GiB requires pickle protocol 4 or higher", what)
}
