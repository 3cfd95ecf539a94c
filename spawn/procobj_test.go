package spawn

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/pickle"
)

// readCapture decodes the two pickles of a capture with the same reader
// the child uses.
func readCapture(t *testing.T, stem string) (prep, proc any, data []byte) {
	t.Helper()
	data, err := os.ReadFile(stem + ".bin")
	require.NoError(t, err)
	prep, proc, raw, err := ReadPickles(bytes.NewReader(data))
	require.NoError(t, err, stem)
	require.Equal(t, data, raw, "ReadPickles returns exactly the bytes it consumed")
	return prep, proc, data
}

func TestDecodeCaptures(t *testing.T) {
	for stem, c := range captures(t) {
		t.Run(strings.TrimPrefix(stem, "../testdata/spawn/"), func(t *testing.T) {
			prepV, procV, data := readCapture(t, stem)
			require.Len(t, data, c.PickleLengths[0]+c.PickleLengths[1])
			prep, err := DecodePreparation(prepV)
			require.NoError(t, err)
			proc, err := DecodeProcessObject(procV)
			require.NoError(t, err)

			require.Len(t, prep.Authkey, 32)
			require.Equal(t, prep.Authkey, proc.Authkey())
			require.Equal(t, prep.Name, proc.Name)
			if filepath.Base(stem) != "daemon_named" {
				require.Equal(t, fmt.Sprintf("%s-%d", proc.Class.Name, proc.Identity[0]), proc.Name)
			}
			require.NotEmpty(t, prep.SysPath)
			require.NotEmpty(t, prep.Dir)
			require.Equal(t, "spawn_tasks.echo", proc.TargetName())
			if filepath.Base(stem) == "proxy" {
				require.Equal(t, []int{2}, proc.Identity) // the manager is process 1
			} else {
				require.Equal(t, []int{1}, proc.Identity)
			}
			require.Equal(t, "MainProcess", proc.ParentName)
			require.Equal(t, c.PPid, proc.ParentPID)
			require.Empty(t, proc.Extra)

			case_ := filepath.Base(stem)
			switch case_ {
			case "daemon_named":
				require.True(t, proc.Daemon())
				require.Equal(t, "worker-A", proc.Name)
				require.True(t, prep.LogToStderr)
				require.True(t, prep.HasLogLevel)
				require.Equal(t, 30, prep.LogLevel)
			case "default_ctx":
				require.Equal(t, pickle.Global{Module: "multiprocessing.context", Name: "Process"}, proc.Class)
				require.Equal(t, "spawn", prep.StartMethod)
			case "module":
				require.Equal(t, "spawn_capture", prep.InitMainFromName)
			default:
				require.Equal(t, spawnProcessClass, proc.Class)
				require.Equal(t, "fork", prep.StartMethod)
				require.True(t, strings.HasSuffix(prep.InitMainFromPath, "spawn_capture.py"), prep.InitMainFromPath)
				require.False(t, proc.Daemon())
			}
			if case_ == "plain" {
				require.Len(t, proc.Args, 11)
				v, ok := proc.Kwargs.Get("k")
				require.True(t, ok)
				require.Equal(t, "v", v)
			}
		})
	}
}

// TestEncodeMatchesCPython rebuilds each capture's two pickles from the
// decoded Preparation and ProcessObject and compares them with the bytes
// CPython wrote.
func TestEncodeMatchesCPython(t *testing.T) {
	for stem := range captures(t) {
		t.Run(strings.TrimPrefix(stem, "../testdata/spawn/"), func(t *testing.T) {
			prepV, procV, data := readCapture(t, stem)
			prep, err := DecodePreparation(prepV)
			require.NoError(t, err)
			proc, err := DecodeProcessObject(procV)
			require.NoError(t, err)
			out, err := EncodePickles(prep, proc)
			require.NoError(t, err)
			if !bytes.Equal(data, out) {
				require.Equal(t, dis(t, data), dis(t, out))
			}
			require.Equal(t, data, out)
		})
	}
}

// dis disassembles the two pickles for a readable diff.
func dis(t *testing.T, data []byte) string {
	t.Helper()
	r := bytes.NewReader(data)
	_, err := pickle.NewDecoder(r).DecodeValue()
	require.NoError(t, err)
	n := len(data) - r.Len()
	var b strings.Builder
	require.NoError(t, pickle.Disassemble(&b, data[:n], nil))
	require.NoError(t, pickle.Disassemble(&b, data[n:], nil))
	return b.String()
}
