//go:build linux

package semlock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations as glibc issues them for a process-shared semaphore:
// no FUTEX_PRIVATE_FLAG (the semaphore's private field is FUTEX_SHARED).
const (
	opWaitBitset    = 9   // FUTEX_WAIT_BITSET
	opWake          = 1   // FUTEX_WAKE
	opClockRealtime = 256 // FUTEX_CLOCK_REALTIME
	bitsetMatchAny  = 0xffffffff
)

// futexWaitBitset sleeps while *addr == val, until woken or until the
// absolute CLOCK_REALTIME time abs (nil: no timeout). It is op 265, the
// call glibc's sem_wait and sem_timedwait make. The error is deliberately
// ignored by callers: every outcome leads to re-reading the word.
func futexWaitBitset(addr *uint32, val uint32, abs *unix.Timespec) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)),
		opWaitBitset|opClockRealtime, uintptr(val), uintptr(unsafe.Pointer(abs)), 0, bitsetMatchAny)
	return e
}

// futexWake wakes up to n sleepers on addr (op 1), as sem_post does.
func futexWake(addr *uint32, n int) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWake, uintptr(n), 0, 0, 0)
}
