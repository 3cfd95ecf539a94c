package main

import (
	"context"

	"github.com/mpbridge/mpbridge/connection"
)

// echoValue receives one pickled value and sends it back, decoded into
// pickle's value model and encoded again.
func echoValue(ctx context.Context, r, w *connection.Conn) error {
	v, err := r.Recv(ctx)
	if err != nil {
		return err
	}
	return w.Send(ctx, v)
}
