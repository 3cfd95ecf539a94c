package syncobj

import (
	"fmt"
	"iter"
	"strings"

	"github.com/mpbridge/mpbridge/pickle"
)

// pyfunc describes a method written in Python (threading.Semaphore.acquire,
// managers.Value.__init__) so that a request binds to it as CPython binds
// a call, with CPython's TypeError texts (as 3.10+ word them, with the
// qualified name).
type pyfunc struct {
	name     string   // qualified name, e.g. "Semaphore.acquire"
	params   []string // parameters after self
	defaults []any    // defaults of the last len(defaults) params
	varKw    bool     // accepts **kwargs (returned separately)
	method   bool     // counts self in "takes N positional arguments"
}

// BindMethod binds a call's (args, kwargs) to the parameters (after self)
// of a Python method name, the last len(defaults) of which have defaults,
// as CPython binds a call: one value per parameter, positional arguments
// first, then keywords, then defaults. A mismatch is a *pickle.Exception
// TypeError worded as CPython 3.10+ words it, with the qualified name
// (e.g. "Queue.put() missing 1 required positional argument: 'item'").
func BindMethod(name string, params []string, defaults []any, args pickle.Tuple, kwargs *pickle.Dict) ([]any, error) {
	out, _, err := pyfunc{name: name, params: params, defaults: defaults, method: true}.bind(args, kwargs)
	return out, err
}

// bind returns one value per parameter, and the extra keyword arguments
// when the function takes **kwargs.
func (f pyfunc) bind(args pickle.Tuple, kwargs *pickle.Dict) ([]any, *pickle.Dict, error) {
	n := len(f.params)
	required := n - len(f.defaults)
	if len(args) > n {
		return nil, nil, f.tooMany(len(args))
	}
	out := make([]any, n)
	set := make([]bool, n)
	for i, a := range args {
		out[i], set[i] = a, true
	}
	var extra *pickle.Dict
	if kwargs != nil {
		for k, v := range kwargs.All() {
			name, ok := k.(string)
			if !ok {
				return nil, nil, typeErr("keywords must be strings")
			}
			i := f.index(name)
			if i < 0 {
				if !f.varKw {
					return nil, nil, typeErr("%s() got an unexpected keyword argument '%s'", f.name, name)
				}
				if extra == nil {
					extra = pickle.NewDict(kwargs.Len())
				}
				if err := extra.Set(name, v); err != nil {
					return nil, nil, err
				}
				continue
			}
			if set[i] {
				return nil, nil, typeErr("%s() got multiple values for argument '%s'", f.name, name)
			}
			out[i], set[i] = v, true
		}
	}
	var missing []string
	for i := 0; i < required; i++ {
		if !set[i] {
			missing = append(missing, "'"+f.params[i]+"'")
		}
	}
	if len(missing) > 0 {
		return nil, nil, typeErr("%s() missing %d required positional argument%s: %s",
			f.name, len(missing), plural(len(missing)), joinNames(missing))
	}
	for i := required; i < n; i++ {
		if !set[i] {
			out[i] = f.defaults[i-required]
		}
	}
	return out, extra, nil
}

func (f pyfunc) index(name string) int {
	for i, p := range f.params {
		if p == name {
			return i
		}
	}
	return -1
}

func (f pyfunc) tooMany(given int) error {
	n, self := len(f.params), 0
	if f.method {
		self = 1
	}
	required := n - len(f.defaults) + self
	n += self
	given += self
	if required == n {
		return typeErr("%s() takes %d positional argument%s but %d %s given", f.name, n, plural(n), given, were(given))
	}
	return typeErr("%s() takes from %d to %d positional arguments but %d %s given", f.name, required, n, given, were(given))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func were(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// joinNames joins names as CPython's messages do: 'a' and 'b'; 'a', 'b', and 'c'.
func joinNames(names []string) string {
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + ", and " + names[len(names)-1]
}

// Argument checks worded as CPython's C methods word them.

// noKwargs is "list.pop() takes no keyword arguments".
func noKwargs(name string, kwargs *pickle.Dict) error {
	if kwLen(kwargs) > 0 {
		return typeErr("%s() takes no keyword arguments", name)
	}
	return nil
}

// noArgs is a METH_NOARGS method: "list.reverse() takes no arguments (1 given)".
func noArgs(name string, args pickle.Tuple, kwargs *pickle.Dict) error {
	if err := noKwargs(name, kwargs); err != nil {
		return err
	}
	if len(args) != 0 {
		return typeErr("%s() takes no arguments (%d given)", name, len(args))
	}
	return nil
}

// oneArg is a METH_O method: "list.append() takes exactly one argument (0 given)".
func oneArg(name string, args pickle.Tuple, kwargs *pickle.Dict) (any, error) {
	if err := noKwargs(name, kwargs); err != nil {
		return nil, err
	}
	if len(args) != 1 {
		return nil, typeErr("%s() takes exactly one argument (%d given)", name, len(args))
	}
	return args[0], nil
}

// posArgs is an Argument Clinic positional-only method:
// "pop expected at most 1 argument, got 2", "insert expected 2 arguments, got 1".
// qual is the name used for the keyword message ("list.pop"), short the
// one used for counts ("pop").
func posArgs(qual, short string, args pickle.Tuple, kwargs *pickle.Dict, min, max int) error {
	if err := noKwargs(qual, kwargs); err != nil {
		return err
	}
	n := len(args)
	switch {
	case min == max && n != min:
		return typeErr("%s expected %d argument%s, got %d", short, min, plural(min), n)
	case n < min:
		return typeErr("%s expected at least %d argument%s, got %d", short, min, plural(min), n)
	case n > max:
		return typeErr("%s expected at most %d argument%s, got %d", short, max, plural(max), n)
	}
	return nil
}

// wrapperArgs is a slot wrapper (__getitem__, __len__, ...): "expected 1 argument, got 0".
func wrapperArgs(name string, args pickle.Tuple, kwargs *pickle.Dict, n int) error {
	if kwLen(kwargs) > 0 {
		return typeErr("wrapper %s() takes no keyword arguments", name)
	}
	if len(args) != n {
		return typeErr("expected %d argument%s, got %d", n, plural(n), len(args))
	}
	return nil
}

// kwOnly returns the keyword-only arguments names of kwargs, rejecting
// positional arguments and unknown names:
// "sort() takes no positional arguments", "sort() got an unexpected keyword argument 'x'".
func kwOnly(name string, args pickle.Tuple, kwargs *pickle.Dict, names ...string) ([]any, error) {
	if len(args) > 0 {
		return nil, typeErr("%s() takes no positional arguments", name)
	}
	out := make([]any, len(names))
	if kwargs == nil {
		return out, nil
	}
	for k, v := range kwargs.All() {
		s, _ := k.(string)
		i := -1
		for j, n := range names {
			if n == s {
				i = j
			}
		}
		if i < 0 {
			return nil, typeErr("%s() got an unexpected keyword argument '%s'", name, fmt.Sprint(k))
		}
		out[i] = v
	}
	return out, nil
}

// kwItems iterates over kwargs, which may be nil.
func kwItems(kwargs *pickle.Dict) iter.Seq2[any, any] {
	if kwargs == nil {
		return func(func(any, any) bool) {}
	}
	return kwargs.All()
}

// kwLen is the number of keyword arguments; kwargs may be nil.
func kwLen(kwargs *pickle.Dict) int {
	if kwargs == nil {
		return 0
	}
	return kwargs.Len()
}
