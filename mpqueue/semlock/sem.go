//go:build linux

package semlock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpbridge/mpbridge"
)

// Layout of glibc's struct new_sem (64-bit atomics variant).
const (
	// ValueMax is SEM_VALUE_MAX, the largest value a semaphore can hold.
	ValueMax = 0x7fffffff
	// Size is sizeof(sem_t): the size of the file and of the mapping.
	Size = 32

	valueMask     = 0xffffffff
	nwaitersShift = 32
	oneWaiter     = uint64(1) << nwaitersShift
	privateOffset = 8
	// futexShared is glibc's FUTEX_SHARED marker stored in the private
	// field of every process-shared semaphore.
	futexShared = 0x80
)

// ShmDir is where glibc keeps named semaphores.
const ShmDir = "/dev/shm"

// waitSlice bounds one futex sleep when the context can be cancelled, so a
// cancelled wait returns within about this long; idleSlice bounds it
// otherwise, so that a wait on a closed Sem ends.
const (
	waitSlice = 50 * time.Millisecond
	idleSlice = time.Second
)

// Sem is one mapping of a glibc named semaphore (a sem_t*). Its methods are
// safe for concurrent use. The mapping is released by Close, or when the
// Sem becomes unreachable.
type Sem struct {
	name   string
	base   unsafe.Pointer // the Size-byte shared mapping
	word   *uint64        // the 64-bit data word: value | nwaiters<<32
	addr   *uint32        // its low half, the futex word
	closed atomic.Bool
}

// Path returns the file that backs the semaphore name, e.g.
// "/dev/shm/sem.mp-x4jqglf3" for "/mp-x4jqglf3".
func Path(name string) string { return ShmDir + "/sem." + trimSlash(name) }

// Create creates the named semaphore with the given initial value and fails
// with an error satisfying errors.Is(err, fs.ErrExist) if the name is taken,
// like sem_open(name, O_CREAT|O_EXCL, 0600, value). As glibc does, it
// writes the complete 32-byte image to a temporary file and links it to the
// final name, so other processes never see a half-initialised semaphore.
func Create(name string, value int) (*Sem, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if value < 0 || value > ValueMax {
		return nil, fmt.Errorf("semlock: initial value %d out of range [0, %d]", value, ValueMax)
	}
	tmp, err := os.CreateTemp(ShmDir, "sem.tmp*")
	if err != nil {
		return nil, fmt.Errorf("semlock: create %s: %w", name, err)
	}
	tmpName := tmp.Name()
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmpName)
	}()
	var image [Size]byte
	binary.LittleEndian.PutUint32(image[0:], uint32(value))
	binary.LittleEndian.PutUint32(image[privateOffset:], futexShared)
	if _, err := tmp.Write(image[:]); err != nil {
		return nil, fmt.Errorf("semlock: create %s: %w", name, err)
	}
	s, err := mapFile(name, tmp)
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmpName, Path(name)); err != nil {
		s.Close()
		return nil, fmt.Errorf("semlock: create %s: %w", name, err)
	}
	return s, nil
}

// Open maps an existing named semaphore, like sem_open(name, 0). The file
// must be at least 32 bytes long and carry glibc's process-shared marker.
func Open(name string) (*Sem, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(Path(name), os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("semlock: open %s: %w", name, err)
	}
	defer f.Close()
	return mapFile(name, f)
}

// Unlink removes the name, like sem_unlink. Mappings stay usable.
func Unlink(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := os.Remove(Path(name)); err != nil {
		return fmt.Errorf("semlock: unlink %s: %w", name, err)
	}
	return nil
}

func mapFile(name string, f *os.File) (*Sem, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("semlock: open %s: %w", name, err)
	}
	if st.Size() < Size {
		// Touching a mapping beyond the end of the file raises SIGBUS.
		return nil, fmt.Errorf("semlock: open %s: file is %d bytes, want %d: %w", name, st.Size(), Size, mpbridge.ErrCorrupt)
	}
	base, err := unix.MmapPtr(int(f.Fd()), 0, nil, Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("semlock: mmap %s: %w", name, err)
	}
	if p := atomic.LoadUint32((*uint32)(unsafe.Add(base, privateOffset))); p != futexShared {
		_ = unix.MunmapPtr(base, Size)
		return nil, fmt.Errorf("semlock: open %s: private field %#x is not glibc's FUTEX_SHARED (0x80): %w", name, p, mpbridge.ErrCorrupt)
	}
	s := &Sem{name: name, base: base, word: (*uint64)(base), addr: (*uint32)(base)}
	runtime.AddCleanup(s, func(p unsafe.Pointer) { _ = unix.MunmapPtr(p, Size) }, base)
	return s, nil
}

// Name returns the semaphore's name, e.g. "/mp-x4jqglf3".
func (s *Sem) Name() string { return s.name }

