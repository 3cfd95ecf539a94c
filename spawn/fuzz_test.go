package spawn

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/mpqueue"
)

// FuzzDecodeSpawnPickles feeds arbitrary bytes to what a Go child reads
// from its spawn pipe. Invariants: no panic; reading byte by byte gives the
// same result as one big read; ReadPickles returns exactly the bytes it
// consumed; a preparation/process pair that decodes re-encodes to pickles
// that decode to the same structs (decode → encode → decode is stable).
func FuzzDecodeSpawnPickles(f *testing.F) {
	files, _ := filepath.Glob("../testdata/spawn/py3.1[23]/*.bin")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("\x80\x04}\x94.\x80\x04N."))
	f.Fuzz(func(t *testing.T, data []byte) {
		prepV, procV, raw, err := ReadPickles(bytes.NewReader(data))
		prepV2, procV2, raw2, err2 := ReadPickles(iotest.OneByteReader(bytes.NewReader(data)))
		require.Equal(t, err == nil, err2 == nil)
		if err != nil {
			return
		}
		require.Equal(t, raw, raw2)
		require.True(t, bytes.HasPrefix(data, raw))
		_, _ = prepV2, procV2
		prep, err := DecodePreparation(prepV)
		if err != nil {
			return
		}
		proc, err := DecodeProcessObject(procV)
		if err != nil {
			return
		}
		out, err := EncodePickles(prep, proc)
		if err != nil {
			return // e.g. an unhashable key the decoder kept in an object state
		}
		prepV3, procV3, _, err := ReadPickles(bytes.NewReader(out))
		require.NoError(t, err)
		prep3, err := DecodePreparation(prepV3)
		require.NoError(t, err)
		proc3, err := DecodeProcessObject(procV3)
		require.NoError(t, err)
		require.Equal(t, prep, prep3)
		out3, err := EncodePickles(prep3, proc3)
		require.NoError(t, err)
		require.Equal(t, out, out3)
		// Queue arguments parse without touching descriptors.
		for _, a := range proc.Args {
			_, _ = mpqueue.ParseHandles(a, mpqueue.SpawnFd)
		}
	})
}

// FuzzParseCommandLine checks that parsing never panics and that a spawn
// command line survives CommandLine → ParseCommandLine.
func FuzzParseCommandLine(f *testing.F) {
	f.Add("w\x00-c\x00from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=6, pipe_handle=8)\x00--multiprocessing-fork")
	f.Add("w\x00-B\x00-X\x00dev\x00-c\x00from multiprocessing.resource_tracker import main;main(5)")
	f.Add("w\x00--multiprocessing-fork\x00tracker_fd=None\x00pipe_handle=3")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		inv, err := ParseCommandLine(args)
		if err != nil || inv.Kind != SpawnChild || inv.Frozen {
			return
		}
		again, err := ParseCommandLine(CommandLine(args[0], inv.Flags, inv.TrackerFd, inv.PipeHandle))
		require.NoError(t, err)
		require.Equal(t, inv.TrackerFd, again.TrackerFd)
		require.Equal(t, inv.PipeHandle, again.PipeHandle)
	})
}
