package pickle

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpTable checks the opcode table against itself: 68 opcodes (as in
// pickletools.opcodes), each with a decoder; the other bytes fall back to
// the unknown-opcode loader. TestDisassembleMatchesPickletools checks
// names, arguments, protocols and stack effects against pickletools.
func TestOpTable(t *testing.T) {
	n := 0
	for b := range 256 {
		info, ok := lookupOp(byte(b))
		if !ok {
			require.Empty(t, opName(byte(b)))
			d := &decoder{data: []byte{byte(b)}}
			require.ErrorIs(t, loaders[b](d), ErrUnknownOpcode)
			continue
		}
		n++
		require.NotEmpty(t, info.Doc)
		require.LessOrEqual(t, info.Proto, HighestProtocol)
		require.Less(t, info.MarkAt, max(info.Pop, 1))
		require.NotNil(t, loaders[b])
	}
	require.Equal(t, 68, n)
}

func TestArgLen(t *testing.T) {
	n, err := argLen(argBytes8, []byte("\x02\x00\x00\x00\x00\x00\x00\x00ab"))
	require.NoError(t, err)
	require.Equal(t, 10, n)
	n, _ = argLen(argBytes8, []byte("\x03\x00\x00\x00\x00\x00\x00\x00ab"))
	require.Equal(t, -1, n)
	_, err = argLen(argLong4, []byte("\xff\xff\xff\xff"))
	require.ErrorIs(t, err, ErrBadValue)
	_, err = argLen(argBytes8, []byte("\xff\xff\xff\xff\xff\xff\xff\xff"))
	require.ErrorIs(t, err, ErrBadValue)
	n, _ = argLen(argStringnlNoescapePair, []byte("a\nb\nc"))
	require.Equal(t, 4, n)
	n, _ = argLen(argStringnlNoescapePair, []byte("a\nb"))
	require.Equal(t, -1, n)
}
