// Command go_worker is a Go worker that consumes jobs from a Python
// multiprocessing manager and puts results back: the Python program keeps
// its BaseManager server and queues, and the worker joins it like any
// Python client would.
//
//	MPB_AUTHKEY=secret python3 examples/go_worker/server.py &
//	MPB_AUTHKEY=secret go run ./examples/go_worker --addr 127.0.0.1:50001
//
// Each job is a dict {'id': i, 'x': x}; the result is {'id': i, 'x': x,
// 'y': x*x, 'worker': 'go'}. A None job stops the worker.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50001", "manager address: HOST:PORT, /path or @name")
	keyEnv := flag.String("authkey-env", "MPB_AUTHKEY", "environment variable holding the authkey")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := run(ctx, *addr, []byte(os.Getenv(*keyEnv)))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("done: %d jobs", n)
}

// run processes jobs until it gets None and returns how many it did.
func run(ctx context.Context, addr string, authkey []byte) (int, error) {
	m, err := manager.Dial(ctx, addr, authkey, nil)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	jobs, err := m.Queue(ctx, "get_jobs", nil, nil)
	if err != nil {
		return 0, err
	}
	defer jobs.Close()
	results, err := m.Queue(ctx, "get_results", nil, nil)
	if err != nil {
		return 0, err
	}
	defer results.Close()
	n := 0
	for {
		job, err := jobs.Get(ctx) // waits; Ctrl-C leaves no get behind
		if err != nil {
			return n, err
		}
		if job == nil {
			return n, nil
		}
		d, ok := job.(*pickle.Dict)
		if !ok {
			return n, fmt.Errorf("job %v is not a dict", job)
		}
		id, _ := d.Get("id")
		x, _ := d.Get("x")
		xi, _ := x.(int64)
		res := pickle.NewDict(4)
		_ = res.Set("id", id)
		_ = res.Set("x", x)
		_ = res.Set("y", xi*xi)
		_ = res.Set("worker", "go")
		if err := results.Put(ctx, res); err != nil {
			return n, err
		}
		if err := jobs.TaskDone(ctx); err != nil {
			return n, err
		}
		n++
	}
}
