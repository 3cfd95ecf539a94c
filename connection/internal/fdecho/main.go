// Command fdecho is the Go child of the interop tests in which a Python
// parent hands pipe ends to a child process (as multiprocessing does): it
// makes Conns from the inherited descriptors and echoes every frame until
// the parent closes its end.
//
// Environment:
//
//	MPB_FDS        the inherited descriptors: "N" (duplex) or "R,W" (one-way)
//	MPB_MODE       "duplex" or "oneway"
//	MPB_RAW_COUNT  how many frames to echo as bytes before echoing the rest
//	               as pickled values (Recv, then Send); unset or -1: all bytes
//
// It exits 0 at a clean end of stream, 2 if an inherited descriptor is in
// non-blocking mode, 1 on any other error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge/connection"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fdecho:", err)
		if errors.Is(err, errNonblocking) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errNonblocking = errors.New("inherited descriptor is non-blocking")

func open(s string, readable, writable bool) (*connection.Conn, error) {
	fd, err := strconv.Atoi(s)
	if err != nil {
		return nil, fmt.Errorf("MPB_FDS: %w", err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("fd %d: %w", fd, err)
	}
	if fl&unix.O_NONBLOCK != 0 {
		return nil, fmt.Errorf("fd %d: %w", fd, errNonblocking)
	}
	return connection.FromFile(os.NewFile(uintptr(fd), "inherited"), readable, writable, nil)
}

func run() error {
	ctx := context.Background()
	fds := strings.Split(os.Getenv("MPB_FDS"), ",")
	var r, w *connection.Conn
	var err error
	switch os.Getenv("MPB_MODE") {
	case "duplex":
		if r, err = open(fds[0], true, true); err != nil {
			return err
		}
		w = r
	case "oneway":
		if len(fds) != 2 {
			return errors.New("oneway needs MPB_FDS=R,W")
		}
		if r, err = open(fds[0], true, false); err != nil {
			return err
		}
		if w, err = open(fds[1], false, true); err != nil {
			return err
		}
	default:
		return fmt.Errorf("MPB_MODE %q", os.Getenv("MPB_MODE"))
	}
	defer r.Close()
	defer w.Close()
	raw := -1
	if s := os.Getenv("MPB_RAW_COUNT"); s != "" {
		if raw, err = strconv.Atoi(s); err != nil {
			return fmt.Errorf("MPB_RAW_COUNT: %w", err)
		}
	}
	for i := 0; ; i++ {
		if raw < 0 || i < raw {
			b, err := r.RecvBytes(ctx, 0)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("frame %d: %w", i, err)
			}
			if err := w.SendBytes(ctx, b); err != nil {
				return fmt.Errorf("frame %d: %w", i, err)
			}
			continue
		}
		if err := echoValue(ctx, r, w); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("frame %d: %w", i, err)
		}
	}
}
