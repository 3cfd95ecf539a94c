package manager

import (
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/mpbridge/mpbridge/manager/syncobj"
	"github.com/mpbridge/mpbridge/pickle"
)

// Truthy reports Python's truth value of a value of the pickle value model
// (bool(v) in Python): None, False, zero numbers and empty containers are
// false, everything else is true. It is syncobj.Truthy.
func Truthy(v any) bool { return syncobj.Truthy(v) }

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
// as type(v).__name__ would print it ("object" for what the value model
// does not name). It is syncobj.TypeName.
func PyTypeName(v any) string { return syncobj.TypeName(v) }

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
