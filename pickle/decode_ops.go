package pickle

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The dispatch table and the opcodes that push atoms: ints, floats, str,
// bytes, and the control opcodes (PROTO, FRAME, STOP, MARK, POP, DUP).

// loaders is the dispatch table, indexed by opcode byte. Bytes that are
// not opcodes dispatch to loadUnknown (set by init), the explicit fallback.
var loaders = [256]func(*decoder) error{
	opPROTO:            (*decoder).loadProto,
	opFRAME:            (*decoder).loadFrame,
	opSTOP:             (*decoder).loadStop,
	opMARK:             (*decoder).loadMark,
	opPOP:              (*decoder).loadPop,
	opPOP_MARK:         (*decoder).loadPopMark,
	opDUP:              (*decoder).loadDup,
	opNONE:             (*decoder).loadNone,
	opNEWTRUE:          (*decoder).loadTrue,
	opNEWFALSE:         (*decoder).loadFalse,
	opINT:              (*decoder).loadInt,
	opBININT:           (*decoder).loadBinint,
	opBININT1:          (*decoder).loadBinint1,
	opBININT2:          (*decoder).loadBinint2,
	opLONG:             (*decoder).loadLong,
	opLONG1:            (*decoder).loadLong1,
	opLONG4:            (*decoder).loadLong4,
	opFLOAT:            (*decoder).loadFloat,
	opBINFLOAT:         (*decoder).loadBinfloat,
	opSTRING:           (*decoder).loadString,
	opBINSTRING:        (*decoder).loadBinstring,
	opSHORT_BINSTRING:  (*decoder).loadShortBinstring,
	opBINBYTES:         (*decoder).loadBinbytes,
	opSHORT_BINBYTES:   (*decoder).loadShortBinbytes,
	opBINBYTES8:        (*decoder).loadBinbytes8,
	opBYTEARRAY8:       (*decoder).loadBytearray8,
	opNEXT_BUFFER:      (*decoder).loadNextBuffer,
	opREADONLY_BUFFER:  (*decoder).loadReadonlyBuffer,
	opUNICODE:          (*decoder).loadUnicode,
	opSHORT_BINUNICODE: (*decoder).loadShortBinunicode,
	opBINUNICODE:       (*decoder).loadBinunicode,
	opBINUNICODE8:      (*decoder).loadBinunicode8,
	opEMPTY_LIST:       (*decoder).loadEmptyList,
	opAPPEND:           (*decoder).loadAppend,
	opAPPENDS:          (*decoder).loadAppends,
	opLIST:             (*decoder).loadList,
	opEMPTY_TUPLE:      (*decoder).loadEmptyTuple,
	opTUPLE:            (*decoder).loadTuple,
	opTUPLE1:           (*decoder).loadTuple1,
	opTUPLE2:           (*decoder).loadTuple2,
	opTUPLE3:           (*decoder).loadTuple3,
	opEMPTY_DICT:       (*decoder).loadEmptyDict,
	opDICT:             (*decoder).loadDict,
	opSETITEM:          (*decoder).loadSetitem,
	opSETITEMS:         (*decoder).loadSetitems,
	opEMPTY_SET:        (*decoder).loadEmptySet,
	opADDITEMS:         (*decoder).loadAdditems,
	opFROZENSET:        (*decoder).loadFrozenset,
	opGET:              (*decoder).loadGet,
	opBINGET:           (*decoder).loadBinget,
	opLONG_BINGET:      (*decoder).loadLongBinget,
	opPUT:              (*decoder).loadPut,
	opBINPUT:           (*decoder).loadBinput,
	opLONG_BINPUT:      (*decoder).loadLongBinput,
	opMEMOIZE:          (*decoder).loadMemoize,
	opEXT1:             (*decoder).loadExt1,
	opEXT2:             (*decoder).loadExt2,
	opEXT4:             (*decoder).loadExt4,
	opGLOBAL:           (*decoder).loadGlobal,
	opSTACK_GLOBAL:     (*decoder).loadStackGlobal,
	opREDUCE:           (*decoder).loadReduce,
	opBUILD:            (*decoder).loadBuild,
	opINST:             (*decoder).loadInst,
	opOBJ:              (*decoder).loadObj,
	opNEWOBJ:           (*decoder).loadNewobj,
	opNEWOBJ_EX:        (*decoder).loadNewobjEx,
	opPERSID:           (*decoder).loadPersid,
	opBINPERSID:        (*decoder).loadBinpersid,
}

