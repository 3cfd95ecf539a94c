package connection

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSendEscapeFrame sends a frame of 2 GiB + 1 bytes (the -1 escape) and
// checks the bytes on the wire, as captured from CPython in PROTOCOL.md
// §1.1. It moves 2 GiB through a socketpair, so it only runs with
// MPBRIDGE_SOAK=1; the escape header itself is covered by TestAppendHeader
// and TestReadFrame.
func TestSendEscapeFrame(t *testing.T) {
	if os.Getenv("MPBRIDGE_SOAK") == "" {
		t.Skip("set MPBRIDGE_SOAK=1 to move a 2 GiB frame")
	}
	const n = 1<<31 + 1
	a, b, err := Pipe(true)
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	big := make([]byte, n) // zero pages: reading them commits no memory
	errc := make(chan error, 1)
	go func() { errc <- a.SendBytes(context.Background(), big) }()
	r := fdRW(b.Fd())
	var hdr [12]byte
	_, err = io.ReadFull(r, hdr[:])
	require.NoError(t, err)
	require.Equal(t, "ffffffff0000000080000001", hex.EncodeToString(hdr[:]))
	got, err := io.CopyN(io.Discard, r, n)
	require.NoError(t, err)
	require.Equal(t, int64(n), got)
	require.NoError(t, <-errc)
}
