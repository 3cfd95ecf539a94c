package pickle

import (
	"fmt"
	"io"

	"github.com/mpbridge/mpbridge"
)

// Sentinel errors. Decoding errors caused by bad bytes come wrapped in a
// *SyntaxError, and every one of them satisfies
// errors.Is(err, mpbridge.ErrCorrupt); exceeding a limit satisfies
// errors.Is(err, mpbridge.ErrTooLarge) instead. I/O errors of the
// underlying reader or writer are passed through unwrapped.
var (
	// ErrTruncated reports a pickle that ends before its STOP opcode or in
	// the middle of an opcode's argument. It also matches
	// io.ErrUnexpectedEOF.
	ErrTruncated error = &sentinel{"pickle: truncated data", []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}}
	// ErrUnknownOpcode reports a byte that is not an opcode of protocols 0–5.
	ErrUnknownOpcode = corrupt("unknown opcode")
	// ErrStackUnderflow reports an opcode that needs more stack items than
	// exist above the topmost MARK, or a MARK that is missing.
	ErrStackUnderflow = corrupt("stack underflow")
	// ErrMemoMissing reports a GET of a memo index never stored.
	ErrMemoMissing = corrupt("memo key not found")
	// ErrUnhashable reports a list, dict, set or bytearray used as a dict
	// key or set item.
	ErrUnhashable = corrupt("unhashable key")
	// ErrBadValue reports a malformed opcode argument, or an operand of the
	// wrong type (APPEND to something that is not a list, a REDUCE whose
	// arguments are not a tuple, an invalid int literal, ...).
	ErrBadValue = corrupt("invalid value")
	// ErrLimit reports input that exceeds a configured limit (nesting
	// depth, memo size, total allocation, hashing work). It matches
	// mpbridge.ErrTooLarge, not mpbridge.ErrCorrupt.
	ErrLimit error = &sentinel{"pickle: limit exceeded", []error{mpbridge.ErrTooLarge}}
	// ErrNoHook reports a pickle that needs a hook that is not configured:
	// an extension code (EXT1/2/4) without DecodeOptions.Ext, or an
	// out-of-band buffer without DecodeOptions.Buffers.
	ErrNoHook = fmt.Errorf("pickle: opcode needs a decoder hook that is not set")
)

// sentinel is an error value that matches other errors too, so that one
// sentinel can be both ErrCorrupt and io.ErrUnexpectedEOF.
type sentinel struct {
	msg     string
	parents []error
}

func (e *sentinel) Error() string   { return e.msg }
func (e *sentinel) Unwrap() []error { return e.parents }

func corrupt(msg string) error {
	return &sentinel{"pickle: " + msg, []error{mpbridge.ErrCorrupt}}
}

// SyntaxError describes a pickle that cannot be decoded: where (the byte
// offset of the opcode from the start of the pickle), which opcode, and
// why (Err, usually one of the sentinels of this package, possibly wrapped
// with detail).
type SyntaxError struct {
	// Offset is the offset of the failing opcode from the start of the
	// pickle (for a Decoder, from the start of the current pickle).
	Offset int64
	// Op is the opcode byte.
	Op byte
	// OpName is the opcode's name as in pickletools, or "" if unknown.
	OpName string
	// Err is the cause.
	Err error
}

// Error formats the cause, the offset and the opcode.
func (e *SyntaxError) Error() string {
	name := e.OpName
	if name == "" {
		name = fmt.Sprintf("0x%02x", e.Op)
	}
	return fmt.Sprintf("%v at offset %d (opcode %s)", e.Err, e.Offset, name)
}

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// detail wraps a sentinel with a message while keeping errors.Is working.
func detail(err error, format string, args ...any) error {
	return &detailed{err, fmt.Sprintf(format, args...)}
}

type detailed struct {
	err error
	msg string
}

func (e *detailed) Error() string { return e.err.Error() + ": " + e.msg }
func (e *detailed) Unwrap() error { return e.err }

// Limits applied when DecodeOptions leaves them zero.
const (
	// DefaultMaxDepth bounds MARK nesting while decoding, recursion while
	// encoding, and the nesting of keys while hashing them.
	DefaultMaxDepth = 1000
	// DefaultMaxMemo bounds the number of memo entries of one pickle.
	DefaultMaxMemo = 1 << 24
	// DefaultMaxAlloc bounds the bytes one decode may allocate (1 GiB).
	// In-band data can never need more than a small multiple of the
	// pickle's own length, which is read before it is allocated.
	DefaultMaxAlloc = 1 << 30
	// maxIntDigits is CPython's int_max_str_digits default (3.11+): text
	// ints (INT, LONG) longer than this are rejected, which also bounds the
	// quadratic cost of decimal conversion.
	maxIntDigits = 4300
	// defaultHashBudget bounds the work of hashing and comparing one key
	// outside a decode (Dict.Set and friends).
	defaultHashBudget = 1 << 22
)
