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

// A second client, as another process would, rebuilds a proxy of a dict
// from its token (what travels in a pickled proxy) and uses it through
// the typed API. With incref the new proxy holds its own reference.
func ExampleClient_ProxyFor() {
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

	owner, err := manager.Dial(ctx, l.Addr().String(), key, nil)
	if err != nil {
		panic(err)
	}
	defer owner.Close()
	d, _ := owner.Dict(ctx, nil)
	defer d.Close()
	tok := d.Proxy().Token()

	other, _ := manager.NewClient(l.Addr().String(), owner.Authkey(), nil)
	defer other.Close()
	p, err := other.ProxyFor(ctx, tok, nil, true)
	if err != nil {
		panic(err)
	}
	d2 := manager.NewDictProxy(p)
	d2.Set(ctx, "from", "the other client")
	d2.Close() // drops the reference ProxyFor took
	v, _ := d.Get(ctx, "from")
	fmt.Println(v)
	// Output: the other client
}