func init() {
	for i, f := range loaders {
		if f == nil {
			loaders[i] = (*decoder).loadUnknown
		}
	}
}

func (d *decoder) loadUnknown() error { return ErrUnknownOpcode }

func (d *decoder) loadProto() error {
	p, err := d.readByte()
	if err != nil {
		return err
	}
	if p > HighestProtocol {
		return detail(ErrBadValue, "unsupported pickle protocol %d", p)
	}
	d.proto = int(p)
	return nil
}

func (d *decoder) loadFrame() error {
	// The whole pickle is in memory: only check that the frame is there.
	_, err := d.readLen(8, false)
	return err
}

func (d *decoder) loadStop() error {
	v, err := d.pop()
	if err != nil {
		return err
	}
	d.result = v
	return errStop
}

func (d *decoder) loadMark() error {
	if len(d.marks) >= d.maxDepth {
		return detail(ErrLimit, "MARK nesting deeper than MaxDepth (%d)", d.maxDepth)
	}
	d.marks = append(d.marks, len(d.stack))
	d.fence = len(d.stack)
	return nil
}

func (d *decoder) loadPop() error {
	if len(d.stack) > d.fence {
		d.stack = d.stack[:len(d.stack)-1]
		return nil
	}
	// CPython keeps marks on a stack of their own; POP with nothing above
	// the topmost mark pops the mark.
	_, err := d.popMark()
	return err
}

func (d *decoder) loadPopMark() error {
	_, err := d.popMark()
	return err
}

func (d *decoder) loadDup() error {
	t, err := d.top()
	if err != nil {
		return err
	}
	d.push(*t)
	return nil
}

func (d *decoder) loadNone() error  { d.push(nil); return nil }
func (d *decoder) loadTrue() error  { d.push(true); return nil }
func (d *decoder) loadFalse() error { d.push(false); return nil }

func (d *decoder) loadInt() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	switch string(line) {
	case "00":
		d.push(false)
		return nil
	case "01":
		d.push(true)
		return nil
	}
	v, err := d.parseInt(line, true)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

func (d *decoder) loadBinint() error {
	b, err := d.read(4)
	if err != nil {
		return err
	}
	d.push(d.box.int(int64(int32(binary.LittleEndian.Uint32(b)))))
	return nil
}

func (d *decoder) loadBinint1() error {
	if d.pos >= len(d.data) {
		return ErrTruncated
	}
	d.push(d.box.int(int64(d.data[d.pos])))
	d.pos++
	return nil
}

func (d *decoder) loadBinint2() error {
	b, err := d.read(2)
	if err != nil {
		return err
	}
	d.push(d.box.int(int64(binary.LittleEndian.Uint16(b))))
	return nil
}

func (d *decoder) loadLong() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	if n := len(line); n > 0 && line[n-1] == 'L' {
		line = line[:n-1]
	}
	v, err := d.parseInt(line, false)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

func (d *decoder) loadLong1() error {
	n, err := d.readLen(1, false)
	if err != nil {
		return err
	}
	return d.pushLong(n)
}

func (d *decoder) loadLong4() error {
	n, err := d.readLen(4, true)
	if err != nil {
		return err
	}
	return d.pushLong(n)
}

// pushLong decodes n bytes of little-endian two's complement.
func (d *decoder) pushLong(n int) error {
	b, _ := d.read(n)
	if n <= 8 {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
			u |= ^uint64(0) << (8 * n) // sign-extend
		}
		d.push(d.box.int(int64(u)))
		return nil
	}
	if err := d.account(n); err != nil {
		return err
	}
	d.push(decodeLong(b))
	return nil
}

