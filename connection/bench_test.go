package connection

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The benchmarks compare a Conn with the raw limit of the same channel,
// measured in the same run: a minimal loop writing the same 4-byte header
// and payload (in one write up to 16 KiB, else header then payload, as a
// Conn and CPython do) and reading them back exactly, with plain blocking
// system calls on descriptors and plain Read/Write on sockets.
//
//	go test -run '^$' -bench BenchmarkConn -benchmem ./connection/
//
// scripts/bench_conn.py runs these and times CPython's Connection on the
// same channels for the table in docs/connection.md.

var benchSizes = []int{512, 64 << 10}

// benchChannel makes the two directions of a channel: a→b and b→a (for
// round trips). For "pipe", they are two os.pipes, as Python's
// Pipe(duplex=False) pair would be.
type benchChannel struct {
	name string
	make func(b *testing.B) (aw, br, bw, ar rawEnd)
}

// rawEnd is one end of a channel in both forms: the raw stream and a Conn
// over the same descriptor or socket. rw is called only by the raw loop,
// so that the Conn runs untouched (taking a socket Conn's descriptor would
// end its read-ahead).
type rawEnd struct {
	rw   func() io.ReadWriter
	conn *Conn
}

// fdRW reads and writes a descriptor with plain blocking system calls.
type fdRW int

func (f fdRW) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(f), p)
		if err == unix.EINTR {
			continue
		}
		if n == 0 && err == nil {
			return 0, io.EOF
		}
		return n, err
	}
}

