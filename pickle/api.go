package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Protocol versions.
const (
	// DefaultProtocol is the protocol Dumps, Marshal and Encoder use when
	// none is given: 4, what multiprocessing sends on CPython 3.8–3.13.
	DefaultProtocol = 4
	// HighestProtocol is the highest protocol this package reads and
	// writes (CPython 3.8+'s pickle.HIGHEST_PROTOCOL).
	HighestProtocol = 5
)

// DecodeOptions configures decoding. The zero value (and a nil pointer)
// means the defaults: the limits of errors.go, no hooks.
type DecodeOptions struct {
	// MaxDepth bounds the nesting of MARKs (DefaultMaxDepth if 0).
	MaxDepth int
	// MaxMemo bounds the number of memo entries (DefaultMaxMemo if 0).
	MaxMemo int
	// MaxAlloc bounds the bytes a decode allocates, and for a Decoder the
	// size of one pickle (DefaultMaxAlloc if 0).
	MaxAlloc int
	// Find, if set, resolves every global (GLOBAL, STACK_GLOBAL, INST, and
	// EXT codes after Ext) instead of producing a Global. It receives
	// Python 3 names (Python 2 names are mapped first, as CPython's
	// fix_imports does). Its result becomes the callable of REDUCE and
	// NEWOBJ objects.
	Find func(module, name string) (any, error)
	// PersistentLoad, if set, resolves persistent ids (PERSID,
	// BINPERSID); without it they decode to PersistentID.
	PersistentLoad func(pid any) (any, error)
	// Ext resolves extension codes (EXT1/2/4, CPython's copyreg extension
	// registry). Without it such pickles fail with ErrNoHook.
	Ext func(code int) (Global, error)
	// Buffers supplies protocol 5 out-of-band buffers, one per
	// NEXT_BUFFER opcode, in order (CPython's buffers= argument). The
	// buffer decodes as a *ByteArray, or as []byte after READONLY_BUFFER.
	// Without it such pickles fail with ErrNoHook.
	Buffers func() ([]byte, error)
	// AliasBytes lets strings and bytes values share memory with the
	// input instead of being copied: Loads does not copy at all. The
	// caller must then never modify the input again.
	AliasBytes bool
}

// EncodeOptions configures encoding.
type EncodeOptions struct {
	// Protocol is the protocol to write, 0–5; a negative value means
	// HighestProtocol, as in CPython. Note that the zero value is
	// protocol 0: set it explicitly (DefaultProtocol is 4). A nil
	// *EncodeOptions means DefaultProtocol.
	Protocol int
	// PersistentID, if set, is asked first about every value: if it
	// returns true, the returned id is written as a persistent reference
	// (BINPERSID, or PERSID at protocol 0, where it must be an ASCII str)
	// instead of the value, as CPython's Pickler.persistent_id does.
	PersistentID func(v any) (id any, ok bool)
}

// Loads decodes one pickle from data into the value model (see the
// package doc). Bytes after the STOP opcode are ignored, as by
// pickle.loads.
func Loads(data []byte) (any, error) { return LoadsOptions(data, nil) }

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// LoadsOptions is Loads with options; opts may be nil.
func LoadsOptions(data []byte, opts *DecodeOptions) (any, error) {
	mode := inputBorrowed
	switch {
	case opts != nil && opts.AliasBytes:
		mode = inputOwned
	case len(data) <= aliasLimit:
		mode = inputCopy
	}
	return loadBuffer(data, mode, opts)
}

func loadBuffer(data []byte, mode int, opts *DecodeOptions) (any, error) {
	d := decoderPool.Get().(*decoder)
	d.reset(data, mode, opts)
	v, err := d.run()
	d.release()
	decoderPool.Put(d)
	return v, err
}

// Dumps encodes v at the given protocol (0–5; a negative protocol means
// HighestProtocol). Value-model values and plain Go values (every int,
// uint and float kind, string, []byte, []any, map[string]any, nil, bool,
// *big.Int, complex) are encoded directly; any other Go value goes through
// the mapping layer (struct tags, time.Time, registered classes, ...).
func Dumps(v any, protocol int) ([]byte, error) {
	return DumpsOptions(v, &EncodeOptions{Protocol: protocol})
}

var encoderPool = sync.Pool{New: func() any { return newEncodeState() }}

// DumpsOptions is Dumps with options; a nil opts means DefaultProtocol.
func DumpsOptions(v any, opts *EncodeOptions) ([]byte, error) {
	e := encoderPool.Get().(*encodeState)
	defer encoderPool.Put(e)
	if err := e.configure(opts); err != nil {
		return nil, err
	}
	if err := e.dump(v); err != nil {
		e.reset()
		return nil, err
	}
	var out []byte
	if cap(e.buf) >= frameSizeTarget {
		// Hand a large buffer over rather than copy it.
		out = e.buf[:len(e.buf):len(e.buf)]
		e.buf = nil
	} else {
		out = bytes.Clone(e.buf)
	}
	e.reset()
	return out, nil
}

// AppendDumps appends the pickle of v (as DumpsOptions makes it) to dst
// and returns the extended slice, like strconv.AppendInt: a caller that
// reuses dst's storage pickles without allocating. On error it returns dst
// unchanged in length (bytes past len(dst) may have been written).
func AppendDumps(dst []byte, v any, opts *EncodeOptions) ([]byte, error) {
	e := encoderPool.Get().(*encodeState)
	defer encoderPool.Put(e)
	if err := e.configure(opts); err != nil {
		return dst, err
	}
	own := e.buf
	e.buf = dst
	err := e.dumpAppend(v)
	out := e.buf
	e.buf = own
	e.reset()
	if err != nil {
		return dst, err
	}
	return out, nil
}

// Marshal encodes v at DefaultProtocol.
func Marshal(v any) ([]byte, error) { return Dumps(v, DefaultProtocol) }

// Unmarshal decodes one pickle from data and stores the result in the
// value v points to. A *any receives the value model itself; other
// pointers are filled by the mapping layer (struct fields by name or
// pickle tag, maps, slices, time.Time, ...).
func Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok && p != nil {
		m, err := Loads(data)
		if err != nil {
			return err
		}
		*p = m
		return nil
	}
	rv, err := targetValue(v)
	if err != nil {
		return err
	}
	m, err := Loads(data)
	if err != nil {
		return err
	}
	return assignModel(m, rv)
}

// ErrInvalidTarget reports an Unmarshal or Decode target that is not a
// non-nil pointer.
var ErrInvalidTarget = errors.New("pickle: decode target must be a non-nil pointer")

func targetValue(v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return reflect.Value{}, fmt.Errorf("%w, not %T", ErrInvalidTarget, v)
	}
	return rv.Elem(), nil
}
