package pickle

import (
	"math/big"
	"strings"
	"unicode/utf8"
)

// Decoding never calls anything. REDUCE of a few builtins that CPython's
// own pickler uses to write plain data at low protocols is recognised and
// decoded to the value CPython's unpickler would build, so that the value
// model does not depend on the protocol:
//
//	builtins.set(iterable)          -> *Set        (set, protocols 0–3)
//	builtins.frozenset(iterable)    -> *FrozenSet  (frozenset, protocols 0–3)
//	builtins.bytearray(bytes)       -> *ByteArray  (bytearray, protocols 0–4)
//	builtins.bytes()                -> []byte{}    (b'', protocols 0–2)
//	_codecs.encode(str, 'latin1')   -> []byte      (bytes, protocols 0–2)
//	builtins.complex(real, imag)    -> complex128  (complex, every protocol)
//	builtins.getattr(Global, name)  -> Global      (nested class, protocols 0–3)
//
// (Python 2's __builtin__ is mapped to builtins first, by fix_imports.)
// REDUCE or NEWOBJ of an exception class yields an *Exception; anything
// else yields an *Object recording the call.

var (
	globalSet       = Global{"builtins", "set"}
	globalFrozenset = Global{"builtins", "frozenset"}
	globalBytearray = Global{"builtins", "bytearray"}
	globalBytes     = Global{"builtins", "bytes"}
	globalComplex   = Global{"builtins", "complex"}
	globalEncode    = Global{"_codecs", "encode"}
)

// reduce returns the value of callable(*args).
func (d *decoder) reduce(callable any, args Tuple) (any, error) {
	g, ok := callable.(Global)
	if !ok {
		return &Object{Callable: callable, Kind: Reduce, Args: args}, nil
	}
	var v any
	var err error
	switch g {
	case globalSet, globalFrozenset:
		v, err = d.reduceSet(g == globalFrozenset, args)
	case globalBytearray:
		if b, ok := bytesArg(args); ok {
			ba := ByteArray(append([]byte{}, b...))
			v = &ba
		}
	case globalBytes:
		if len(args) == 0 {
			v = d.box.bytes_([]byte{})
		}
	case globalEncode:
		if b, ok := bytesArg(args); ok {
			v = d.box.bytes_(b)
		}
	case globalComplex:
		v = complexArg(args)
	case globalGetattr:
		// getattr(Outer, 'Inner'): how protocols below 4 name a nested
		// class (the encoder writes Global{m, "Outer.Inner"} this way).
		if len(args) == 2 {
			parent, ok1 := args[0].(Global)
			name, ok2 := args[1].(string)
			if ok1 && ok2 && parent.Name != "" && name != "" && !strings.ContainsAny(name, ".\n") {
				v = Global{parent.Module, parent.Name + "." + name}
			}
		}
	}
	if err != nil || v != nil {
		return v, err
	}
	return newObject(callable, Reduce, args), nil
}

func (d *decoder) reduceSet(frozen bool, args Tuple) (any, error) {
	var items []any
	switch len(args) {
	case 0:
	case 1:
		switch x := args[0].(type) {
		case *List:
			items = *x
		case Tuple:
			items = x
		case *Set:
			items = x.Items()
		case *FrozenSet:
			items = x.Items()
		case *Dict:
			items = x.Keys()
		default:
			return nil, nil
		}
	default:
		return nil, nil
	}
	if err := d.account(20 * len(items)); err != nil {
		return nil, err
	}
	var t *table
	var v any
	if frozen {
		s := NewFrozenSet(len(items))
		t, v = &s.t, s
	} else {
		s := NewSet(len(items))
		t, v = &s.t, s
	}
	for _, it := range items {
		if err := t.insert(it, nil, &d.hs); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// bytesArg interprets the arguments of bytearray(...) and
// _codecs.encode(...): (), (bytes,), or (str, encoding) for latin-1,
// utf-8 and ascii. It returns a new slice.
func bytesArg(args Tuple) ([]byte, bool) {
	switch len(args) {
	case 0:
		return []byte{}, true
	case 1:
		switch x := args[0].(type) {
		case []byte:
			return append([]byte{}, x...), true
		case *ByteArray:
			return append([]byte{}, *x...), true
		case string:
			return []byte(x), true // str.encode() defaults to UTF-8
		}
	case 2:
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, false
		}
		switch normEncoding(enc) {
		case "latin1":
			return latin1Encode(s)
		case "utf8":
			return []byte(s), true
		case "ascii":
			for i := 0; i < len(s); i++ {
				if s[i] >= 0x80 {
					return nil, false
				}
			}
			return []byte(s), true
		}
	}
	return nil, false
}

// normEncoding folds the spellings of the codecs bytesArg knows.
func normEncoding(enc string) string {
	b := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c == '-' || c == '_':
		default:
			b = append(b, c)
		}
	}
	switch s := string(b); s {
	case "latin1", "latin", "iso88591", "l1", "8859", "cp819":
		return "latin1"
	case "utf8", "u8":
		return "utf8"
	case "ascii", "usascii":
		return "ascii"
	default:
		return s
	}
}

// latin1Encode encodes a string whose code points are all below 256.
func latin1Encode(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xff || (r == utf8.RuneError && size <= 1) {
			return nil, false
		}
		out = append(out, byte(r))
		i += size
	}
	return out, true
}

// complexArg interprets complex(real=0, imag=0) with numeric arguments.
func complexArg(args Tuple) any {
	if len(args) > 2 {
		return nil
	}
	var parts [2]float64
	for i, a := range args {
		switch x := a.(type) {
		case float64:
			parts[i] = x
		case int64:
			parts[i] = float64(x)
		case bool:
			if x {
				parts[i] = 1
			}
		case *big.Int:
			f, _ := new(big.Float).SetInt(x).Float64()
			parts[i] = f
		default:
			return nil
		}
	}
	return complex(parts[0], parts[1])
}