// decodeLong converts little-endian two's complement bytes to an int64 or
// a *big.Int.
func decodeLong(b []byte) any {
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if len(b) > 0 && b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// parseInt parses a text int as CPython's INT and LONG opcodes do. INT
// (strtol) first tries C's strtol with base 0: a leading 0 means octal,
// 0x hex, no underscores, within a C long. Otherwise, and always for LONG,
// the literal is read as Python's int(s, 0): 0x, 0o and 0b prefixes,
// underscores between digits, and no leading zero on a nonzero decimal
// ("010" is 8 for INT, an error for LONG, as in CPython).
func (d *decoder) parseInt(line []byte, strtol bool) (any, error) {
	s := trimSpace(string(line))
	// strtol's reading: no underscores, a leading 0 means octal. Beyond
	// a C long it fails and CPython falls back to int(s, 0).
	cLiteral := strtol && strings.IndexByte(s, '_') < 0
	i, err := strconv.ParseInt(s, 0, 64)
	if (err != nil || !cLiteral) && leadingZeroDecimal(s) {
		return nil, detail(ErrBadValue, "invalid literal for int() with base 0: %q", clip(s))
	}
	if err == nil {
		return d.box.int(i), nil
	}
	if len(s) > maxIntDigits {
		return nil, detail(ErrLimit, "int literal of more than %d digits", maxIntDigits)
	}
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		return nil, detail(ErrBadValue, "invalid int literal %q", clip(s))
	}
	if err := d.account(len(s)); err != nil {
		return nil, err
	}
	if v.IsInt64() {
		return d.box.int(v.Int64()), nil
	}
	return v, nil
}

// leadingZeroDecimal reports whether s, an int literal, is a decimal with
// a leading zero and a nonzero digit, which Python's int(s, 0) refuses.
func leadingZeroDecimal(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if len(s) < 2 || s[0] != '0' {
		return false
	}
	switch s[1] {
	case 'x', 'X', 'o', 'O', 'b', 'B':
		return false
	}
	return strings.Trim(s, "0_") != ""
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\v' || s[0] == '\f') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r' ||
		s[len(s)-1] == '\v' || s[len(s)-1] == '\f') {
		s = s[:len(s)-1]
	}
	return s
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func (d *decoder) loadFloat() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(trimSpace(string(line)), 64)
	if err != nil {
		return detail(ErrBadValue, "invalid float literal %q", clip(string(line)))
	}
	d.push(d.box.float(f))
	return nil
}

func (d *decoder) loadBinfloat() error {
	b, err := d.read(8)
	if err != nil {
		return err
	}
	d.push(d.box.float(math.Float64frombits(binary.BigEndian.Uint64(b))))
	return nil
}

// Python 2 str (STRING, BINSTRING, SHORT_BINSTRING) decodes as CPython's
// default Unpickler(encoding='ASCII') does: to str, failing on non-ASCII.

func (d *decoder) loadString() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '\'' && line[0] != '"') {
		return detail(ErrBadValue, "the STRING opcode argument must be quoted")
	}
	raw, err := escapeDecode(line[1 : len(line)-1])
	if err != nil {
		return err
	}
	return d.pushASCII(raw, false)
}

func (d *decoder) loadBinstring() error {
	n, err := d.readLen(4, true)
	if err != nil {
		return err
	}
	b, _ := d.read(n)
	return d.pushASCII(b, true)
}

func (d *decoder) loadShortBinstring() error {
	n, err := d.readLen(1, false)
	if err != nil {
		return err
	}
	b, _ := d.read(n)
	return d.pushASCII(b, true)
}

func (d *decoder) pushASCII(b []byte, inInput bool) error {
	for _, c := range b {
		if c >= 0x80 {
			return detail(ErrBadValue, "Python 2 str is not ASCII")
		}
	}
	if inInput {
		d.push(d.str(d.pos-len(b), len(b)))
		return nil
	}
	if err := d.account(len(b)); err != nil {
		return err
	}
	d.push(d.box.str(string(b)))
	return nil
}

