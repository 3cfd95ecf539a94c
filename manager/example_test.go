package manager_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

// A Go server sharing one queue as typeid get_queue, used by a Go client.
// A Python client uses it the same way:
// QueueManager.register('get_queue'); m.connect(); q = m.get_queue().
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := []byte("secret")

	srv := manager.NewServer(&manager.ServerOptions{Authkey: key})
	srv.RegisterQueue("get_queue", manager.NewQueue(0))
	l, err := connection.Listen(ctx, "127.0.0.1:0", nil)
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, l)

	m, err := manager.Dial(ctx, l.Addr().String(), key, nil)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	q, err := m.Queue(ctx, "get_queue", nil, nil)
	if err != nil {
		panic(err)
	}
	defer q.Close()
	_ = q.Put(ctx, "hello")
	v, _ := q.Get(ctx)
	fmt.Println(v)

	tctx, tcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer tcancel()
	_, err = q.Get(tctx)
	fmt.Println(errors.Is(err, mpbridge.ErrEmpty))
	// Output:
	// hello
	// true
}

// counter is a Go object served to Python clients: it exposes methods by
// name, binding arguments with CPython's rules.
type counter struct{ n int64 }

func (c *counter) Exposed() []string { return []string{"add", "value"} }

func (c *counter) Call(ctx context.Context, method string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	switch method {
	case "add":
		a, err := manager.Signature{Name: "Counter.add", Params: []string{"k"}, Defaults: []any{int64(1)}}.Bind(args, kwargs)
		if err != nil {
			return nil, err // a TypeError, raised as such in Python
		}
		k, ok := a[0].(int64)
		if !ok {
			return nil, manager.ExcTypeError("k must be an int")
		}
		c.n += k
		return c.n, nil
	case "value":
		return c.n, nil
	}
	return nil, manager.ErrNoMethod
}

// Serving a Go type: every create makes a new counter, as
// BaseManager.register('Counter', callable=Counter) does.
func ExampleServer_Register() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := manager.NewServer(&manager.ServerOptions{Authkey: []byte("k")})
	srv.Register("Counter", func(ctx context.Context, args pickle.Tuple, kwargs *pickle.Dict) (manager.Object, error) {
		return &counter{}, nil
	}, nil)
	l, _ := connection.Listen(ctx, "127.0.0.1:0", nil)
	go srv.Serve(ctx, l)

	m, _ := manager.Dial(ctx, l.Addr().String(), []byte("k"), nil)
	defer m.Close()
	p, _ := m.Create(ctx, "Counter", nil, nil)
	defer p.Close()
	p.Call(ctx, "add", pickle.Tuple{int64(41)}, nil)
	v, _ := p.Call(ctx, "add", nil, nil)
	fmt.Println(v)
	_, err := p.Call(ctx, "add", pickle.Tuple{"x"}, nil)
	fmt.Println(err)
	// Output:
	// 42
	// TypeError('k must be an int')
}
