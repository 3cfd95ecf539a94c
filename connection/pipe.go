package connection

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Pipe returns the two ends of a new channel, as Python's Pipe(duplex) does
// on POSIX: with duplex, both ends of a socketpair (AF_UNIX, SOCK_STREAM),
// each readable and writable; without, the ends of an os.pipe, the first
// read-only and the second write-only. The descriptors are blocking and
// close-on-exec; hand one to a child with Conn.File.
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
	f1 := os.NewFile(uintptr(fds[0]), "pipe")
	f2 := os.NewFile(uintptr(fds[1]), "pipe")
	c1, err := FromFile(f1, true, duplex, nil)
	if err != nil {
		f1.Close()
		f2.Close()
		return nil, nil, err
	}
	c2, err := FromFile(f2, duplex, true, nil)
	if err != nil {
		c1.Close()
		f2.Close()
		return nil, nil, err
	}
	return c1, c2, nil
}
