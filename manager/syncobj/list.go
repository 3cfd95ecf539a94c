package syncobj

import (
	"context"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// List is a Python list shared through a manager (SyncManager.list).
type List struct {
	mu    sync.Mutex
	items []any
}

// NewList is list(iterable=()).
func NewList(args pickle.Tuple, kwargs *pickle.Dict) (*List, error) {
	if err := posArgs("list", "list", args, kwargs, 0, 1); err != nil {
		return nil, err
	}
	l := &List{}
	if len(args) == 1 {
		items, err := Iterate(args[0])
		if err != nil {
			return nil, err
		}
		l.items = items
	}
	return l, nil
}

func newPyList(items []any) *pickle.List {
	l := pickle.List(items)
	return &l
}

// snapshot is a copy of the items as a new Python list.
func (l *List) snapshot() *pickle.List {
	return newPyList(append(make([]any, 0, len(l.items)), l.items...))
}

// Call implements [Object] with the methods of Python's list.
func (l *List) Call(ctx context.Context, owner Owner, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch method {
	case "__len__":
		if err := wrapperArgs(method, args, kwargs, 0); err != nil {
			return nil, err
		}
		return int64(len(l.items)), nil
	case "__getitem__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		return l.getitem(args[0])
	case "__setitem__":
		if err := wrapperArgs(method, args, kwargs, 2); err != nil {
			return nil, err
		}
		return nil, l.setitem(args[0], args[1])
	case "__delitem__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		return nil, l.delitem(args[0])
	case "__contains__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		i, err := findValue(l.items, args[0], 0, len(l.items))
		return i >= 0, err
	case "__add__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		other, ok := listOf(args[0])
		if !ok {
			return nil, typeErr("can only concatenate list (not \"%s\") to list", TypeName(args[0]))
		}
		if len(l.items)+len(other) > maxItems {
			return nil, memoryErr()
		}
		out := make([]any, 0, len(l.items)+len(other))
		return newPyList(append(append(out, l.items...), other...)), nil
	case "__mul__", "__rmul__", "__imul__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		n, err := repeatArg(args[0])
		if err != nil {
			return nil, err
		}
		items, err := repeat(l.items, n)
		if err != nil {
			return nil, err
		}
		if method == "__imul__" {
			l.items = items
			return l.snapshot(), nil
		}
		return newPyList(items), nil
	case "__iadd__":
		if err := wrapperArgs(method, args, kwargs, 1); err != nil {
			return nil, err
		}
		if err := l.extend(args[0]); err != nil {
			return nil, err
		}
		return l.snapshot(), nil
	case "__reversed__":
		if err := noArgs("list.__reversed__", args, kwargs); err != nil {
			return nil, err
		}
		return &pickle.Object{
			Callable: pickle.Global{Module: "builtins", Name: "reversed"},
			Kind:     pickle.Reduce,
			Args:     pickle.Tuple{l.snapshot()},
			State:    int64(len(l.items) - 1),
			HasState: true,
		}, nil
	case "append":
		v, err := oneArg("list.append", args, kwargs)
		if err != nil {
			return nil, err
		}
		if len(l.items) >= maxItems {
			return nil, memoryErr()
		}
		l.items = append(l.items, v)
		return nil, nil
	case "extend":
		v, err := oneArg("list.extend", args, kwargs)
		if err != nil {
			return nil, err
		}
		return nil, l.extend(v)
	case "insert":
		if err := posArgs("list.insert", "insert", args, kwargs, 2, 2); err != nil {
			return nil, err
		}
		i, err := ssizeArg(args[0])
		if err != nil {
			return nil, err
		}
		if len(l.items) >= maxItems {
			return nil, memoryErr()
		}
		n := len(l.items)
		if i < 0 {
			i = max(i+n, 0)
		}
		i = min(i, n)
		l.items = append(l.items, nil)
		copy(l.items[i+1:], l.items[i:])
		l.items[i] = args[1]
		return nil, nil
	case "pop":
		if err := posArgs("list.pop", "pop", args, kwargs, 0, 1); err != nil {
			return nil, err
		}
		i := -1
		if len(args) == 1 {
			var err error
			if i, err = ssizeArg(args[0]); err != nil {
				return nil, err
			}
		}
		n := len(l.items)
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			if n == 0 {
				return nil, indexErr("pop from empty list")
			}
			return nil, indexErr("pop index out of range")
		}
		v := l.items[i]
		l.items = deleteAt(l.items, i, i+1)
		return v, nil
	case "remove":
		v, err := oneArg("list.remove", args, kwargs)
		if err != nil {
			return nil, err
		}
		i, err := findValue(l.items, v, 0, len(l.items))
		if err != nil {
			return nil, err
		}
		if i < 0 {
			return nil, valueErr("list.remove(x): x not in list")
		}
		l.items = deleteAt(l.items, i, i+1)
		return nil, nil
	case "index":
		if err := posArgs("list.index", "index", args, kwargs, 1, 3); err != nil {
			return nil, err
		}
		start, stop := 0, len(l.items)
		var err error
		if len(args) > 1 {
			if start, _, err = sliceIndex(args[1], false); err != nil {
				return nil, err
			}
		}
		if len(args) > 2 {
			if stop, _, err = sliceIndex(args[2], false); err != nil {
				return nil, err
			}
		}
		start, stop = clampRange(start, stop, len(l.items))
		i, err := findValue(l.items, args[0], start, stop)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			return nil, valueErr("%s is not in list", Repr(args[0]))
		}
		return int64(i), nil
	case "count":
		v, err := oneArg("list.count", args, kwargs)
		if err != nil {
			return nil, err
		}
		n := int64(0)
		for _, x := range l.items {
			eq, err := Equal(x, v)
			if err != nil {
				return nil, err
			}
			if eq {
				n++
			}
		}
		return n, nil
	case "reverse":
		if err := noArgs("list.reverse", args, kwargs); err != nil {
			return nil, err
		}
		reverseValues(l.items)
		return nil, nil
	case "sort":
		kw, err := kwOnly("sort", args, kwargs, "key", "reverse")
		if err != nil {
			return nil, err
		}
		var key func(any) (any, error)
		if kw[0] != nil {
			if key, err = keyFunc(kw[0]); err != nil {
				return nil, err
			}
		}
		reverse := false
		if kw[1] != nil {
			n, over, ok := toIndex(kw[1])
			if !ok {
				return nil, typeErr("'%s' object cannot be interpreted as an integer", TypeName(kw[1]))
			}
			reverse = n != 0 || over != 0
		}
		if key != nil {
			return nil, sortByKey(l.items, key, reverse)
		}
		return nil, sortValues(l.items, reverse)
	case "clear":
		if err := noArgs("list.clear", args, kwargs); err != nil {
			return nil, err
		}
		l.items = nil
		return nil, nil
	case "copy":
		if err := noArgs("list.copy", args, kwargs); err != nil {
			return nil, err
		}
		return l.snapshot(), nil
	}
	return nil, noAttr("list", method)
}

