package pickle

import (
	"bytes"
	"unsafe"
)

// decoder is the unpickling machine: a stack, a stack of MARK positions
// and a memo, driven by the dispatch table loaders. It works on a complete
// pickle held in memory; Decoder (stream.go) first reads exactly one
// pickle from its reader, then runs a decoder over it.
type decoder struct {
	data  []byte
	pos   int  // next byte to read
	opPos int  // offset of the current opcode
	owned bool // strings and bytes may alias data
	lazy  bool // copy data (and set owned) at the first string or bytes
	proto int

	stack []any
	marks []int
	fence int // len(stack) at the topmost MARK: nothing below it can be popped

	memo      []any
	memoCount int // distinct indices stored (MEMOIZE's next index)
	memoMap   map[uint64]any

	box boxes
	hs  hstate
	// scanBudget bounds the opcodes batchItems may walk in one decode
	// (nested lists could otherwise make it walk the same bytes again and
	// again).
	scanBudget int
	alloc      int
	result     any

	maxDepth, maxMemo, maxAlloc int
	opts                        *DecodeOptions
}

// memoHole marks an unused memo slot.
type memoHole struct{}

var hole any = memoHole{}

// errStop ends the dispatch loop at STOP.
var errStop = &sentinel{msg: "pickle: STOP"}

// aliasLimit is the size up to which Loads copies the whole input once and
// lets strings and bytes alias the copy (one allocation instead of one per
// value). Above it each value is copied on its own, so that a small value
// kept by the caller does not pin a large buffer.
const aliasLimit = 64 << 10

// How a decode treats its input.
const (
	inputBorrowed = iota // copy each string and bytes value
	inputOwned           // values may alias the input
	inputCopy            // copy the input once, at the first string or bytes, and alias that
)

func (d *decoder) reset(data []byte, mode int, opts *DecodeOptions) {
	d.data, d.pos, d.opPos, d.proto = data, 0, 0, 0
	d.owned, d.lazy = mode == inputOwned, mode == inputCopy
	d.stack, d.marks, d.fence = d.stack[:0], d.marks[:0], 0
	d.memo, d.memoCount, d.memoMap = d.memo[:0], 0, nil
	d.box = boxes{}
	d.alloc, d.result = 0, nil
	d.opts = opts
	d.maxDepth, d.maxMemo, d.maxAlloc = DefaultMaxDepth, DefaultMaxMemo, DefaultMaxAlloc
	if opts != nil {
		if opts.MaxDepth > 0 {
			d.maxDepth = opts.MaxDepth
		}
		if opts.MaxMemo > 0 {
			d.maxMemo = opts.MaxMemo
		}
		if opts.MaxAlloc > 0 {
			d.maxAlloc = opts.MaxAlloc
		}
	}
	// Hashing work is bounded by the input size: a pickle can describe a
	// key that is exponentially larger than itself through shared tuples.
	d.hs = hstate{budget: 1<<16 + 16*len(data)}
	d.scanBudget = 2*len(data) + 4096
}

// release drops every reference the decoder holds, so that a pooled
// decoder does not keep values alive.
func (d *decoder) release() {
	clear(d.stack[:cap(d.stack)])
	clear(d.memo[:cap(d.memo)])
	d.stack, d.memo = d.stack[:0], d.memo[:0]
	d.data, d.memoMap, d.result, d.opts = nil, nil, nil, nil
	d.box = boxes{}
}

// run decodes one pickle from d.data.
func (d *decoder) run() (any, error) {
	if d.lazy {
		// The input may be copied for the values to share: that counts.
		if err := d.account(len(d.data)); err != nil {
			return nil, &SyntaxError{Err: err}
		}
	}
	for d.pos < len(d.data) {
		d.opPos = d.pos
		op := d.data[d.pos]
		d.pos++
		if err := loaders[op](d); err != nil {
			if err == errStop {
				return d.result, nil
			}
			return nil, d.syntaxError(op, err)
		}
	}
	d.opPos = len(d.data)
	return nil, &SyntaxError{Offset: int64(d.opPos), OpName: "", Err: detail(ErrTruncated, "no STOP opcode")}
}

func (d *decoder) syntaxError(op byte, err error) error {
	return &SyntaxError{Offset: int64(d.opPos), Op: op, OpName: opName(op), Err: err}
}

// ---- reading arguments ----

func (d *decoder) read(n int) ([]byte, error) {
	if n < 0 || len(d.data)-d.pos < n {
		return nil, ErrTruncated
	}
	b := d.data[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) readByte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, ErrTruncated
	}
	c := d.data[d.pos]
	d.pos++
	return c, nil
}

// readLine returns the bytes up to the next newline, consuming it.
func (d *decoder) readLine() ([]byte, error) {
	n, _ := argLen(argStringnlNoescape, d.data[d.pos:])
	if n < 0 {
		return nil, ErrTruncated
	}
	b := d.data[d.pos : d.pos+n-1 : d.pos+n-1]
	d.pos += n
	return b, nil
}

// readLen reads a little-endian length prefix of size bytes and checks
// that that many bytes follow.
func (d *decoder) readLen(size int, signed bool) (int, error) {
	b, err := d.read(size)
	if err != nil {
		return 0, err
	}
	n, err := lenPrefix(b, size, signed)
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.data)-d.pos) {
		return 0, ErrTruncated
	}
	return int(n), nil
}

// account charges n bytes of allocation against MaxAlloc.
func (d *decoder) account(n int) error {
	d.alloc += n
	if d.alloc > d.maxAlloc || n < 0 {
		return detail(ErrLimit, "decoding needs more than MaxAlloc (%d) bytes", d.maxAlloc)
	}
	return nil
}

