//go:build linux

package mpqueue

import (
	"context"
	"encoding/binary"
	"os"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchPayload is the item the throughput benchmarks carry: 512 bytes.
var benchPayload = make([]byte, 512)

// benchFrame is the frame a Queue writes for benchPayload.
func benchFrame(testing.TB) []byte { return benchFrameSize(len(benchPayload)) }

// rawPipe moves n copies of frame through a fresh pipe with the minimal
// loop: one write per frame (header and body together, as CPython writes
// small frames), and a reader that reads the 4-byte header, then the body.
// No semaphores, no pickling. It returns the elapsed time.
func rawPipe(tb testing.TB, n int, frame []byte) time.Duration {
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rfd, wfd := int(r.Fd()), int(w.Fd())
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			if err := writeAll(wfd, frame); err != nil {
				panic(err)
			}
		}
	}()
	var hdr [4]byte
	body := make([]byte, len(frame))
	for i := 0; i < n; i++ {
		if err := readAll(rfd, hdr[:]); err != nil {
			tb.Fatal(err)
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if err := readAll(rfd, body[:size]); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func readAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// queueGoGo moves n items through a fresh unbounded Queue, one producer
// goroutine and one consumer, and returns the elapsed time.
func queueGoGo(tb testing.TB, n int) time.Duration {
	q, err := New(0, testOpts())
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			if err := q.Put(ctx, benchPayload); err != nil {
				panic(err)
			}
		}
	}()
	for i := 0; i < n; i++ {
		if _, err := q.Get(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

func BenchmarkRawPipe512(b *testing.B) {
	frame := benchFrame(b)
	el := rawPipe(b, b.N, frame)
	b.ReportMetric(float64(b.N)/el.Seconds(), "frames/s")
}

func BenchmarkQueue512(b *testing.B) {
	el := queueGoGo(b, b.N)
	b.ReportMetric(float64(b.N)/el.Seconds(), "items/s")
}

// medianOf returns the median of v.
func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestThroughputVsRawPipe compares the two in one process (MPBRIDGE_BENCH=1):
// rounds alternate, and the median round of each counts. CPU time per item
// is reported too.
func TestThroughputVsRawPipe(t *testing.T) {
	if os.Getenv("MPBRIDGE_BENCH") == "" {
		t.Skip("set MPBRIDGE_BENCH=1")
	}
	n, rounds := 200000, 7
	frame := benchFrame(t)
	var raws, qs []float64
	var cpuRaw, cpuQ time.Duration
	for round := 0; round < rounds; round++ {
		c0 := cpuTime()
		raw := rawPipe(t, n, frame)
		c1 := cpuTime()
		q := queueGoGo(t, n)
		c2 := cpuTime()
		raws = append(raws, float64(n)/raw.Seconds())
		qs = append(qs, float64(n)/q.Seconds())
		cpuRaw += c1 - c0
		cpuQ += c2 - c1
	}
	raw, q := medianOf(raws), medianOf(qs)
	t.Logf("one process, median of %d: raw pipe %.0f frames/s, queue %.0f items/s: %.0f%%; CPU per item: raw %v, queue %v",
		rounds, raw, q, 100*q/raw, cpuRaw/time.Duration(n*rounds), cpuQ/time.Duration(n*rounds))
}
