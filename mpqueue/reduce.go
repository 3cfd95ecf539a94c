//go:build linux

package mpqueue

import (
	"fmt"
	"math"
	"os"

	"github.com/mpbridge/mpbridge/mpqueue/semlock"
	"github.com/mpbridge/mpbridge/pickle"
)

// This file holds the pickled form CPython gives these objects while it
// spawns a child (PROTOCOL.md §4.3, §4.4): NEWOBJ of the class with empty
// arguments, then BUILD with the __getstate__ tuple. Connections are
// REDUCE(multiprocessing.connection.rebuild_connection, (df, readable,
// writable)), where df stands for a descriptor the child inherits.

// Pickle globals of the classes involved.
var (
	globalRebuildConnection = pickle.Global{Module: "multiprocessing.connection", Name: "rebuild_connection"}
	globalSpawnDupFd        = pickle.Global{Module: "multiprocessing.popen_spawn_posix", Name: "_DupFd"}
	globalForkserverDupFd   = pickle.Global{Module: "multiprocessing.popen_forkserver", Name: "_DupFd"}
)

func syncGlobal(name string) pickle.Global {
	return pickle.Global{Module: "multiprocessing.synchronize", Name: name}
}

func queuesGlobal(name string) pickle.Global {
	return pickle.Global{Module: "multiprocessing.queues", Name: name}
}

// FdReducer produces the object that stands for descriptor fd in the
// pickle sent to a child (CPython's reduction.DupFd while spawning).
type FdReducer func(fd int) (any, error)

// FdResolver returns the descriptor, in this process, that such an object
// stands for. The queue rebuilt around it takes ownership of it.
type FdResolver func(df any) (int, error)

// SpawnDupFd is the FdReducer of the spawn start method: a
// multiprocessing.popen_spawn_posix._DupFd whose state is {'fd': fd}. The
// child inherits fd under the same number, so the parent must pass it.
func SpawnDupFd(fd int) (any, error) {
	d := pickle.NewDict(1)
	if err := d.Set("fd", int64(fd)); err != nil {
		return nil, err
	}
	return &pickle.Object{Callable: globalSpawnDupFd, Kind: pickle.NewObj, Args: pickle.Tuple{}, State: d, HasState: true}, nil
}

// ExtraFilesReducer is an FdReducer for a child started with
// exec.Cmd.ExtraFiles = files: the descriptor of files[i] is number 3+i in
// the child, and that is the number its pickle names (as spawn's _DupFd).
func ExtraFilesReducer(files ...*os.File) FdReducer {
	return func(fd int) (any, error) {
		for i, f := range files {
			if int(f.Fd()) == fd {
				return SpawnDupFd(3 + i)
			}
		}
		return nil, fmt.Errorf("mpqueue: descriptor %d is not among the child's ExtraFiles", fd)
	}
}

// SpawnFd is the FdResolver for a child started with spawn: the number in
// a popen_spawn_posix._DupFd is the inherited descriptor itself.
// Forkserver's _DupFd holds an index ('ind') into the descriptors sent to
// the fork server; pass a resolver that knows that list for those.
func SpawnFd(df any) (int, error) {
	o, ok := df.(*pickle.Object)
	if !ok || o.Callable != globalSpawnDupFd {
		return -1, fmt.Errorf("mpqueue: %s is not a popen_spawn_posix._DupFd", describe(df))
	}
	return intField(o.State, "fd")
}

// ForkserverIndex returns the index held by a popen_forkserver._DupFd.
func ForkserverIndex(df any) (int, error) {
	o, ok := df.(*pickle.Object)
	if !ok || o.Callable != globalForkserverDupFd {
		return -1, fmt.Errorf("mpqueue: %s is not a popen_forkserver._DupFd", describe(df))
	}
	return intField(o.State, "ind")
}

