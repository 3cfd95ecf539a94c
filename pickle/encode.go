package pickle

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
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

func strKey(s string) memoKey {
	switch len(s) {
	case 0:
		return memoKey{n: -1, kind: keyStrChar}
	case 1:
		if s[0] < 0x80 {
			return memoKey{n: int(s[0]), kind: keyStrChar}
		}
	case 2:
		if (s[0] == 0xc2 || s[0] == 0xc3) && s[1]&0xc0 == 0x80 {
			return memoKey{n: int(s[0]&3)<<6 | int(s[1]&0x3f), kind: keyStrChar}
		}
	}
	return memoKey{p: unsafe.Pointer(unsafe.StringData(s)), n: len(s), kind: keyStr}
}

// bytesKey is the identity of a bytes value. b” is a singleton in
// CPython; one-byte bytes are singletons when built by bytes() but not
// when unpickled (nor read from a file), so they go by identity.
func bytesKey(b []byte) memoKey {
	if len(b) == 0 {
		return memoKey{n: -1, kind: keyBytesChar}
	}
	return memoKey{p: unsafe.Pointer(unsafe.SliceData(b)), n: len(b), kind: keyBytes}
}

// byteSingletonKey is the identity of the one-byte bytes CPython's
// bytes(bytearray) returns: its cached singleton.
func byteSingletonKey(c byte) memoKey { return memoKey{n: int(c), kind: keyBytesChar} }

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
	return e.dumpAppend(v)
}

// dumpAppend appends one whole pickle of v to e.buf, after what it holds.
func (e *encodeState) dumpAppend(v any) error {
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

// seen writes None for a nil pointer, or a GET if k is memoized, and
// reports whether it did either.
func (e *encodeState) seen(isNil bool, k memoKey) bool {
	if isNil {
		e.op(opNONE)
		return true
	}
	return e.memoGet(k)
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
		if k := ptrKey(x); x != nil {
			if slot := e.lookup(k); slot >= 0 {
				return e.saveList(*x, k, slot)
			}
			return nil
		}
		e.op(opNONE)
	case *Dict:
		if k := ptrKey(x); x != nil {
			if slot := e.lookup(k); slot >= 0 {
				return e.saveDict(x, k, slot)
			}
			return nil
		}
		e.op(opNONE)
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
		if k := ptrKey(x); !e.seen(x == nil, k) {
			return e.saveSet(&x.t, false, k)
		}
	case *FrozenSet:
		if k := ptrKey(x); !e.seen(x == nil, k) {
			return e.saveSet(&x.t, true, k)
		}
	case *ByteArray:
		if k := ptrKey(x); !e.seen(x == nil, k) {
			return e.saveByteArray(*x, k)
		}
	case ByteArray:
		return e.saveByteArray(x, noKey)
	case List:
		return e.saveList(x, noKey, 0)
	case Global:
		return e.saveGlobal(x)
	case *Object:
		if k := ptrKey(x); !e.seen(x == nil, k) {
			return e.saveObject(x, k)
		}
	case *Exception:
		// The key is the Object's address (its first field), so that an
		// *Exception and its &e.Object are one object.
		if k := ptrKey(x); !e.seen(x == nil, k) {
			return e.saveObject(&x.Object, k)
		}
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
