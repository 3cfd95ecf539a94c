package spawn

import (
	"context"
	"fmt"
	"os"

	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/mpqueue/semlock"
	"github.com/mpbridge/mpbridge/pickle"
)

// This file translates between mpqueue's Handles and the state CPython
// pickles for Queue, SimpleQueue, JoinableQueue and the synchronize types
// while spawning (queues.py and synchronize.py __getstate__):
//
//	Lock, RLock, Semaphore, BoundedSemaphore  (handle, kind, maxvalue, name)
//	Condition                                 (lock, sleeping, woken, wait)
//	Event                                     {'_cond': Condition, '_flag': Semaphore}
//	SimpleQueue                               (reader, writer, rlock, wlock)
//	Queue                                     (ignore_epipe, maxsize, reader, writer, rlock, wlock, sem, opid)
//	JoinableQueue                             Queue's + (cond, unfinished_tasks)
//
// each as NEWOBJ of the class with no arguments, then BUILD with the state.
// Readers and writers are Connections (rebuild_connection of a _DupFd).

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

// rebuildMPQueue attaches to a queue or synchronize object in a Go child.
func rebuildMPQueue(r *rebuilder, o *pickle.Object, path string) (any, error) {
	h, err := HandlesFromPickle(o)
	if err != nil {
		return nil, err
	}
	v, err := Attach(h)
	if err != nil {
		return nil, err
	}
	switch q := v.(type) {
	case *mpqueue.Queue:
		// A Python child flushes its queues' feeders at exit.
		r.onExit(func(ctx context.Context) error {
			err := q.Flush(ctx)
			q.Close()
			return err
		})
	case *mpqueue.JoinableQueue:
		r.onExit(func(ctx context.Context) error {
			err := q.Flush(ctx)
			q.Close()
			return err
		})
	case interface{ Close() error }:
		r.onExit(func(context.Context) error { q.Close(); return nil })
	}
	return v, nil
}

// Attach opens the mpqueue object h describes (in a process that inherited
// its descriptors).
func Attach(h mpqueue.Handles) (any, error) {
	switch h.Type {
	case mpqueue.TypeLock:
		return mpqueue.AttachLock(h)
	case mpqueue.TypeRLock:
		return mpqueue.AttachRLock(h)
	case mpqueue.TypeSemaphore:
		return mpqueue.AttachSemaphore(h)
	case mpqueue.TypeBoundedSemaphore:
		return mpqueue.AttachBoundedSemaphore(h)
	case mpqueue.TypeCondition:
		return mpqueue.AttachCondition(h)
	case mpqueue.TypeEvent:
		return mpqueue.AttachEvent(h)
	case mpqueue.TypeQueue:
		return mpqueue.AttachQueue(h, nil)
	case mpqueue.TypeSimpleQueue:
		return mpqueue.AttachSimpleQueue(h, nil)
	case mpqueue.TypeJoinableQueue:
		return mpqueue.AttachJoinable(h, nil)
	}
	return nil, fmt.Errorf("spawn: no mpqueue type %q", h.Type)
}

