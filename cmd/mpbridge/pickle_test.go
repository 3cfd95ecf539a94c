package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/internal/pytest"
)

const golden312 = "../../testdata/pickle/golden/3.12"

// runCmd runs one mpbridge command line in-process with stdin and returns
// the exit status, stdout and stderr.
func runCmd(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := withIO(context.Background(), stdio{in: bytes.NewReader(stdin), out: &out, err: &errb})
	code := run(ctx, args)
	return code, out.String(), errb.String()
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(golden312, name))
	require.NoError(t, err)
	return data
}

func TestHelp(t *testing.T) {
	code, out, _ := runCmd(t, nil, "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "pickle dis|json|recode")

	code, out, _ = runCmd(t, nil, "help", "pickle")
	require.Equal(t, 0, code)
	require.Contains(t, out, "usage: mpbridge pickle")

	code, _, errOut := runCmd(t, nil)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "commands:")

	code, _, errOut = runCmd(t, nil, "no-such-command")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "no-such-command"`)
}

func TestPickleUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"pickle"},
		{"pickle", "frobnicate"},
		{"pickle", "recode", "--protocol", "9"},
		{"pickle", "dis", "a", "b"},
		{"pickle", "json", "--no-such-flag"},
	} {
		code, _, errOut := runCmd(t, nil, args...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
	}
}

func TestPickleDis(t *testing.T) {
	data := readGolden(t, "mgr_req_get_timeout.p4.pickle")
	// stdin and a file argument give the same output
	code, fromStdin, errOut := runCmd(t, data, "pickle", "dis")
	require.Equal(t, 0, code, errOut)
	code, fromFile, errOut := runCmd(t, nil, "pickle", "dis", filepath.Join(golden312, "mgr_req_get_timeout.p4.pickle"))
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fromStdin, fromFile)
	for _, want := range []string{"PROTO", "FRAME", "SHORT_BINUNICODE", "'7fe8313bdb80'", "BINFLOAT", "0.5", "STOP"} {
		require.Contains(t, fromStdin, want)
	}

	code, _, errOut = runCmd(t, []byte("\x80\x04\x95"), "pickle", "dis")
	require.Equal(t, 1, code)
	require.NotEmpty(t, errOut)
}

func TestPickleJSON(t *testing.T) {
	data := readGolden(t, "mgr_req_put_payload.p4.pickle")
	code, out, errOut := runCmd(t, data, "pickle", "json")
	require.Equal(t, 0, code, errOut)
	var v any
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	require.Contains(t, out, "12345")
	require.Contains(t, out, strings.Repeat("x", 400))

	// several pickles in a row: one JSON document per line
	two := append(append([]byte{}, data...), readGolden(t, "mgr_rep_return_none.p4.pickle")...)
	code, out, errOut = runCmd(t, two, "pickle", "json")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[1], "#RETURN")

	code, _, _ = runCmd(t, []byte("garbage"), "pickle", "json")
	require.Equal(t, 1, code)
	code, _, _ = runCmd(t, nil, "pickle", "json")
	require.Equal(t, 1, code, "empty input is an error")
}

func TestPickleRecode(t *testing.T) {
	// Plain data recoded to another protocol gives CPython's bytes at that
	// protocol (set order is kept as decoded, which is the order CPython
	// wrote every protocol in).
	for _, name := range []string{"mgr_req_put_payload", "dict_keys", "recursive_list2", "shared_containers", "list_2500"} {
		p4 := readGolden(t, name+".p4.pickle")
		for _, p := range []string{"0", "1", "2", "3", "5"} {
			code, out, errOut := runCmd(t, p4, "pickle", "recode", "--protocol", p)
			require.Equal(t, 0, code, errOut)
			want := readGolden(t, name+".p"+p+".pickle")
			require.Equal(t, want, []byte(out), "%s recoded to protocol %s", name, p)
		}
	}
	// default protocol 4; several pickles in a row stay separate
	p2 := readGolden(t, "mgr_req_put_payload.p2.pickle")
	code, out, errOut := runCmd(t, append(append([]byte{}, p2...), p2...), "pickle", "recode")
	require.Equal(t, 0, code, errOut)
	p4 := readGolden(t, "mgr_req_put_payload.p4.pickle")
	require.Equal(t, append(append([]byte{}, p4...), p4...), []byte(out))
}

// TestPickleRecodePython checks that Python loads what recode writes, for
// objects outside plain data too.
func TestPickleRecodePython(t *testing.T) {
	for _, py := range pytest.Pick(t) {
		t.Run(py.Version, func(t *testing.T) {
			dir := filepath.Join("../../testdata/pickle/golden", "3."+strconv.Itoa(py.Minor))
			for _, name := range []string{"mgr_rep_proxy", "exc_oserror", "datetime_offset", "plain_recursive"} {
				data, err := os.ReadFile(filepath.Join(dir, name+".p4.pickle"))
				require.NoError(t, err)
				code, out, errOut := runCmd(t, data, "pickle", "recode", "--protocol", "2")
				require.Equal(t, 0, code, errOut)
				src := filepath.Join(t.TempDir(), "in.pickle")
				require.NoError(t, os.WriteFile(src, []byte(out), 0o600))
				res := py.Run(t, `
import pickle, sys, gen_pickle_golden as G
got = pickle.load(open(sys.argv[1], "rb"))
print(G.same(G.CASES[sys.argv[2]].expect(), got))`, src, name)
				require.Equal(t, "True", strings.TrimSpace(string(res)), name)
			}
		})
	}
}
