//go:build linux

package mpqueue

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestConsumerCostVsRawReader measures what a Get costs the consumer
// alone (MPBRIDGE_BENCH=1): a pipe enlarged to 1 MiB is filled with
// frames while nobody reads, then drained by the minimal loop (header,
// then body, plain read(2)) or by Get, in alternating rounds. No producer
// runs during the timing, so the figure is free of the two processes'
// interplay that TestThroughputAcrossProcesses includes. Get runs as the
// queue's only reader (reading ahead) and with the read end shared
// (byte-exact).
func TestConsumerCostVsRawReader(t *testing.T) {
	if os.Getenv("MPBRIDGE_BENCH") == "" {
		t.Skip("set MPBRIDGE_BENCH=1")
	}
	for _, shared := range []bool{false, true} {
		consumerCost(t, shared)
	}
}

func consumerCost(t *testing.T, shared bool) {
	frame := benchFrame(t)
	const perRound, rounds = 1800, 200
	var fill []byte
	for i := 0; i < perRound; i++ {
		fill = append(fill, frame...)
	}
	q := testQueue(t, 0)
	if shared {
		_ = q.Handles()
	}
	_, err := unix.FcntlInt(q.WriterFile().Fd(), unix.F_SETPIPE_SZ, 1<<20)
	require.NoError(t, err)
	rfd, wfd := q.r.Fd(), int(q.WriterFile().Fd())
	ctx := context.Background()
	var rawT, qT time.Duration
	var hdr [4]byte
	body := make([]byte, len(frame))
	for round := 0; round < rounds; round++ {
		require.NoError(t, writeAll(wfd, fill))
		start := time.Now()
		for i := 0; i < perRound; i++ {
			if err := readAll(rfd, hdr[:]); err != nil {
				t.Fatal(err)
			}
			if err := readAll(rfd, body[:binary.BigEndian.Uint32(hdr[:])]); err != nil {
				t.Fatal(err)
			}
		}
		rawT += time.Since(start)

		for i := 0; i < perRound; i++ { // the slots Put would have taken
			require.True(t, q.sem.TryAcquire())
		}
		require.NoError(t, writeAll(wfd, fill))
		start = time.Now()
		for i := 0; i < perRound; i++ {
			if _, err := q.Get(ctx); err != nil {
				t.Fatal(err)
			}
		}
		qT += time.Since(start)
	}
	n := float64(rounds * perRound)
	mode := "only reader"
	if shared {
		mode = "read end shared"
	}
	t.Logf("consumer alone (%s): raw reader %.0f ns/frame, Get %.0f ns/item: Get at %.0f%% of the raw reader's rate",
		mode, float64(rawT.Nanoseconds())/n, float64(qT.Nanoseconds())/n, 100*float64(rawT)/float64(qT))
}

// TestRawProducerQueueConsumer is TestThroughputAcrossProcesses with the
// queue's producer replaced by the raw writer (MPBRIDGE_BENCH=1): it
// shows whether the consumer or the producer holds the queue back.
func TestRawProducerQueueConsumer(t *testing.T) {
	acrossVsRaw(t, rawIntoQueue, "raw producer with queue consumer")
}
