package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"
)

// The encoder reproduces CPython's C pickler (Modules/_pickle.c) byte for
// byte: the same opcode choices, memo placement (MEMOIZE at protocol 4+,
// BINPUT/LONG_BINPUT below, PUT at 0), FRAME placement (a frame opens at
// the first write after the previous one was committed, is committed at
// the start of the next save once it holds 64 KiB, loses its header if it
// holds under 4 bytes, and bytes/str/bytearray payloads of 64 KiB or more
// are written between frames), batches of 1000 in APPENDS/SETITEMS/
// ADDITEMS (with the C pickler's quirk of an empty trailing SETITEMS or
// ADDITEMS batch when a dict or set has an exact multiple of 1000 items),
// and the reductions it uses for types that have no opcode at a protocol.

const (
	frameHeaderSize = 9
	frameSizeMin    = 4
	frameSizeTarget = 64 << 10
	batchSize       = 1000
)

// memoKey identifies a memoized value: a pointer for reference types, a
// (pointer, length) pair for strings, bytes and tuples, or a value for the
// singletons CPython shares (empty and one-character strings, empty and
// one-byte bytes).
type memoKey struct {
	p    unsafe.Pointer
	n    int
	kind uint8
}

const (
	keyPtr uint8 = iota + 1
	keyStr
	keyBytes
	keyTuple
	keyStrChar
	keyBytesChar
)

func strKey(s string) (memoKey, bool) {
	switch len(s) {
	case 0:
		return memoKey{n: -1, kind: keyStrChar}, true
	case 1:
		if s[0] < 0x80 {
			return memoKey{n: int(s[0]), kind: keyStrChar}, true
		}
	case 2:
		if (s[0] == 0xc2 || s[0] == 0xc3) && s[1]&0xc0 == 0x80 {
			return memoKey{n: int(s[0]&3)<<6 | int(s[1]&0x3f), kind: keyStrChar}, true
		}
	}
	return memoKey{p: unsafe.Pointer(unsafe.StringData(s)), n: len(s), kind: keyStr}, true
}

func bytesKey(b []byte) memoKey {
	switch len(b) {
	case 0:
		return memoKey{n: -1, kind: keyBytesChar}
	case 1:
		return memoKey{n: int(b[0]), kind: keyBytesChar}
	}
	return memoKey{p: unsafe.Pointer(unsafe.SliceData(b)), n: len(b), kind: keyBytes}
}

func ptrKey[T any](p *T) memoKey { return memoKey{p: unsafe.Pointer(p), kind: keyPtr} }

// noKey memoizes a value nothing else can refer to (a tuple or list the
// pickler builds itself, like CPython's temporary reduce arguments).
var noKey = memoKey{}

// encodeState is one pickler. It is reused (through Encoder and a pool for
// Dumps) so that its buffer and memo tables keep their storage.
type encodeState struct {
	buf        []byte
	proto      int
	framing    bool
	frameStart int // offset of the open frame's header, or -1

	memo    memoTable
	globals map[Global]int
	memoLen int
	// Memo indices of the names the pickler writes by itself (see
	// wellKnownNames), as written by itself and as found in the data.
	synthIdx, seenIdx [len(wellKnownNames)]int

	depth        int
	maxDepth     int
	persistentID func(any) (any, bool)
}

func newEncodeState() *encodeState {
	return &encodeState{
		globals:    make(map[Global]int),
		proto:      DefaultProtocol,
		frameStart: -1,
		maxDepth:   DefaultMaxDepth,
		synthIdx:   noIdx,
		seenIdx:    noIdx,
	}
}

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

// wellKnown returns the index in wellKnownNames of s's value, or -1, and
// whether s is the pickler's own copy.
func wellKnown(s string) (int, bool) {
	if len(s) < 6 || len(s) > 9 {
		return -1, false
	}
	for i, w := range wellKnownNames {
		if s == w {
			return i, unsafe.StringData(s) == unsafe.StringData(w)
		}
	}
	return -1, false
}

