package manager_test

import (
	"context"
	"fmt"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
)

// A Go server with every SyncManager typeid, and a Go client using a
// shared dict and a lock on it, as a Python program would with
// SyncManager(address, authkey).connect().
func ExampleRegisterSyncManagerTypes() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := []byte("example authkey")
	srv := manager.NewServer(&manager.ServerOptions{Authkey: key})
	if err := manager.RegisterSyncManagerTypes(srv); err != nil {
		panic(err)
	}
	l, err := connection.Listen(ctx, "127.0.0.1:0", nil)
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, l)

	c, err := manager.Dial(ctx, l.Addr().String(), key, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	d, _ := c.Dict(ctx, nil)
	lock, _ := c.Lock(ctx)
	if err := lock.Acquire(ctx); err == nil {
		d.Set(ctx, "answer", 42)
		lock.Release(ctx)
	}
	v, _ := d.Get(ctx, "answer")
	_, err = d.Get(ctx, "question")
	fmt.Println(v, err)
	// Output: 42 KeyError('question')
}
