// Package pickle reads and writes Python pickles, protocols 0 to 5, as
// CPython 3.8–3.13 does: a decoder for every opcode of pickletools, an
// encoder whose output is byte for byte that of CPython's C pickler, a
// value model that carries any Python object through Go unchanged, and a
// mapping to native Go types in the style of encoding/json.
//
// # Value model
//
// Decoding into an any (Loads, Unmarshal into *any, Decoder.Decode of an
// *any) gives these types; the encoder accepts them, and also plain Go
// values (second column, after the semicolon):
//
//	Python                  Go
//	None                    nil
//	bool                    bool
//	int                     int64 if it fits, else *big.Int; every int and uint kind, big.Int
//	float                   float64; float32
//	complex                 complex128; complex64
//	str                     string
//	bytes                   []byte
//	bytearray               *ByteArray; ByteArray
//	tuple                   Tuple
//	list                    *List; List, []any
//	dict                    *Dict; map[string]any (written with sorted keys)
//	set                     *Set
//	frozenset               *FrozenSet
//	class, function         Global{Module, Name} (by reference, never imported)
//	exception instance      *Exception (an error: KeyError('k'); errors.Is maps
//	                        queue.Empty to mpbridge.ErrEmpty, queue.Full to ErrFull)
//	any other object        *Object: the callable, how it was called (REDUCE,
//	                        NEWOBJ, NEWOBJ_EX, INST, OBJ), its args and kwargs,
//	                        list and dict items, and BUILD state
//	persistent id           PersistentID{ID} (without DecodeOptions.PersistentLoad)
//	out-of-band buffer      *ByteArray, or []byte if read-only (needs DecodeOptions.Buffers)
//
// Any other Go value (structs with `pickle:"name,omitempty"` tags, typed
// maps and slices, pointers, time.Time and time.Duration, Date, Decimal,
// UUID, registered classes, ...) goes through the mapping layer: see
// Marshal and Unmarshal.
//
// Identity is kept: decoding gives one Go value per Python object, so a
// list that holds the same str twice holds the same string (same backing
// array), a dict shared by two lists is one *Dict, and a list that
// contains itself is a *List that contains itself. The encoder memoizes by
// the same identity (pointers for *List, *Dict, *Set, *FrozenSet,
// *ByteArray, *Object and *Exception; the backing array and length for
// string, []byte and Tuple; the value for Global), which is how a decoded
// pickle re-encodes to the same bytes. Like CPython it always shares the
// empty string and bytes and the one-character strings below U+0100,
// which are singletons there, and never memoizes the empty tuple. A []any or map[string]any is a new list or dict each time it
// is met (a Go slice or map that contains itself is an error, not a loop).
//
// Dicts and sets are ordered as inserted and have Python's key semantics:
// 1, 1.0, True, big.NewInt(1) and complex(1, 0) are one key; tuples and
// frozensets compare by value, objects by identity; lists, dicts, sets and
// bytearrays are unhashable. A NaN key never equals anything (CPython
// finds a NaN only by object identity, and a pickle never shares floats).
//
// # Decoding
//
// Decoding never imports or calls anything. A few reductions that
// CPython's pickler itself uses for plain data at low protocols are
// recognised, so the value does not depend on the protocol: set and
// frozenset (REDUCE of builtins.set/frozenset, protocols 0–3), bytes
// (_codecs.encode(str, 'latin1') and builtins.bytes(), protocols 0–2),
// bytearray (protocols 0–4), complex, and getattr(Outer, 'Inner') for a
// nested class. Python 2 names are mapped below protocol 3 as CPython's
// fix_imports does (__builtin__ → builtins, copy_reg → copyreg, ...), and
// Python 2 str (STRING, BINSTRING, SHORT_BINSTRING) decodes to string if it
// is ASCII, as with CPython's default encoding='ASCII'.
//
// Hostile input is safe: no panics, every length is checked against the
// bytes present before anything is allocated, and DecodeOptions bounds
// MARK nesting, memo size, total allocation and the work of hashing keys.
// Errors are *SyntaxError values carrying the offset and the opcode; they
// wrap the sentinels of this package and match mpbridge.ErrCorrupt (or
// mpbridge.ErrTooLarge for limits). A Decoder reads exactly one pickle per
// Decode, never past its STOP opcode.
//
// Not checked: str payloads are not validated as UTF-8 (CPython rejects
// invalid UTF-8 other than lone surrogates); a BUILD applied twice keeps
// only the last state.
//
// # Encoding
//
// Dumps, Marshal and Encoder write protocols 0–5, by default 4 (what
// multiprocessing sends on CPython 3.8–3.13). The output is CPython's C
// pickler's, byte for byte, for plain data and for decoded objects: the
// same opcodes, memo indices, FRAME boundaries (64 KiB frames, large
// str/bytes/bytearray written between frames), batches of 1000 (with the
// C pickler's empty trailing SETITEMS/ADDITEMS batch for exact multiples of
// 1000 items), and the reductions used where a protocol has no opcode.
// Known differences: a complex decoded from a pickle that shared it is
// written twice (Go complex values have no identity); a nested class below
// protocol 4 is written as CPython 3.13 does (3.8–3.12 memoize its
// intermediate getattr steps; the same goes for the cls.__new__ of an
// object created with NEWOBJ_EX, written below protocol 4 as
// functools.partial(cls.__new__, cls, *args, **kwargs)()). Below
// protocol 2 an object created by NEWOBJ or NEWOBJ_EX is written as CPython
// writes an instance there, copyreg._reconstructor(cls, object, None),
// which drops the arguments of __new__ as CPython does.
//
// # Inspecting
//
// Disassemble writes a listing identical to pickletools.dis.
package pickle
