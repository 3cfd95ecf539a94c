package pickle

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// decoder is the unpickling machine: a stack, a stack of MARK positions
// and a memo, driven by the dispatch table loaders. It works on a complete
// pickle held in memory; Decoder (stream.go) first reads exactly one
// pickle from its reader, then runs a decoder over it.
type decoder struct {
	data  []byte
	pos   int // next byte to read
	opPos int // offset of the current opcode
	owned bool
	proto int

	stack []any
	marks []int
	fence int // len(stack) at the topmost MARK: nothing below it can be popped

	memo      []any
	memoCount int // distinct indices stored (MEMOIZE's next index)
	memoMap   map[uint64]any

	box    boxes
	hs     hstate
	alloc  int
	result any

	maxDepth, maxMemo, maxAlloc int
	opts                        *DecodeOptions
}

// memoHole marks an unused memo slot.
type memoHole struct{}

var hole any = memoHole{}

// errStop ends the dispatch loop at STOP.
var errStop = &sentinel{msg: "pickle: STOP"}

// aliasLimit is the size up to which Loads copies the whole input once and
// lets strings and bytes alias the copy (one allocation instead of one per
// value). Above it each value is copied on its own, so that a small value
// kept by the caller does not pin a large buffer.
const aliasLimit = 64 << 10

func (d *decoder) reset(data []byte, owned bool, opts *DecodeOptions) {
	d.data, d.pos, d.opPos, d.owned, d.proto = data, 0, 0, owned, 0
	d.stack, d.marks, d.fence = d.stack[:0], d.marks[:0], 0
	d.memo, d.memoCount, d.memoMap = d.memo[:0], 0, nil
	d.box = boxes{}
	d.alloc, d.result = 0, nil
	d.opts = opts
	d.maxDepth, d.maxMemo, d.maxAlloc = DefaultMaxDepth, DefaultMaxMemo, DefaultMaxAlloc
	if opts != nil {
		if opts.MaxDepth > 0 {
			d.maxDepth = opts.MaxDepth
		}
		if opts.MaxMemo > 0 {
			d.maxMemo = opts.MaxMemo
		}
		if opts.MaxAlloc > 0 {
			d.maxAlloc = opts.MaxAlloc
		}
	}
	// Hashing work is bounded by the input size: a pickle can describe a
	// key that is exponentially larger than itself through shared tuples.
	d.hs = hstate{budget: 1<<16 + 16*len(data)}
}

// release drops every reference the decoder holds, so that a pooled
// decoder does not keep values alive.
func (d *decoder) release() {
	clear(d.stack[:cap(d.stack)])
	clear(d.memo[:cap(d.memo)])
	d.stack, d.memo = d.stack[:0], d.memo[:0]
	d.data, d.memoMap, d.result, d.opts = nil, nil, nil, nil
	d.box = boxes{}
}

// run decodes one pickle from d.data.
func (d *decoder) run() (any, error) {
	if d.owned {
		// The input was copied for the values to share: that counts.
		if err := d.account(len(d.data)); err != nil {
			return nil, &SyntaxError{Err: err}
		}
	}
	for d.pos < len(d.data) {
		d.opPos = d.pos
		op := d.data[d.pos]
		d.pos++
		if err := loaders[op](d); err != nil {
			if err == errStop {
				return d.result, nil
			}
			return nil, d.syntaxError(op, err)
		}
	}
	d.opPos = len(d.data)
	return nil, &SyntaxError{Offset: int64(d.opPos), OpName: "", Err: detail(ErrTruncated, "no STOP opcode")}
}

func (d *decoder) syntaxError(op byte, err error) error {
	return &SyntaxError{Offset: int64(d.opPos), Op: op, OpName: opName(op), Err: err}
}

// ---- reading arguments ----

func (d *decoder) read(n int) ([]byte, error) {
	if n < 0 || len(d.data)-d.pos < n {
		return nil, ErrTruncated
	}
	b := d.data[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) readByte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, ErrTruncated
	}
	c := d.data[d.pos]
	d.pos++
	return c, nil
}

// readLine returns the bytes up to the next newline, consuming it.
func (d *decoder) readLine() ([]byte, error) {
	n, _ := argLen(argStringnlNoescape, d.data[d.pos:])
	if n < 0 {
		return nil, ErrTruncated
	}
	b := d.data[d.pos : d.pos+n-1 : d.pos+n-1]
	d.pos += n
	return b, nil
}