func (e *encodeState) configure(opts *EncodeOptions) error {
	e.proto, e.persistentID = DefaultProtocol, nil
	if opts != nil {
		p := opts.Protocol
		if p < 0 {
			p = HighestProtocol
		}
		if p > HighestProtocol {
			return fmt.Errorf("pickle: protocol %d not in 0..%d", p, HighestProtocol)
		}
		e.proto, e.persistentID = p, opts.PersistentID
	}
	return nil
}

// reset forgets the last pickle, keeping the storage.
func (e *encodeState) reset() {
	e.buf = e.buf[:0]
	e.memo.reset()
	if len(e.globals) > 0 {
		clear(e.globals)
	}
	e.memoLen, e.depth, e.frameStart, e.framing = 0, 0, -1, false
	e.synthIdx, e.seenIdx = noIdx, noIdx
	if cap(e.buf) > 1<<20 {
		e.buf = nil // do not pin a huge buffer in a pool
	}
}

// dump writes one whole pickle of v to e.buf.
func (e *encodeState) dump(v any) error {
	e.buf = e.buf[:0]
	e.frameStart, e.framing = -1, false
	if e.proto >= 2 {
		e.buf = append(e.buf, opPROTO, byte(e.proto))
		e.framing = e.proto >= 4
	}
	if err := e.save(v); err != nil {
		return err
	}
	e.op(opSTOP)
	e.commitFrame()
	e.framing = false
	return nil
}

// ---- writing and framing ----

// open starts a frame if framing is on and none is open: the C pickler
// opens frames lazily, at the first write after a commit.
func (e *encodeState) open() {
	if e.framing && e.frameStart < 0 {
		e.frameStart = len(e.buf)
		e.buf = append(e.buf, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
}

func (e *encodeState) commitFrame() {
	if !e.framing || e.frameStart < 0 {
		return
	}
	start := e.frameStart
	n := len(e.buf) - start - frameHeaderSize
	if n >= frameSizeMin {
		e.buf[start] = opFRAME
		binary.LittleEndian.PutUint64(e.buf[start+1:], uint64(n))
	} else {
		copy(e.buf[start:], e.buf[start+frameHeaderSize:])
		e.buf = e.buf[:len(e.buf)-frameHeaderSize]
	}
	e.frameStart = -1
}

func (e *encodeState) op(op byte) {
	e.open()
	e.buf = append(e.buf, op)
}

func (e *encodeState) op2(op, arg byte) {
	e.open()
	e.buf = append(e.buf, op, arg)
}

func (e *encodeState) write(b ...byte) {
	e.open()
	e.buf = append(e.buf, b...)
}

func (e *encodeState) writeString(s string) {
	e.open()
	e.buf = append(e.buf, s...)
}

// writeData writes an opcode header and a payload, outside any frame if
// the payload is 64 KiB or more (the C pickler's _Pickler_write_bytes).
func (e *encodeState) writeData(header []byte, data string) {
	if len(data) >= frameSizeTarget {
		e.commitFrame()
		framing := e.framing
		e.framing = false
		e.buf = append(e.buf, header...)
		e.buf = append(e.buf, data...)
		e.framing = framing
		return
	}
	e.open()
	e.buf = append(e.buf, header...)
	e.buf = append(e.buf, data...)
}

// ---- the memo ----

// memoize records the value on top of the stack under the next memo
// index (key noKey: under no key, the index is still used).
func (e *encodeState) memoize(k memoKey) {
	idx := e.memoLen
	e.memoLen++
	if k != noKey {
		e.memo.put(k, idx)
	}
	e.writePut(idx)
}

// memoizeAt is memoize for a key whose slot find returned.
func (e *encodeState) memoizeAt(slot int, k memoKey) {
	idx := e.memoLen
	e.memoLen++
	e.memo.set(slot, k, idx)
	e.writePut(idx)
}

// lookup writes a GET and returns -1 if k is memoized, else returns the
// slot for memoizeAt.
func (e *encodeState) lookup(k memoKey) int {
	slot, idx := e.memo.find(k)
	if idx >= 0 {
		e.writeGet(idx)
		return -1
	}
	return slot
}

func (e *encodeState) writePut(idx int) {
	switch {
	case e.proto >= 4:
		e.op(opMEMOIZE)
	case e.proto == 0:
		e.op(opPUT)
		e.writeString(strconv.Itoa(idx))
		e.buf = append(e.buf, '\n')
	case idx < 256:
		e.op2(opBINPUT, byte(idx))
	default:
		e.op(opLONG_BINPUT)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(idx))
	}
}

func (e *encodeState) writeGet(idx int) {
	switch {
	case e.proto == 0:
		e.op(opGET)
		e.writeString(strconv.Itoa(idx))
		e.buf = append(e.buf, '\n')
	case idx < 256:
		e.op2(opBINGET, byte(idx))
	default:
		e.op(opLONG_BINGET)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(idx))
	}
}

