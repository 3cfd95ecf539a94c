// Command spawn_worker is a Go worker that a stock Python program starts
// as multiprocessing Processes: parent.py points its spawn context at this
// binary with ctx.set_executable, and tasks.resize then runs here, in Go,
// on the parent's own multiprocessing.Queue objects.
//
//	go build -o /tmp/spawn-worker ./examples/spawn_worker
//	python3 examples/spawn_worker/parent.py /tmp/spawn-worker
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/mpbridge/mpbridge/spawn"
)

func main() {
	spawn.Register("tasks.resize", resize)
	spawn.Run() // serves a multiprocessing invocation and exits
	fmt.Fprintln(os.Stderr, "spawn_worker: run me through Python's multiprocessing (see parent.py)")
	os.Exit(2)
}

type getter interface {
	Get(ctx context.Context) (any, error)
}

type putter interface {
	Put(ctx context.Context, item any) error
}

// resize is tasks.resize: halve every image description from q until None.
func resize(ctx context.Context, args []any, _ map[string]any) error {
	q, ok1 := args[0].(getter)
	results, ok2 := args[1].(putter)
	if !ok1 || !ok2 {
		return fmt.Errorf("resize(q, results): got %T, %T", args[0], args[1])
	}
	for {
		item, err := q.Get(ctx)
		if err != nil {
			return err
		}
		if item == nil {
			return nil
		}
		img, ok := item.(*pickle.Dict)
		if !ok {
			return fmt.Errorf("resize: item is %T, not a dict", item)
		}
		name, _ := img.Get("name")
		w, _ := img.Get("w")
		h, _ := img.Get("h")
		wi, ok1 := w.(int64)
		hi, ok2 := h.(int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("resize: w and h must be ints, got %T, %T", w, h)
		}
		out := pickle.NewDict(3)
		out.Set("name", name)
		out.Set("w", wi/2)
		out.Set("h", hi/2)
		if err := results.Put(ctx, out); err != nil {
			return err
		}
	}
}