// readLen reads a little-endian length prefix of size bytes and checks
// that that many bytes follow.
func (d *decoder) readLen(size int, signed bool) (int, error) {
	b, err := d.read(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[0])
	case 4:
		u := binary.LittleEndian.Uint32(b)
		if signed && int32(u) < 0 {
			return 0, detail(ErrBadValue, "negative length %d", int32(u))
		}
		n = uint64(u)
	default:
		n = binary.LittleEndian.Uint64(b)
	}
	if n > uint64(len(d.data)-d.pos) {
		return 0, ErrTruncated
	}
	return int(n), nil
}

// account charges n bytes of allocation against MaxAlloc.
func (d *decoder) account(n int) error {
	d.alloc += n
	if d.alloc > d.maxAlloc || n < 0 {
		return detail(ErrLimit, "decoding needs more than MaxAlloc (%d) bytes", d.maxAlloc)
	}
	return nil
}

// str returns the string value of data[p:p+n].
func (d *decoder) str(p, n int) any {
	if n == 0 {
		return ""
	}
	b := d.data[p : p+n]
	if n <= 2 {
		if n == 1 && b[0] < 0x80 {
			return d.box.str(latin1Strs[b[0]])
		}
		if n == 2 && (b[0] == 0xc2 || b[0] == 0xc3) && b[1]&0xc0 == 0x80 {
			return d.box.str(latin1Strs[(b[0]&3)<<6|b[1]&0x3f])
		}
	}
	if d.owned {
		return d.box.str(unsafe.String(&b[0], n))
	}
	return d.box.str(string(b))
}

// bytesAt returns a []byte holding data[p:p+n], aliasing the input when
// it is owned (with the capacity clipped, so appends cannot clobber the
// next value).
func (d *decoder) bytesAt(p, n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if d.owned {
		return d.data[p : p+n : p+n]
	}
	return append([]byte(nil), d.data[p:p+n]...)
}

// ---- the stack ----

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	n := len(d.stack)
	if n <= d.fence {
		return nil, ErrStackUnderflow
	}
	v := d.stack[n-1]
	d.stack = d.stack[:n-1]
	return v, nil
}

func (d *decoder) top() (*any, error) {
	n := len(d.stack)
	if n <= d.fence {
		return nil, ErrStackUnderflow
	}
	return &d.stack[n-1], nil
}

// popMark removes the topmost MARK and returns the items above it. The
// slice aliases the stack: copy it before pushing again.
func (d *decoder) popMark() ([]any, error) {
	nm := len(d.marks)
	if nm == 0 {
		return nil, detail(ErrStackUnderflow, "MARK not found")
	}
	m := d.marks[nm-1]
	d.marks = d.marks[:nm-1]
	if nm > 1 {
		d.fence = d.marks[nm-2]
	} else {
		d.fence = 0
	}
	items := d.stack[m:len(d.stack):len(d.stack)]
	d.stack = d.stack[:m]
	return items, nil
}

// ---- the memo ----

func (d *decoder) memoPut(idx uint64, v any) error {
	if idx < uint64(len(d.memo)) {
		if d.memo[idx] == hole {
			d.memoCount++
		}
		d.memo[idx] = v
		return nil
	}
	if d.memoMap != nil {
		if _, ok := d.memoMap[idx]; ok {
			d.memoMap[idx] = v
			return nil
		}
	}
	if d.memoCount >= d.maxMemo {
		return detail(ErrLimit, "more than MaxMemo (%d) memo entries", d.maxMemo)
	}
	d.memoCount++
	if idx == uint64(len(d.memo)) {
		d.memo = append(d.memo, v)
		return nil
	}
	if idx < uint64(2*d.memoCount+64) {
		// Dense growth, with no more holes than entries (plus a few):
		// a hostile PUT index cannot make the slice large.
		for uint64(len(d.memo)) < idx {
			d.memo = append(d.memo, hole)
		}
		d.memo = append(d.memo, v)
		return nil
	}
	if d.memoMap == nil {
		d.memoMap = make(map[uint64]any)
	}
	d.memoMap[idx] = v
	return nil
}

func (d *decoder) memoGet(idx uint64) error {
	if idx < uint64(len(d.memo)) {
		if v := d.memo[idx]; v != hole {
			d.push(v)
			return nil
		}
	} else if v, ok := d.memoMap[idx]; ok {
		d.push(v)
		return nil
	}
	return detail(ErrMemoMissing, "memo index %d", idx)
}

// ---- opcodes ----

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
	v, err := d.parseInt(line, true)
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

