// Package syncobj implements, in Go, the shared objects that a Python
// multiprocessing.managers.SyncManager serves: Event, Lock, RLock,
// Semaphore, BoundedSemaphore, Condition, Barrier, list, dict, Value,
// Array, Namespace, the Iterator that iterating a dict proxy creates, and
// a Pool that refuses to run Python code. (Queue and JoinableQueue live in
// package manager.)
//
// Each object answers method calls by name, with arguments and results in
// the value model of package pickle, with the semantics of the CPython
// object it stands for: the same return values, the same exceptions (as
// *pickle.Exception of the same class, with CPython's messages), the same
// ownership rules for locks. [Types] lists every typeid with the methods
// its Python proxy exposes, so a manager server can register them all.
//
// # Owners
//
// In CPython's manager server every client connection is served by its own
// thread, and an RLock or a Condition belongs to the thread that acquired
// it. Here every call carries an opaque, comparable [Owner] that stands for
// that connection: an RLock acquired with one owner can only be released
// with the same owner. A Lock, as in Python, has no owner.
//
// # Blocking calls
//
// Blocking methods (Lock.acquire, Event.wait, Condition.wait,
// Barrier.wait, ...) honour Python's timeout argument and also return as
// soon as the context passed to Call is done (the manager cancels it when
// the caller's connection closes). Differences from CPython, all in what
// happens to a caller that goes away, are deliberate: a cancelled acquire
// or wait leaves nothing behind (CPython's server thread stays blocked and
// would later take the lock or swallow a notification for nobody), and
// [Releaser.ReleaseOwner] frees the RLocks and Conditions a closed
// connection still held (CPython keeps them locked forever). A party that
// goes away while waiting at a Barrier keeps counting as arrived, as its
// blocked thread does in CPython.
package syncobj
