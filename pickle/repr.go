package pickle

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Python's repr of value-model values, used for exception messages and by
// the disassembler (which must match pickletools.dis character for
// character for the argument types it prints).

// Repr returns Python's repr of a value-model value: 'abc', b'\x00',
// (1, 2.5), {'k': [None, True]}, frozenset({1}). Globals print as
// module.name and other objects as <module.name object>. Cycles print as
// [...] and {...}, as in Python; nesting is cut off at DefaultMaxDepth.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, depth int) {
	r := reprState{b: b}
	r.value(v, depth)
}

type reprState struct {
	b     *strings.Builder
	inUse map[unsafe.Pointer]bool // containers being printed (cycle guard)
}

func (r *reprState) enter(p unsafe.Pointer) bool {
	if r.inUse == nil {
		r.inUse = map[unsafe.Pointer]bool{}
	}
	if r.inUse[p] {
		return false
	}
	r.inUse[p] = true
	return true
}

func (r *reprState) leave(p unsafe.Pointer) { delete(r.inUse, p) }

func (r *reprState) value(v any, depth int) {
	b := r.b
	if depth > DefaultMaxDepth {
		b.WriteString("...")
		return
	}
	if isNilPointer(v) {
		b.WriteString("None")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString(quoteStr(x))
	case []byte:
		b.WriteString(quoteBytes(x))
	case *ByteArray:
		b.WriteString("bytearray(")
		b.WriteString(quoteBytes(*x))
		b.WriteByte(')')
	case ByteArray:
		r.value(&x, depth)
	case float64:
		b.WriteString(floatRepr(x))
	case float32:
		b.WriteString(floatRepr(float64(x)))
	case complex128:
		b.WriteString(complexRepr(x))
	case complex64:
		b.WriteString(complexRepr(complex128(x)))
	case *big.Int:
		b.WriteString(x.String())
	case big.Int:
		b.WriteString(x.String())
	case Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			r.value(e, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *List:
		if !r.enter(unsafe.Pointer(x)) {
			b.WriteString("[...]")
			return
		}
		r.list(*x, depth)
		r.leave(unsafe.Pointer(x))
	case List:
		r.list(x, depth)
	case []any:
		r.list(x, depth)
	case *Dict:
		if !r.enter(unsafe.Pointer(x)) {
			b.WriteString("{...}")
			return
		}
		b.WriteByte('{')
		for i, e := range x.t.entries {
			if i > 0 {
				b.WriteString(", ")
			}
			r.value(e.key, depth+1)
			b.WriteString(": ")
			r.value(e.value, depth+1)
		}
		b.WriteByte('}')
		r.leave(unsafe.Pointer(x))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteStr(k))
			b.WriteString(": ")
			r.value(x[k], depth+1)
		}
		b.WriteByte('}')
	case *Set:
		if !r.enter(unsafe.Pointer(x)) {
			b.WriteString("set(...)")
			return
		}
		if x.Len() == 0 {
			b.WriteString("set()")
		} else {
			r.items(&x.t, depth)
		}
		r.leave(unsafe.Pointer(x))
	case *FrozenSet:
		if !r.enter(unsafe.Pointer(x)) {
			b.WriteString("frozenset(...)")
			return
		}
		b.WriteString("frozenset(")
		if x.Len() > 0 {
			r.items(&x.t, depth)
		}
		b.WriteByte(')')
		r.leave(unsafe.Pointer(x))
	case Global:
		b.WriteString(x.String())
	case *Exception:
		if !r.enter(unsafe.Pointer(x)) {
			b.WriteString("...")
			return
		}
		name := x.Name()
		if name == "" {
			name = "Exception"
		}
		b.WriteString(name)
		args := x.Args()
		if len(args) == 1 {
			b.WriteByte('(')
			r.value(args[0], depth+1)
			b.WriteByte(')')
		} else {
			r.value(args, depth+1)
		}
		r.leave(unsafe.Pointer(x))
	case *Object:
		b.WriteByte('<')
		if g, ok := x.Class().(Global); ok {
			b.WriteString(g.String())
		} else {
			b.WriteString("?")
		}
		b.WriteString(" object>")
	case PersistentID:
		b.WriteString("PersistentID(")
		r.value(x.ID, depth+1)
		b.WriteByte(')')
	default:
		if n, ok := toNumber(v); ok && n.kind != numFloat {
			if n.kind == numInt {
				b.WriteString(strconv.FormatInt(n.i, 10))
			} else {
				b.WriteString(n.b.String())
			}
			return
		}
		fmt.Fprintf(b, "<Go %T>", v)
	}
}

func (r *reprState) list(x []any, depth int) {
	r.b.WriteByte('[')
	for i, e := range x {
		if i > 0 {
			r.b.WriteString(", ")
		}
		r.value(e, depth+1)
	}
	r.b.WriteByte(']')
}

func (r *reprState) items(t *table, depth int) {
	r.b.WriteByte('{')
	for i, e := range t.entries {
		if i > 0 {
			r.b.WriteString(", ")
		}
		r.value(e.key, depth+1)
	}
	r.b.WriteByte('}')
}

