// Package mpbridge is the shared vocabulary of the mpbridge module: the
// sentinel errors and the Queue interface that every transport implements.
//
// mpbridge speaks Python multiprocessing's wire protocols natively. The
// sub-packages mirror CPython's module split:
//
//	pickle      the pickle codec (pickle / _pickle)
//	connection  framing, Listener/Client and the authkey handshake (multiprocessing.connection)
//	manager     BaseManager/SyncManager client and server (multiprocessing.managers)
//	mpqueue     Queue, SimpleQueue, JoinableQueue over pipes and POSIX semaphores
//	            (multiprocessing.queues and multiprocessing.synchronize)
//
// A manager queue proxy and an mpqueue.Queue both implement [Queue], and
// both report the conditions below with the same sentinel errors, so
// errors.Is works the same whichever transport carries the items.
package mpbridge

import (
	"context"
	"errors"
)

// Sentinel errors shared by every package of the module. Packages wrap them
// with context; test for them with errors.Is.
var (
	// ErrEmpty is Python's queue.Empty: a get found no item in time.
	ErrEmpty = errors.New("mpbridge: queue empty")
	// ErrFull is Python's queue.Full: a put found no free slot in time.
	ErrFull = errors.New("mpbridge: queue full")
	// ErrClosed reports use of a queue, connection or proxy after Close.
	ErrClosed = errors.New("mpbridge: closed")
	// ErrShutdown reports that the peer (a manager server, a queue shut
	// down with Python 3.13's Queue.shutdown) has stopped serving.
	ErrShutdown = errors.New("mpbridge: shut down")
	// ErrTimeout reports that a blocking call ran out of time for a reason
	// other than an empty or full queue (a handshake, a lock, a join).
	ErrTimeout = errors.New("mpbridge: timed out")
	// ErrCorrupt reports a byte stream that can no longer be trusted: a
	// frame cut short by a dying peer, a length that is out of range, a
	// pickle that does not decode.
	ErrCorrupt = errors.New("mpbridge: corrupt stream")
	// ErrAuthentication is Python's multiprocessing.AuthenticationError.
	ErrAuthentication = errors.New("mpbridge: authentication failed")
	// ErrTooLarge reports a message bigger than the configured limit.
	ErrTooLarge = errors.New("mpbridge: message too large")
)

// Queue is the behaviour shared by Python's queue.Queue (served by a
// manager) and multiprocessing.Queue. Items are Go values that the pickle
// package can encode; items received are decoded into pickle's value model.
//
// A context deadline on Put or Get plays the role of Python's timeout
// argument; cancellation ends the wait. PutNowait and GetNowait are
// put(block=False) and get(block=False).
type Queue interface {
	// Put adds item, waiting while the queue is full. It returns an error
	// wrapping ErrFull if the context's deadline passes first.
	Put(ctx context.Context, item any) error
	// PutNowait adds item or fails at once with ErrFull.
	PutNowait(ctx context.Context, item any) error
	// Get removes and returns the next item, waiting while the queue is
	// empty. It returns an error wrapping ErrEmpty if the deadline passes.
	Get(ctx context.Context) (any, error)
	// GetNowait removes and returns the next item or fails at once with
	// ErrEmpty.
	GetNowait(ctx context.Context) (any, error)
	// Qsize is the approximate number of items in the queue.
	Qsize(ctx context.Context) (int, error)
	// Empty reports whether the queue is (approximately) empty.
	Empty(ctx context.Context) (bool, error)
	// Full reports whether the queue is (approximately) full.
	Full(ctx context.Context) (bool, error)
}

// JoinableQueue adds Python's task accounting to Queue.
type JoinableQueue interface {
	Queue
	// TaskDone marks one item fetched by Get as processed.
	TaskDone(ctx context.Context) error
	// Join waits until every item put has been marked done.
	Join(ctx context.Context) error
}