// parseInt parses a text int as CPython's INT and LONG opcodes do (base
// 0: 0x, 0o and 0b prefixes, and a leading 0 meaning octal as in strtol).
func (d *decoder) parseInt(line []byte, base0 bool) (any, error) {
	s := trimSpace(string(line))
	base := 10
	if base0 {
		base = 0
	}
	if i, err := strconv.ParseInt(s, base, 64); err == nil {
		return d.box.int(i), nil
	}
	if len(s) > maxIntDigits {
		return nil, detail(ErrLimit, "int literal of more than %d digits", maxIntDigits)
	}
	v, ok := new(big.Int).SetString(s, base)
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
	n, err := d.readLen(lenSize, false)
	if err != nil {
		return err
	}
	if !d.owned {
		if err := d.account(n); err != nil {
			return err
		}
	}
	p := d.pos
	d.pos += n
	d.push(d.box.bytes_(d.bytesAt(p, n)))
	return nil
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
	n, err := d.readLen(lenSize, false)
	if err != nil {
		return err
	}
	if !d.owned {
		if err := d.account(n); err != nil {
			return err
		}
	}
	p := d.pos
	d.pos += n
	d.push(d.str(p, n))
	return nil
}

// ---- containers ----

func (d *decoder) loadEmptyList() error {
	d.push(new(List))
	return nil
}

func (d *decoder) loadAppend() error {
	v, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	switch x := (*t).(type) {
	case *List:
		*x = append(*x, v)
	case *Object:
		x.ListItems = append(x.ListItems, v)
	case *Exception:
		x.ListItems = append(x.ListItems, v)
	default:
		return detail(ErrBadValue, "APPEND to %s", typeName(*t))
	}
	return nil
}

func (d *decoder) loadAppends() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	if err := d.account(16 * len(items)); err != nil {
		return err
	}
	switch x := (*t).(type) {
	case *List:
		if len(*x) == 0 {
			*x = append(make(List, 0, len(items)), items...)
		} else {
			*x = append(*x, items...)
		}
	case *Object:
		x.ListItems = append(x.ListItems, items...)
	case *Exception:
		x.ListItems = append(x.ListItems, items...)
	default:
		return detail(ErrBadValue, "APPENDS to %s", typeName(*t))
	}
	return nil
}

func (d *decoder) loadList() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if err := d.account(16 * len(items)); err != nil {
		return err
	}
	l := List(append([]any(nil), items...))
	d.push(&l)
	return nil
}

func (d *decoder) loadEmptyTuple() error {
	d.push(emptyTuple)
	return nil
}

func (d *decoder) loadTuple() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if err := d.account(16 * len(items)); err != nil {
		return err
	}
	if len(items) == 0 {
		d.push(emptyTuple)
		return nil
	}
	t, v := d.box.newTuple(len(items))
	copy(t, items)
	d.push(v)
	return nil
}

func (d *decoder) loadTuple1() error { return d.tupleN(1) }
func (d *decoder) loadTuple2() error { return d.tupleN(2) }
func (d *decoder) loadTuple3() error { return d.tupleN(3) }

func (d *decoder) tupleN(n int) error {
	if len(d.stack)-d.fence < n {
		return ErrStackUnderflow
	}
	t, v := d.box.newTuple(n)
	copy(t, d.stack[len(d.stack)-n:])
	d.stack = d.stack[:len(d.stack)-n]
	d.push(v)
	return nil
}

func (d *decoder) loadEmptyDict() error {
	d.push(new(Dict))
	return nil
}

func (d *decoder) loadDict() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return detail(ErrBadValue, "odd number of items for DICT")
	}
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	dict := NewDict(len(items) / 2)
	for i := 0; i < len(items); i += 2 {
		if err := dict.t.insert(items[i], items[i+1], &d.hs); err != nil {
			return err
		}
	}
	d.push(dict)
	return nil
}

func (d *decoder) loadSetitem() error {
	if len(d.stack)-d.fence < 3 {
		return ErrStackUnderflow
	}
	n := len(d.stack)
	k, v := d.stack[n-2], d.stack[n-1]
	d.stack = d.stack[:n-2]
	return d.setItems(d.stack[n-3], []any{k, v})
}

func (d *decoder) loadSetitems() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return detail(ErrBadValue, "odd number of items for SETITEMS")
	}
	return d.setItems(*t, items)
}

