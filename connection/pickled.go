package connection

import (
	"context"
	"fmt"

	"github.com/mpbridge/mpbridge/pickle"
)

// Send pickles v (protocol 4, like multiprocessing's ForkingPickler) and
// sends it as one message (Python's send).
func (c *Conn) Send(ctx context.Context, v any) error {
	b, err := pickle.Marshal(v)
	if err != nil {
		return fmt.Errorf("connection: send: %w", err)
	}
	return c.SendBytes(ctx, b)
}

// Recv receives one message and unpickles it into pickle's value model
// (Python's recv). A message that does not unpickle is an error wrapping
// mpbridge.ErrCorrupt; the Conn stays usable, since the frame was whole.
func (c *Conn) Recv(ctx context.Context) (any, error) {
	var v any
	if err := c.RecvValue(ctx, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// RecvValue receives one message and unpickles it into the value v points
// to, through pickle.Unmarshal (so into Go structs, maps, slices, ...).
func (c *Conn) RecvValue(ctx context.Context, v any) error {
	b, err := c.RecvBytes(ctx, 0)
	if err != nil {
		return err
	}
	if err := pickle.Unmarshal(b, v); err != nil {
		return fmt.Errorf("connection: recv: %w", err)
	}
	return nil
}