// memoGet writes a GET and reports true if k is memoized.
func (e *encodeState) memoGet(k memoKey) bool {
	if idx := e.memo.get(k); idx >= 0 {
		e.writeGet(idx)
		return true
	}
	return false
}

// ---- save ----

func (e *encodeState) enter() error {
	e.depth++
	if e.depth > e.maxDepth {
		return detail(ErrLimit, "value nested deeper than %d levels (or cyclic through Go slices or maps)", e.maxDepth)
	}
	return nil
}

// save writes one value. It is the C pickler's save(): first the frame
// boundary check, then the persistent id hook, then atoms, then the memo,
// then containers and objects.
func (e *encodeState) save(v any) error {
	if e.framing && e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
	if e.persistentID != nil {
		if id, ok := e.persistentID(v); ok {
			return e.savePers(id)
		}
	}
	switch x := v.(type) {
	case nil:
		e.op(opNONE)
	case string:
		return e.saveStr(x)
	case int64:
		e.saveInt(x)
	case bool:
		e.saveBool(x)
	case float64:
		e.saveFloat(x)
	case Tuple:
		return e.saveTuple(x)
	case *List:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(x)
		slot := e.lookup(k)
		if slot < 0 {
			return nil
		}
		return e.saveList(*x, k, slot)
	case *Dict:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(x)
		slot := e.lookup(k)
		if slot < 0 {
			return nil
		}
		return e.saveDict(x, k, slot)
	case []byte:
		return e.saveBytes(x, bytesKey(x))
	case []any:
		return e.saveList(x, noKey, 0)
	case map[string]any:
		return e.saveMap(x)
	case int:
		e.saveInt(int64(x))
	case int8:
		e.saveInt(int64(x))
	case int16:
		e.saveInt(int64(x))
	case int32:
		e.saveInt(int64(x))
	case uint:
		e.saveUint(uint64(x))
	case uint8:
		e.saveInt(int64(x))
	case uint16:
		e.saveInt(int64(x))
	case uint32:
		e.saveInt(int64(x))
	case uint64:
		e.saveUint(x)
	case uintptr:
		e.saveUint(uint64(x))
	case float32:
		e.saveFloat(float64(x))
	case *big.Int:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		e.saveBig(x)
	case big.Int:
		e.saveBig(&x)
	case complex128:
		return e.saveComplex(x)
	case complex64:
		return e.saveComplex(complex128(x))
	case *Set:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(x)
		if e.memoGet(k) {
			return nil
		}
		return e.saveSet(&x.t, false, k)
	case *FrozenSet:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(x)
		if e.memoGet(k) {
			return nil
		}
		return e.saveSet(&x.t, true, k)
	case *ByteArray:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(x)
		if e.memoGet(k) {
			return nil
		}
		return e.saveByteArray(*x, k)
	case ByteArray:
		return e.saveByteArray(x, noKey)
	case List:
		return e.saveList(x, noKey, 0)
	case Global:
		return e.saveGlobal(x)
	case *Object:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(x)
		if e.memoGet(k) {
			return nil
		}
		return e.saveObject(x, k)
	case *Exception:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		k := ptrKey(&x.Object)
		if e.memoGet(k) {
			return nil
		}
		return e.saveObject(&x.Object, k)
	case PersistentID:
		return e.savePers(x.ID)
	case freshList:
		return e.saveList(x, noKey, 0)
	case freshTuple:
		return e.saveFreshTuple(x...)
	case freshBytes:
		return e.saveBytes(x.b, x.k)
	default:
		if err := e.enter(); err != nil {
			return err
		}
		m, err := goToModel(v, e.proto)
		if err == nil {
			err = e.save(m)
		}
		e.depth--
		return err
	}
	return nil
}

