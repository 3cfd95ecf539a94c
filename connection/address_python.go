package connection

import (
	"fmt"

	"github.com/mpbridge/mpbridge/pickle"
)

// Python returns a as the value multiprocessing uses for it, ready to
// pickle: pickle.Tuple{"host", int64(port)} for TCP, the path as a string
// for a Unix socket, "\x00name" for an abstract one.
func (a Address) Python() any {
	switch {
	case a.Network == "tcp":
		h, p, err := a.HostPort()
		if err != nil {
			return a.Addr
		}
		return pickle.Tuple{h, int64(p)}
	case a.IsAbstract():
		return "\x00" + a.Addr[1:]
	}
	return a.Addr
}

// AddressFromPython converts an address as Python has it (for example a
// listener's address in a manager's token): a (host, port) tuple or list
// (or an IPv6 4-tuple), a str path, or a str or bytes abstract name
// starting with NUL.
func AddressFromPython(v any) (Address, error) {
	switch x := v.(type) {
	case pickle.Tuple:
		return fromPyLit(pyItems(x))
	case []any:
		return fromPyLit(pyItems(x))
	case *pickle.List:
		if x == nil {
			break
		}
		return fromPyLit(pyItems(*x))
	case string, []byte:
		return fromPyLit(x)
	}
	return Address{}, fmt.Errorf("connection: %T is not a multiprocessing address", v)
}

// pyItems normalises the integers of a decoded tuple to int64.
func pyItems(items []any) []any {
	out := make([]any, len(items))
	for i, it := range items {
		switch n := it.(type) {
		case int:
			out[i] = int64(n)
		case int32:
			out[i] = int64(n)
		case uint16:
			out[i] = int64(n)
		default:
			out[i] = it
		}
	}
	return out
}
