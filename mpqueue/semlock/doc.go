// Package semlock implements POSIX named semaphores exactly as glibc lays
// them out in /dev/shm, and on top of them the semantics of CPython's
// _multiprocessing.SemLock, so that Go and Python processes can wait on and
// post the same semaphore.
//
// # The file and the futex protocol
//
// A named semaphore "/mp-x4jqglf3" is the 32-byte file
// /dev/shm/sem.mp-x4jqglf3, mapped MAP_SHARED by every process that opens
// it. Its first eight bytes are one 64-bit word: the low half is the value
// (the number of tokens, at most [ValueMax]) and the futex address, the high
// half counts the threads that may be sleeping. glibc's sem_wait registers
// as a sleeper (adds 1<<32) before it sleeps with
// FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME on the value word, and takes a token
// and deregisters in one compare-and-swap; sem_post adds a token and issues
// FUTEX_WAKE only when the high half was non-zero. [Sem] follows that
// algorithm to the letter, so a Go post wakes a Python process blocked in
// acquire() and a Python release() wakes a Go waiter.
//
// A Go wait that is cancelled by its context sleeps in bounded slices and,
// when it gives up, only deregisters itself (a compare-and-swap that fails if
// a token arrived, in which case it takes the token instead). It never issues
// a FUTEX_WAKE, so it cannot steal a wake-up meant for another process.
//
// # SemLock
//
// [SemLock] is the Go counterpart of _multiprocessing.SemLock: a semaphore
// plus the per-process fields that are not in the file (kind, maxvalue and
// the acquire count). Its pickled state (handle, kind, maxvalue, name) is what
// CPython's synchronize.SemLock.__getstate__ produces; [Rebuild] is
// SemLock._rebuild.
//
// Go has no thread identity, so a SemLock is owned by the process that
// acquired it through that handle: [SemLock.IsMine] reports whether this
// process holds it, and an RLock acquired twice blocks like a Lock (Go code
// does not recurse). Python peers keep their own owner and count as usual.
//
// # Cleaning up
//
// A SemLock created by [New] is unlinked by [SemLock.Close]. In case the
// creator dies first, New registers the name with a resource tracker that
// speaks CPython's resource_tracker protocol (REGISTER/UNREGISTER lines on a
// pipe). [DefaultTracker] starts our own tracker process (this executable,
// re-executed; see [TrackerMain]) which unlinks whatever is still registered
// when every writer of its pipe has gone, even after SIGKILL.
//
// The package is Linux only (glibc's layout on x86-64 and arm64).
package semlock
