package connection

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// reopenPipe opens a second, private open file description of the pipe (or
// FIFO) behind f through /proc/self/fd, in non-blocking mode, and returns
// it as a pollable *os.File; nil if f is not a pipe or the reopen fails.
//
// O_NONBLOCK belongs to an open file description, and f's is shared with
// the process at the other end (a Python process blocks in recv_bytes and
// fails on EAGAIN), so it is never touched. The private description reads
// and writes the same pipe, but its flag is ours: reads and writes go
// through Go's poller with deadlines, which costs less than polling around
// blocking calls. The pipe's reader and writer counts are unaffected once
// the Conn is closed (both descriptions are closed then).
func reopenPipe(f *os.File) *os.File {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var nfd int = -1
	_ = sc.Control(func(u uintptr) {
		fd := int(u)
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		fl, err := unix.FcntlInt(u, unix.F_GETFL, 0)
		if err != nil {
			return
		}
		// A write end with no reader left fails with ENXIO: the caller
		// falls back to the shared descriptor, whose writes fail anyway.
		nfd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(fd), fl&unix.O_ACCMODE|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			nfd = -1
		}
	})
	if nfd < 0 {
		return nil
	}
	p := os.NewFile(uintptr(nfd), f.Name())
	if p.SetReadDeadline(time.Time{}) != nil { // not in the poller
		p.Close()
		return nil
	}
	return p
}

// dupFile returns a close-on-exec duplicate of f's descriptor, which shares
// f's open file description (and so its blocking mode).
func dupFile(f *os.File) (*os.File, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := sc.Control(func(u uintptr) { nfd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}