func (f fdRW) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(int(f), p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func fdEnd(c *Conn) rawEnd {
	return rawEnd{rw: func() io.ReadWriter { return fdRW(c.Fd()) }, conn: c}
}

func netEnd(c *Conn) rawEnd {
	return rawEnd{rw: func() io.ReadWriter { return c.tr.(*pollerTransport).c }, conn: c}
}

func benchChannels() []benchChannel {
	closeAll := func(b *testing.B, cs ...*Conn) {
		b.Cleanup(func() {
			for _, c := range cs {
				c.Close()
			}
		})
	}
	return []benchChannel{
		{"pipe", func(b *testing.B) (rawEnd, rawEnd, rawEnd, rawEnd) {
			r1, w1, err := Pipe(false)
			if err != nil {
				b.Fatal(err)
			}
			r2, w2, err := Pipe(false)
			if err != nil {
				b.Fatal(err)
			}
			closeAll(b, r1, w1, r2, w2)
			return fdEnd(w1), fdEnd(r1), fdEnd(w2), fdEnd(r2)
		}},
		{"socketpair", func(b *testing.B) (rawEnd, rawEnd, rawEnd, rawEnd) {
			x, y, err := Pipe(true)
			if err != nil {
				b.Fatal(err)
			}
			closeAll(b, x, y)
			return fdEnd(x), fdEnd(y), fdEnd(y), fdEnd(x)
		}},
		{"unix", func(b *testing.B) (rawEnd, rawEnd, rawEnd, rawEnd) {
			x, y := netPair(b, "unix", "@mpb-bench-"+randName())
			closeAll(b, x, y)
			return netEnd(x), netEnd(y), netEnd(y), netEnd(x)
		}},
		{"tcp", func(b *testing.B) (rawEnd, rawEnd, rawEnd, rawEnd) {
			x, y := netPair(b, "tcp", "127.0.0.1:0")
			closeAll(b, x, y)
			return netEnd(x), netEnd(y), netEnd(y), netEnd(x)
		}},
	}
}

// rawSend writes one frame the minimal way.
func rawSend(w io.Writer, hdr *[4]byte, buf, p []byte) error {
	binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
	if len(p) <= SmallFrame {
		buf = append(append(buf[:0], hdr[:]...), p...)
		_, err := w.Write(buf)
		return err
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// rawRecv reads one frame exactly into buf.
func rawRecv(r io.Reader, hdr *[4]byte, buf []byte) (int, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(r, buf[:n])
	return n, err
}

// benchEnd adapts both forms to send/recv functions.
type benchEnd struct {
	send func(p []byte) error
	recv func(buf []byte) (int, error)
}

func rawBench(e rawEnd, size int) benchEnd {
	rw := e.rw()
	return rawLoop(rw, rw, size)
}

// rawLoop is the raw loop receiving from r and sending to w.
func rawLoop(r io.Reader, w io.Writer, size int) benchEnd {
	var shdr, rhdr [4]byte
	sbuf := make([]byte, 0, 4+size)
	return benchEnd{
		send: func(p []byte) error { return rawSend(w, &shdr, sbuf, p) },
		recv: func(buf []byte) (int, error) { return rawRecv(r, &rhdr, buf) },
	}
}

func connBench(e rawEnd) benchEnd { return connEnds(e.conn, e.conn) }

// connEnds receives on r and sends on w.
func connEnds(r, w *Conn) benchEnd {
	ctx := context.Background()
	return benchEnd{
		send: func(p []byte) error { return w.SendBytes(ctx, p) },
		recv: func(buf []byte) (int, error) { return r.RecvBytesInto(ctx, buf) },
	}
}

// picker returns the constructor of one benchmark end: the raw loop or a
// Conn.
func picker(impl string, size int) func(rawEnd) benchEnd {
	if impl == "raw" {
		return func(e rawEnd) benchEnd { return rawBench(e, size) }
	}
	return connBench
}

// BenchmarkConn/<channel>/<size>/<throughput|rtt>/<raw|conn>: the raw loop
// and the Conn run back to back, so that they see the same machine load.
func BenchmarkConn(b *testing.B) {
	for _, ch := range benchChannels() {
		for _, size := range benchSizes {
			for _, mode := range []string{"throughput", "rtt"} {
				for _, impl := range []string{"raw", "conn"} {
					mk := picker(impl, size)
					b.Run(fmt.Sprintf("%s/%d/%s/%s", ch.name, size, mode, impl), func(b *testing.B) {
						aw, br, bw, ar := ch.make(b)
						if mode == "throughput" {
							benchThroughput(b, mk(aw), mk(br), size)
						} else {
							benchRTT(b, mk(aw), mk(br), mk(bw), mk(ar), size)
						}
					})
				}
			}
		}
	}
}

// cpuClock measures the CPU time (user + system) of the whole process, to
// report next to wall time: on a loaded machine it is the steadier measure
// of what a Conn costs over the raw loop.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuNow()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}

// benchThroughput streams b.N messages one way.
func benchThroughput(b *testing.B, w, r benchEnd, size int) {
	msg := make([]byte, size)
	buf := make([]byte, size)
	errc := make(chan error, 1)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	go func() {
		for range b.N {
			if err := w.send(msg); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range b.N {
		if n, err := r.recv(buf); err != nil || n != size {
			b.Fatalf("recv: %d, %v", n, err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	cpu.report(b)
}

// benchRTT bounces a message b.N times: a sends, b echoes.
func benchRTT(b *testing.B, aw, br, bw, ar benchEnd, size int) {
	msg := make([]byte, size)
	buf := make([]byte, size)
	ebuf := make([]byte, size)
	errc := make(chan error, 1)
	go func() {
		for range b.N {
			n, err := br.recv(ebuf)
			if err == nil {
				err = bw.send(ebuf[:n])
			}
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	b.SetBytes(int64(2 * size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		if err := aw.send(msg); err != nil {
			b.Fatal(err)
		}
		if n, err := ar.recv(buf); err != nil || n != size {
			b.Fatalf("recv: %d, %v", n, err)
		}
	}
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	cpu.report(b)
}

// BenchmarkTCPReadAhead/<size>/<throughput|rtt>/<exact|ahead>: a TCP Conn
// reading each frame exactly (the default) against one reading ahead
// (Options.ReadAheadTCP), the evidence behind that option's default.
func BenchmarkTCPReadAhead(b *testing.B) {
	for _, size := range benchSizes {
		for _, mode := range []string{"throughput", "rtt"} {
			for _, ahead := range []bool{false, true} {
				name := map[bool]string{false: "exact", true: "ahead"}[ahead]
				b.Run(fmt.Sprintf("%d/%s/%s", size, mode, name), func(b *testing.B) {
					x, y := netPairOpts(b, "tcp", "127.0.0.1:0", &Options{ReadAheadTCP: ahead})
					b.Cleanup(func() { x.Close(); y.Close() })
					xe, ye := connBench(rawEnd{conn: x}), connBench(rawEnd{conn: y})
					if mode == "throughput" {
						benchThroughput(b, xe, ye, size)
					} else {
						benchRTT(b, xe, ye, ye, xe, size)
					}
				})
			}
		}
	}
}