func intField(state any, key string) (int, error) {
	d, ok := state.(*pickle.Dict)
	if !ok {
		return -1, fmt.Errorf("mpqueue: descriptor state %s is not a dict", describe(state))
	}
	v, ok := d.Get(key)
	if !ok {
		return -1, fmt.Errorf("mpqueue: descriptor state has no %q", key)
	}
	n, ok := v.(int64)
	if !ok || n < 0 || n > math.MaxInt32 {
		return -1, fmt.Errorf("mpqueue: descriptor %s out of range", describe(v))
	}
	return int(n), nil
}

func describe(v any) string { return fmt.Sprintf("%T", v) }

func newObj(g pickle.Global, state any) *pickle.Object {
	return &pickle.Object{Callable: g, Kind: pickle.NewObj, Args: pickle.Tuple{}, State: state, HasState: true}
}

// ReduceConnection is a Connection on fd as CPython pickles it for a
// child: rebuild_connection(df, readable, writable), df made by dup.
func ReduceConnection(fd int, readable, writable bool, dup FdReducer) (*pickle.Object, error) {
	df, err := dup(fd)
	if err != nil {
		return nil, err
	}
	return &pickle.Object{Callable: globalRebuildConnection, Kind: pickle.Reduce, Args: pickle.Tuple{df, readable, writable}}, nil
}

// reduceSemLock is a synchronize.<typ> object with SemLock state.
func reduceSemLock(typ string, st semlock.State) *pickle.Object {
	return newObj(syncGlobal(typ), pickle.Tuple{st.Handle, int64(st.Kind), int64(st.MaxValue), st.Name})
}

// Reduce returns the object's pickled form: NEWOBJ
// multiprocessing.synchronize.<Type> + BUILD (handle, kind, maxvalue, name).
func (b *semBase) Reduce() *pickle.Object { return reduceSemLock(b.typ, b.sl.State()) }

// Reduce returns the Condition's pickled form: NEWOBJ Condition + BUILD
// (lock, sleeping_count, woken_count, wait_semaphore).
func (c *Condition) Reduce() *pickle.Object {
	typ := TypeRLock
	if c.lock.Kind() == semlock.Semaphore {
		typ = TypeLock
	}
	return newObj(syncGlobal(TypeCondition), pickle.Tuple{
		reduceSemLock(typ, c.lock.State()),
		reduceSemLock(TypeSemaphore, c.sleeping.State()),
		reduceSemLock(TypeSemaphore, c.woken.State()),
		reduceSemLock(TypeSemaphore, c.wait.State()),
	})
}

// Reduce returns the Event's pickled form: NEWOBJ Event + BUILD of its
// __dict__, {'_cond': Condition, '_flag': Semaphore}.
func (e *Event) Reduce() *pickle.Object {
	d := pickle.NewDict(2)
	_ = d.Set("_cond", e.cond.Reduce())
	_ = d.Set("_flag", reduceSemLock(TypeSemaphore, e.flag.State()))
	return newObj(syncGlobal(TypeEvent), d)
}

func (pq *pipeQueue) reduceEnds(dup FdReducer) (r, w *pickle.Object, err error) {
	if pq.r == nil {
		return nil, nil, errNoReader
	}
	if r, err = ReduceConnection(pq.readerFd(), true, false, dup); err != nil {
		return nil, nil, err
	}
	if w, err = ReduceConnection(pq.w.Fd(), false, true, dup); err != nil {
		return nil, nil, err
	}
	return r, w, nil
}

func (q *Queue) state(dup FdReducer, opid int) (pickle.Tuple, error) {
	r, w, err := q.reduceEnds(dup)
	if err != nil {
		return nil, err
	}
	return pickle.Tuple{false, int64(q.maxsize), r, w,
		reduceSemLock(TypeLock, q.rlock.State()), reduceSemLock(TypeLock, q.wlock.State()),
		reduceSemLock(TypeBoundedSemaphore, q.sem.State()), int64(opid)}, nil
}

