package connection

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
)

func TestAppendHeader(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "00000000"},
		{1, "00000001"},
		{16384, "00004000"},
		{16385, "00004001"},
		{0x7fffffff, "7fffffff"},
		{0x80000000, "ffffffff0000000080000000"}, // §1.1 capture
		{1 << 40, "ffffffff0000010000000000"},
	} {
		require.Equal(t, tc.want, hexs(AppendHeader(nil, tc.n)), "n=%d", tc.n)
	}
}

func hexs(b []byte) string { return strings.ToLower(strings.TrimSpace(hexString(b))) }

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// writeRecorder records the size of every Write call.
type writeRecorder struct {
	bytes.Buffer
	sizes []int
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestWriteFrameWrites checks the write calls against CPython's, observed
// with strace (PROTOCOL.md §1.2).
func TestWriteFrameWrites(t *testing.T) {
	for _, tc := range []struct {
		n      int
		writes []int
	}{
		{0, []int{4}},
		{1, []int{5}},
		{16383, []int{16387}},
		{16384, []int{16388}},
		{16385, []int{4, 16385}},
		{1 << 20, []int{4, 1 << 20}},
	} {
		var w writeRecorder
		p := bytes.Repeat([]byte{'x'}, tc.n)
		require.NoError(t, WriteFrame(&w, p))
		require.Equal(t, tc.writes, w.sizes, "n=%d", tc.n)
		require.Equal(t, AppendHeader(nil, tc.n), w.Bytes()[:4])
		require.Equal(t, p, w.Bytes()[4:])
	}
}

func frame(p []byte) []byte { return append(AppendHeader(nil, len(p)), p...) }

func TestReadFrame(t *testing.T) {
	escape := func(n uint64, payload string) []byte {
		b := []byte{0xff, 0xff, 0xff, 0xff}
		b = binary.BigEndian.AppendUint64(b, n)
		return append(b, payload...)
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		max     int64
		want    []byte
		wantErr []error
	}{
		{name: "empty message", in: []byte{0, 0, 0, 0}, want: []byte{}},
		{name: "one byte", in: frame([]byte("a")), want: []byte("a")},
		{name: "escape with a short length", in: escape(3, "abc"), want: []byte("abc")},
		{name: "escape with zero length", in: escape(0, ""), want: []byte{}},
		{name: "clean end", in: nil, wantErr: []error{io.EOF}},
		{name: "truncated header", in: []byte{0, 0}, wantErr: []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}},
		{name: "truncated escape", in: []byte{0xff, 0xff, 0xff, 0xff, 0, 0}, wantErr: []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}},
		{name: "truncated body", in: []byte{0, 0, 0, 5, 'a', 'b'}, wantErr: []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}},
		{name: "body missing", in: []byte{0, 0, 0, 5}, wantErr: []error{mpbridge.ErrCorrupt, io.ErrUnexpectedEOF}},
		{name: "length -2", in: []byte{0xff, 0xff, 0xff, 0xfe}, wantErr: []error{mpbridge.ErrCorrupt}},
		{name: "length MinInt32", in: []byte{0x80, 0, 0, 0}, wantErr: []error{mpbridge.ErrCorrupt}},
		{name: "escape beyond int64", in: escape(1<<63, ""), wantErr: []error{mpbridge.ErrCorrupt}},
		{name: "over the cap", in: []byte{0, 0, 0, 11}, max: 10, wantErr: []error{mpbridge.ErrTooLarge}},
		{name: "at the cap", in: frame([]byte("0123456789")), max: 10, want: []byte("0123456789")},
		{name: "2 GiB announced", in: escape(1<<31, ""), wantErr: []error{mpbridge.ErrTooLarge}},
		{name: "2 GiB-1 announced", in: []byte{0x7f, 0xff, 0xff, 0xff}, wantErr: []error{mpbridge.ErrTooLarge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(tc.in), iotest.OneByteReader(bytes.NewReader(tc.in)), iotest.HalfReader(bytes.NewReader(tc.in))} {
				got, err := ReadFrame(r, tc.max)
				if tc.wantErr != nil {
					require.Error(t, err)
					for _, want := range tc.wantErr {
						require.ErrorIs(t, err, want)
					}
					if errors.Is(err, mpbridge.ErrCorrupt) || errors.Is(err, mpbridge.ErrTooLarge) {
						require.NotErrorIs(t, err, io.EOF, "io.EOF only at a clean boundary")
					}
					continue
				}
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
		})
	}
}

// TestReadFrameIOError checks that errors of the reader pass through.
func TestReadFrameIOError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadFrame(iotest.ErrReader(boom), 0)
	require.ErrorIs(t, err, boom)
	r := io.MultiReader(bytes.NewReader([]byte{0, 0, 0, 9, 1}), iotest.ErrReader(boom))
	_, err = ReadFrame(r, 0)
	require.ErrorIs(t, err, boom)
}

// TestReadFrameNoUpfrontAllocation: a peer announcing a large frame and
// sending little costs little memory.
func TestReadFrameNoUpfrontAllocation(t *testing.T) {
	for _, announced := range []int{1 << 31, 200 << 20} {
		in := append(AppendHeader(nil, announced), make([]byte, 1000)...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadFrame(bytes.NewReader(in), 1<<40)
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.ErrorIs(t, err, mpbridge.ErrCorrupt)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(2*readChunk), "announced %d", announced)
	}
}

// TestReadFrameGrowing reads frames larger than the first chunk.
func TestReadFrameGrowing(t *testing.T) {
	for _, n := range []int{readChunk - 1, readChunk, readChunk + 1, 3*readChunk + 7, 5 << 20} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		got, err := ReadFrame(iotest.HalfReader(bytes.NewReader(frame(p))), 0)
		require.NoError(t, err)
		require.True(t, bytes.Equal(p, got), "n=%d", n)
	}
}

// TestReadFrameExact checks that nothing past the frame is consumed.
func TestReadFrameExact(t *testing.T) {
	in := append(frame([]byte("one")), frame([]byte("two"))...)
	r := bytes.NewReader(in)
	got, err := ReadFrame(r, 0)
	require.NoError(t, err)
	require.Equal(t, "one", string(got))
	require.Equal(t, 7, r.Len())
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name    string
		hdr     []byte
		max     int64
		want    int64
		wantErr error
	}{
		{"zero", []byte{0, 0, 0, 0}, 0, 0, nil},
		{"short", []byte{0, 0, 1, 0}, 0, 256, nil},
		{"at the cap", []byte{0, 0, 1, 0}, 256, 256, nil},
		{"above the cap", []byte{0, 0, 1, 1}, 256, 0, mpbridge.ErrTooLarge},
		{"above the default cap", []byte{0x7f, 0xff, 0xff, 0xff}, 0, 0, mpbridge.ErrTooLarge},
		{"negative", []byte{0xff, 0xff, 0xff, 0xfe}, 0, 0, mpbridge.ErrCorrupt},
		{"escape", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0}, 1 << 40, 1 << 31, nil},
		{"escape above the cap", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0}, 0, 0, mpbridge.ErrTooLarge},
		{"escape beyond int64", []byte{0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, 0, 0, mpbridge.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, len(tc.hdr), HeaderLen(tc.hdr[:4]))
			got, err := ParseHeader(tc.hdr, tc.max)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			var he *HeaderError
			require.ErrorAs(t, err, &he)
			require.Contains(t, err.Error(), "bad message length")
		})
	}
}
