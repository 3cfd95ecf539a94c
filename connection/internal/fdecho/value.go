package main

import (
	"context"
	"errors"

	"github.com/mpbridge/mpbridge/connection"
)

// echoValue receives one pickled value and sends it back.
func echoValue(ctx context.Context, r, w *connection.Conn) error {
	return errors.New("pickled values not supported yet")
}
