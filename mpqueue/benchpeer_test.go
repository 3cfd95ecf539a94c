//go:build linux

package mpqueue

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"sort"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// benchEnv makes the test binary a benchmark peer (runBenchPeer), for
// scripts/bench_mpqueue.py and the latency test. Its value is a benchSpec
// in JSON.
const benchEnv = "MPBRIDGE_MPQUEUE_BENCH"

type benchSpec struct {
	Role string  `json:"role"` // put, get, echo, rawecho, rawput, rawget
	N    int     `json:"n"`
	Size int     `json:"size"`
	Q    Handles `json:"q"`
	Q2   Handles `json:"q2"` // echo: the reply queue
	R, W int     // rawecho: the request and reply descriptors
}

// runBenchPeer plays one role and prints a JSON result line.
func runBenchPeer(v string) int {
	var spec benchSpec
	if err := json.Unmarshal([]byte(v), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if pf := os.Getenv("MPBRIDGE_PEER_CPUPROFILE"); pf != "" {
		// A CPU profile of this peer, for looking into a benchmark.
		f, err := os.Create(fmt.Sprintf("%s.%d", pf, os.Getpid()))
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	res, err := benchRole(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench peer:", err)
		return 1
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

func benchRole(spec benchSpec) (map[string]any, error) {
	ctx := context.Background()
	switch spec.Role {
	case "rawecho":
		return nil, rawEcho(spec.R, spec.W)
	case "rawget": // frames read with plain read(2), no locks, no unpickling
		el, err := rawReadFrames(spec.R, spec.N)
		if err != nil {
			return nil, err
		}
		return map[string]any{"seconds": el.Seconds(), "n": spec.N - 1}, nil
	case "rawput":
		frame := benchFrameSize(spec.Size)
		for i := 0; i < spec.N; i++ {
			if err := writeAll(spec.W, frame); err != nil {
				return nil, err
			}
		}
		return map[string]any{}, nil
	}
	q, err := AttachQueue(spec.Q, nil)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	switch spec.Role {
	case "put":
		item := make([]byte, spec.Size)
		start := time.Now()
		for i := 0; i < spec.N; i++ {
			if err := q.Put(ctx, item); err != nil {
				return nil, err
			}
		}
		if err := q.Flush(ctx); err != nil {
			return nil, err
		}
		return map[string]any{"seconds": time.Since(start).Seconds()}, nil
	case "get":
		if _, err := q.Get(ctx); err != nil {
			return nil, err
		}
		start := time.Now()
		for i := 1; i < spec.N; i++ {
			if _, err := q.Get(ctx); err != nil {
				return nil, err
			}
		}
		return map[string]any{"seconds": time.Since(start).Seconds(), "n": spec.N - 1}, nil
	case "echo":
		out, err := AttachQueue(spec.Q2, nil)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		for {
			v, err := q.Get(ctx)
			if err != nil {
				return nil, err
			}
			if err := out.Put(ctx, v); err != nil {
				return nil, err
			}
			if v == nil {
				return map[string]any{}, out.Flush(ctx)
			}
		}
	}
	return nil, fmt.Errorf("unknown role %q", spec.Role)
}

// rawEcho reads frames from r (header, then body) and writes each back to
// w in one write, until a zero-length frame.
func rawEcho(r, w int) error {
	buf := make([]byte, 1<<16)
	for {
		if err := readAll(r, buf[:4]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(buf[:4])
		if err := readAll(r, buf[4:4+n]); err != nil {
			return err
		}
		if err := writeAll(w, buf[:4+n]); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// rawReadFrames reads n frames from fd with the minimal loop (header, then
// body, plain read(2)) and returns the time from the first frame to the last.
func rawReadFrames(fd, n int) (time.Duration, error) {
	buf := make([]byte, 1<<20)
	var start time.Time
	for i := 0; i < n; i++ {
		if err := readAll(fd, buf[:4]); err != nil {
			return 0, err
		}
		if err := readAll(fd, buf[4:4+binary.BigEndian.Uint32(buf[:4])]); err != nil {
			return 0, err
		}
		if i == 0 {
			start = time.Now()
		}
	}
	return time.Since(start), nil
}

// benchFrameSize is the frame a Queue writes for a bytes item of size bytes.
func benchFrameSize(size int) []byte {
	p, err := pickle.Marshal(make([]byte, size))
	if err != nil {
		panic(err)
	}
	return append(connection.AppendHeader(nil, len(p)), p...)
}

// How throughputAcross moves items between the two processes.
type acrossMode int

const (
	rawFrames    acrossMode = iota // the child writes each frame with one write; read header, then body
	queueItems                     // the child Puts (ProducerHandles), this process Gets as the only reader
	queueShared                    // the same with the read end given to the child too (Handles), so Get reads byte-exactly
	rawIntoQueue                   // the child writes raw frames into a queue's pipe (both ends given), this process reads them as the queue does
)

// throughputAcross moves n 512-byte items from a Go child process to this
// one and returns items per second; the clock starts at the first item.
func throughputAcross(t *testing.T, n int, mode acrossMode) float64 {
	if mode == rawFrames {
		r, w, _ := os.Pipe()
		defer r.Close()
		cmd := startPeer(t, benchSpec{Role: "rawput", N: n, Size: len(benchPayload), W: 3}, w)
		w.Close()
		el, err := rawReadFrames(int(r.Fd()), n)
		if err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		return float64(n-1) / el.Seconds()
	}
	q := testQueue(t, 0)
	var r, w *os.File
	if mode != queueItems {
		r, w = q.Files()
	}
	spec := benchSpec{Role: "rawput", N: n, Size: len(benchPayload), W: 4}
	get := func(ctx context.Context) error {
		// No slot semaphore: the raw writer takes none.
		data, err := q.getFrame(ctx, false, nil)
		if err == nil {
			_, err = decode(data)
		}
		return err
	}
	files := []*os.File{r, w}
	switch mode {
	case queueShared:
		h := q.Handles()
		h.Reader, h.Writer = 3, 4
		spec = benchSpec{Role: "put", N: n, Size: len(benchPayload), Q: h}
	case queueItems:
		h := q.ProducerHandles()
		h.Writer = 3
		spec = benchSpec{Role: "put", N: n, Size: len(benchPayload), Q: h}
		files = []*os.File{q.WriterFile()}
	}
	if mode != rawIntoQueue {
		get = func(ctx context.Context) error { _, err := q.Get(ctx); return err }
	}
	cmd := startPeer(t, spec, files...)
	ctx := context.Background()
	var start time.Time
	for i := 0; i < n; i++ {
		if err := get(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			start = time.Now()
		}
	}
	el := time.Since(start)
	_ = cmd.Wait()
	return float64(n-1) / el.Seconds()
}

// acrossVsRaw runs throughputAcross in mode and over a bare pipe in
// alternating rounds (MPBRIDGE_BENCH=1) and logs the medians.
func acrossVsRaw(t *testing.T, mode acrossMode, what string) {
	if os.Getenv("MPBRIDGE_BENCH") == "" {
		t.Skip("set MPBRIDGE_BENCH=1")
	}
	const n, rounds = 200000, 7
	var raws, qs []float64
	for i := 0; i < rounds; i++ {
		raws = append(raws, throughputAcross(t, n, rawFrames))
		qs = append(qs, throughputAcross(t, n, mode))
	}
	raw, q := medianOf(raws), medianOf(qs)
	t.Logf("between two processes, median of %d: raw pipe %.0f frames/s, %s %.0f items/s: %.0f%%", rounds, raw, what, q, 100*q/raw)
}

// TestThroughputAcrossProcesses compares a Go producer process and a Go
// consumer process through a Queue with the same frames over a bare pipe
// (MPBRIDGE_BENCH=1); the median of several alternating rounds. The
// producer attaches with ProducerHandles, as a Go child that only puts
// can; TestThroughputSharedReader gives it both ends.
func TestThroughputAcrossProcesses(t *testing.T) { acrossVsRaw(t, queueItems, "queue") }

// TestThroughputSharedReader is TestThroughputAcrossProcesses with the
// read end handed to the producer too, as to a Python process, so that the
// consumer may not read ahead.
func TestThroughputSharedReader(t *testing.T) {
	acrossVsRaw(t, queueShared, "queue, read end shared")
}

// startPeer re-executes the test binary as a benchmark peer with files
// as fds 3, 4, ...
func startPeer(t *testing.T, spec benchSpec, files ...*os.File) *exec.Cmd {
	return startPeerB(t, spec, files...)
}

func startPeerB(t testing.TB, spec benchSpec, files ...*os.File) *exec.Cmd {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchEnv+"="+string(js))
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// pingPongQueue measures n round trips of a 512-byte item: put on one
// queue, a Go child gets it and puts it on another, get here.
func pingPongQueue(t *testing.T, n int, shared bool) []time.Duration {
	ctx := context.Background()
	req, rep := testQueue(t, 0), testQueue(t, 0)
	r1, w1 := req.Files()
	hq, h2 := req.Handles(), rep.ProducerHandles() // the child only puts replies
	hq.Reader, hq.Writer, h2.Writer = 3, 4, 5
	files := []*os.File{r1, w1, rep.WriterFile()}
	if shared { // the reply queue's read end given to the child too
		r2, w2 := rep.Files()
		h2 = rep.Handles()
		h2.Reader, h2.Writer = 5, 6
		files = []*os.File{r1, w1, r2, w2}
	}
	cmd := startPeer(t, benchSpec{Role: "echo", Q: hq, Q2: h2}, files...)
	rtts := make([]time.Duration, 0, n)
	for i := 0; i < n+100; i++ {
		start := time.Now()
		if err := req.Put(ctx, benchPayload); err != nil {
			t.Fatal(err)
		}
		if _, err := rep.Get(ctx); err != nil {
			t.Fatal(err)
		}
		if i >= 100 { // warm-up
			rtts = append(rtts, time.Since(start))
		}
	}
	if err := req.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rep.Get(ctx); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return rtts
}

// pingPongRaw is the same exchange over two bare pipes: one write of the
// frame, the child reads header then body and writes it back.
func pingPongRaw(t *testing.T, n int) []time.Duration {
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	defer r1.Close()
	defer w1.Close()
	defer r2.Close()
	defer w2.Close()
	cmd := startPeer(t, benchSpec{Role: "rawecho", R: 3, W: 4}, r1, w2)
	frame := benchFrame(t)
	body := make([]byte, len(frame))
	rtts := make([]time.Duration, 0, n)
	for i := 0; i < n+100; i++ {
		start := time.Now()
		if err := writeAll(int(w1.Fd()), frame); err != nil {
			t.Fatal(err)
		}
		if err := readAll(int(r2.Fd()), body[:4]); err != nil {
			t.Fatal(err)
		}
		if err := readAll(int(r2.Fd()), body[4:]); err != nil {
			t.Fatal(err)
		}
		if i >= 100 {
			rtts = append(rtts, time.Since(start))
		}
	}
	_ = writeAll(int(w1.Fd()), []byte{0, 0, 0, 0})
	_ = readAll(int(r2.Fd()), body[:4])
	_ = cmd.Wait()
	return rtts
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestLatencyVsRawPipe compares put→get round trips between two processes
// with the raw pipe round trip (MPBRIDGE_BENCH=1): the reply queue given
// to the echo child with ProducerHandles, and with both ends.
func TestLatencyVsRawPipe(t *testing.T) {
	if os.Getenv("MPBRIDGE_BENCH") == "" {
		t.Skip("set MPBRIDGE_BENCH=1")
	}
	const n = 5000
	for round := 0; round < 3; round++ {
		raw := median(pingPongRaw(t, n))
		q := median(pingPongQueue(t, n, false))
		qs := median(pingPongQueue(t, n, true))
		t.Logf("median round trip: raw pipe %v, queue %v: %.2fx; reply queue's read end shared: %v: %.2fx",
			raw, q, float64(q)/float64(raw), qs, float64(qs)/float64(raw))
	}
}
