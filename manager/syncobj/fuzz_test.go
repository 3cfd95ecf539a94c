package syncobj

import (
	"bytes"
	"context"
	"testing"

	"github.com/mpbridge/mpbridge/pickle"
)

// FuzzArrayBytes feeds arbitrary bytes to array.array(typecode, bytes),
// as a client's Array(typecode, b'...') or a slice assignment does: it
// must never panic, and what it accepts must encode back to the same
// bytes and decode again to the same items.
func FuzzArrayBytes(f *testing.F) {
	for _, s := range []string{"b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d", "u", "w"} {
		f.Add(s, []byte{1, 0, 0, 0, 0, 0, 0, 0xff})
	}
	f.Add("x", []byte{})
	f.Fuzz(func(t *testing.T, typecode string, data []byte) {
		a, err := newArrayData(typecode, data, true)
		if err != nil {
			if _, ok := err.(*pickle.Exception); !ok {
				t.Fatalf("not a Python exception: %v", err)
			}
			return
		}
		if got := a.bytes(); !bytes.Equal(got, data) {
			// NaN payloads of 'f' survive float64 widening and narrowing
			// only up to their quiet bit.
			if a.t.code != 'f' {
				t.Fatalf("%s: bytes %x became %x", typecode, data, got)
			}
		}
		b, err := arrayFromPickle(a.reduce())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.bytes(), a.bytes()) {
			t.Fatalf("reduce round trip changed %x to %x", a.bytes(), b.bytes())
		}
	})
}

// FuzzCalls decodes a pickle of arguments from arbitrary bytes and calls
// every method of the container types with it: no input may panic or
// hang, and every failure must be a Python exception or a missing method.
func FuzzCalls(f *testing.F) {
	for _, v := range []any{
		pickle.Tuple{int64(1)},
		pickle.Tuple{"k", []byte("v")},
		pickle.Tuple{&pickle.Object{Callable: pickle.Global{Module: "builtins", Name: "slice"}, Kind: pickle.Reduce, Args: pickle.Tuple{nil, int64(-1), int64(-2)}}, &pickle.List{int64(1)}},
	} {
		data, err := pickle.Dumps(v, 4)
		if err == nil {
			f.Add(byte(0), data)
		}
	}
	methods := []string{"__len__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__add__", "__mul__", "__imul__",
		"__reversed__", "append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "sort", "get", "setdefault",
		"popitem", "keys", "items", "update", "copy", "clear", "__iter__", "__getattribute__", "__setattr__", "__delattr__", "set"}
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		v, err := pickle.Loads(data)
		if err != nil {
			return
		}
		args, ok := v.(pickle.Tuple)
		if !ok {
			args = pickle.Tuple{v}
		}
		list, _ := NewList(pickle.Tuple{&pickle.List{int64(1), "a", 2.5}}, nil)
		dict, _ := NewDict(nil, nil)
		arr, _ := NewArray(pickle.Tuple{"i", &pickle.List{int64(1), int64(2)}}, nil)
		ns, _ := NewNamespace(nil, nil)
		val, _ := NewValue(pickle.Tuple{"i", int64(0)}, nil)
		method := methods[int(which)%len(methods)]
		for _, o := range []Object{list, dict, arr, ns, val} {
			_, err := o.Call(context.Background(), nil, method, args, nil)
			if err == nil || IsNoAttribute(err) {
				continue
			}
			if _, ok := err.(*pickle.Exception); !ok {
				t.Fatalf("%T.%s%s: not a Python exception: %v", o, method, Repr(args), err)
			}
			_ = Repr(args)
		}
	})
}
