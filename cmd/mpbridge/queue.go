package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
)

func init() {
	register("queue", runQueue, `queue put|get|size --addr ADDR (--authkey-env NAME | --authkey-file PATH | --authkey-hex HEX) [--typeid get_queue] [args]
Use a queue served by a manager (Python's BaseManager or SyncManager, or
mpbridge serve) from the shell.
  put [--timeout D] [JSON]...
                           put each JSON value (after -- if one starts with -);
                           with none, one value per line of stdin
  get [--count N] [--timeout D]
                           get N items (default 1), printing one JSON value per
                           line; fails if an item does not come within D
  size                     print qsize()
Python types JSON lacks are tagged as in 'mpbridge pickle json'.`)
}

func runQueue(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErrorf("missing subcommand put, get or size")
	}
	sub := args[0]
	s := ioFrom(ctx)
	fs := newFlagSet(ctx, "queue "+sub)
	var k keyFlags
	k.add(fs)
	typeid := fs.String("typeid", "get_queue", "the typeid whose create returns the queue")
	count := 1
	var timeout time.Duration
	switch sub {
	case "get":
		fs.IntVar(&count, "count", 1, "number of items to get")
		fs.DurationVar(&timeout, "timeout", 0, "fail if an item does not come within `D` (0: wait until interrupted)")
	case "put":
		fs.DurationVar(&timeout, "timeout", 0, "fail if a bounded queue stays full for `D` (0: wait until interrupted)")
	}
	switch sub {
	case "put", "get", "size":
	default:
		return usageErrorf("unknown subcommand %q (want put, get or size)", sub)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if err := k.check(); err != nil {
		return err
	}
	key, err := k.authkey()
	if err != nil {
		return err
	}
	if key == nil {
		return usageErrorf("an authkey flag is required")
	}
	if sub != "put" && len(pos) > 0 {
		return usageErrorf("unexpected arguments %q", pos)
	}
	c, err := manager.Dial(ctx, k.addr, key, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := c.Queue(ctx, *typeid, nil, nil)
	if err != nil {
		return err
	}
	defer q.Close()
	switch sub {
	case "size":
		n, err := q.Qsize(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(s.out, n)
		return nil
	case "put":
		put := func(text string) error {
			v, err := pickle.FromJSON([]byte(text))
			if err != nil {
				return fmt.Errorf("%q: %w", text, err)
			}
			pctx, cancel := ctx, context.CancelFunc(func() {})
			if timeout > 0 {
				pctx, cancel = context.WithTimeout(ctx, timeout)
			}
			defer cancel()
			err = q.Put(pctx, v)
			if errors.Is(err, mpbridge.ErrFull) {
				return fmt.Errorf("timed out after %v putting %s: the queue stayed full", timeout, text)
			}
			return err
		}
		if len(pos) > 0 {
			for _, a := range pos {
				if err := put(a); err != nil {
					return err
				}
			}
			return nil
		}
		sc := bufio.NewScanner(s.in)
		sc.Buffer(make([]byte, 64<<10), 256<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if err := put(line); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	for i := 0; i < count; i++ {
		gctx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			gctx, cancel = context.WithTimeout(ctx, timeout)
		}
		v, err := q.Get(gctx)
		cancel()
		if errors.Is(err, mpbridge.ErrEmpty) {
			return fmt.Errorf("timed out after %v waiting for item %d of %d: the queue stayed empty", timeout, i+1, count)
		}
		if err != nil {
			return err
		}
		out, err := pickle.ToJSON(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "%s\n", out)
	}
	return nil
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments, which it returns. After "--" everything is
// positional (a JSON value such as -5 looks like a flag).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
