package interop

import (
	"context"
	"testing"
)

// connPickles exchanges pickled values with the peer (added with the
// pickle package).
func connPickles(t *testing.T, ctx context.Context, p *connPeer, fdecho string) {
	t.Skip("pickled values: pending the pickle package")
}