// HandlesFromPickle reads the spawn-time pickled state of a queue or
// synchronize object (as decoded into the value model) into Handles.
// Descriptor numbers are those of the _DupFd objects, i.e. the numbers in
// the child.
func HandlesFromPickle(v any) (mpqueue.Handles, error) {
	o, g, ok := global(v)
	if !ok || (g.Module != syncModule && g.Module != queuesModule) {
		return mpqueue.Handles{}, corrupt("%T is not a multiprocessing queue or synchronize object", v)
	}
	h := mpqueue.Handles{Type: g.Name}
	switch g.Name {
	case mpqueue.TypeLock, mpqueue.TypeRLock, mpqueue.TypeSemaphore, mpqueue.TypeBoundedSemaphore:
		st, err := semState(o, g.Name)
		if err != nil {
			return h, err
		}
		h.Name, h.MaxValue = st.Name, st.MaxValue
		return h, nil
	case mpqueue.TypeCondition:
		st, err := tupleState(o, 4)
		if err != nil {
			return h, err
		}
		lock, err := HandlesFromPickle(st[0])
		if err != nil {
			return h, err
		}
		if lock.Type != mpqueue.TypeLock && lock.Type != mpqueue.TypeRLock {
			return h, &UnsupportedError{Name: "multiprocessing.synchronize.Condition over a " + lock.Type}
		}
		h.Lock = &lock
		if h.Sleeping, err = semName(st[1]); err != nil {
			return h, err
		}
		if h.Woken, err = semName(st[2]); err != nil {
			return h, err
		}
		h.Wait, err = semName(st[3])
		return h, err
	case mpqueue.TypeEvent:
		d, ok := o.State.(*pickle.Dict)
		if !ok {
			return h, corrupt("Event state is %T, not a dict", o.State)
		}
		cv, _ := d.Get("_cond")
		fv, _ := d.Get("_flag")
		cond, err := HandlesFromPickle(cv)
		if err != nil {
			return h, err
		}
		if cond.Type != mpqueue.TypeCondition {
			return h, corrupt("Event._cond is a %s", cond.Type)
		}
		h.Cond = &cond
		h.Flag, err = semName(fv)
		return h, err
	case mpqueue.TypeSimpleQueue:
		st, err := tupleState(o, 4)
		if err != nil {
			return h, err
		}
		return h, queueEnds(&h, st[0], st[1], st[2], st[3])
	case mpqueue.TypeQueue, mpqueue.TypeJoinableQueue:
		n := 8
		if g.Name == mpqueue.TypeJoinableQueue {
			n = 10
		}
		st, err := tupleState(o, n)
		if err != nil {
			return h, err
		}
		if h.Maxsize, err = asInt(st[1], "Queue maxsize"); err != nil {
			return h, err
		}
		if err := queueEnds(&h, st[2], st[3], st[4], st[5]); err != nil {
			return h, err
		}
		if h.Sem, err = semName(st[6]); err != nil {
			return h, err
		}
		if n == 10 {
			cond, err := HandlesFromPickle(st[8])
			if err != nil {
				return h, err
			}
			h.Cond = &cond
			if h.Unfinished, err = semName(st[9]); err != nil {
				return h, err
			}
		}
		return h, nil
	}
	return h, &UnsupportedError{Name: g.Module + "." + g.Name}
}

// queueEnds reads a queue's reader, writer and locks.
func queueEnds(h *mpqueue.Handles, reader, writer, rlock, wlock any) error {
	var err error
	if h.Reader, err = connFd(reader); err != nil {
		return err
	}
	if h.Writer, err = connFd(writer); err != nil {
		return err
	}
	if h.RLock, err = semName(rlock); err != nil {
		return err
	}
	if wlock == nil {
		return corrupt("queue without a write lock (a Windows queue)")
	}
	h.WLock, err = semName(wlock)
	return err
}

// connFd returns the descriptor of a pickled Connection.
func connFd(v any) (int, error) {
	o, g, ok := global(v)
	if !ok || g != connectionRebuilder || len(o.Args) != 3 {
		return 0, corrupt("queue pipe end is not a rebuilt Connection")
	}
	return dupFdNumber(o.Args[0])
}

var connectionRebuilder = pickle.Global{Module: "multiprocessing.connection", Name: "rebuild_connection"}

// tupleState returns an object's state tuple of n items.
func tupleState(o *pickle.Object, n int) ([]any, error) {
	st, ok := items(o.State)
	if !o.HasState || !ok || len(st) != n {
		return nil, corrupt("%v state is not a tuple of %d", o.Callable, n)
	}
	return st, nil
}

// semState reads a SemLock's (handle, kind, maxvalue, name).
func semState(o *pickle.Object, class string) (semlock.State, error) {
	st, err := tupleState(o, 4)
	if err != nil {
		return semlock.State{}, err
	}
	kind, err := asInt(st[1], class+" kind")
	if err != nil {
		return semlock.State{}, err
	}
	maxv, err := asInt(st[2], class+" maxvalue")
	if err != nil {
		return semlock.State{}, err
	}
	if st[3] == nil {
		return semlock.State{}, &UnsupportedError{Name: syncModule + "." + class + " created in a fork context (no name)"}
	}
	name, err := asString(st[3], class+" name")
	if err != nil {
		return semlock.State{}, err
	}
	if want := semKind(class); semlock.Kind(kind) != want {
		return semlock.State{}, corrupt("%s of kind %d", class, kind)
	}
	return semlock.State{Kind: semlock.Kind(kind), MaxValue: maxv, Name: name}, nil
}

// semName reads the name of a pickled SemLock of any class.
func semName(v any) (string, error) {
	o, g, ok := global(v)
	if !ok || g.Module != syncModule {
		return "", corrupt("%T is not a synchronize object", v)
	}
	st, err := semState(o, g.Name)
	return st.Name, err
}