// Handle returns the address of the mapping, the value CPython keeps as
// SemLock.handle (a sem_t*). A process that rebuilds a named SemLock ignores it.
func (s *Sem) Handle() int64 { return int64(uintptr(s.base)) }

// Close detaches the semaphore: later calls fail with mpbridge.ErrClosed
// (TryWait reports false, Value -1). The shared mapping is replaced at once
// by a private anonymous page, so a call racing with Close acts on that
// harmless copy, and a blocked Wait gives up within its next sleep slice.
// The page is unmapped when the Sem is garbage collected. Close does not
// unlink the name.
func (s *Sem) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	_, err := unix.MmapPtr(-1, 0, s.base, Size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED)
	return err
}

func (s *Sem) closedErr() error { return fmt.Errorf("semlock: %s: %w", s.name, mpbridge.ErrClosed) }

// Value returns the current value (sem_getvalue), or -1 after Close.
func (s *Sem) Value() int {
	if s.closed.Load() {
		return -1
	}
	return int(atomic.LoadUint64(s.word) & valueMask)
}

// Waiters returns the number of threads registered as possibly sleeping
// (the high half of the data word), or -1 after Close.
func (s *Sem) Waiters() int {
	if s.closed.Load() {
		return -1
	}
	return int(atomic.LoadUint64(s.word) >> nwaitersShift)
}

// TryWait takes a token if one is available (sem_trywait). It reports
// false when the value is zero or the semaphore is closed.
func (s *Sem) TryWait() bool {
	if s.closed.Load() {
		return false
	}
	return s.tryWait()
}

func (s *Sem) tryWait() bool {
	for {
		d := atomic.LoadUint64(s.word)
		if d&valueMask == 0 {
			return false
		}
		if atomic.CompareAndSwapUint64(s.word, d, d-1) {
			return true
		}
	}
}

// Post adds a token (sem_post) and wakes one sleeper if any registered.
// It fails with unix.EOVERFLOW at ValueMax.
func (s *Sem) Post() error {
	if s.closed.Load() {
		return s.closedErr()
	}
	for {
		d := atomic.LoadUint64(s.word)
		if d&valueMask == ValueMax {
			return fmt.Errorf("semlock: post %s: %w", s.name, unix.EOVERFLOW)
		}
		if atomic.CompareAndSwapUint64(s.word, d, d+1) {
			if d>>nwaitersShift > 0 {
				futexWake(s.addr, 1)
			}
			return nil
		}
	}
}

// Wait takes a token, sleeping while the value is zero (sem_wait). The
// context's deadline plays the role of sem_timedwait's abstime; when it
// passes the error wraps mpbridge.ErrTimeout and context.DeadlineExceeded.
// Cancellation returns an error wrapping context.Canceled within about
// 50 ms. A token that arrives as the wait ends is taken rather than left
// behind, and a cancelled wait never issues a FUTEX_WAKE.
func (s *Sem) Wait(ctx context.Context) error {
	if s.closed.Load() {
		return s.closedErr()
	}
	if s.tryWait() {
		return nil
	}
	deadline, hasDeadline := ctx.Deadline()
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return s.waitErr(ctx)
		default:
		}
	}

	// Register as a waiter, as glibc's __new_sem_wait_slow64 does, so that
	// any poster (Go or C) issues FUTEX_WAKE.
	d := atomic.AddUint64(s.word, oneWaiter)
	for {
		if d&valueMask != 0 {
			// Take a token and stop being a waiter in one step.
			if atomic.CompareAndSwapUint64(s.word, d, d-1-oneWaiter) {
				return nil
			}
			d = atomic.LoadUint64(s.word)
			continue
		}
		if s.closed.Load() {
			return s.closedErr()
		}
		now := time.Now()
		end := now.Add(idleSlice)
		if done != nil {
			end = now.Add(waitSlice)
			if hasDeadline && deadline.Before(end) {
				end = deadline
			}
			if !end.After(now) || ctx.Err() != nil {
				// Give up: deregister, unless a token arrived meanwhile.
				if atomic.CompareAndSwapUint64(s.word, d, d-oneWaiter) {
					return s.waitErr(ctx)
				}
				d = atomic.LoadUint64(s.word)
				continue
			}
		}
		abs := unix.NsecToTimespec(end.UnixNano())
		// 0, EAGAIN (value changed), EINTR and ETIMEDOUT all lead to a
		// reload: a real wake-up is never discarded, because a woken
		// waiter always looks for a token before it may leave.
		_ = futexWaitBitset(s.addr, 0, &abs)
		d = atomic.LoadUint64(s.word)
	}
}

func (s *Sem) waitErr(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		err = context.DeadlineExceeded
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("semlock: wait %s: %w (%w)", s.name, mpbridge.ErrTimeout, err)
	}
	return fmt.Errorf("semlock: wait %s: %w", s.name, err)
}
