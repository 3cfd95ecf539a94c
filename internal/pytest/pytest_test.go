package pytest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHelperRoundTrip(t *testing.T) {
	ForEach(t, func(t *testing.T, py Python) {
		h := NewHelper(t, py)
		raw := h.MustExec(t, "import sys\nresult = list(sys.version_info[:2])")
		var v []int
		require.NoError(t, json.Unmarshal(raw, &v))
		require.Equal(t, []int{3, py.Minor}, v)
		_, err := h.Exec("raise ValueError('boom')")
		require.ErrorContains(t, err, "ValueError: boom")
	})
}
