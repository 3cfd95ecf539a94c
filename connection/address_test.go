package connection

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/pickle"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in, network, addr, py string
	}{
		{"127.0.0.1:5000", "tcp", "127.0.0.1:5000", "('127.0.0.1', 5000)"},
		{"localhost:0", "tcp", "localhost:0", "('localhost', 0)"},
		{"[::1]:5000", "tcp", "[::1]:5000", "('::1', 5000)"},
		{":80", "tcp", ":80", "('', 80)"},
		{"/tmp/x.sock", "unix", "/tmp/x.sock", "'/tmp/x.sock'"},
		{"./rel.sock", "unix", "./rel.sock", "'./rel.sock'"},
		{"@mp-demo", "unix", "@mp-demo", `'\x00mp-demo'`},
	} {
		a, err := ParseAddress(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, Address{tc.network, tc.addr}, a)
		require.Equal(t, tc.addr, a.String())
		require.Equal(t, tc.py, a.PythonRepr())
		back, err := ParsePythonAddress(tc.py)
		require.NoError(t, err, tc.py)
		require.Equal(t, a, back)
	}
	for _, bad := range []string{"", "@", "host", "host:port", "host:70000", "1.2.3.4:-1"} {
		_, err := ParseAddress(bad)
		require.Error(t, err, bad)
	}
}

func TestParsePythonAddress(t *testing.T) {
	for in, want := range map[string]Address{
		`('localhost', 6000)`:        {"tcp", "localhost:6000"},
		`("127.0.0.1",6000)`:         {"tcp", "127.0.0.1:6000"},
		`('::1', 6000, 0, 0)`:        {"tcp", "[::1]:6000"},
		`'/tmp/pymp-x/listener-y'`:   {"unix", "/tmp/pymp-x/listener-y"},
		`'\0mp-demo'`:                {"unix", "@mp-demo"},
		`'\x00mp-demo'`:              {"unix", "@mp-demo"},
		`b'\x00mp-demo'`:             {"unix", "@mp-demo"},
		` ( 'h' , 1 ) `:              {"tcp", "h:1"},
		`'it\'s'`:                    {"unix", "it's"},
		`"/with \"quotes\" and \\ "`: {"unix", `/with "quotes" and \ `},
	} {
		got, err := ParsePythonAddress(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{``, `(`, `('h',)`, `('h', 'p')`, `(1, 2)`, `b'/path'`, `'\\\\.\\pipe\\x'`, `'x' y`, `'unterminated`, `('h', 99999)`, `'\q'`, `'\x0'`, `''`, `'\0'`} {
		_, err := ParsePythonAddress(bad)
		require.Error(t, err, bad)
	}
}

func TestAddressHostPort(t *testing.T) {
	a, _ := ParseAddress("[::1]:7")
	h, p, err := a.HostPort()
	require.NoError(t, err)
	require.Equal(t, "::1", h)
	require.Equal(t, 7, p)
	u, _ := ParseAddress("@x")
	require.True(t, u.IsAbstract())
	_, _, err = u.HostPort()
	require.Error(t, err)
}

func TestAddressPythonValues(t *testing.T) {
	for _, s := range []string{"127.0.0.1:5000", "[::1]:80", "/tmp/s", "@abs"} {
		a, err := ParseAddress(s)
		require.NoError(t, err)
		back, err := AddressFromPython(a.Python())
		require.NoError(t, err)
		require.Equal(t, a, back)
		// Through a pickle, as a manager token carries it.
		b, err := pickle.Marshal(a.Python())
		require.NoError(t, err)
		v, err := pickle.Loads(b)
		require.NoError(t, err)
		back, err = AddressFromPython(v)
		require.NoError(t, err)
		require.Equal(t, a, back)
	}
	require.Equal(t, pickle.Tuple{"127.0.0.1", int64(5000)}, Address{"tcp", "127.0.0.1:5000"}.Python())
	require.Equal(t, "\x00abs", Address{"unix", "@abs"}.Python())
	a, err := AddressFromPython([]byte("\x00abs"))
	require.NoError(t, err)
	require.Equal(t, Address{"unix", "@abs"}, a)
	a, err = AddressFromPython(pickle.Tuple{"::1", 80, 0, 0})
	require.NoError(t, err)
	require.Equal(t, Address{"tcp", "[::1]:80"}, a)
	for _, bad := range []any{nil, 5, pickle.Tuple{"h"}, pickle.Tuple{1, 2}, []byte("/p"), ""} {
		_, err := AddressFromPython(bad)
		require.Error(t, err, "%#v", bad)
	}
}
