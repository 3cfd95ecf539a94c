package connection

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Pipe returns the two ends of a new channel, as Python's Pipe(duplex) does
// on POSIX: with duplex, both ends of a socketpair (AF_UNIX, SOCK_STREAM),
// each readable and writable; without, the ends of an os.pipe, the first
// read-only and the second write-only. The descriptors are close-on-exec;
// hand one to a child with Conn.File (or pass the Conn to spawn), which
// gives a blocking descriptor, as Python expects.
//
// While both ends are this process's alone, the channel joins two
// goroutines and is served as such: non-blocking descriptors in Go's
// poller, the read end reading ahead (one read(2) takes every frame
// waiting, up to 4 KiB). The first Fd or File of either end ends that for
// good for both: the descriptor handed out is blocking again and each end
// reads one frame at a time and waits in poll(2), as on any descriptor
// shared with another process (see the package documentation). The first
// Fd or File of an end waits for a send or receive in progress on it.
func Pipe(duplex bool) (*Conn, *Conn, error) {
	var fds [2]int
	var err error
	if duplex {
		fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("connection: socketpair: %w", err)
		}
	} else if err = unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("connection: pipe: %w", err)
	}
	c1, c2, err := pairConns(fds, duplex)
	if err != nil {
		kind := "pipe"
		if duplex {
			kind = "socketpair"
		}
		return nil, nil, fmt.Errorf("connection: %s: %w", kind, err)
	}
	return c1, c2, nil
}