func (d *decoder) setItems(target any, items []any) error {
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	switch x := target.(type) {
	case *Dict:
		if x.t.entries == nil {
			x.t.init(len(items) / 2)
		}
		for i := 0; i < len(items); i += 2 {
			if err := x.t.insert(items[i], items[i+1], &d.hs); err != nil {
				return err
			}
		}
	case *Object:
		for i := 0; i < len(items); i += 2 {
			x.DictItems = append(x.DictItems, Pair{items[i], items[i+1]})
		}
	case *Exception:
		for i := 0; i < len(items); i += 2 {
			x.DictItems = append(x.DictItems, Pair{items[i], items[i+1]})
		}
	default:
		return detail(ErrBadValue, "SETITEM on %s", typeName(target))
	}
	return nil
}

func (d *decoder) loadEmptySet() error {
	d.push(new(Set))
	return nil
}

func (d *decoder) loadAdditems() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	s, ok := (*t).(*Set)
	if !ok {
		return detail(ErrBadValue, "ADDITEMS on %s", typeName(*t))
	}
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	if s.t.entries == nil {
		s.t.init(len(items))
	}
	for _, it := range items {
		if err := s.t.insert(it, nil, &d.hs); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) loadFrozenset() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	s := NewFrozenSet(len(items))
	for _, it := range items {
		if err := s.t.insert(it, nil, &d.hs); err != nil {
			return err
		}
	}
	d.push(s)
	return nil
}

// ---- memo opcodes ----

func (d *decoder) loadGet() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	idx, err := strconv.ParseUint(trimSpace(string(line)), 10, 64)
	if err != nil {
		return detail(ErrBadValue, "invalid memo index %q", clip(string(line)))
	}
	return d.memoGet(idx)
}

func (d *decoder) loadBinget() error {
	c, err := d.readByte()
	if err != nil {
		return err
	}
	return d.memoGet(uint64(c))
}

func (d *decoder) loadLongBinget() error {
	b, err := d.read(4)
	if err != nil {
		return err
	}
	return d.memoGet(uint64(binary.LittleEndian.Uint32(b)))
}

func (d *decoder) loadPut() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	idx, err := strconv.ParseUint(trimSpace(string(line)), 10, 64)
	if err != nil {
		return detail(ErrBadValue, "invalid memo index %q", clip(string(line)))
	}
	return d.put(idx)
}

func (d *decoder) loadBinput() error {
	c, err := d.readByte()
	if err != nil {
		return err
	}
	return d.put(uint64(c))
}

func (d *decoder) loadLongBinput() error {
	b, err := d.read(4)
	if err != nil {
		return err
	}
	return d.put(uint64(binary.LittleEndian.Uint32(b)))
}

func (d *decoder) put(idx uint64) error {
	t, err := d.top()
	if err != nil {
		return err
	}
	return d.memoPut(idx, *t)
}

func (d *decoder) loadMemoize() error {
	n := len(d.stack)
	if n <= d.fence {
		return ErrStackUnderflow
	}
	if d.memoCount == len(d.memo) && d.memoCount < d.maxMemo {
		d.memo = append(d.memo, d.stack[n-1])
		d.memoCount++
		return nil
	}
	return d.memoPut(uint64(d.memoCount), d.stack[n-1])
}

// ---- globals and objects ----

func (d *decoder) loadExt1() error {
	c, err := d.readByte()
	if err != nil {
		return err
	}
	return d.ext(int(c))
}

func (d *decoder) loadExt2() error {
	b, err := d.read(2)
	if err != nil {
		return err
	}
	return d.ext(int(binary.LittleEndian.Uint16(b)))
}

func (d *decoder) loadExt4() error {
	b, err := d.read(4)
	if err != nil {
		return err
	}
	return d.ext(int(int32(binary.LittleEndian.Uint32(b))))
}