func (l *List) getitem(key any) (any, error) {
	if s, ok := asSlice(key); ok {
		start, _, step, count, err := s.indices(len(l.items))
		if err != nil {
			return nil, err
		}
		out := make([]any, count)
		for i := range out {
			out[i] = l.items[start+i*step]
		}
		return newPyList(out), nil
	}
	i, err := l.index(key, "list index out of range")
	if err != nil {
		return nil, err
	}
	return l.items[i], nil
}

// index resolves an int subscript (negative from the end) with
// CPython's exceptions; outOfRange is the IndexError text.
func (l *List) index(key any, outOfRange string) (int, error) {
	return subscript(key, len(l.items), "list indices must be integers or slices, not "+TypeName(key), outOfRange)
}

// subscript resolves an int subscript of a sequence of length n: notInt
// is the TypeError text for a key that is not an int, outOfRange the
// IndexError text.
func subscript(key any, n int, notInt, outOfRange string) (int, error) {
	i, over, ok := toIndex(key)
	if !ok {
		return 0, typeErr("%s", notInt)
	}
	if over != 0 {
		return 0, indexErr("cannot fit 'int' into an index-sized integer")
	}
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, indexErr(outOfRange)
	}
	return i, nil
}

func (l *List) setitem(key, value any) error {
	if s, ok := asSlice(key); ok {
		start, stop, step, count, err := s.indices(len(l.items))
		if err != nil {
			return err
		}
		if step == 1 {
			seq, err := Iterate(value)
			if err != nil {
				return typeErr("can only assign an iterable")
			}
			stop = max(stop, start)
			if len(l.items)-(stop-start)+len(seq) > maxItems {
				return memoryErr()
			}
			old := l.items
			l.items = append(old[:start], append(seq, old[stop:]...)...)
			if len(l.items) < len(old) {
				clear(old[len(l.items):])
			}
			return nil
		}
		seq, err := Iterate(value)
		if err != nil {
			return typeErr("must assign iterable to extended slice")
		}
		if len(seq) != count {
			return valueErr("attempt to assign sequence of size %d to extended slice of size %d", len(seq), count)
		}
		for i, v := range seq {
			l.items[start+i*step] = v
		}
		return nil
	}
	i, err := l.index(key, "list assignment index out of range")
	if err != nil {
		return err
	}
	l.items[i] = value
	return nil
}

