//go:build linux

package mpqueue_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"

	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/pickle"
)

// A queue between goroutines of one process works like any queue; the
// point is that other processes, Go or Python, can share it.
func Example() {
	ctx := context.Background()
	q, err := mpqueue.New(0, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	if err := q.Put(ctx, pickle.Tuple{"job", 42}); err != nil {
		log.Fatal(err)
	}
	v, err := q.Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
	// Output: [job 42]
}

// Passing a queue to a child process: the pipe ends travel as inherited
// descriptors, the semaphores by name. A Python child rebuilds it with
// scripts/mpqueue_peer.py's build(); a Go child with AttachQueue.
func ExampleQueue_Handles() {
	q, err := mpqueue.New(10, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	r, w := q.Files()
	h := q.Handles()
	h.Reader, h.Writer = 3, 4 // their numbers in the child: ExtraFiles[0], [1]
	cmd := exec.Command("worker")
	cmd.ExtraFiles = []*os.File{r, w}
	// The child gets h (as JSON, say) and calls mpqueue.AttachQueue(h, nil).
	fmt.Println(h.Type, h.Maxsize, h.Reader, h.Writer, len(h.RLock) > 0, len(h.WLock) > 0, len(h.Sem) > 0)

	// Output: Queue 10 3 4 true true true
}

// A child that only puts gets the write end alone: this process stays the
// queue's only reader, so its Get reads many items per system call.
func ExampleQueue_ProducerHandles() {
	q, err := mpqueue.New(0, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	h := q.ProducerHandles()
	h.Writer = 3 // ExtraFiles[0] in the child
	cmd := exec.Command("producer")
	cmd.ExtraFiles = []*os.File{q.WriterFile()}
	// The child calls mpqueue.AttachQueue(h, nil) and Puts; its Get fails.
	fmt.Println(h.Type, h.Reader, h.Writer)

	// Output: Queue -1 3
}

// Flush delivers what Put handed to the writer; Close returns what could
// not be delivered instead of blocking at exit or dropping it.
func ExampleQueue_Flush() {
	ctx := context.Background()
	q, err := mpqueue.New(0, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := q.Put(ctx, "last words"); err != nil {
		log.Fatal(err)
	}
	if err := q.Flush(ctx); err != nil {
		log.Fatal(err) // an *mpqueue.UndeliveredError lists the items
	}
	n, _ := q.Qsize(ctx)
	fmt.Println("in the pipe:", n)
	fmt.Println("close:", q.Close())
	// Output:
	// in the pipe: 1
	// close: <nil>
}

// An Event set by one process wakes waiters in every process, Go or Python.
func ExampleEvent() {
	ctx := context.Background()
	ev, err := mpqueue.NewEvent(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ev.Close()
	done := make(chan bool)
	go func() {
		set, _ := ev.Wait(ctx)
		done <- set
	}()
	if err := ev.Set(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-done)
	// Output: true
}
