package spawn

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCommandLine(t *testing.T) {
	prog := "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=6, pipe_handle=8)"
	tests := []struct {
		name string
		args []string
		want Invocation
		err  bool
	}{
		{"plain program", []string{"w"}, Invocation{Kind: NotPython, TrackerFd: -1, PipeHandle: -1}, false},
		{"user flags", []string{"w", "-v", "serve"}, Invocation{Kind: NotPython, TrackerFd: -1, PipeHandle: -1}, false},
		{"spawn", []string{"w", "-c", prog, ForkFlag},
			Invocation{Kind: SpawnChild, Program: prog, TrackerFd: 6, PipeHandle: 8}, false},
		{"spawn with flags", []string{"w", "-O", "-B", "-s", "-Wignore::DeprecationWarning", "-X", "faulthandler", "-c", prog, ForkFlag},
			Invocation{Kind: SpawnChild, Flags: []string{"-O", "-B", "-s", "-Wignore::DeprecationWarning", "-X", "faulthandler"}, Program: prog, TrackerFd: 6, PipeHandle: 8}, false},
		{"tracker None", []string{"w", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=None, pipe_handle=8)", ForkFlag},
			Invocation{Kind: SpawnChild, Program: "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=None, pipe_handle=8)", TrackerFd: -1, PipeHandle: 8}, false},
		{"frozen", []string{"w", ForkFlag, "tracker_fd=5", "pipe_handle=9"},
			Invocation{Kind: SpawnChild, TrackerFd: 5, PipeHandle: 9, Frozen: true}, false},
		{"resource tracker", []string{"w", "-B", "-c", "from multiprocessing.resource_tracker import main;main(5)"},
			Invocation{Kind: PythonProgram, Flags: []string{"-B"}, Program: "from multiprocessing.resource_tracker import main;main(5)", TrackerFd: -1, PipeHandle: -1}, false},
		{"forkserver", []string{"w", "-c", "from multiprocessing.forkserver import main; main(3, 4, ['__main__'], **{'sys_path': []})"},
			Invocation{Kind: PythonProgram, Program: "from multiprocessing.forkserver import main; main(3, 4, ['__main__'], **{'sys_path': []})", TrackerFd: -1, PipeHandle: -1}, false},
		{"no fork flag", []string{"w", "-c", prog}, Invocation{}, true},
		{"bad fd", []string{"w", "-c", strings.Replace(prog, "8)", "x)", 1), ForkFlag}, Invocation{}, true},
		{"negative fd", []string{"w", "-c", strings.Replace(prog, "8)", "-1)", 1), ForkFlag}, Invocation{}, true},
		{"no pipe", []string{"w", ForkFlag, "tracker_fd=5"}, Invocation{}, true},
		{"unknown keyword", []string{"w", ForkFlag, "pipe_handle=5", "color=3"}, Invocation{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommandLine(tt.args)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCommandLineRoundTrip(t *testing.T) {
	argv := CommandLine("/bin/py", []string{"-B", "-X", "dev"}, 4, 7)
	require.Equal(t, []string{"/bin/py", "-B", "-X", "dev", "-c",
		"from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=4, pipe_handle=7)", ForkFlag}, argv)
	inv, err := ParseCommandLine(argv)
	require.NoError(t, err)
	require.Equal(t, SpawnChild, inv.Kind)
	require.Equal(t, 4, inv.TrackerFd)
	require.Equal(t, 7, inv.PipeHandle)
	require.Equal(t, []string{"-B", "-X", "dev"}, inv.Flags)
	require.Contains(t, CommandLine("p", nil, -1, 3)[2], "tracker_fd=None")
}

// capture is the JSON scripts/spawn_capture.py writes beside each capture.
type capture struct {
	Argv           []string `json:"argv"`
	Fds            map[string]string
	ParentExitcode int      `json:"parent_exitcode"`
	PickleLengths  []int    `json:"pickle_lengths"`
	ParentFlags    []string `json:"parent_flags"`
	PPid           int      `json:"ppid"`
	Tracker        *struct {
		Argv []string `json:"argv"`
	} `json:"tracker_invocation"`
}

// captures returns every testdata/spawn/py3.X/<case>.json with its path
// stem.
func captures(t *testing.T) map[string]capture {
	t.Helper()
	files, err := filepath.Glob("../testdata/spawn/py3.*/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "run scripts/spawn_capture.sh")
	out := map[string]capture{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var c capture
		require.NoError(t, json.Unmarshal(b, &c), f)
		out[strings.TrimSuffix(f, ".json")] = c
	}
	return out
}

func TestParseCapturedCommandLines(t *testing.T) {
	for stem, c := range captures(t) {
		inv, err := ParseCommandLine(c.Argv)
		require.NoError(t, err, stem)
		require.Equal(t, SpawnChild, inv.Kind, stem)
		require.Equal(t, 7, c.ParentExitcode, stem)
		// The pipe handle and tracker fd are open in the child.
		require.Contains(t, c.Fds, strconv.Itoa(inv.PipeHandle), stem)
		require.Contains(t, c.Fds, strconv.Itoa(inv.TrackerFd), stem)
		if strings.HasSuffix(stem, "/flags") {
			require.Equal(t, []string{"-O", "-B", "-s", "-Wignore::DeprecationWarning", "-X", "faulthandler"}, inv.Flags)
		}
		if c.Tracker != nil {
			tr, err := ParseCommandLine(c.Tracker.Argv)
			require.NoError(t, err)
			require.Equal(t, PythonProgram, tr.Kind, stem)
			require.Contains(t, tr.Program, "resource_tracker")
		}
	}
}
