package connection

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Address is an endpoint in the one textual form used by every API and
// command-line flag of mpbridge:
//
//	HOST:PORT   TCP, e.g. 127.0.0.1:5000, localhost:0, [::1]:5000
//	/path       a Unix socket in the file system (also ./path, ../path)
//	@name       a Linux abstract Unix socket (Python: '\0name')
//
// Network is "tcp" or "unix"; Addr is the textual form, which is also what
// net.Dial and net.Listen expect for that network (Go writes abstract names
// with a leading '@').
type Address struct {
	Network string // "tcp" or "unix"
	Addr    string // HOST:PORT, /path or @name
}

// ParseAddress parses the textual form.
func ParseAddress(s string) (Address, error) {
	switch {
	case s == "":
		return Address{}, errors.New("connection: empty address")
	case s[0] == '@':
		if len(s) == 1 {
			return Address{}, errors.New("connection: empty abstract socket name")
		}
		return Address{Network: "unix", Addr: s}, nil
	case s[0] == '/' || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../"):
		return Address{Network: "unix", Addr: s}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Address{}, fmt.Errorf("connection: address %q is neither HOST:PORT, /path nor @name: %w", s, err)
	}
	if _, err := parsePort(port); err != nil {
		return Address{}, fmt.Errorf("connection: address %q: %w", s, err)
	}
	return Address{Network: "tcp", Addr: net.JoinHostPort(host, port)}, nil
}

func parsePort(p string) (int, error) {
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", p)
	}
	return int(n), nil
}

// String returns the textual form.
func (a Address) String() string { return a.Addr }

// IsAbstract reports whether a names a Linux abstract Unix socket.
func (a Address) IsAbstract() bool {
	return a.Network == "unix" && strings.HasPrefix(a.Addr, "@")
}

// HostPort splits a TCP address into host and port.
func (a Address) HostPort() (host string, port int, err error) {
	if a.Network != "tcp" {
		return "", 0, fmt.Errorf("connection: %s is not a TCP address", a)
	}
	h, p, err := net.SplitHostPort(a.Addr)
	if err != nil {
		return "", 0, err
	}
	n, err := parsePort(p)
	return h, n, err
}

// addressOf converts a net.Addr (a listener's or a connection's) into an
// Address.
func addressOf(na net.Addr) Address {
	switch a := na.(type) {
	case *net.TCPAddr:
		return Address{Network: "tcp", Addr: a.String()}
	case *net.UnixAddr:
		return Address{Network: "unix", Addr: a.Name}
	}
	return Address{Network: na.Network(), Addr: na.String()}
}

// PythonRepr formats a as the Python expression multiprocessing uses for it:
// ('127.0.0.1', 5000), '/tmp/sock' or '\x00name'.
func (a Address) PythonRepr() string {
	switch {
	case a.Network == "tcp":
		h, p, err := a.HostPort()
		if err != nil {
			return pyStrRepr(a.Addr)
		}
		return fmt.Sprintf("(%s, %d)", pyStrRepr(h), p)
	case a.IsAbstract():
		return pyStrRepr("\x00" + a.Addr[1:])
	}
	return pyStrRepr(a.Addr)
}

// ParsePythonAddress parses the Python form of an address as printed by
// Python (repr) or written in Python source: a tuple ('host', port) (or an
// IPv6 4-tuple), a str path, or a str or bytes abstract name starting with
// a NUL ('\0name', b'\x00name').
func ParsePythonAddress(s string) (Address, error) {
	p := &pyLitParser{s: s}
	v, err := p.value()
	if err == nil {
		p.space()
		if p.i != len(p.s) {
			err = p.errorf("trailing text")
		}
	}
	if err != nil {
		return Address{}, fmt.Errorf("connection: Python address %q: %w", s, err)
	}
	return fromPyLit(v)
}

// fromPyLit converts a parsed literal: string, []byte or []any of them and
// int64s.
func fromPyLit(v any) (Address, error) {
	switch x := v.(type) {
	case string:
		return fromPyPath(x)
	case []byte:
		if len(x) == 0 || x[0] != 0 {
			return Address{}, fmt.Errorf("connection: bytes address %q is not an abstract socket name", x)
		}
		return fromPyPath(string(x))
	case []any:
		if len(x) != 2 && len(x) != 4 {
			return Address{}, fmt.Errorf("connection: address tuple of %d items (want (host, port))", len(x))
		}
		host, ok := x[0].(string)
		if !ok {
			return Address{}, fmt.Errorf("connection: address host %v is not a str", x[0])
		}
		port, ok := x[1].(int64)
		if !ok || port < 0 || port > 65535 {
			return Address{}, fmt.Errorf("connection: address port %v is not a port number", x[1])
		}
		return Address{Network: "tcp", Addr: net.JoinHostPort(host, strconv.FormatInt(port, 10))}, nil
	}
	return Address{}, fmt.Errorf("connection: %T is not a multiprocessing address", v)
}

func fromPyPath(s string) (Address, error) {
	switch {
	case s == "":
		return Address{}, errors.New("connection: empty address")
	case s[0] == 0:
		if len(s) == 1 {
			return Address{}, errors.New("connection: empty abstract socket name")
		}
		return Address{Network: "unix", Addr: "@" + s[1:]}, nil
	case strings.HasPrefix(s, `\\`):
		return Address{}, fmt.Errorf("connection: %q is a Windows named pipe", s)
	}
	return Address{Network: "unix", Addr: s}, nil
}
