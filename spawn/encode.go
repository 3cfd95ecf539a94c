package spawn

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/mpbridge/mpbridge/pickle"
)

// Value returns the preparation data in the value model, with the keys in
// the order spawn.get_preparation_data inserts them.
func (p *Preparation) Value() *pickle.Dict {
	d := pickle.NewDict(11)
	d.Set("log_to_stderr", p.LogToStderr)
	if p.Authkey != nil {
		d.Set("authkey", authString(p.Authkey))
	}
	if p.HasLogLevel {
		d.Set("log_level", int64(p.LogLevel))
	}
	d.Set("name", p.Name)
	if p.SysPath != nil {
		d.Set("sys_path", stringList(p.SysPath))
	}
	if p.SysArgv != nil {
		d.Set("sys_argv", stringList(p.SysArgv))
	}
	d.Set("orig_dir", p.OrigDir)
	d.Set("dir", p.Dir)
	d.Set("start_method", p.StartMethod)
	switch {
	case p.InitMainFromName != "":
		d.Set("init_main_from_name", p.InitMainFromName)
	case p.InitMainFromPath != "":
		d.Set("init_main_from_path", p.InitMainFromPath)
	}
	return d
}

// Value returns the process object in the value model: NEWOBJ of the class
// with no arguments, then BUILD with its __dict__ in CPython's attribute
// order.
func (p *ProcessObject) Value() *pickle.Object {
	st := pickle.NewDict(10 + len(p.Extra))
	ident := make(pickle.Tuple, len(p.Identity))
	for i, n := range p.Identity {
		ident[i] = int64(n)
	}
	st.Set("_identity", ident)
	config := p.Config
	if config == nil {
		config = pickle.NewDict(0)
	}
	st.Set("_config", config)
	st.Set("_parent_pid", int64(p.ParentPID))
	st.Set("_parent_name", p.ParentName)
	st.Set("_popen", nil)
	st.Set("_closed", false)
	st.Set("_target", p.Target)
	args := p.Args
	if args == nil {
		args = pickle.Tuple{}
	}
	st.Set("_args", args)
	kwargs := p.Kwargs
	if kwargs == nil {
		kwargs = pickle.NewDict(0)
	}
	st.Set("_kwargs", kwargs)
	st.Set("_name", p.Name)
	for _, kv := range p.Extra {
		st.Set(kv.Key, kv.Value)
	}
	class := p.Class
	if class == (pickle.Global{}) {
		class = spawnProcessClass
	}
	return &pickle.Object{Callable: class, Kind: pickle.NewObj, Args: pickle.Tuple{}, State: st, HasState: true}
}

// EncodePickles returns what a spawn parent writes to the child's pipe:
// the preparation data, then the process object, each a protocol 4 pickle
// as CPython's ForkingPickler makes them.
func EncodePickles(prep *Preparation, proc *ProcessObject) ([]byte, error) {
	a, err := pickle.Dumps(prep.Value(), pickle.DefaultProtocol)
	if err != nil {
		return nil, fmt.Errorf("spawn: pickling preparation data: %w", err)
	}
	b, err := pickle.Dumps(proc.Value(), pickle.DefaultProtocol)
	if err != nil {
		return nil, fmt.Errorf("spawn: pickling process object: %w", err)
	}
	return append(a, b...), nil
}

func stringList(ss []string) *pickle.List {
	l := make(pickle.List, len(ss))
	for i, s := range ss {
		l[i] = s
	}
	return &l
}

func sortStrings(s []string) { slices.Sort(s) }

// pathCache remembers each interpreter's sys.path (keyed by interpreter,
// flags, working directory and the environment variables that change it),
// so that only the first Start of an interpreter pays for asking it.
var pathCache sync.Map

// interpreterPath returns python's sys.path as a `python -c` child sees it,
// with ” replaced by dir as get_preparation_data replaces it by the
// original directory.
func interpreterPath(ctx context.Context, python string, flags, env []string, dir string) ([]string, error) {
	key := strings.Join(append(append([]string{python, dir}, flags...), envSubset(env)...), "\x00")
	if v, ok := pathCache.Load(key); ok {
		return slices.Clone(v.([]string)), nil
	}
	args := append(slices.Clone(flags), "-c", "import sys, json; print(json.dumps(sys.path))")
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("spawn: asking %s for its sys.path: %w", python, err)
	}
	var path []string
	if err := json.Unmarshal(out, &path); err != nil {
		return nil, fmt.Errorf("spawn: %s printed no sys.path: %w", python, err)
	}
	for i, p := range path {
		if p == "" {
			path[i] = dir
		}
	}
	pathCache.Store(key, slices.Clone(path))
	return path, nil
}

// envSubset is the part of env that decides sys.path.
func envSubset(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "PYTHONPATH=") || strings.HasPrefix(kv, "PYTHONHOME=") ||
			strings.HasPrefix(kv, "PYTHONNOUSERSITE=") || strings.HasPrefix(kv, "PYTHONSAFEPATH=") ||
			strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "VIRTUAL_ENV=") {
			out = append(out, kv)
		}
	}
	sortStrings(out)
	return out
}