// typeName returns the Python type name of a value-model value, for error
// messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *ByteArray, ByteArray:
		return "bytearray"
	case float64, float32:
		return "float"
	case complex128, complex64:
		return "complex"
	case Tuple:
		return "tuple"
	case *List, List, []any:
		return "list"
	case *Dict, map[string]any:
		return "dict"
	case *Set:
		return "set"
	case *FrozenSet:
		return "frozenset"
	case Global:
		return "global"
	case *Object:
		return "object"
	case *Exception:
		return "exception"
	case PersistentID:
		return "persistent id"
	}
	if _, ok := toNumber(v); ok {
		return "int"
	}
	return fmt.Sprintf("Go %T", v)
}

// floatRepr is Python's repr(float): the shortest digits that round-trip,
// in positional notation with at least one decimal for exponents -4..15,
// else scientific with a signed two-digit (at least) exponent.
func floatRepr(f float64) string { return formatFloat(f, true) }

func formatFloat(f float64, addDot0 bool) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	ei := strings.IndexByte(string(s), 'e')
	mant, exp := s[:ei], s[ei+1:]
	e, _ := strconv.Atoi(string(exp))
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	decpt := e + 1
	out := make([]byte, 0, 32)
	if neg {
		out = append(out, '-')
	}
	if decpt <= -4 || decpt > 16 {
		out = append(out, digits[0])
		if len(digits) > 1 {
			out = append(out, '.')
			out = append(out, digits[1:]...)
		}
		out = append(out, 'e')
		if e < 0 {
			out = append(out, '-')
			e = -e
		} else {
			out = append(out, '+')
		}
		if e < 10 {
			out = append(out, '0')
		}
		out = strconv.AppendInt(out, int64(e), 10)
		return string(out)
	}
	switch {
	case decpt <= 0:
		out = append(out, '0', '.')
		for range -decpt {
			out = append(out, '0')
		}
		out = append(out, digits...)
	case decpt >= len(digits):
		out = append(out, digits...)
		for range decpt - len(digits) {
			out = append(out, '0')
		}
		if addDot0 {
			out = append(out, '.', '0')
		}
	default:
		out = append(out, digits[:decpt]...)
		out = append(out, '.')
		out = append(out, digits[decpt:]...)
	}
	return string(out)
}

// complexRepr is Python's repr(complex).
func complexRepr(c complex128) string {
	re, im := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		return formatFloat(im, false) + "j"
	}
	ims := formatFloat(im, false)
	if ims[0] != '-' {
		ims = "+" + ims
	}
	return "(" + formatFloat(re, false) + ims + "j)"
}

// quoteStr is Python's repr(str). Strings holding lone surrogates (which
// CPython writes with the surrogatepass error handler) are decoded as
// such; bytes that are not UTF-8 at all print as \x escapes.
func quoteStr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	out := make([]byte, 0, len(s)+2)
	out = append(out, quote)
	for i := 0; i < len(s); {
		r, size := decodeRune(s[i:])
		if r < 0 {
			out = appendHexEscape(out, 'x', uint32(s[i]), 2)
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			out = append(out, '\\', byte(r))
		case r == '\t':
			out = append(out, '\\', 't')
		case r == '\n':
			out = append(out, '\\', 'n')
		case r == '\r':
			out = append(out, '\\', 'r')
		case r < ' ' || r == 0x7f:
			out = appendHexEscape(out, 'x', uint32(r), 2)
		case r < 0x7f:
			out = append(out, byte(r))
		case r >= 0xd800 && r <= 0xdfff:
			out = appendHexEscape(out, 'u', uint32(r), 4)
		case unicode.IsPrint(r):
			out = utf8.AppendRune(out, r)
		case r <= 0xff:
			out = appendHexEscape(out, 'x', uint32(r), 2)
		case r <= 0xffff:
			out = appendHexEscape(out, 'u', uint32(r), 4)
		default:
			out = appendHexEscape(out, 'U', uint32(r), 8)
		}
	}
	out = append(out, quote)
	return string(out)
}

// quoteBytes is Python's repr(bytes).
func quoteBytes(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	out := make([]byte, 0, len(p)+3)
	out = append(out, 'b', quote)
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			out = append(out, '\\', c)
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < ' ' || c >= 0x7f:
			out = appendHexEscape(out, 'x', uint32(c), 2)
		default:
			out = append(out, c)
		}
	}
	out = append(out, quote)
	return string(out)
}

const hexDigits = "0123456789abcdef"

func appendHexEscape(out []byte, kind byte, v uint32, width int) []byte {
	out = append(out, '\\', kind)
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		out = append(out, hexDigits[(v>>uint(shift))&0xf])
	}
	return out
}

// decodeRune decodes one code point of s, accepting the UTF-8 encoding of
// surrogates (as CPython's surrogatepass writes them). It returns -1 for a
// byte that starts no valid sequence.
func decodeRune(s string) (rune, int) {
	c := s[0]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, size := utf8.DecodeRuneInString(s)
	if r != utf8.RuneError || size > 1 {
		return r, size
	}
	if c == 0xed && len(s) >= 3 && s[1] >= 0xa0 && s[1] <= 0xbf && s[2]&0xc0 == 0x80 {
		return rune(c&0x0f)<<12 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f), 3
	}
	return -1, 1
}

// sortedKeys returns the keys of a Go map in sorted order (the order in
// which the encoder writes a map[string]any).
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
