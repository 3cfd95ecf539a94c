package connection

import (
	"context"
	"os"
	"time"
)

// transport is what a Conn reads frames from and writes frames to: a
// stream served by Go's poller (pollerTransport: a net.Conn) or a
// blocking descriptor that may be shared with another process (fdTransport:
// a pipe or socketpair end).
//
// Read and Write are the io.Reader and io.Writer the framing code uses;
// they honour the context armed for their direction. A transport is used by
// at most one reader and one writer at a time (the Conn's mutexes).
type transport interface {
	// arm makes ctx govern the following reads (read == true) or writes
	// until disarm. It fails at once if ctx is already done.
	arm(ctx context.Context, read bool) error
	disarm(read bool)
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	// poll waits until input is available, the peer has gone, timeout
	// passes (timeout < 0: no limit) or ctx ends. Called under the read
	// mutex, not armed.
	poll(ctx context.Context, timeout time.Duration) (bool, error)
	// shutdown makes blocked and future calls fail; close then releases
	// the resources once no call is in progress.
	shutdown()
	close() error
	fd() int
	file() (*os.File, error)
}
