package manager

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

// A reply spliced around a stored pickle decodes to the same value as one
// encoded whole, for small items, framed ones and ones with memo
// references.
func TestSpliceReply(t *testing.T) {
	s := "shared"
	big := bytes.Repeat([]byte{1, 2, 3}, 100000)
	list := pickle.List{s, s, pickle.Tuple{s}}
	for _, v := range []any{
		nil, int64(7), "x", strings.Repeat("é", 40000), big,
		pickle.Tuple{s, s}, &list, pickle.Tuple{big, strings.Repeat("y", 70000), int64(1)},
	} {
		for _, proto := range []int{2, 3, 4, 5} {
			item, err := pickle.Dumps(v, proto)
			require.NoError(t, err)
			_, ok := spliceReply(KindReturn, item)
			require.True(t, ok, "proto %d %T is spliced, not decoded and re-encoded", proto, v)
			spliced, err := encodeReply(KindReturn, Raw{Pickle: item})
			require.NoError(t, err)
			kind, payload, err := decodeReply(spliced)
			require.NoError(t, err, "proto %d", proto)
			require.Equal(t, KindReturn, kind)
			a, err := pickle.Dumps(payload, 4)
			require.NoError(t, err)
			b, err := pickle.Dumps(v, 4)
			require.NoError(t, err)
			require.Equal(t, b, a, "proto %d %T", proto, v)
		}
	}
	// Not a pickle: decoded and re-encoded, or an error.
	_, err := encodeReply(KindReturn, Raw{Pickle: []byte("junk")})
	require.Error(t, err)
}
