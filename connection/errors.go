package connection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/mpbridge/mpbridge"
)

// errClosed reports use of a Conn or Listener after Close.
var errClosed = fmt.Errorf("connection: use of closed connection: %w", mpbridge.ErrClosed)

// errTimeout is returned when a context deadline ends a blocking call.
var errTimeout error = timeoutError{}

// timeoutError matches both mpbridge.ErrTimeout and context.DeadlineExceeded
// with errors.Is, and reports Timeout like a net.Error.
type timeoutError struct{}

func (timeoutError) Error() string   { return "connection: timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(target error) bool {
	return target == mpbridge.ErrTimeout || target == context.DeadlineExceeded
}

// ctxErr converts a finished context's error: a deadline becomes errTimeout,
// a cancellation stays context.Canceled (or the context's cause).
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimeout
	}
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// errUnexpectedEOF is a frame cut short by the peer.
var errUnexpectedEOF = fmt.Errorf("connection: got end of file during message: %w: %w", mpbridge.ErrCorrupt, io.ErrUnexpectedEOF)

// BufferTooShortError is returned by RecvBytesInto when a message does not
// fit in the caller's buffer, like Python's BufferTooShort: the message was
// received whole and is in Msg, and the Conn remains usable.
type BufferTooShortError struct {
	Msg []byte // the whole message
	Buf int    // the size of the buffer it did not fit in
}

func (e *BufferTooShortError) Error() string {
	return fmt.Sprintf("connection: message of %d bytes does not fit in a buffer of %d bytes", len(e.Msg), e.Buf)
}

// AuthErrorKind says why a handshake failed.
type AuthErrorKind int

// The kinds of handshake failure.
const (
	// AuthWrongKey: the digests did not match ("digest received was
	// wrong" as challenger, "digest sent was rejected" as responder).
	AuthWrongKey AuthErrorKind = iota + 1
	// AuthProtocol: the peer does not speak the handshake, or speaks a
	// form this side refuses (an unsupported digest, a message that is
	// not a challenge, a message over 256 bytes, MD5 under RefuseLegacy).
	AuthProtocol
	// AuthPeerGone: the peer closed or reset the connection.
	AuthPeerGone
	// AuthTimeout: the context's deadline (or the handshake timeout)
	// passed first.
	AuthTimeout
	// AuthCanceled: the context was canceled (or the Conn closed).
	AuthCanceled
)

var kindNames = [...]string{
	AuthWrongKey: "wrong key",
	AuthProtocol: "protocol mismatch",
	AuthPeerGone: "peer gone",
	AuthTimeout:  "timed out",
	AuthCanceled: "canceled",
}

// String returns a short description, e.g. "wrong key".
func (k AuthErrorKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("AuthErrorKind(%d)", int(k))
}

// AuthError is a failed handshake. It matches mpbridge.ErrAuthentication
// with errors.Is, and also its cause (io.EOF, mpbridge.ErrTimeout, ...)
// when there is one.
type AuthError struct {
	Kind AuthErrorKind
	// Role is "challenger" (DeliverChallenge) or "responder"
	// (AnswerChallenge).
	Role string
	// Reason is the text CPython gives for the same failure where it has
	// one, e.g. "digest received was wrong".
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

func (e *AuthError) Error() string {
	s := "connection: authentication failed"
	if e.Role != "" {
		s += " as " + e.Role
	}
	s += " (" + e.Kind.String() + "): " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns mpbridge.ErrAuthentication and the cause.
func (e *AuthError) Unwrap() []error {
	if e.Err == nil {
		return []error{mpbridge.ErrAuthentication}
	}
	return []error{mpbridge.ErrAuthentication, e.Err}
}

// authIOError classifies an I/O error met during a handshake.
func authIOError(role, waitingFor string, err error) *AuthError {
	e := &AuthError{Role: role, Err: err}
	switch {
	case errors.Is(err, mpbridge.ErrTooLarge):
		e.Kind, e.Reason = AuthProtocol, "bad message length"
	case errors.Is(err, mpbridge.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Reason = AuthTimeout, "timed out waiting for "+waitingFor
	case errors.Is(err, context.Canceled), errors.Is(err, mpbridge.ErrClosed):
		e.Kind, e.Reason = AuthCanceled, "canceled waiting for "+waitingFor
	case isPeerGone(err):
		e.Kind, e.Reason = AuthPeerGone, "peer closed the connection waiting for "+waitingFor
	default:
		e.Kind, e.Reason = AuthProtocol, "I/O error waiting for "+waitingFor
	}
	return e
}

// isPeerGone reports whether err means the other end went away.
func isPeerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, io.ErrClosedPipe)
}

// mapNetError converts errors from a net.Conn into the package's errors.
func mapNetError(ctx context.Context, err error) error {
	switch {
	case err == nil, err == io.EOF:
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		if ctx != nil && ctx.Err() != nil {
			return ctxErr(ctx)
		}
		return errTimeout
	case errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed):
		return errClosed
	}
	return err
}
