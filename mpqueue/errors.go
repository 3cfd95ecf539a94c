//go:build linux

package mpqueue

import (
	"errors"
	"fmt"

	"github.com/mpbridge/mpbridge"
)

// ErrTaskDone is CPython's ValueError "task_done() called too many times".
var ErrTaskDone = errors.New("mpqueue: task_done() called too many times")

// CorruptError reports bytes read from a queue's pipe that are not a
// frame holding a pickle: a length that is negative or absurd, a payload
// that does not start with the PROTO opcode, a frame cut short, or a pickle
// that does not decode. Except for the last, the pipe is out of step (a
// reader died mid-frame, or a foreign writer broke the framing) and later
// reads will fail too. It matches mpbridge.ErrCorrupt.
type CorruptError struct {
	// Reason says what was wrong.
	Reason string
	// Data holds the bytes concerned: the header (and any payload bytes
	// read) for a bad frame, the whole payload for a pickle that does not
	// decode.
	Data []byte
	// Err is the underlying error, if any (e.g. the decoder's).
	Err error
}

// Error describes the problem and shows the first bytes.
func (e *CorruptError) Error() string {
	s := fmt.Sprintf("mpqueue: corrupt stream: %s (%d bytes: % x", e.Reason, len(e.Data), head(e.Data, 32))
	if len(e.Data) > 32 {
		s += " ..."
	}
	s += ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns mpbridge.ErrCorrupt and the underlying error.
func (e *CorruptError) Unwrap() []error {
	if e.Err != nil {
		return []error{mpbridge.ErrCorrupt, e.Err}
	}
	return []error{mpbridge.ErrCorrupt}
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// UndeliveredError carries the items that Flush or Close could not write
// to the pipe, in the order they were put, so that nothing is lost
// silently. Err says why (the context's end, Close, or a write error such as
// EPIPE when no process has the read end open); errors.Is sees through it.
type UndeliveredError struct {
	Items []any
	Err   error
}

// Error says how many items were not delivered and why.
func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("mpqueue: %d item(s) not delivered: %v", len(e.Items), e.Err)
}

// Unwrap returns Err.
func (e *UndeliveredError) Unwrap() error { return e.Err }