func (e *encodeState) savePers(id any) error {
	if e.proto == 0 {
		s, ok := id.(string)
		if !ok {
			return fmt.Errorf("pickle: persistent id %s must be a str at protocol 0", typeName(id))
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 || s[i] == '\n' {
				return fmt.Errorf("pickle: persistent IDs in protocol 0 must be ASCII strings without newlines")
			}
		}
		e.op(opPERSID)
		e.writeString(s)
		e.buf = append(e.buf, '\n')
		return nil
	}
	hook := e.persistentID
	e.persistentID = nil // the id itself is saved without asking the hook
	err := e.save(id)
	e.persistentID = hook
	if err != nil {
		return err
	}
	e.op(opBINPERSID)
	return nil
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
	k, _ := strKey(s)
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
	if e.proto == 0 {
		enc, err := rawUnicodeEscape(s)
		if err != nil {
			return err
		}
		e.op(opUNICODE)
		e.buf = append(e.buf, enc...)
		e.buf = append(e.buf, '\n')
	} else {
		n := len(s)
		var hdr [9]byte
		var h []byte
		switch {
		case n <= 0xff && e.proto >= 4:
			hdr[0], hdr[1] = opSHORT_BINUNICODE, byte(n)
			h = hdr[:2]
		case uint64(n) <= 0xffffffff:
			hdr[0] = opBINUNICODE
			binary.LittleEndian.PutUint32(hdr[1:], uint32(n))
			h = hdr[:5]
		case e.proto >= 4:
			hdr[0] = opBINUNICODE8
			binary.LittleEndian.PutUint64(hdr[1:], uint64(n))
			h = hdr[:9]
		default:
			return fmt.Errorf("pickle: serializing a string larger than 4 GiB requires pickle protocol 4 or higher")
		}
		e.writeData(h, s)
	}
	e.memoizeAt(slot, k)
	return nil
}