// Reduce returns the queue's pickled form for a child: NEWOBJ
// multiprocessing.queues.Queue + BUILD (ignore_epipe, maxsize, reader,
// writer, rlock, wlock, sem, opid). dup stands for the two pipe ends (e.g.
// SpawnDupFd); opid is the creating process's pid.
func (q *Queue) Reduce(dup FdReducer, opid int) (*pickle.Object, error) {
	st, err := q.state(dup, opid)
	if err != nil {
		return nil, err
	}
	return newObj(queuesGlobal(TypeQueue), st), nil
}

// Reduce returns the pickled form of a JoinableQueue: the Queue state
// followed by (cond, unfinished_tasks).
func (q *JoinableQueue) Reduce(dup FdReducer, opid int) (*pickle.Object, error) {
	st, err := q.state(dup, opid)
	if err != nil {
		return nil, err
	}
	st = append(st, q.cond.Reduce(), reduceSemLock(TypeSemaphore, q.unfinished.State()))
	return newObj(queuesGlobal(TypeJoinableQueue), st), nil
}

// Reduce returns the pickled form of a SimpleQueue: NEWOBJ SimpleQueue +
// BUILD (reader, writer, rlock, wlock).
func (q *SimpleQueue) Reduce(dup FdReducer) (*pickle.Object, error) {
	r, w, err := q.reduceEnds(dup)
	if err != nil {
		return nil, err
	}
	return newObj(queuesGlobal(TypeSimpleQueue), pickle.Tuple{r, w,
		reduceSemLock(TypeLock, q.rlock.State()), reduceSemLock(TypeLock, q.wlock.State())}), nil
}

// ParseHandles reads the pickled form of any of this package's types, as
// decoded by the pickle package without a Find hook (globals stay
// pickle.Global), and returns its Handles. fds resolves the objects that
// stand for pipe ends (SpawnFd for a spawned child); it may be nil when no
// queue is expected.
func ParseHandles(v any, fds FdResolver) (Handles, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return Handles{}, fmt.Errorf("mpqueue: %s is not a pickled object", describe(v))
	}
	g, ok := o.Callable.(pickle.Global)
	if !ok || o.Kind != pickle.NewObj || !o.HasState {
		return Handles{}, fmt.Errorf("mpqueue: not a NEWOBJ+BUILD of a multiprocessing class")
	}
	switch g.Module {
	case "multiprocessing.synchronize":
		return parseSync(g.Name, o.State)
	case "multiprocessing.queues":
		return parseQueue(g.Name, o.State, fds)
	}
	return Handles{}, fmt.Errorf("mpqueue: unsupported class %s", g)
}

func parseSync(name string, state any) (Handles, error) {
	switch name {
	case TypeLock, TypeRLock, TypeSemaphore, TypeBoundedSemaphore:
		st, err := parseSemLockState(state)
		if err != nil {
			return Handles{}, err
		}
		want := semlock.Semaphore
		if name == TypeRLock {
			want = semlock.RecursiveMutex
		}
		if st.Kind != want {
			return Handles{}, fmt.Errorf("mpqueue: %s with kind %v", name, st.Kind)
		}
		return Handles{Type: name, Name: st.Name, MaxValue: st.MaxValue}, nil
	case TypeCondition:
		t, ok := state.(pickle.Tuple)
		if !ok || len(t) != 4 {
			return Handles{}, fmt.Errorf("mpqueue: Condition state is not a 4-tuple")
		}
		lock, err := ParseHandles(t[0], nil)
		if err != nil {
			return Handles{}, err
		}
		if lock.Type != TypeLock && lock.Type != TypeRLock {
			return Handles{}, fmt.Errorf("mpqueue: Condition over a %s", lock.Type)
		}
		h := Handles{Type: TypeCondition, Lock: &lock}
		for i, dst := range []*string{&h.Sleeping, &h.Woken, &h.Wait} {
			if *dst, err = semaphoreName(t[i+1]); err != nil {
				return Handles{}, err
			}
		}
		return h, nil
	case TypeEvent:
		d, ok := state.(*pickle.Dict)
		if !ok {
			return Handles{}, fmt.Errorf("mpqueue: Event state is not a dict")
		}
		cv, _ := d.Get("_cond")
		fv, _ := d.Get("_flag")
		cond, err := ParseHandles(cv, nil)
		if err != nil {
			return Handles{}, err
		}
		if cond.Type != TypeCondition {
			return Handles{}, fmt.Errorf("mpqueue: Event._cond is a %s", cond.Type)
		}
		flag, err := semaphoreName(fv)
		if err != nil {
			return Handles{}, err
		}
		return Handles{Type: TypeEvent, Cond: &cond, Flag: flag}, nil
	}
	return Handles{}, fmt.Errorf("mpqueue: unsupported class multiprocessing.synchronize.%s", name)
}

