package spawn_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/spawn"
)

// A Go worker's main: register the Go functions under the Python names
// of the targets they replace, then call Run first. Started by Python's
// multiprocessing (ctx.set_executable(path_to_this_binary)), Run serves
// the child and exits; started any other way, it returns. (A program
// would use spawn.Register and spawn.Run; the example uses its own
// Registry so that it can run more than once.)
func ExampleRun() {
	reg := &spawn.Registry{}
	reg.Register("tasks.resize", func(ctx context.Context, args []any, kwargs map[string]any) error {
		q := args[0].(*mpqueue.Queue) // the parent's multiprocessing.Queue
		results := args[1].(*mpqueue.Queue)
		for {
			item, err := q.Get(ctx)
			if err != nil || item == nil {
				return err
			}
			if err := results.Put(ctx, item); err != nil {
				return err
			}
		}
	})
	spawn.RunWith(spawn.Options{Registry: reg})
	fmt.Println("not started by multiprocessing")
	// Output: not started by multiprocessing
}

// A Go parent starting a Python worker on Go-side queues.
func ExampleStart() {
	ctx := context.Background()
	q, err := mpqueue.New(0, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	results, err := mpqueue.New(0, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer results.Close()
	child, err := spawn.Start(ctx, spawn.Process{
		Python: "/usr/bin/python3",
		Target: "tasks.resize", // a function of module tasks, importable by the child
		Args:   []any{q, results},
		Env:    append(os.Environ(), "PYTHONPATH=/path/to/tasks"),
	})
	if err != nil {
		log.Fatal(err)
	}
	q.Put(ctx, map[string]any{"name": "img0", "w": 640, "h": 480})
	q.Put(ctx, nil)
	fmt.Println(results.Get(ctx))
	child.Wait(ctx)
	fmt.Println(child.ExitCode())
}