// rawUnicodeEscape is the C pickler's raw_unicode_escape: latin-1 bytes,
// with \uXXXX for code points above 0xff and for \, NUL, \n, \r and ^Z,
// and \UXXXXXXXX above 0xffff.
func rawUnicodeEscape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := decodeRune(s[i:])
		if r < 0 {
			return nil, fmt.Errorf("pickle: string is not UTF-8 (byte 0x%02x at %d)", s[i], i)
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
	n := len(b)
	var hdr [9]byte
	var h []byte
	switch {
	case n <= 0xff:
		hdr[0], hdr[1] = opSHORT_BINBYTES, byte(n)
		h = hdr[:2]
	case uint64(n) <= 0xffffffff:
		hdr[0] = opBINBYTES
		binary.LittleEndian.PutUint32(hdr[1:], uint32(n))
		h = hdr[:5]
	case e.proto >= 4:
		hdr[0] = opBINBYTES8
		binary.LittleEndian.PutUint64(hdr[1:], uint64(n))
		h = hdr[:9]
	default:
		return fmt.Errorf("pickle: serializing a bytes object larger than 4 GiB requires pickle protocol 4 or higher")
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
	if len(b) == 1 && b[0] < 0x80 {
		return latin1Strs[b[0]]
	}
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

// saveReduceTo writes callable() (no arguments) and memoizes it under k.
func (e *encodeState) saveReduceTo(g Global, k memoKey) error {
	if err := e.saveGlobal(g); err != nil {
		return err
	}
	e.saveEmptyTuple()
	e.op(opREDUCE)
	e.memoize(k)
	return nil
}

func (e *encodeState) saveEmptyTuple() {
	if e.proto >= 1 {
		e.op(opEMPTY_TUPLE)
	} else {
		e.write(opMARK, opTUPLE)
	}
}

// saveFreshTuple writes a tuple the pickler builds itself (reduce
// arguments): never shared with anything, memoized under no key.
func (e *encodeState) saveFreshTuple(items ...any) error {
	if len(items) == 0 {
		e.saveEmptyTuple()
		return nil
	}
	if len(items) <= 3 && e.proto >= 2 {
		for _, it := range items {
			if err := e.save(it); err != nil {
				return err
			}
		}
		e.op(opTUPLE1 + byte(len(items)-1))
	} else {
		e.op(opMARK)
		for _, it := range items {
			if err := e.save(it); err != nil {
				return err
			}
		}
		e.op(opTUPLE)
	}
	e.memoize(noKey)
	return nil
}

func (e *encodeState) saveTuple(t Tuple) error {
	n := len(t)
	if n == 0 {
		e.saveEmptyTuple()
		return nil
	}
	k := memoKey{p: unsafe.Pointer(unsafe.SliceData(t)), n: n, kind: keyTuple}
	if e.memoGet(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if n <= 3 && e.proto >= 2 {
		for _, it := range t {
			if err := e.save(it); err != nil {
				return err
			}
		}
		if idx := e.memo.get(k); idx >= 0 {
			// The tuple is recursive: it was memoized while saving its
			// items. Drop the items and fetch it from the memo.
			for range n {
				e.op(opPOP)
			}
			e.writeGet(idx)
			return nil
		}
		e.op(opTUPLE1 + byte(n-1))
	} else {
		e.op(opMARK)
		for _, it := range t {
			if err := e.save(it); err != nil {
				return err
			}
		}
		if idx := e.memo.get(k); idx >= 0 {
			if e.proto >= 1 {
				e.op(opPOP_MARK)
			} else {
				for range n + 1 {
					e.op(opPOP)
				}
			}
			e.writeGet(idx)
			return nil
		}
		e.op(opTUPLE)
	}
	e.memoize(k)
	return nil
}

// saveList writes a list; slot is k's slot from lookup (ignored for noKey).
func (e *encodeState) saveList(items []any, k memoKey, slot int) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto >= 1 {
		e.op(opEMPTY_LIST)
	} else {
		e.write(opMARK, opLIST)
	}
	if k == noKey {
		e.memoize(k)
	} else {
		e.memoizeAt(slot, k)
	}
	if len(items) == 0 {
		return nil
	}
	if e.proto == 0 {
		return e.appendEach(items)
	}
	// batch_list_exact: one APPEND for a list of one item, else MARK ...
	// APPENDS batches of up to 1000.
	if len(items) == 1 {
		if err := e.save(items[0]); err != nil {
			return err
		}
		e.op(opAPPEND)
		return nil
	}
	for start := 0; start < len(items); start += batchSize {
		end := min(start+batchSize, len(items))
		e.op(opMARK)
		for _, it := range items[start:end] {
			if err := e.save(it); err != nil {
				return err
			}
		}
		e.op(opAPPENDS)
	}
	return nil
}

func (e *encodeState) appendEach(items []any) error {
	for _, it := range items {
		if err := e.save(it); err != nil {
			return err
		}
		e.op(opAPPEND)
	}
	return nil
}

// appendItems is the C pickler's generic batch_list (used for the items
// of reduced objects): at protocol 0 one APPEND each, else batches of up
// to 1000 with APPENDS, and a lone last item with APPEND.
func (e *encodeState) appendItems(items []any) error {
	if e.proto == 0 {
		return e.appendEach(items)
	}
	for start := 0; start < len(items); start += batchSize {
		end := min(start+batchSize, len(items))
		if end-start == 1 {
			if err := e.save(items[start]); err != nil {
				return err
			}
			e.op(opAPPEND)
			break
		}
		e.op(opMARK)
		for _, it := range items[start:end] {
			if err := e.save(it); err != nil {
				return err
			}
		}
		e.op(opAPPENDS)
	}
	return nil
}

// saveDict writes a dict; slot is k's slot from lookup (ignored for noKey).
func (e *encodeState) saveDict(d *Dict, k memoKey, slot int) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto >= 1 {
		e.op(opEMPTY_DICT)
	} else {
		e.write(opMARK, opDICT)
	}
	if k == noKey {
		e.memoize(k)
	} else {
		e.memoizeAt(slot, k)
	}
	entries := d.t.entries
	if len(entries) == 0 {
		return nil
	}
	if e.proto == 0 {
		for i := range entries {
			if err := e.savePair(entries[i].key, entries[i].value); err != nil {
				return err
			}
			e.op(opSETITEM)
		}
		return nil
	}
	// batch_dict_exact.
	if len(entries) == 1 {
		if err := e.savePair(entries[0].key, entries[0].value); err != nil {
			return err
		}
		e.op(opSETITEM)
		return nil
	}
	for start := 0; ; start += batchSize {
		end := min(start+batchSize, len(entries))
		e.op(opMARK)
		for i := start; i < end; i++ {
			if err := e.savePair(entries[i].key, entries[i].value); err != nil {
				return err
			}
		}
		e.op(opSETITEMS)
		if end-start < batchSize {
			// The C pickler loops while a batch was full, so an exact
			// multiple of 1000 items ends with an empty MARK SETITEMS.
			return nil
		}
	}
}

func (e *encodeState) savePair(k, v any) error {
	if err := e.save(k); err != nil {
		return err
	}
	return e.save(v)
}

// saveMap writes a Go map[string]any as a dict with its keys sorted.
func (e *encodeState) saveMap(m map[string]any) error {
	d := NewDict(len(m))
	for _, k := range sortedKeys(m) {
		d.t.entries = append(d.t.entries, entry{key: k, value: m[k]})
	}
	return e.saveDict(d, noKey, 0)
}

// setItems is the C pickler's generic batch_dict (items of reduced
// objects): no empty trailing batch, a lone last pair with SETITEM.
func (e *encodeState) setItems(pairs []Pair) error {
	if e.proto == 0 {
		for _, p := range pairs {
			if err := e.savePair(p.Key, p.Value); err != nil {
				return err
			}
			e.op(opSETITEM)
		}
		return nil
	}
	for start := 0; start < len(pairs); start += batchSize {
		end := min(start+batchSize, len(pairs))
		if end-start == 1 {
			if err := e.savePair(pairs[start].Key, pairs[start].Value); err != nil {
				return err
			}
			e.op(opSETITEM)
			break
		}
		e.op(opMARK)
		for _, p := range pairs[start:end] {
			if err := e.savePair(p.Key, p.Value); err != nil {
				return err
			}
		}
		e.op(opSETITEMS)
	}
	return nil
}

func (e *encodeState) saveSet(t *table, frozen bool, k memoKey) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto < 4 {
		// REDUCE(set or frozenset, ([items],))
		g := globalSet
		if frozen {
			g = globalFrozenset
		}
		if err := e.saveGlobal(g); err != nil {
			return err
		}
		if err := e.saveFreshTuple(tableList(t)); err != nil {
			return err
		}
		e.op(opREDUCE)
		if e.memoGet(k) {
			return nil
		}
		e.memoize(k)
		return nil
	}
	if frozen {
		e.op(opMARK)
		for i := range t.entries {
			if err := e.save(t.entries[i].key); err != nil {
				return err
			}
		}
		if idx := e.memo.get(k); idx >= 0 {
			e.op(opPOP_MARK)
			e.writeGet(idx)
			return nil
		}
		e.op(opFROZENSET)
		e.memoize(k)
		return nil
	}
	e.op(opEMPTY_SET)
	e.memoize(k)
	if len(t.entries) == 0 {
		return nil
	}
	for start := 0; ; start += batchSize {
		end := min(start+batchSize, len(t.entries))
		e.op(opMARK)
		for i := start; i < end; i++ {
			if err := e.save(t.entries[i].key); err != nil {
				return err
			}
		}
		e.op(opADDITEMS)
		if end-start < batchSize {
			return nil // as in saveDict, exact multiples end with an empty batch
		}
	}
}

