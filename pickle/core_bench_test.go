package pickle

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/stretchr/testify/require"
)

// managerRequest is CPython 3.12's pickle.dumps((None, 'put',
// ({'id': 12345, 'payload': 'x'*400, 'tags': ['a','b'], 'score': 1.5},),
// {}), 4): the message a manager client sends for queue.put.
var managerRequest = func() []byte {
	b, err := hex.DecodeString("800495df01000000000000284e8c03707574947d94288c026964944d39308c077061796c6f61649458900100" +
		"00" + strings.Repeat("78", 400) + "948c0474616773945d94288c0161948c016294658c0573636f726594473ff80000000000007585947d9474942e")
	if err != nil {
		panic(err)
	}
	return b
}()

// The Python objects the request creates: outer tuple, 'put', inner
// tuple, dict, 4 keys, 12345, payload, list, 'a', 'b', 1.5, {}.
const managerRequestObjects = 15

func BenchmarkCoreDecodeManagerRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(managerRequest)))
	for b.Loop() {
		if _, err := Loads(managerRequest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreEncodeManagerRequest(b *testing.B) {
	v, err := Loads(managerRequest)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(managerRequest)))
	for b.Loop() {
		if _, err := Dumps(v, 4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreEncoderManagerRequest(b *testing.B) {
	v, err := Loads(managerRequest)
	if err != nil {
		b.Fatal(err)
	}
	enc := NewEncoder(io.Discard)
	b.ReportAllocs()
	b.SetBytes(int64(len(managerRequest)))
	for b.Loop() {
		if err := enc.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreDecoderManagerRequest(b *testing.B) {
	r := bytes.NewReader(managerRequest)
	dec := NewDecoder(r)
	b.ReportAllocs()
	b.SetBytes(int64(len(managerRequest)))
	var v any
	for b.Loop() {
		r.Reset(managerRequest)
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCoreDecodeAllocations(t *testing.T) {
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := Loads(managerRequest); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > managerRequestObjects+2 {
		t.Fatalf("decoding the manager request allocates %v times, more than %d", allocs, managerRequestObjects+2)
	}
}

// TestCoreCPUTimeVsCPython measures, in CPU time (which the load of a
// shared machine disturbs much less than wall time), decoding and encoding
// the manager request here and in CPython's C pickle, alternately, and
// prints the best of several rounds. Opt-in: MPBRIDGE_PICKLE_CPUBENCH=1.
func TestCoreCPUTimeVsCPython(t *testing.T) {
	if os.Getenv("MPBRIDGE_PICKLE_CPUBENCH") == "" {
		t.Skip("set MPBRIDGE_PICKLE_CPUBENCH=1 to run")
	}
	py := pytest.Pick(t)
	const n = 200000
	v, err := Loads(managerRequest)
	require.NoError(t, err)
	enc := NewEncoder(io.Discard)
	best := map[string]float64{}
	note := func(name string, ns float64) {
		if old, ok := best[name]; !ok || ns < old {
			best[name] = ns
		}
	}
	for round := 0; round < 5; round++ {
		note("go Loads", cpuPerOp(n, func() { _, _ = Loads(managerRequest) }))
		note("go Dumps", cpuPerOp(n, func() { _, _ = Dumps(v, 4) }))
		note("go Encoder.Encode", cpuPerOp(n, func() { _ = enc.Encode(v) }))
		note("go bytes.Clone(request)", cpuPerOp(n, func() { sink = bytes.Clone(managerRequest) }))
		if os.Getenv("MPBRIDGE_PICKLE_CPUBENCH") == "go" {
			continue
		}
		for _, p := range py {
			out := p.Run(t, `
import pickle, time
v = (None, 'put', ({'id': 12345, 'payload': 'x'*400, 'tags': ['a','b'], 'score': 1.5},), {})
d = pickle.dumps(v, 4)
n = `+strconv.Itoa(n)+`
t0 = time.process_time()
for _ in range(n): pickle.loads(d)
t1 = time.process_time()
for _ in range(n): pickle.dumps(v, 4)
t2 = time.process_time()
print((t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9)
`)
			var l, d float64
			_, err := fmt.Sscan(string(out), &l, &d)
			require.NoError(t, err)
			note("py"+p.Version+" loads", l)
			note("py"+p.Version+" dumps", d)
		}
	}
	names := make([]string, 0, len(best))
	for k := range best {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t.Logf("%-22s %7.0f ns/op (CPU time, best of 5 rounds of %d)", k, best[k], n)
	}
}

var sink []byte

func cpuPerOp(n int, f func()) float64 {
	runtime.GC()
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	for range n {
		f()
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := func(r syscall.Rusage) float64 {
		return float64(r.Utime.Nano() + r.Stime.Nano())
	}
	return (cpu(r1) - cpu(r0)) / float64(n)
}
