package semlock

import "errors"

var (
	// ErrNotOwned is CPython's AssertionError "attempt to release
	// recursive lock not owned by thread": an RLock released by a process
	// that does not hold it.
	ErrNotOwned = errors.New("semlock: attempt to release recursive lock not owned by this process")
	// ErrReleasedTooManyTimes is CPython's ValueError "semaphore or lock
	// released too many times": a release that would push the value past
	// maxvalue.
	ErrReleasedTooManyTimes = errors.New("semlock: semaphore or lock released too many times")
)