// str returns the string value of data[p:p+n].
func (d *decoder) str(p, n int) any {
	if n == 0 {
		return ""
	}
	b := d.data[p : p+n]
	if n <= 2 {
		if n == 1 && b[0] < 0x80 {
			return d.box.str(latin1Strs[b[0]])
		}
		if n == 2 && (b[0] == 0xc2 || b[0] == 0xc3) && b[1]&0xc0 == 0x80 {
			return d.box.str(latin1Strs[(b[0]&3)<<6|b[1]&0x3f])
		}
	}
	if d.lazy {
		d.own()
		b = d.data[p : p+n]
	}
	if d.owned {
		return d.box.str(unsafe.String(&b[0], n))
	}
	return d.box.str(string(b))
}

// own copies the input, once, so that values can alias the copy: one
// allocation for all the strings and bytes of a pickle instead of one
// each (and none for a pickle without any).
func (d *decoder) own() {
	d.data = bytes.Clone(d.data)
	d.owned, d.lazy = true, false
}

// bytesAt returns a []byte holding data[p:p+n], aliasing the input when
// it is owned (with the capacity clipped, so appends cannot clobber the
// next value).
func (d *decoder) bytesAt(p, n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if d.lazy {
		d.own()
	}
	if d.owned {
		return d.data[p : p+n : p+n]
	}
	return append([]byte(nil), d.data[p:p+n]...)
}

// ---- the stack ----

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	n := len(d.stack)
	if n <= d.fence {
		return nil, ErrStackUnderflow
	}
	v := d.stack[n-1]
	d.stack = d.stack[:n-1]
	return v, nil
}

func (d *decoder) top() (*any, error) {
	n := len(d.stack)
	if n <= d.fence {
		return nil, ErrStackUnderflow
	}
	return &d.stack[n-1], nil
}

// popMark removes the topmost MARK and returns the items above it. The
// slice aliases the stack: copy it before pushing again.
func (d *decoder) popMark() ([]any, error) {
	nm := len(d.marks)
	if nm == 0 {
		return nil, detail(ErrStackUnderflow, "MARK not found")
	}
	m := d.marks[nm-1]
	d.marks = d.marks[:nm-1]
	if nm > 1 {
		d.fence = d.marks[nm-2]
	} else {
		d.fence = 0
	}
	items := d.stack[m:len(d.stack):len(d.stack)]
	d.stack = d.stack[:m]
	return items, nil
}

// ---- the memo ----

func (d *decoder) memoPut(idx uint64, v any) error {
	if idx < uint64(len(d.memo)) {
		if d.memo[idx] == hole {
			d.memoCount++
		}
		d.memo[idx] = v
		return nil
	}
	if d.memoMap != nil {
		if _, ok := d.memoMap[idx]; ok {
			d.memoMap[idx] = v
			return nil
		}
	}
	if d.memoCount >= d.maxMemo {
		return detail(ErrLimit, "more than MaxMemo (%d) memo entries", d.maxMemo)
	}
	d.memoCount++
	if idx == uint64(len(d.memo)) {
		d.memo = append(d.memo, v)
		return nil
	}
	if idx < uint64(2*d.memoCount+64) {
		// Dense growth, with no more holes than entries (plus a few):
		// a hostile PUT index cannot make the slice large.
		for uint64(len(d.memo)) < idx {
			d.memo = append(d.memo, hole)
		}
		d.memo = append(d.memo, v)
		return nil
	}
	if d.memoMap == nil {
		d.memoMap = make(map[uint64]any)
	}
	d.memoMap[idx] = v
	return nil
}

func (d *decoder) memoGet(idx uint64) error {
	if idx < uint64(len(d.memo)) {
		if v := d.memo[idx]; v != hole {
			d.push(v)
			return nil
		}
	} else if v, ok := d.memoMap[idx]; ok {
		d.push(v)
		return nil
	}
	return detail(ErrMemoMissing, "memo index %d", idx)
}

// batchItems counts the stack items that the run of MARK ... closing
// batches starting at pos will add (CPython writes lists, dicts and sets
// of more than 1000 items as consecutive batches of 1000), by walking the
// opcodes with their stack effects and building nothing. It returns 0 when
// unsure. The decoder uses it to size a list, dict or set once instead of
// growing it batch after batch.
func (d *decoder) batchItems(pos int, closing byte) int {
	total := 0
	var marks []int // heights saved at nested MARKs
	for pos < len(d.data) && d.data[pos] == opMARK {
		pos++
		height := 0
		marks = marks[:0]
		for {
			if pos >= len(d.data) {
				return 0
			}
			op := d.data[pos]
			info, ok := lookupOp(op)
			if !ok || op == opSTOP {
				return 0
			}
			n, err := argLen(info.Arg, d.data[pos+1:])
			if err != nil || n < 0 {
				return 0
			}
			if d.scanBudget--; d.scanBudget < 0 {
				return 0
			}
			pos += 1 + n
			if len(marks) == 0 && op == closing {
				total += height
				break
			}
			switch {
			case op == opMARK:
				marks = append(marks, height)
				height = 0
			case info.MarkAt >= 0:
				if len(marks) == 0 {
					return 0
				}
				height = marks[len(marks)-1] - info.MarkAt + info.Push
				marks = marks[:len(marks)-1]
			case op == opPOP && height == 0 && len(marks) > 0:
				height = marks[len(marks)-1]
				marks = marks[:len(marks)-1]
			default:
				height += info.Push - info.Pop
			}
			if height < 0 {
				return 0
			}
		}
	}
	return total
}