// semaphoreName parses a pickled Semaphore and returns its name.
func semaphoreName(v any) (string, error) {
	h, err := ParseHandles(v, nil)
	if err != nil {
		return "", err
	}
	if h.Type != TypeSemaphore {
		return "", fmt.Errorf("mpqueue: expected a Semaphore, got a %s", h.Type)
	}
	return h.Name, nil
}

func parseSemLockState(state any) (semlock.State, error) {
	t, ok := state.(pickle.Tuple)
	if !ok || len(t) != 4 {
		return semlock.State{}, fmt.Errorf("mpqueue: SemLock state is not a 4-tuple")
	}
	handle, ok1 := t[0].(int64)
	kind, ok2 := t[1].(int64)
	maxvalue, ok3 := t[2].(int64)
	name, ok4 := t[3].(string)
	if !ok1 || !ok2 || !ok3 {
		return semlock.State{}, fmt.Errorf("mpqueue: SemLock state (%s, %s, %s, ...) is not (int, int, int, str)",
			describe(t[0]), describe(t[1]), describe(t[2]))
	}
	if !ok4 {
		return semlock.State{}, fmt.Errorf("mpqueue: SemLock without a name: created in a fork context, it cannot be shared with another process")
	}
	if kind != int64(semlock.Semaphore) && kind != int64(semlock.RecursiveMutex) {
		return semlock.State{}, fmt.Errorf("mpqueue: SemLock kind %d", kind)
	}
	if maxvalue <= 0 || maxvalue > semlock.ValueMax {
		return semlock.State{}, fmt.Errorf("mpqueue: SemLock maxvalue %d out of range", maxvalue)
	}
	if err := semlock.CheckName(name); err != nil {
		return semlock.State{}, err
	}
	return semlock.State{Handle: handle, Kind: semlock.Kind(kind), MaxValue: int(maxvalue), Name: name}, nil
}

func parseConnection(v any, readable bool, fds FdResolver) (int, error) {
	o, ok := v.(*pickle.Object)
	if !ok || o.Callable != globalRebuildConnection || o.Kind != pickle.Reduce || len(o.Args) != 3 {
		return -1, fmt.Errorf("mpqueue: %s is not a rebuild_connection reduction", describe(v))
	}
	r, ok1 := o.Args[1].(bool)
	w, ok2 := o.Args[2].(bool)
	if !ok1 || !ok2 || r != readable || w == readable {
		return -1, fmt.Errorf("mpqueue: connection has readable=%v writable=%v, want a %s end", o.Args[1], o.Args[2],
			map[bool]string{true: "read", false: "write"}[readable])
	}
	if fds == nil {
		return -1, fmt.Errorf("mpqueue: no descriptor resolver for a pickled connection")
	}
	return fds(o.Args[0])
}

