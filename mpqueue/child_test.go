//go:build linux

package mpqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/pickle"
)

// childEnv makes the test binary an echo child: it attaches the
// JoinableQueue on fds 3, 4 and the Queue on fds 5, 6 (or only 5, the
// write end) described by the JSON value, moves every item from the first to the second, marking each
// task done, and stops after forwarding None.
const childEnv = "MPBRIDGE_MPQUEUE_TEST_CHILD"

type childSpec struct {
	In, Out Handles
}

func runChild() (int, bool) {
	if v := os.Getenv(benchEnv); v != "" {
		return runBenchPeer(v), true
	}
	v := os.Getenv(childEnv)
	if v == "" {
		return 0, false
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(v), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2, true
	}
	if err := echo(spec); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1, true
	}
	return 0, true
}

func echo(spec childSpec) error {
	in, err := AttachJoinable(spec.In, nil)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := AttachQueue(spec.Out, nil)
	if err != nil {
		return err
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		v, err := in.Get(ctx)
		if err != nil {
			return err
		}
		if err := out.Put(ctx, v); err != nil {
			return err
		}
		if err := in.TaskDone(ctx); err != nil {
			return err
		}
		if v == nil {
			return out.Flush(ctx)
		}
	}
}

// A Go parent and a Go child (exec.Cmd.ExtraFiles) share a JoinableQueue
// and a Queue: items go out, come back in order, and Join sees the child's
// task_done calls. The child gets the Queue's read end too, or only its
// write end (ProducerHandles), which leaves the parent reading ahead.
func TestGoGoAcrossProcesses(t *testing.T) {
	for _, producerOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("producerOnly=%v", producerOnly), func(t *testing.T) { goGoAcross(t, producerOnly) })
	}
}

func goGoAcross(t *testing.T, producerOnly bool) {
	in, err := NewJoinable(16, testOpts())
	require.NoError(t, err)
	defer in.Close()
	out := testQueue(t, 0)
	inR, inW := in.Files()
	hIn := in.Handles()
	hIn.Reader, hIn.Writer = 3, 4
	files := []*os.File{inR, inW}
	var hOut Handles
	if producerOnly {
		hOut = out.ProducerHandles()
		hOut.Writer = 5
		files = append(files, out.WriterFile())
	} else {
		outR, outW := out.Files()
		hOut = out.Handles()
		hOut.Reader, hOut.Writer = 5, 6
		files = append(files, outR, outW)
	}
	require.Equal(t, producerOnly, out.soleReader.Load())
	spec, err := json.Marshal(childSpec{In: hIn, Out: hOut})
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	ctx := ctxT(t, time.Minute)
	const n = 2000
	big := bytes.Repeat([]byte{'b'}, 200<<10)
	item := func(i int) any {
		if i%500 == 7 {
			return append([]byte(fmt.Sprint(i)), big...)
		}
		return pickle.Tuple{int64(i), fmt.Sprint("item", i)}
	}
	for i := 0; i < n; i++ {
		require.NoError(t, in.Put(ctx, item(i)))
	}
	require.NoError(t, in.Join(ctx), "the child marks every task done")
	require.NoError(t, in.Put(ctx, nil))
	for i := 0; i < n; i++ {
		v, err := out.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, item(i), v, "item %d", i)
	}
	v, err := out.Get(ctx)
	require.NoError(t, err)
	require.Nil(t, v)
	require.NoError(t, cmd.Wait())
}
