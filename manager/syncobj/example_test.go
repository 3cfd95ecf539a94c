package syncobj_test

import (
	"context"
	"fmt"

	"github.com/mpbridge/mpbridge/manager/syncobj"
	"github.com/mpbridge/mpbridge/pickle"
)

// A shared list answers method calls by name with Python's semantics,
// exceptions included.
func ExampleList() {
	ctx := context.Background()
	l, _ := syncobj.NewList(pickle.Tuple{&pickle.List{int64(3), "b", int64(1)}}, nil)
	_, err := l.Call(ctx, nil, "sort", nil, nil)
	fmt.Println(err)
	l.Call(ctx, nil, "remove", pickle.Tuple{"b"}, nil)
	l.Call(ctx, nil, "sort", nil, nil)
	fmt.Println(l.Repr())
	_, err = l.Call(ctx, nil, "index", pickle.Tuple{int64(9)}, nil)
	fmt.Println(err)
	// Output:
	// TypeError("'<' not supported between instances of 'str' and 'int'")
	// [1, 3]
	// ValueError('9 is not in list')
}

// An RLock belongs to the owner that acquired it, as it belongs to a
// thread in Python; a manager passes the caller's connection as owner.
func ExampleRLock() {
	ctx := context.Background()
	l := syncobj.NewRLock()
	ok, _ := l.Call(ctx, "conn-1", "acquire", nil, nil)
	fmt.Println(ok)
	ok, _ = l.Call(ctx, "conn-2", "acquire", pickle.Tuple{false}, nil)
	fmt.Println(ok)
	_, err := l.Call(ctx, "conn-2", "release", nil, nil)
	fmt.Println(err)
	// Output:
	// true
	// false
	// RuntimeError('cannot release un-acquired lock')
}

// Types lists every typeid with what its Python proxy exposes.
func ExampleTypes() {
	for _, t := range syncobj.Types() {
		if t.Typeid == "dict" {
			fmt.Println(t.Proxy, t.MethodToTypeid)
		}
	}
	// Output: DictProxy map[__iter__:Iterator]
}