func parseQueue(name string, state any, fds FdResolver) (Handles, error) {
	t, ok := state.(pickle.Tuple)
	if !ok {
		return Handles{}, fmt.Errorf("mpqueue: %s state is not a tuple", name)
	}
	want := map[string]int{TypeSimpleQueue: 4, TypeQueue: 8, TypeJoinableQueue: 10}[name]
	if want == 0 {
		return Handles{}, fmt.Errorf("mpqueue: unsupported class multiprocessing.queues.%s", name)
	}
	if len(t) != want {
		return Handles{}, fmt.Errorf("mpqueue: %s state has %d items, want %d", name, len(t), want)
	}
	h := Handles{Type: name}
	ends := t[0:2]
	if name != TypeSimpleQueue {
		maxsize, ok := t[1].(int64)
		if !ok || maxsize <= 0 || maxsize > semlock.ValueMax {
			return Handles{}, fmt.Errorf("mpqueue: maxsize %v out of range", t[1])
		}
		h.Maxsize = int(maxsize)
		ends = t[2:4]
	}
	var err error
	if h.Reader, err = parseConnection(ends[0], true, fds); err != nil {
		return Handles{}, err
	}
	if h.Writer, err = parseConnection(ends[1], false, fds); err != nil {
		return Handles{}, err
	}
	locks := t[2:4]
	if name != TypeSimpleQueue {
		locks = t[4:6]
	}
	for i, dst := range []*string{&h.RLock, &h.WLock} {
		lh, err := ParseHandles(locks[i], nil)
		if err != nil {
			return Handles{}, err
		}
		if lh.Type != TypeLock {
			return Handles{}, fmt.Errorf("mpqueue: queue lock is a %s", lh.Type)
		}
		*dst = lh.Name
	}
	if name == TypeSimpleQueue {
		return h, nil
	}
	sh, err := ParseHandles(t[6], nil)
	if err != nil {
		return Handles{}, err
	}
	if sh.Type != TypeBoundedSemaphore || sh.MaxValue != h.Maxsize {
		return Handles{}, fmt.Errorf("mpqueue: queue slots are a %s of max %d, want a BoundedSemaphore of %d", sh.Type, sh.MaxValue, h.Maxsize)
	}
	h.Sem = sh.Name
	if name == TypeQueue {
		return h, nil
	}
	ch, err := ParseHandles(t[8], nil)
	if err != nil {
		return Handles{}, err
	}
	if ch.Type != TypeCondition {
		return Handles{}, fmt.Errorf("mpqueue: JoinableQueue._cond is a %s", ch.Type)
	}
	h.Cond = &ch
	if h.Unfinished, err = semaphoreName(t[9]); err != nil {
		return Handles{}, err
	}
	return h, nil
}

// Rebuild rebuilds the object whose pickled form v is (see ParseHandles)
// and returns it: a *Lock, *RLock, *Semaphore, *BoundedSemaphore,
// *Condition, *Event, *Queue, *SimpleQueue or *JoinableQueue.
func Rebuild(v any, fds FdResolver, opts *Options) (any, error) {
	h, err := ParseHandles(v, fds)
	if err != nil {
		return nil, err
	}
	return Attach(h, opts)
}

// Attach opens the object described by h, of any of this package's types.
func Attach(h Handles, opts *Options) (any, error) {
	switch h.Type {
	case TypeLock:
		return AttachLock(h)
	case TypeRLock:
		return AttachRLock(h)
	case TypeSemaphore:
		return AttachSemaphore(h)
	case TypeBoundedSemaphore:
		return AttachBoundedSemaphore(h)
	case TypeCondition:
		return AttachCondition(h)
	case TypeEvent:
		return AttachEvent(h)
	case TypeQueue:
		return AttachQueue(h, opts)
	case TypeSimpleQueue:
		return AttachSimpleQueue(h, opts)
	case TypeJoinableQueue:
		return AttachJoinable(h, opts)
	}
	return nil, fmt.Errorf("mpqueue: unknown handles type %q", h.Type)
}
