package manager

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

// item512 is a str whose pickle is about 512 bytes.
var item512 = strings.Repeat("x", 500)

// BenchmarkQsizeRoundTrip is the latency of one method call, Go client to
// Go server over loopback TCP. Compare with BenchmarkBareTCPRoundTrip.
func BenchmarkQsizeRoundTrip(b *testing.B) {
	ts, _ := newQueueServer(b, 0, nil)
	c := dial(b, ts.addr)
	ctx := context.Background()
	p := openQueue(b, c)
	_, err := p.Qsize(ctx)
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Qsize(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// qsizeSizes are the frame sizes of a qsize request and its reply.
func qsizeSizes(b *testing.B) (req, rep int) {
	r, err := encodeRequest("c000123456", "qsize", nil, nil)
	require.NoError(b, err)
	p, err := encodeReply(KindReturn, int64(0))
	require.NoError(b, err)
	return len(r) + 4, len(p) + 4
}

// BenchmarkBareTCPRoundTrip is a request/response of a qsize call's sizes
// over a bare loopback TCP connection: write n bytes, the peer reads them
// and writes m bytes back.
func BenchmarkBareTCPRoundTrip(b *testing.B) {
	reqN, repN := qsizeSizes(b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		in, out := make([]byte, reqN), make([]byte, repN)
		for {
			if _, err := io.ReadFull(c, in); err != nil {
				return
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(b, err)
	defer c.Close()
	out, in := make([]byte, reqN), make([]byte, repN)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutGet16 is 16 goroutines each doing put then get of a
// 512-byte item through one Go server; ops/s counts puts and gets.
//
// With MPBRIDGE_BENCH_ADDR (and MPBRIDGE_BENCH_AUTHKEY_HEX) set it uses that
// server's get_queue instead of one in this process, e.g. an
// `mpbridge serve` in a process of its own as scripts/bench_manager.py
// starts it.
func BenchmarkPutGet16(b *testing.B) {
	ctx := context.Background()
	var c *Client
	if addr := os.Getenv("MPBRIDGE_BENCH_ADDR"); addr != "" {
		key, err := hex.DecodeString(os.Getenv("MPBRIDGE_BENCH_AUTHKEY_HEX"))
		require.NoError(b, err)
		c, err = Dial(ctx, addr, key, nil)
		require.NoError(b, err)
		b.Cleanup(func() { c.Close() })
	} else {
		ts, _ := newQueueServer(b, 0, nil)
		c = dial(b, ts.addr)
	}
	p := openQueue(b, c)
	const workers = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := p.Put(ctx, item512); err != nil {
					b.Error(err)
					return
				}
				if _, err := p.Get(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkBareTCPPutGet16 is the ceiling for BenchmarkPutGet16: 16
// goroutines, each with its own loopback TCP connection to an echo
// goroutine, exchanging frames of a put's and a get's request and reply
// sizes with bare reads and writes (no pickling, no queue). ops/s counts
// the exchanges, as BenchmarkPutGet16 counts puts and gets.
func BenchmarkBareTCPPutGet16(b *testing.B) {
	put, err := encodeRequest("c000123456", "put", pickle.Tuple{item512}, nil)
	require.NoError(b, err)
	putRep, err := encodeReply(KindReturn, nil)
	require.NoError(b, err)
	get, err := encodeRequest("c000123456", "get", nil, nil)
	require.NoError(b, err)
	getRep, err := encodeReply(KindReturn, item512)
	require.NoError(b, err)
	sizes := [4]int{len(put) + 4, len(putRep) + 4, len(get) + 4, len(getRep) + 4}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				for {
					for k := 0; k < 4; k += 2 {
						if _, err := io.ReadFull(c, buf[:sizes[k]]); err != nil {
							return
						}
						if _, err := c.Write(buf[:sizes[k+1]]); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	const workers = 16
	conns := make([]net.Conn, workers)
	for i := range conns {
		conns[i], err = net.Dial("tcp", l.Addr().String())
		require.NoError(b, err)
		defer conns[i].Close()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1024)
			for next.Add(1) <= int64(b.N) {
				for k := 0; k < 4; k += 2 {
					if _, err := c.Write(buf[:sizes[k]]); err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(c, buf[:sizes[k+1]]); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "ops/s")
}

// rss reads the resident set size of this process.
func rss(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func settledRSS(t testing.TB) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rss(t)
}

// TestQueueMemory fills a served queue with 1,000,000 items of about 512
// pickled bytes through the protocol, then drains it, and reports the
// resident memory (after a forced GC) against the pickled size. It takes a
// minute and a gigabyte, so it only runs with MPBRIDGE_BENCH_MEMORY=1.
func TestQueueMemory(t *testing.T) {
	if os.Getenv("MPBRIDGE_BENCH_MEMORY") != "1" {
		t.Skip("set MPBRIDGE_BENCH_MEMORY=1 to measure the queue's memory")
	}
	const n = 1_000_000
	ts, q := newQueueServer(t, 0, nil)
	c := dial(t, ts.addr)
	ctx := context.Background()
	p := openQueue(t, c)
	one, err := pickle.Dumps(item512, pickle.DefaultProtocol)
	require.NoError(t, err)
	pickled := int64(len(one)) * n
	base := settledRSS(t)

	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= n {
				// Distinct strings, as real items are.
				if err := p.Put(ctx, item512[:480]+strconv.FormatInt(next.Load()+1e18, 10)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, n, q.qsize())
	full := settledRSS(t) - base
	t.Logf("items %d × %d pickled bytes = %.1f MiB; RSS above baseline with them queued: %.1f MiB (%.2f× pickled)",
		n, len(one), float64(pickled)/(1<<20), float64(full)/(1<<20), float64(full)/float64(pickled))
	require.Less(t, full, 2*pickled)

	next.Store(0)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= n {
				if _, err := p.GetNowait(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 0, q.qsize())
	time.Sleep(100 * time.Millisecond)
	after := settledRSS(t) - base
	t.Logf("RSS above baseline after draining: %.1f MiB", float64(after)/(1<<20))
	require.Less(t, after, pickled/10)
}

var _ = connection.DefaultMaxFrame
