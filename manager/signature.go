package manager

import (
	"fmt"

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
// TypeError worded like CPython's.
func (s Signature) Bind(args pickle.Tuple, kwargs *pickle.Dict) ([]any, error) {
	n := len(s.Params)
	required := n - len(s.Defaults)
	if len(args) > n {
		return nil, typeError(s.tooMany(len(args)))
	}
	out := make([]any, n)
	set := make([]bool, n)
	for i, a := range args {
		out[i], set[i] = a, true
	}
	if kwargs != nil {
		for k, v := range kwargs.All() {
			name, ok := k.(string)
			if !ok {
				return nil, typeError("keywords must be strings")
			}
			i := s.index(name)
			if i < 0 {
				return nil, typeError(fmt.Sprintf("%s() got an unexpected keyword argument '%s'", s.Name, name))
			}
			if set[i] {
				return nil, typeError(fmt.Sprintf("%s() got multiple values for argument '%s'", s.Name, name))
			}
			out[i], set[i] = v, true
		}
	}
	var missing []string
	for i := 0; i < required; i++ {
		if !set[i] {
			missing = append(missing, "'"+s.Params[i]+"'")
		}
	}
	if len(missing) > 0 {
		return nil, typeError(fmt.Sprintf("%s() missing %d required positional argument%s: %s",
			s.Name, len(missing), plural(len(missing)), joinPython(missing)))
	}
	for i := required; i < n; i++ {
		if !set[i] {
			out[i] = s.Defaults[i-required]
		}
	}
	return out, nil
}

func (s Signature) index(name string) int {
	for i, p := range s.Params {
		if p == name {
			return i
		}
	}
	return -1
}

// tooMany is CPython's message; counts include self.
func (s Signature) tooMany(given int) string {
	n := len(s.Params) + 1
	required := n - len(s.Defaults)
	if required == n {
		return fmt.Sprintf("%s() takes %d positional argument%s but %d were given", s.Name, n, plural(n), given+1)
	}
	return fmt.Sprintf("%s() takes from %d to %d positional arguments but %d were given", s.Name, required, n, given+1)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// joinPython joins names as CPython does: 'a', 'a' and 'b', 'a', 'b', and 'c'.
func joinPython(names []string) string {
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	s := ""
	for i, n := range names {
		switch {
		case i == len(names)-1:
			s += ", and " + n
		case i > 0:
			s += ", " + n
		default:
			s += n
		}
	}
	return s
}

func typeError(msg string) *pickle.Exception {
	return pickle.NewException("builtins", "TypeError", msg)
}
