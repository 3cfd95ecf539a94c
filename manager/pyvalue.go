package manager

import (
	"fmt"
	"math"
	"math/big"
	"time"

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

// seqItems returns the items of a tuple or list.
func seqItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case pickle.Tuple:
		return x, true
	case *pickle.List:
		if x == nil {
			return nil, false
		}
		return *x, true
	}
	return nil, false
}
