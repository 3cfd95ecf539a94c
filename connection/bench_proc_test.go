package connection

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain runs the child side of BenchmarkConnAcrossProcesses when the
// test binary is started as one (benchChildEnv set), the tests otherwise.
func TestMain(m *testing.M) {
	if spec := os.Getenv(benchChildEnv); spec != "" {
		if err := benchChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const benchChildEnv = "MPBRIDGE_BENCH_CHILD"

// BenchmarkConnAcrossProcesses/<channel>/<size>/<throughput|rtt>/<raw|conn>:
// BenchmarkConn's comparison between two Go processes, the case the
// package exists for. The parent keeps one end of each channel and a child
// (this test binary again) has the other: for pipe and socketpair, given
// as inherited descriptors (as a Go program hands a Pipe end to a worker),
// for unix and tcp, dialled to the parent's listener. Both sides run the
// same implementation: the raw loop (plain blocking system calls on
// descriptors, which no context or Close can interrupt; plain Read/Write
// on sockets) or Conns (on an inherited descriptor, as on any descriptor
// shared with another process: each call non-blocking, waits in bounded
// poll(2) calls).
//
// throughput: the parent streams b.N frames, the child reads them and
// answers an empty frame at the end. rtt: the child echoes each frame.
// cpu-ns/op is the parent's CPU time only.
//
//	go test -run '^$' -bench BenchmarkConnAcrossProcesses ./connection/
func BenchmarkConnAcrossProcesses(b *testing.B) {
	for _, ch := range []string{"pipe", "socketpair", "unix", "tcp"} {
		for _, size := range benchSizes {
			for _, mode := range []string{"throughput", "rtt"} {
				for _, impl := range []string{"raw", "conn"} {
					b.Run(fmt.Sprintf("%s/%d/%s/%s", ch, size, mode, impl), func(b *testing.B) {
						benchAcross(b, ch, size, mode, impl)
					})
				}
			}
		}
	}
}

// acrossChild describes the child's side of benchAcross; it travels in
// the environment variable benchChildEnv as "impl,mode,size,channel,addr".
type acrossChild struct {
	impl, mode, channel, addr string
	size                      int
}

func (c acrossChild) String() string {
	return fmt.Sprintf("%s,%s,%d,%s,%s", c.impl, c.mode, c.size, c.channel, c.addr)
}

func parseAcrossChild(spec string) (acrossChild, error) {
	parts := strings.SplitN(spec, ",", 5)
	if len(parts) != 5 {
		return acrossChild{}, fmt.Errorf("bad spec %q", spec)
	}
	size, err := strconv.Atoi(parts[2])
	if err != nil {
		return acrossChild{}, err
	}
	return acrossChild{impl: parts[0], mode: parts[1], size: size, channel: parts[3], addr: parts[4]}, nil
}

// descEnds serves the descriptors in (from the peer) and out (to it).
func descEnds(impl string, in, out *os.File, size int) (benchEnd, error) {
	if impl == "raw" {
		return rawLoop(fdRW(in.Fd()), fdRW(out.Fd()), size), nil
	}
	duplex := in == out
	rc, err := FromFile(in, true, duplex, nil)
	if err != nil {
		return benchEnd{}, err
	}
	wc := rc
	if !duplex {
		if wc, err = FromFile(out, false, true, nil); err != nil {
			return benchEnd{}, err
		}
	}
	return connEnds(rc, wc), nil
}

// sockEnds serves a connected socket.
func sockEnds(impl string, nc net.Conn, size int) benchEnd {
	if impl == "raw" {
		return rawLoop(nc, nc, size)
	}
	c := NewConn(nc, nil)
	return connEnds(c, c)
}

func benchAcross(b *testing.B, ch string, size int, mode, impl string) {
	spec := acrossChild{impl: impl, mode: mode, size: size, channel: ch}
	var mine []*os.File // the parent's descriptors: in, out
	var theirs []*os.File
	var ln net.Listener
	switch ch {
	case "pipe": // two os.pipes
		var a, b2 [2]int
		if err := unix.Pipe2(a[:], unix.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
		if err := unix.Pipe2(b2[:], unix.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
		// a: parent → child; b2: child → parent.
		mine = []*os.File{os.NewFile(uintptr(b2[0]), "in"), os.NewFile(uintptr(a[1]), "out")}
		theirs = []*os.File{os.NewFile(uintptr(a[0]), "in"), os.NewFile(uintptr(b2[1]), "out")}
	case "socketpair":
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		f := os.NewFile(uintptr(fds[0]), "socketpair")
		mine = []*os.File{f, f}
		theirs = []*os.File{os.NewFile(uintptr(fds[1]), "socketpair")}
	default:
		addr := "127.0.0.1:0"
		if ch == "unix" {
			addr = "@mpb-bench-" + randName()
		}
		var err error
		if ln, err = net.Listen(ch, addr); err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		spec.addr = ln.Addr().String()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+spec.String())
	cmd.ExtraFiles = theirs
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	for _, f := range theirs {
		f.Close()
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var ends benchEnd
	if ln != nil {
		nc, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { nc.Close() })
		ends = sockEnds(impl, nc, size)
	} else {
		b.Cleanup(func() {
			for _, f := range mine {
				f.Close()
			}
		})
		var err error
		if ends, err = descEnds(impl, mine[0], mine[1], size); err != nil {
			b.Fatal(err)
		}
	}

	msg := make([]byte, size)
	buf := make([]byte, size)
	roundTrip := func(p []byte) {
		if err := ends.send(p); err != nil {
			b.Fatal(err)
		}
		if n, err := ends.recv(buf); err != nil || n != len(p) {
			b.Fatalf("recv: %d, %v", n, err)
		}
	}
	if mode == "rtt" {
		for range 10 { // the child's start, both ends' buffers
			roundTrip(msg)
		}
		b.SetBytes(int64(2 * size))
	} else {
		b.SetBytes(int64(size))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		if mode == "rtt" {
			roundTrip(msg)
		} else if err := ends.send(msg); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip(nil) // the end, answered once every frame is read
	b.StopTimer()
	cpu.report(b)
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
}

// benchChild is the child of benchAcross. It reads frames (echoing them
// in rtt mode) until an empty one, which it answers with an empty one.
func benchChild(spec string) error {
	c, err := parseAcrossChild(spec)
	if err != nil {
		return err
	}
	var ends benchEnd
	switch c.channel {
	case "pipe":
		ends, err = descEnds(c.impl, os.NewFile(3, "in"), os.NewFile(4, "out"), c.size)
	case "socketpair":
		f := os.NewFile(3, "socketpair")
		ends, err = descEnds(c.impl, f, f, c.size)
	default:
		var nc net.Conn
		if nc, err = net.Dial(c.channel, c.addr); err == nil {
			ends = sockEnds(c.impl, nc, c.size)
		}
	}
	if err != nil {
		return err
	}
	buf := make([]byte, c.size)
	for {
		n, err := ends.recv(buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return ends.send(nil)
		}
		if c.mode == "rtt" {
			if err := ends.send(buf[:n]); err != nil {
				return err
			}
		}
	}
}
