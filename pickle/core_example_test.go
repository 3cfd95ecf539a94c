package pickle_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

func ExampleLoads() {
	// pickle.dumps((1, 'two', [3.0]), 4) from CPython.
	data := []byte("\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00K\x01\x8c\x03two\x94]\x94G@\x08\x00\x00\x00\x00\x00\x00a\x87\x94.")
	v, err := pickle.Loads(data)
	if err != nil {
		panic(err)
	}
	t := v.(pickle.Tuple)
	fmt.Println(t[0], t[1], *t[2].(*pickle.List))
	fmt.Println(pickle.Repr(v))
	// Output:
	// 1 two [3]
	// (1, 'two', [3.0])
}

func ExampleDumps() {
	d := pickle.NewDict(2)
	_ = d.Set("id", 12345)
	_ = d.Set("tags", []any{"a", "b"})
	data, err := pickle.Dumps(pickle.Tuple{nil, "put", pickle.Tuple{d}, map[string]any{}}, pickle.DefaultProtocol)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", data)
	// Output:
	// "\x80\x04\x95.\x00\x00\x00\x00\x00\x00\x00(N\x8c\x03put\x94}\x94(\x8c\x02id\x94M90\x8c\x04tags\x94]\x94(\x8c\x01a\x94\x8c\x01b\x94eu\x85\x94}\x94t\x94."
}

func ExampleDisassemble() {
	data, _ := pickle.Dumps([]any{"hi", 1.5}, 4)
	_ = pickle.Disassemble(os.Stdout, data, nil)
	// Output:
	//     0: \x80 PROTO      4
	//     2: \x95 FRAME      19
	//    11: ]    EMPTY_LIST
	//    12: \x94 MEMOIZE    (as 0)
	//    13: (    MARK
	//    14: \x8c     SHORT_BINUNICODE 'hi'
	//    18: \x94     MEMOIZE    (as 1)
	//    19: G        BINFLOAT   1.5
	//    28: e        APPENDS    (MARK at 13)
	//    29: .    STOP
	// highest protocol among opcodes = 4
}

func ExampleDecoder() {
	// Two pickles back to back on one stream, as on a pipe.
	var stream bytes.Buffer
	enc := pickle.NewEncoder(&stream)
	_ = enc.Encode("first")
	_ = enc.Encode(pickle.Tuple{2, "second"})
	dec := pickle.NewDecoder(&stream)
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(pickle.Repr(v))
	}
	// Output:
	// 'first'
	// (2, 'second')
	// EOF
}

func ExampleDict() {
	d := pickle.NewDict(0)
	_ = d.Set(1, "one")
	_ = d.Set(1.0, "uno") // 1 and 1.0 are one key in Python
	_ = d.Set(pickle.Tuple{"a", 2}, "tuple key")
	fmt.Println(d.Len(), pickle.Repr(d))
	v, ok := d.Get(true)
	fmt.Println(v, ok)
	fmt.Println(d.Set(&pickle.List{}, 0))
	// Output:
	// 2 {1: 'uno', ('a', 2): 'tuple key'}
	// uno true
	// pickle: unhashable key: unhashable type list
}

func ExampleNewException() {
	// A manager replies ('#ERROR', queue.Empty()) when a get times out.
	data, _ := pickle.Dumps(pickle.Tuple{"#ERROR", pickle.NewException("_queue", "Empty")}, 4)
	v, _ := pickle.Loads(data)
	err := v.(pickle.Tuple)[1].(error)
	fmt.Println(err, errors.Is(err, mpbridge.ErrEmpty))
	// Output:
	// Empty() true
}

func ExampleSyntaxError() {
	_, err := pickle.Loads([]byte("\x80\x04K"))
	var se *pickle.SyntaxError
	fmt.Println(errors.As(err, &se), se.Offset, se.OpName)
	fmt.Println(errors.Is(err, mpbridge.ErrCorrupt), errors.Is(err, pickle.ErrTruncated))
	fmt.Println(err)
	// Output:
	// true 2 BININT1
	// true true
	// pickle: truncated data at offset 2 (opcode BININT1)
}
