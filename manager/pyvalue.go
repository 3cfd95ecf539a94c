package manager

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mpbridge/mpbridge/pickle"
)

// Truthy reports Python's truth value of a value of the pickle value model
// (bool(v) in Python): None, False, zero numbers and empty containers are
// false, everything else is true.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case *big.Int:
		return x.Sign() != 0
	case float64:
		return x != 0
	case complex128:
		return x != 0
	case string:
		return x != ""
	case []byte:
		return len(x) != 0
	case *pickle.ByteArray:
		return x != nil && len(*x) != 0
	case pickle.Tuple:
		return len(x) != 0
	case *pickle.List:
		return x != nil && len(*x) != 0
	case *pickle.Dict:
		return x != nil && x.Len() != 0
	case *pickle.Set:
		return x != nil && x.Len() != 0
	case *pickle.FrozenSet:
		return x != nil && x.Len() != 0
	}
	return true
}

// maxTimeout caps timeouts taken from the wire so that converting seconds
// to a time.Duration cannot overflow (Python accepts any float).
const maxTimeout = 100 * 365 * 24 * time.Hour

// Timeout converts a Python timeout argument (None, int or float seconds)
// the way queue.Queue and threading do: None means no timeout (ok is false),
// a negative number is the ValueError Python raises, anything that is not a
// number is a TypeError.
func Timeout(v any) (d time.Duration, ok bool, err error) {
	var secs float64
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case bool:
		if x {
			secs = 1
		}
	case int64:
		secs = float64(x)
	case int:
		secs = float64(x)
	case *big.Int:
		secs, _ = new(big.Float).SetInt(x).Float64()
	case float64:
		secs = x
	default:
		return 0, false, pickle.NewException("builtins", "TypeError",
			fmt.Sprintf("'<' not supported between instances of '%s' and 'int'", PyTypeName(v)))
	}
	if secs < 0 || math.IsNaN(secs) {
		return 0, false, pickle.NewException("builtins", "ValueError", "'timeout' must be a non-negative number")
	}
	if secs >= maxTimeout.Seconds() {
		return maxTimeout, true, nil
	}
	return time.Duration(secs * float64(time.Second)), true, nil
}

// PyTypeName is the Python type name of a value of the pickle value model,
// as type(v).__name__ would print it.
func PyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int:
		return "int"
	case float32, float64:
		return "float"
	case complex64, complex128:
		return "complex"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *pickle.ByteArray:
		return "bytearray"
	case pickle.Tuple:
		return "tuple"
	case *pickle.List, []any:
		return "list"
	case *pickle.Dict:
		return "dict"
	case *pickle.Set:
		return "set"
	case *pickle.FrozenSet:
		return "frozenset"
	case pickle.Global:
		return "type"
	case *pickle.Exception:
		return x.Name()
	case *pickle.Object:
		if g, ok := x.Callable.(pickle.Global); ok {
			return g.Name
		}
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Repr formats a value of the pickle value model as Python's repr() would
// for the built-in types; other values get a Python-looking placeholder.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, depth int) {
	if depth > 20 {
		b.WriteString("...")
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
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		b.WriteString(FloatRepr(x))
	case string:
		writeStrRepr(b, x)
	case []byte:
		b.WriteByte('b')
		writeBytesRepr(b, x)
	case *pickle.ByteArray:
		b.WriteString("bytearray(b")
		if x != nil {
			writeBytesRepr(b, *x)
		} else {
			b.WriteString("''")
		}
		b.WriteByte(')')
	case pickle.Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *pickle.List:
		b.WriteByte('[')
		if x != nil {
			for i, e := range *x {
				if i > 0 {
					b.WriteString(", ")
				}
				writeRepr(b, e, depth+1)
			}
		}
		b.WriteByte(']')
	case *pickle.Dict:
		b.WriteByte('{')
		i := 0
		for k, e := range x.All() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k, depth+1)
			b.WriteString(": ")
			writeRepr(b, e, depth+1)
			i++
		}
		b.WriteByte('}')
	case pickle.Global:
		fmt.Fprintf(b, "<class '%s.%s'>", x.Module, x.Name)
	case *pickle.Exception:
		b.WriteString(x.Name())
		writeRepr(b, x.Args(), depth+1)
	default:
		fmt.Fprintf(b, "<%s object>", PyTypeName(v))
	}
}

// FloatRepr formats f as Python's repr(float) does: the shortest string that
// round-trips, in scientific notation below 1e-4 and from 1e16 on.
func FloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Log10 can be off by one near powers of ten; let strconv decide.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.LastIndexByte(e, 'e'); i >= 0 {
		exp, _ = strconv.Atoi(e[i+1:])
	}
	if exp < -4 || exp >= 16 {
		mant, ex, _ := strings.Cut(e, "e")
		n, _ := strconv.Atoi(ex)
		sign := "+"
		if n < 0 {
			sign, n = "-", -n
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, n)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

func writeStrRepr(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, `\x%02x`, s[i-1])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(b, `\x%02x`, r)
		case r >= 0x80 && !unicode.IsPrint(r):
			if r <= 0xffff {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				fmt.Fprintf(b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
}

func writeBytesRepr(b *strings.Builder, p []byte) {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
}
