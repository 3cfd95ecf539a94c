package connection_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/pickle"
)

// A Listener and a client authenticating with the same key, exchanging one
// message each way, as Listener/Client do in Python.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := []byte("secret")

	l, err := connection.Listen(ctx, "127.0.0.1:0", &connection.ListenOptions{Authkey: key})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept(ctx) // only authenticated connections arrive here
		if err != nil {
			return
		}
		defer c.Close()
		msg, _ := c.RecvBytes(ctx, 0)
		_ = c.SendBytes(ctx, append([]byte("echo: "), msg...))
	}()

	c, err := connection.Dial(ctx, l.Addr().String(), key, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.SendBytes(ctx, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	reply, err := c.RecvBytes(ctx, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply))
	// Output: echo: hello
}

// A Go client for a Python listener, e.g. one started with
//
//	from multiprocessing.connection import Listener
//	with Listener(('127.0.0.1', 6000), authkey=b'secret') as listener:
//	    with listener.accept() as conn:
//	        conn.send(('echo', conn.recv()))
//
// (docs/connection.md has this example in full; the interop tests run it
// against every CPython.)
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := connection.Dial(ctx, "127.0.0.1:6000", []byte("secret"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(ctx, "hello"); err != nil {
		log.Fatal(err)
	}
	reply, err := c.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pickle.Repr(reply)) // ('echo', 'hello')
}

// Pipe(false) makes a one-way channel over os.pipe, as Python's
// Pipe(duplex=False): the first end reads, the second writes.
func ExamplePipe() {
	ctx := context.Background()
	r, w, err := connection.Pipe(false)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	_ = w.SendBytes(ctx, []byte("through the pipe"))
	msg, _ := r.RecvBytes(ctx, 0)
	fmt.Println(string(msg), r.Readable(), r.Writable())
	// Output: through the pipe true false
}

// Addresses have one textual form in Go and convert to and from Python's.
func ExampleParseAddress() {
	for _, s := range []string{"127.0.0.1:6000", "/tmp/app.sock", "@app"} {
		a, _ := connection.ParseAddress(s)
		fmt.Println(a.Network, a, a.PythonRepr())
	}
	a, _ := connection.ParsePythonAddress(`b'\x00app'`)
	fmt.Println(a)
	// Output:
	// tcp 127.0.0.1:6000 ('127.0.0.1', 6000)
	// unix /tmp/app.sock '/tmp/app.sock'
	// unix @app '\x00app'
	// @app
}
