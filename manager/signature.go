package manager

import (
	"github.com/mpbridge/mpbridge/manager/syncobj"
	"github.com/mpbridge/mpbridge/pickle"
)

// Signature describes the parameters of a Python method so that a Go
// [Object] can bind the (args, kwds) of a request exactly as CPython binds
// them, with CPython's TypeError texts for a wrong call.
type Signature struct {
	// Name is the method name as Python's messages show it, e.g.
	// "Queue.put" (3.10+ qualify it with the class name).
	Name string
	// Params are the parameter names after self, in order.
	Params []string
	// Defaults are the default values of the last len(Defaults) params.
	Defaults []any
}

// Bind returns one value per parameter: the positional arguments, then the
// keyword arguments, then the defaults. A mismatch is a *pickle.Exception
// TypeError worded like CPython's (see syncobj.BindMethod, which does the
// binding).
func (s Signature) Bind(args pickle.Tuple, kwargs *pickle.Dict) ([]any, error) {
	return syncobj.BindMethod(s.Name, s.Params, s.Defaults, args, kwargs)
}