func (l *List) delitem(key any) error {
	if s, ok := asSlice(key); ok {
		start, stop, step, count, err := s.indices(len(l.items))
		if err != nil {
			return err
		}
		if count == 0 {
			return nil
		}
		if step == 1 {
			l.items = deleteAt(l.items, start, stop)
			return nil
		}
		if step < 0 {
			// Delete the same items walking forwards.
			start = start + (count-1)*step
			step = -step
		}
		out := l.items[:start]
		next := start
		for i := start; i < len(l.items); i++ {
			if i == next && count > 0 {
				next += step
				count--
				continue
			}
			out = append(out, l.items[i])
		}
		clear(l.items[len(out):])
		l.items = out
		return nil
	}
	i, err := l.index(key, "list assignment index out of range")
	if err != nil {
		return err
	}
	l.items = deleteAt(l.items, i, i+1)
	return nil
}

func (l *List) extend(v any) error {
	seq, err := Iterate(v)
	if err != nil {
		return err
	}
	if len(l.items)+len(seq) > maxItems {
		return memoryErr()
	}
	l.items = append(l.items, seq...)
	return nil
}

// deleteAt removes items[i:j], clearing the vacated slots.
func deleteAt(items []any, i, j int) []any {
	n := copy(items[i:], items[j:])
	clear(items[i+n:])
	return items[:i+n]
}

// repeat is items * n.
func repeat(items []any, n int) ([]any, error) {
	if n <= 0 || len(items) == 0 {
		return nil, nil
	}
	if n > maxItems/len(items) {
		return nil, memoryErr()
	}
	out := make([]any, 0, len(items)*n)
	for range n {
		out = append(out, items...)
	}
	return out, nil
}

// findValue is the index of the first item in items[start:stop] equal
// to v, or -1.
func findValue(items []any, v any, start, stop int) (int, error) {
	for i := start; i < stop && i < len(items); i++ {
		eq, err := Equal(items[i], v)
		if err != nil {
			return -1, err
		}
		if eq {
			return i, nil
		}
	}
	return -1, nil
}

// Repr is repr(list).
func (l *List) Repr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Repr(newPyList(l.items))
}

// Value is a copy of the list.
func (l *List) Value() (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snapshot(), nil
}