func (d *decoder) ext(code int) error {
	if code <= 0 {
		return detail(ErrBadValue, "EXT specifies code <= 0")
	}
	if d.opts == nil || d.opts.Ext == nil {
		return detail(ErrNoHook, "extension code %d needs DecodeOptions.Ext", code)
	}
	g, err := d.opts.Ext(code)
	if err != nil {
		return err
	}
	v, err := d.findClass(g.Module, g.Name, false)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

func (d *decoder) loadGlobal() error {
	mod, err := d.readLine()
	if err != nil {
		return err
	}
	name, err := d.readLine()
	if err != nil {
		return err
	}
	v, err := d.findClass(d.lineString(mod), d.lineString(name), d.proto < 3)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

// lineString returns a string for a line of the input (already consumed).
func (d *decoder) lineString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if d.owned {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

func (d *decoder) loadStackGlobal() error {
	name, err := d.pop()
	if err != nil {
		return err
	}
	mod, err := d.pop()
	if err != nil {
		return err
	}
	ms, ok1 := mod.(string)
	ns, ok2 := name.(string)
	if !ok1 || !ok2 {
		return detail(ErrBadValue, "STACK_GLOBAL requires str")
	}
	v, err := d.findClass(ms, ns, d.proto < 3)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

// findClass resolves a global: Python 2 names are mapped as CPython's
// fix_imports does below protocol 3, then DecodeOptions.Find is asked;
// without it the result is a Global.
func (d *decoder) findClass(module, name string, fix bool) (any, error) {
	if fix {
		module, name = fixImportsLoad(module, name)
	}
	if d.opts != nil && d.opts.Find != nil {
		return d.opts.Find(module, name)
	}
	return Global{Module: module, Name: name}, nil
}

func (d *decoder) loadReduce() error {
	args, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	tup, ok := args.(Tuple)
	if !ok {
		return detail(ErrBadValue, "REDUCE arguments must be a tuple, not %s", typeName(args))
	}
	v, err := d.reduce(*t, tup)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (d *decoder) loadBuild() error {
	state, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	var o *Object
	switch x := (*t).(type) {
	case *Object:
		o = x
	case *Exception:
		o = &x.Object
	default:
		return detail(ErrBadValue, "BUILD on %s", typeName(*t))
	}
	o.State, o.HasState = state, true
	return nil
}

func (d *decoder) loadInst() error {
	mod, err := d.readLine()
	if err != nil {
		return err
	}
	name, err := d.readLine()
	if err != nil {
		return err
	}
	cls, err := d.findClass(d.lineString(mod), d.lineString(name), d.proto < 3)
	if err != nil {
		return err
	}
	items, err := d.popMark()
	if err != nil {
		return err
	}
	d.push(newObject(cls, Inst, append(Tuple(nil), items...)))
	return nil
}

func (d *decoder) loadObj() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return detail(ErrStackUnderflow, "OBJ without a class")
	}
	d.push(newObject(items[0], Obj, append(Tuple(nil), items[1:]...)))
	return nil
}

func (d *decoder) loadNewobj() error {
	args, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	tup, ok := args.(Tuple)
	if !ok {
		return detail(ErrBadValue, "NEWOBJ arguments must be a tuple, not %s", typeName(args))
	}
	*t = newObject(*t, NewObj, tup)
	return nil
}

func (d *decoder) loadNewobjEx() error {
	if len(d.stack)-d.fence < 3 {
		return ErrStackUnderflow
	}
	n := len(d.stack)
	cls, args, kwargs := d.stack[n-3], d.stack[n-2], d.stack[n-1]
	tup, ok := args.(Tuple)
	if !ok {
		return detail(ErrBadValue, "NEWOBJ_EX arguments must be a tuple, not %s", typeName(args))
	}
	kw, ok := kwargs.(*Dict)
	if !ok {
		return detail(ErrBadValue, "NEWOBJ_EX keyword arguments must be a dict, not %s", typeName(kwargs))
	}
	o := newObject(cls, NewObjEx, tup)
	switch x := o.(type) {
	case *Object:
		x.Kwargs = kw
	case *Exception:
		x.Kwargs = kw
	}
	d.stack = d.stack[:n-2]
	d.stack[n-3] = o
	return nil
}

// newObject returns an *Object, or an *Exception for exception classes.
func newObject(cls any, kind ObjectKind, args Tuple) any {
	if g, ok := cls.(Global); ok && isExceptionClass(g) {
		return &Exception{Object{Callable: cls, Kind: kind, Args: args}}
	}
	return &Object{Callable: cls, Kind: kind, Args: args}
}

func (d *decoder) loadPersid() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	for _, c := range line {
		if c >= 0x80 {
			return detail(ErrBadValue, "persistent IDs in protocol 0 must be ASCII strings")
		}
	}
	return d.persistent(d.lineString(line))
}

func (d *decoder) loadBinpersid() error {
	pid, err := d.pop()
	if err != nil {
		return err
	}
	return d.persistent(pid)
}

func (d *decoder) persistent(pid any) error {
	if d.opts != nil && d.opts.PersistentLoad != nil {
		v, err := d.opts.PersistentLoad(pid)
		if err != nil {
			return err
		}
		d.push(v)
		return nil
	}
	d.push(PersistentID{ID: pid})
	return nil
}