// escapeDecode implements codecs.escape_decode, the unquoting of a Python
// 2 str literal.
func escapeDecode(s []byte) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, detail(ErrBadValue, "trailing \\ in string")
		}
		c = s[i]
		switch c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(s[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(s) {
				return nil, detail(ErrBadValue, "invalid \\x escape")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, detail(ErrBadValue, "invalid \\x escape")
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (d *decoder) loadBinbytes() error      { return d.pushBytes(4) }
func (d *decoder) loadShortBinbytes() error { return d.pushBytes(1) }
func (d *decoder) loadBinbytes8() error     { return d.pushBytes(8) }

func (d *decoder) pushBytes(lenSize int) error {
	p, n, err := d.payload(lenSize)
	if err != nil {
		return err
	}
	d.push(d.box.bytes_(d.bytesAt(p, n)))
	return nil
}

// payload reads a length prefix of lenSize bytes and skips the payload it
// announces, returning its position and length, and charging it against
// MaxAlloc when it will be copied on its own.
func (d *decoder) payload(lenSize int) (p, n int, err error) {
	n, err = d.readLen(lenSize, false)
	if err != nil {
		return 0, 0, err
	}
	if !d.owned && !d.lazy {
		if err := d.account(n); err != nil {
			return 0, 0, err
		}
	}
	p = d.pos
	d.pos += n
	return p, n, nil
}

func (d *decoder) loadBytearray8() error {
	n, err := d.readLen(8, false)
	if err != nil {
		return err
	}
	if err := d.account(n); err != nil {
		return err
	}
	b := ByteArray(append([]byte{}, d.data[d.pos:d.pos+n]...))
	d.pos += n
	d.push(&b)
	return nil
}

func (d *decoder) loadNextBuffer() error {
	if d.opts == nil || d.opts.Buffers == nil {
		return detail(ErrNoHook, "pickle stream refers to out-of-band data but DecodeOptions.Buffers is not set")
	}
	buf, err := d.opts.Buffers()
	if err != nil {
		return err
	}
	b := ByteArray(buf)
	d.push(&b)
	return nil
}

func (d *decoder) loadReadonlyBuffer() error {
	t, err := d.top()
	if err != nil {
		return err
	}
	if b, ok := (*t).(*ByteArray); ok {
		*t = []byte(*b)
	}
	return nil
}

func (d *decoder) loadUnicode() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	s, err := rawUnicodeEscapeDecode(line)
	if err != nil {
		return err
	}
	if err := d.account(len(s)); err != nil {
		return err
	}
	d.push(d.box.str(s))
	return nil
}

// rawUnicodeEscapeDecode decodes CPython's raw-unicode-escape codec:
// latin-1 bytes in which \uXXXX and \UXXXXXXXX are escapes. Surrogates are
// kept (encoded as CPython's surrogatepass would).
func rawUnicodeEscapeDecode(b []byte) (string, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = appendCodePoint(out, rune(c))
			continue
		}
		i++
		c = b[i]
		count := 0
		switch c {
		case 'u':
			count = 4
		case 'U':
			count = 8
		default:
			out = append(out, '\\')
			out = appendCodePoint(out, rune(c))
			continue
		}
		if i+count >= len(b) {
			return "", detail(ErrBadValue, "truncated \\%c escape", c)
		}
		var r rune
		for _, h := range b[i+1 : i+1+count] {
			v, ok := unhex(h)
			if !ok {
				return "", detail(ErrBadValue, "truncated \\%c escape", c)
			}
			r = r<<4 | rune(v)
		}
		if r > 0x10ffff || r < 0 {
			return "", detail(ErrBadValue, "\\U escape out of range")
		}
		out = appendCodePoint(out, r)
		i += count
	}
	return string(out), nil
}

// appendCodePoint appends r as UTF-8, writing surrogates as their
// three-byte form (CPython's surrogatepass).
func appendCodePoint(out []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(out, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
	}
	if r < 0x80 {
		return append(out, byte(r))
	}
	return utf8.AppendRune(out, r)
}

func (d *decoder) loadShortBinunicode() error {
	if d.pos >= len(d.data) {
		return ErrTruncated
	}
	n := int(d.data[d.pos])
	p := d.pos + 1
	if len(d.data)-p < n {
		return ErrTruncated
	}
	d.pos = p + n
	d.push(d.str(p, n))
	return nil
}

func (d *decoder) loadBinunicode() error  { return d.pushStr(4) }
func (d *decoder) loadBinunicode8() error { return d.pushStr(8) }

func (d *decoder) pushStr(lenSize int) error {
	p, n, err := d.payload(lenSize)
	if err != nil {
		return err
	}
	d.push(d.str(p, n))
	return nil
}
