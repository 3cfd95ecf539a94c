// Command testworker is the Go worker the spawn interop tests hand to
// Python's ctx.set_executable. It registers Go versions of the targets of
// scripts/spawn_tasks.py under the same names; spawn_tasks.python_only is
// deliberately missing, so it is handed over to Python.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/mpbridge/mpbridge/spawn"
)

func main() {
	spawn.Run()
	fmt.Fprintln(os.Stderr, "testworker: not started by multiprocessing")
	os.Exit(2)
}

func init() {
	spawn.Register("spawn_tasks.noop", func(context.Context, []any, map[string]any) error { return nil })
	spawn.Register("spawn_tasks.record", record)
	spawn.Register("spawn_tasks.exit_with", func(_ context.Context, args []any, _ map[string]any) error {
		code, ok := args[0].(int64)
		if !ok {
			return fmt.Errorf("exit_with: want an int, got %T", args[0])
		}
		return spawn.Exit(int(code))
	})
	spawn.Register("spawn_tasks.fail", func(_ context.Context, args []any, _ map[string]any) error {
		return fmt.Errorf("fail: %v", args[0])
	})
	spawn.Register("spawn_tasks.panic_now", func(context.Context, []any, map[string]any) error {
		panic("panic_now")
	})
	spawn.Register("spawn_tasks.sleep", func(ctx context.Context, args []any, _ map[string]any) error {
		var d time.Duration
		switch s := args[0].(type) {
		case int64:
			d = time.Duration(s) * time.Second
		case float64:
			d = time.Duration(s * float64(time.Second))
		}
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	registerQueueTargets()
}

// record writes what Python's spawn_tasks.record writes, from Go.
func record(ctx context.Context, args []any, kwargs map[string]any) error {
	path, ok := args[0].(string)
	if !ok {
		return errors.New("record: path must be a str")
	}
	info, _ := spawn.InfoFrom(ctx)
	reprs := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		reprs = append(reprs, pickle.Repr(a))
	}
	kw := map[string]string{}
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kw[k] = pickle.Repr(kwargs[k])
	}
	out, err := json.Marshal(map[string]any{
		"args": reprs, "kwargs": kw, "name": info.Name, "authkey": hex.EncodeToString(info.Authkey),
		"daemon": info.Daemon, "parent_pid": info.ParentPID, "parent_alive": ctx.Err() == nil,
		"language": "go",
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