func semKind(class string) semlock.Kind {
	if class == mpqueue.TypeRLock {
		return semlock.RecursiveMutex
	}
	return semlock.Semaphore
}

// handleser is implemented by every mpqueue object.
type handleser interface{ Handles() mpqueue.Handles }

// passMPQueue passes an mpqueue object to a child.
func passMPQueue(v any) (any, bool, error) {
	h, ok := v.(handleser)
	if !ok {
		return nil, false, nil
	}
	o, err := HandlesToPickle(h.Handles())
	return o, err == nil, err
}

// HandlesToPickle returns the value model CPython pickles the object h
// describes as while spawning a child, with h's descriptor numbers in the
// _DupFd objects. Semaphore handles (addresses in the creating process,
// ignored by the child, which opens the semaphores by name) are 0.
func HandlesToPickle(h mpqueue.Handles) (*pickle.Object, error) {
	switch h.Type {
	case mpqueue.TypeLock, mpqueue.TypeRLock:
		return semObject(h.Type, h.Name, 1), nil
	case mpqueue.TypeSemaphore:
		return semObject(h.Type, h.Name, semlock.ValueMax), nil
	case mpqueue.TypeBoundedSemaphore:
		return semObject(h.Type, h.Name, h.MaxValue), nil
	case mpqueue.TypeCondition:
		if h.Lock == nil {
			return nil, fmt.Errorf("spawn: condition handles without a lock")
		}
		lock, err := HandlesToPickle(*h.Lock)
		if err != nil {
			return nil, err
		}
		return stateObject(syncModule, h.Type, pickle.Tuple{lock,
			semObject(mpqueue.TypeSemaphore, h.Sleeping, semlock.ValueMax),
			semObject(mpqueue.TypeSemaphore, h.Woken, semlock.ValueMax),
			semObject(mpqueue.TypeSemaphore, h.Wait, semlock.ValueMax)}), nil
	case mpqueue.TypeEvent:
		if h.Cond == nil {
			return nil, fmt.Errorf("spawn: event handles without a condition")
		}
		cond, err := HandlesToPickle(*h.Cond)
		if err != nil {
			return nil, err
		}
		d := pickle.NewDict(2)
		d.Set("_cond", cond)
		d.Set("_flag", semObject(mpqueue.TypeSemaphore, h.Flag, semlock.ValueMax))
		return stateObject(syncModule, h.Type, d), nil
	case mpqueue.TypeSimpleQueue:
		return stateObject(queuesModule, h.Type, pickle.Tuple{
			connectionObject(h.Reader, true, false), connectionObject(h.Writer, false, true),
			semObject(mpqueue.TypeLock, h.RLock, 1), semObject(mpqueue.TypeLock, h.WLock, 1)}), nil
	case mpqueue.TypeQueue, mpqueue.TypeJoinableQueue:
		st := pickle.Tuple{false, int64(h.Maxsize),
			connectionObject(h.Reader, true, false), connectionObject(h.Writer, false, true),
			semObject(mpqueue.TypeLock, h.RLock, 1), semObject(mpqueue.TypeLock, h.WLock, 1),
			semObject(mpqueue.TypeBoundedSemaphore, h.Sem, h.Maxsize), int64(os.Getpid())}
		if h.Type == mpqueue.TypeJoinableQueue {
			if h.Cond == nil {
				return nil, fmt.Errorf("spawn: joinable queue handles without a condition")
			}
			cond, err := HandlesToPickle(*h.Cond)
			if err != nil {
				return nil, err
			}
			st = append(st, cond, semObject(mpqueue.TypeSemaphore, h.Unfinished, semlock.ValueMax))
		}
		return stateObject(queuesModule, h.Type, st), nil
	}
	return nil, fmt.Errorf("spawn: cannot pass an mpqueue %q", h.Type)
}

func stateObject(module, class string, state any) *pickle.Object {
	return &pickle.Object{Callable: pickle.Global{Module: module, Name: class}, Kind: pickle.NewObj,
		Args: pickle.Tuple{}, State: state, HasState: true}
}

func semObject(class, name string, maxvalue int) *pickle.Object {
	return stateObject(syncModule, class, pickle.Tuple{int64(0), int64(semKind(class)), int64(maxvalue), name})
}