// freshList is a list the pickler builds itself (set items at protocols
// below 4); it is memoized under no key.
type freshList []any

func tableList(t *table) freshList {
	items := make(freshList, len(t.entries))
	for i := range t.entries {
		items[i] = t.entries[i].key
	}
	return items
}

func (e *encodeState) saveByteArray(b []byte, k memoKey) error {
	if e.proto < 5 {
		// REDUCE(bytearray, (bytes(b),)) or REDUCE(bytearray, ())
		if err := e.saveGlobal(globalBytearray); err != nil {
			return err
		}
		if len(b) == 0 {
			e.saveEmptyTuple()
		} else {
			// bytes(b) is a new object (one-byte bytes are CPython
			// singletons, hence keyed by value).
			fresh := append([]byte(nil), b...)
			bk := noKey
			if len(b) == 1 {
				bk = bytesKey(b)
			}
			if err := e.saveFreshTuple(freshBytes{fresh, bk}); err != nil {
				return err
			}
		}
		e.op(opREDUCE)
		if e.memoGet(k) {
			return nil
		}
		e.memoize(k)
		return nil
	}
	var hdr [9]byte
	hdr[0] = opBYTEARRAY8
	binary.LittleEndian.PutUint64(hdr[1:], uint64(len(b)))
	e.writeData(hdr[:], unsafe.String(unsafe.SliceData(b), len(b)))
	e.memoize(k)
	return nil
}

