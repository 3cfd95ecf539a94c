package spawn

import (
	"fmt"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/mpqueue"
	"github.com/mpbridge/mpbridge/pickle"
)

// passFunc turns a Go multiprocessing object into the value model CPython
// pickles it as while spawning, with _DupFd objects naming this process's
// descriptors; forChild then renumbers them for the child.
type passFunc func(v any) (any, bool, error)

// passers are tried in order on every argument node; passReducer, the
// catch-all for values that pickle themselves, is tried last.
var passers = []passFunc{passConn}

// childWalker returns a walker converting arguments for a child:
// multiprocessing objects become their spawn-time pickled form and their
// descriptors are added to fds, which numbers them as the child will see
// them. One walker serves all the arguments of a child, so that an object
// passed twice is pickled once.
func childWalker(fds *childFds) *walker {
	w := &walker{}
	w.hook = func(v any, path string) (any, bool, error) {
		for _, p := range append(passers, passReducer) {
			out, ok, err := p(v)
			if err != nil {
				return nil, false, err
			}
			if ok {
				// Renumber the descriptors of the pickled form.
				inner := walker{hook: func(v any, _ string) (any, bool, error) { return renumber(v, fds) }}
				out, err = inner.walk(out, path)
				return out, true, err
			}
		}
		return renumber(v, fds)
	}
	return w
}

// forChild converts one value for a child (see childWalker).
func forChild(v any, fds *childFds) (any, error) { return childWalker(fds).walk(v, "arg") }

// renumber replaces a _DupFd naming a descriptor of this process by one
// naming the child's copy.
func renumber(v any, fds *childFds) (any, bool, error) {
	if _, g, ok := global(v); !ok || g != dupFdClass {
		return nil, false, nil
	}
	fd, err := dupFdNumber(v)
	if err != nil {
		return nil, false, err
	}
	n, err := fds.dup(fd)
	if err != nil {
		return nil, false, err
	}
	df, err := mpqueue.SpawnDupFd(n)
	return df, err == nil, err
}

// passConn passes a descriptor-based *connection.Conn (a Pipe end).
func passConn(v any) (any, bool, error) {
	c, ok := v.(*connection.Conn)
	if !ok {
		return nil, false, nil
	}
	fd := c.Fd()
	if fd < 0 {
		return nil, false, fmt.Errorf("connection has no descriptor to pass")
	}
	o, err := mpqueue.ReduceConnection(fd, c.Readable(), c.Writable(), mpqueue.SpawnDupFd)
	return o, err == nil, err
}

// passReducer expands a value that pickles itself (pickle.Reducer, such as
// the manager package's typed proxies), so that descriptors in its pickled
// form are renumbered for the child too.
func passReducer(v any) (any, bool, error) {
	r, ok := v.(pickle.Reducer)
	if !ok {
		return nil, false, nil
	}
	o, err := r.PickleReduce()
	if err != nil {
		return nil, false, fmt.Errorf("spawn: pickling %T: %w", v, err)
	}
	return o, true, nil
}
