package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/pickle"
	"github.com/mpbridge/mpbridge/spawn"
)

// registerQueueTargets registers the targets that take queues, locks,
// events and pipe ends (the Go halves of scripts/spawn_tasks.py).
func registerQueueTargets() {
	spawn.Register("spawn_tasks.echo", echo)
	spawn.Register("spawn_tasks.double", double)
	spawn.Register("spawn_tasks.put_forever", func(ctx context.Context, args []any, _ map[string]any) error {
		q, ok := args[0].(putter)
		if !ok {
			return fmt.Errorf("put_forever: want a queue, got %T", args[0])
		}
		for i := int64(0); ; i++ {
			if err := q.Put(ctx, i); err != nil {
				return err
			}
		}
	})
	spawn.Register("spawn_tasks.wait_event", func(ctx context.Context, args []any, _ map[string]any) error {
		ev, out := args[0].(*mpqueue.Event), args[1].(putter)
		wctx, cancel := context.WithTimeout(ctx, 30e9)
		defer cancel()
		set, err := ev.Wait(wctx)
		if err != nil {
			return err
		}
		return out.Put(ctx, set)
	})
	spawn.Register("spawn_tasks.set_event_under_lock", func(ctx context.Context, args []any, _ map[string]any) error {
		lock, ev := args[0].(*mpqueue.Lock), args[1].(*mpqueue.Event)
		if err := lock.Acquire(ctx); err != nil {
			return err
		}
		defer lock.Release()
		return ev.Set(ctx)
	})
	spawn.Register("spawn_tasks.join_worker", func(ctx context.Context, args []any, _ map[string]any) error {
		jq, out := args[0].(*mpqueue.JoinableQueue), args[1].(putter)
		for {
			item, err := jq.Get(ctx)
			if err != nil {
				return err
			}
			if err := jq.TaskDone(ctx); err != nil {
				return err
			}
			if item == nil {
				return nil
			}
			if err := out.Put(ctx, item); err != nil {
				return err
			}
		}
	})
	spawn.Register("spawn_tasks.conn_echo", func(ctx context.Context, args []any, _ map[string]any) error {
		c := args[0].(*connection.Conn)
		for {
			v, err := c.Recv(ctx)
			if err != nil {
				return err
			}
			if err := c.Send(ctx, v); err != nil {
				return err
			}
			if v == nil {
				return nil
			}
		}
	})
}

// putter and getter are satisfied by Queue, JoinableQueue and SimpleQueue.
type (
	putter interface {
		Put(ctx context.Context, item any) error
	}
	getter interface {
		Get(ctx context.Context) (any, error)
	}
)

// echo puts a description of its arguments on the queue args[0], as
// spawn_tasks.echo does in Python.
func echo(ctx context.Context, args []any, kwargs map[string]any) error {
	out, ok := args[0].(putter)
	if !ok {
		return fmt.Errorf("echo: want a queue, got %T", args[0])
	}
	descr := make(pickle.List, 0, len(args)-1)
	for _, a := range args[1:] {
		descr = append(descr, describe(a))
	}
	kw := pickle.NewDict(len(kwargs))
	for k, v := range kwargs {
		kw.Set(k, describe(v))
	}
	d := pickle.NewDict(3)
	d.Set("args", &descr)
	d.Set("kwargs", kw)
	d.Set("pid", int64(os.Getpid()))
	return out.Put(ctx, d)
}

// describe is spawn_tasks.describe: multiprocessing objects by class name.
func describe(v any) any {
	switch x := v.(type) {
	case *mpqueue.Queue:
		return "<multiprocessing.queues.Queue>"
	case *mpqueue.JoinableQueue:
		return "<multiprocessing.queues.JoinableQueue>"
	case *mpqueue.SimpleQueue:
		return "<multiprocessing.queues.SimpleQueue>"
	case *mpqueue.Lock:
		return "<multiprocessing.synchronize.Lock>"
	case *mpqueue.RLock:
		return "<multiprocessing.synchronize.RLock>"
	case *mpqueue.BoundedSemaphore:
		return "<multiprocessing.synchronize.BoundedSemaphore>"
	case *mpqueue.Semaphore:
		return "<multiprocessing.synchronize.Semaphore>"
	case *mpqueue.Event:
		return "<multiprocessing.synchronize.Event>"
	case *mpqueue.Condition:
		return "<multiprocessing.synchronize.Condition>"
	case *connection.Conn:
		return "<multiprocessing.connection.Connection>"
	case *manager.QueueProxy:
		return "<multiprocessing.managers.AutoProxy[" + x.Token().Typeid + "]>"
	case *manager.Proxy:
		return "<multiprocessing.managers." + proxyClass(x.Token().Typeid) + ">"
	}
	return v
}

// double reads ints from args[0] until None and puts their doubles on
// args[1].
func double(ctx context.Context, args []any, _ map[string]any) error {
	in, ok1 := args[0].(getter)
	out, ok2 := args[1].(putter)
	if !ok1 || !ok2 {
		return fmt.Errorf("double: want two queues, got %T, %T", args[0], args[1])
	}
	for {
		item, err := in.Get(ctx)
		if err != nil {
			return err
		}
		switch n := item.(type) {
		case nil:
			return nil
		case int64:
			if err := out.Put(ctx, 2*n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("double: got %T", item)
		}
	}
}