// freshBytes is a bytes object the pickler builds itself.
type freshBytes struct {
	b []byte
	k memoKey
}

func (e *encodeState) saveComplex(c complex128) error {
	if err := e.saveGlobal(globalComplex); err != nil {
		return err
	}
	if err := e.saveFreshTuple(real(c), imag(c)); err != nil {
		return err
	}
	e.op(opREDUCE)
	e.memoize(noKey)
	return nil
}

// saveNewobjExPartial writes cls.__new__(cls, *args, **kwargs) below
// protocol 4 the way CPython does: functools.partial(cls.__new__, cls,
// *args, **kwargs)(), the partial being REDUCE(partial, (func,)) with
// BUILD((func, (cls, *args), kwargs, None)).
func (e *encodeState) saveNewobjExPartial(o *Object) error {
	cls, ok := o.Callable.(Global)
	if !ok {
		return fmt.Errorf("pickle: an object created with NEWOBJ_EX of a %s cannot be written below protocol 4", typeName(o.Callable))
	}
	if err := e.saveGlobal(globalPartial); err != nil {
		return err
	}
	newFunc := Global{cls.Module, cls.Name + ".__new__"}
	if err := e.saveFreshTuple(newFunc); err != nil {
		return err
	}
	e.op(opREDUCE)
	e.memoize(noKey)
	var kw any = o.Kwargs
	if o.Kwargs == nil || o.Kwargs.Len() == 0 {
		kw = nil
	}
	if err := e.saveFreshTuple(newFunc, freshTuple(append([]any{cls}, o.Args...)), kw, nil); err != nil {
		return err
	}
	e.op(opBUILD)
	e.saveEmptyTuple()
	e.op(opREDUCE)
	return nil
}

// freshTuple is a tuple the pickler builds itself, never shared.
type freshTuple []any

var (
	globalPartial = Global{"functools", "partial"}
	globalGetattr = Global{"builtins", "getattr"}
	globalObject  = Global{"builtins", "object"}

	globalReconstructor = Global{"copyreg", "_reconstructor"}
)

func (e *encodeState) saveGlobal(g Global) error {
	if idx, ok := e.globals[g]; ok {
		e.writeGet(idx)
		return nil
	}
	switch {
	case e.proto >= 4:
		if err := e.saveStr(g.Module); err != nil {
			return err
		}
		if err := e.saveStr(g.Name); err != nil {
			return err
		}
		e.op(opSTACK_GLOBAL)
	case strings.Contains(g.Name, "."):
		// A nested class below protocol 4, as CPython 3.13 writes it:
		// getattr(getattr(Outer, 'Middle'), 'Inner'), with only the
		// strings and the result memoized. (3.8–3.12 memoized every
		// intermediate global and tuple; see the package doc.)
		path := strings.Split(g.Name, ".")
		for range path[1:] {
			if err := e.saveGlobal(globalGetattr); err != nil {
				return err
			}
			if e.proto < 2 {
				e.op(opMARK)
			}
		}
		if err := e.writeGlobal(g.Module, path[0]); err != nil {
			return err
		}
		for _, attr := range path[1:] {
			if err := e.saveStr(attr); err != nil {
				return err
			}
			if e.proto < 2 {
				e.op(opTUPLE)
			} else {
				e.op(opTUPLE2)
			}
			e.op(opREDUCE)
		}
	default:
		if err := e.writeGlobal(g.Module, g.Name); err != nil {
			return err
		}
	}
	idx := e.memoLen
	e.memoLen++
	e.globals[g] = idx
	e.writePut(idx)
	return nil
}

