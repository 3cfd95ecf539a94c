package syncobj

import (
	"math"

	"github.com/mpbridge/mpbridge/pickle"
)

// toIndex converts a Python int (or bool) to a Go int, as CPython's
// __index__ does. over is +1 or -1 when the int does not fit in a
// Py_ssize_t; ok is false when v is not an int at all.
func toIndex(v any) (n int, over int, ok bool) {
	num, ok := toNumber(v)
	if !ok {
		return 0, 0, false
	}
	switch num.kind {
	case 'i':
		return int(num.i), 0, true
	case 'b':
		if num.b.Sign() > 0 {
			return math.MaxInt, 1, true
		}
		return math.MinInt, -1, true
	}
	return 0, 0, false
}

// ssizeArg is a Py_ssize_t argument (list.insert, list.pop).
func ssizeArg(v any) (int, error) {
	n, over, ok := toIndex(v)
	if !ok {
		return 0, typeErr("'%s' object cannot be interpreted as an integer", TypeName(v))
	}
	if over != 0 {
		return 0, overflowErr("Python int too large to convert to C ssize_t")
	}
	return n, nil
}

// repeatArg is the count of a sequence repetition (__mul__, __imul__).
func repeatArg(v any) (int, error) {
	n, over, ok := toIndex(v)
	if !ok {
		return 0, typeErr("'%s' object cannot be interpreted as an integer", TypeName(v))
	}
	if over != 0 {
		return 0, overflowErr("cannot fit 'int' into an index-sized integer")
	}
	return n, nil
}

// sliceIndex is _PyEval_SliceIndex: an int clamped to the Py_ssize_t
// range. noneOK accepts None (ok false then).
func sliceIndex(v any, noneOK bool) (n int, isNone bool, err error) {
	if v == nil && noneOK {
		return 0, true, nil
	}
	n, _, ok := toIndex(v)
	if !ok {
		if noneOK {
			return 0, false, typeErr("slice indices must be integers or None or have an __index__ method")
		}
		return 0, false, typeErr("slice indices must be integers or have an __index__ method")
	}
	return n, false, nil
}

// pySlice is a decoded builtins.slice object.
type pySlice struct {
	start, stop, step any
}

// asSlice recognises a pickled builtins.slice.
func asSlice(v any) (pySlice, bool) {
	o, ok := isGlobalObject(v, "builtins", "slice")
	if !ok || o.Kind != pickle.Reduce || len(o.Args) < 1 || len(o.Args) > 3 {
		return pySlice{}, false
	}
	switch len(o.Args) {
	case 1:
		return pySlice{stop: o.Args[0]}, true
	case 2:
		return pySlice{start: o.Args[0], stop: o.Args[1]}, true
	}
	return pySlice{start: o.Args[0], stop: o.Args[1], step: o.Args[2]}, true
}

// indices is PySlice_Unpack followed by PySlice_AdjustIndices: the start,
// stop and step of the slice over a sequence of length n, and the number
// of items it selects.
func (s pySlice) indices(n int) (start, stop, step, count int, err error) {
	step = 1
	if s.step != nil {
		var isNone bool
		step, isNone, err = sliceIndex(s.step, true)
		if err != nil {
			return
		}
		if !isNone && step == 0 {
			err = valueErr("slice step cannot be zero")
			return
		}
		if step < -math.MaxInt {
			step = -math.MaxInt
		}
	}
	var isNone bool
	if start, isNone, err = sliceIndex(s.start, true); err != nil {
		return
	} else if isNone {
		if step < 0 {
			start = math.MaxInt
		} else {
			start = 0
		}
	}
	if stop, isNone, err = sliceIndex(s.stop, true); err != nil {
		return
	} else if isNone {
		if step < 0 {
			stop = math.MinInt
		} else {
			stop = math.MaxInt
		}
	}
	// PySlice_AdjustIndices
	start, stop = adjustIndex(start, n, step), adjustIndex(stop, n, step)
	if step < 0 {
		if stop < start {
			count = (start-stop-1)/(-step) + 1
		}
	} else if start < stop {
		count = (stop-start-1)/step + 1
	}
	return
}

// adjustIndex clamps one bound of a slice to a sequence of length n, as
// PySlice_AdjustIndices does.
func adjustIndex(i, n, step int) int {
	switch {
	case i < 0:
		i += n
		if i < 0 {
			if step < 0 {
				return -1
			}
			return 0
		}
	case i >= n:
		if step < 0 {
			return n - 1
		}
		return n
	}
	return i
}

// clampRange is how list.index and friends clamp start and stop.
func clampRange(start, stop, n int) (int, int) {
	if start < 0 {
		start += n
		if start < 0 {
			start = 0
		}
	}
	if stop < 0 {
		stop += n
		if stop < 0 {
			stop = 0
		}
	}
	if stop > n {
		stop = n
	}
	return start, stop
}
