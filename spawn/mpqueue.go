package spawn

import (
	"context"
	"fmt"
	"os"

	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/pickle"
)

// Queues and synchronize objects travel in the form CPython pickles them
// while spawning, which mpqueue produces (Reduce) and reads back
// (ParseHandles, Rebuild).

const (
	queuesModule = "multiprocessing.queues"
	syncModule   = "multiprocessing.synchronize"
)

func init() {
	for _, name := range []string{mpqueue.TypeLock, mpqueue.TypeRLock, mpqueue.TypeSemaphore,
		mpqueue.TypeBoundedSemaphore, mpqueue.TypeCondition, mpqueue.TypeEvent} {
		rebuilders[pickle.Global{Module: syncModule, Name: name}] = rebuildMPQueue
	}
	for _, name := range []string{mpqueue.TypeQueue, mpqueue.TypeSimpleQueue, mpqueue.TypeJoinableQueue} {
		rebuilders[pickle.Global{Module: queuesModule, Name: name}] = rebuildMPQueue
	}
	passers = append(passers, passMPQueue)
}

// rebuildMPQueue attaches to a queue or synchronize object in a Go child,
// adopting the inherited pipe descriptors.
func rebuildMPQueue(r *rebuilder, o *pickle.Object, path string) (any, error) {
	v, err := mpqueue.Rebuild(o, mpqueue.SpawnFd, nil)
	if err != nil {
		return nil, err
	}
	type flusher interface {
		Flush(ctx context.Context) error
		Close() error
	}
	switch q := v.(type) {
	case flusher:
		// A Python child flushes its queues' feeders at exit.
		r.onExit(func(ctx context.Context) error {
			err := q.Flush(ctx)
			q.Close()
			return err
		})
	case interface{ Close() error }:
		r.onExit(func(context.Context) error { return q.Close() })
	}
	return v, nil
}

// passMPQueue passes an mpqueue object to a child: its pickled form names
// this process's descriptors (renumbered by childWalker).
func passMPQueue(v any) (any, bool, error) {
	var o *pickle.Object
	var err error
	switch x := v.(type) {
	case *mpqueue.Queue:
		o, err = x.Reduce(mpqueue.SpawnDupFd, os.Getpid())
	case *mpqueue.JoinableQueue:
		o, err = x.Reduce(mpqueue.SpawnDupFd, os.Getpid())
	case *mpqueue.SimpleQueue:
		o, err = x.Reduce(mpqueue.SpawnDupFd)
	case *mpqueue.Lock, *mpqueue.RLock, *mpqueue.Semaphore, *mpqueue.BoundedSemaphore,
		*mpqueue.Condition, *mpqueue.Event:
		o = x.(interface{ Reduce() *pickle.Object }).Reduce()
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("spawn: passing %T: %w", v, err)
	}
	return o, true, nil
}