// writeGlobal writes a GLOBAL opcode (protocols 0–3).
func (e *encodeState) writeGlobal(module, name string) error {
	if e.proto < 3 {
		m, n := fixImportsSave(module, name)
		if !isASCII(m) || !isASCII(n) {
			return fmt.Errorf("pickle: can't pickle global identifier '%s.%s' using pickle protocol %d", module, name, e.proto)
		}
		module, name = m, n
	}
	if strings.ContainsRune(module, '\n') || strings.ContainsRune(name, '\n') {
		return fmt.Errorf("pickle: global name %q contains a newline", module+"."+name)
	}
	e.op(opGLOBAL)
	e.buf = append(e.buf, module...)
	e.buf = append(e.buf, '\n')
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, '\n')
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// saveObject writes an Object back in the shape it was decoded from (the
// C pickler's save_reduce, or INST/OBJ for protocol 0/1 objects).
func (e *encodeState) saveObject(o *Object, k memoKey) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	switch o.Kind {
	case NewObj, NewObjEx:
		switch {
		case e.proto < 2:
			// What object.__reduce_ex__ gives below protocol 2, for
			// which __getnewargs__ and __getnewargs_ex__ do not exist:
			// copyreg._reconstructor(cls, object, None).
			if err := e.saveGlobal(globalReconstructor); err != nil {
				return err
			}
			if err := e.saveFreshTuple(o.Callable, globalObject, nil); err != nil {
				return err
			}
			e.op(opREDUCE)
		case o.Kind == NewObj:
			if err := e.save(o.Callable); err != nil {
				return err
			}
			if err := e.saveTuple(o.Args); err != nil {
				return err
			}
			e.op(opNEWOBJ)
		case e.proto < 4:
			if err := e.saveNewobjExPartial(o); err != nil {
				return err
			}
		default:
			if err := e.save(o.Callable); err != nil {
				return err
			}
			if err := e.saveTuple(o.Args); err != nil {
				return err
			}
			kw := o.Kwargs
			if kw == nil {
				kw = new(Dict)
			}
			if err := e.save(kw); err != nil {
				return err
			}
			e.op(opNEWOBJ_EX)
		}
	case Inst, Obj:
		g, isGlobal := o.Callable.(Global)
		e.op(opMARK)
		if o.Kind == Obj || !isGlobal {
			if err := e.save(o.Callable); err != nil {
				return err
			}
		}
		for _, a := range o.Args {
			if err := e.save(a); err != nil {
				return err
			}
		}
		if o.Kind == Obj || !isGlobal {
			e.op(opOBJ)
			break
		}
		module, name := g.Module, g.Name
		if e.proto < 3 {
			module, name = fixImportsSave(module, name)
		}
		e.op(opINST)
		e.buf = append(e.buf, module...)
		e.buf = append(e.buf, '\n')
		e.buf = append(e.buf, name...)
		e.buf = append(e.buf, '\n')
	default: // Reduce
		if err := e.save(o.Callable); err != nil {
			return err
		}
		if err := e.saveTuple(o.Args); err != nil {
			return err
		}
		e.op(opREDUCE)
	}
	if idx := e.memo.get(k); idx >= 0 {
		// Recursive: the object was memoized while saving its arguments.
		e.op(opPOP)
		e.writeGet(idx)
		return nil
	}
	e.memoize(k)
	if len(o.ListItems) > 0 {
		if err := e.appendItems(o.ListItems); err != nil {
			return err
		}
	}
	if len(o.DictItems) > 0 {
		if err := e.setItems(o.DictItems); err != nil {
			return err
		}
	}
	if o.HasState || o.State != nil {
		if err := e.save(o.State); err != nil {
			return err
		}
		e.op(opBUILD)
	}
	return nil
}
