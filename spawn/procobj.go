package spawn

import (
	"fmt"
	"math/big"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// Globals the spawn pickles refer to.
var (
	authStringClass   = pickle.Global{Module: "multiprocessing.process", Name: "AuthenticationString"}
	spawnProcessClass = pickle.Global{Module: "multiprocessing.context", Name: "SpawnProcess"}
	dupFdClass        = pickle.Global{Module: "multiprocessing.popen_spawn_posix", Name: "_DupFd"}
)

// Preparation is the first pickle a spawn child reads: the dict made by
// multiprocessing.spawn.get_preparation_data, which the child applies
// (spawn.prepare) before it unpickles the process object.
type Preparation struct {
	LogToStderr bool   // log_to_stderr: the parent called log_to_stderr()
	Authkey     []byte // authkey: the child's current_process().authkey (nil: absent)
	// LogLevel is log_level, present when the parent's multiprocessing
	// logger exists (HasLogLevel).
	LogLevel    int
	HasLogLevel bool
	Name        string   // name: the child's process name
	SysPath     []string // sys_path: replaces the child's sys.path (nil: absent)
	SysArgv     []string // sys_argv: replaces the child's sys.argv (nil: absent)
	OrigDir     string   // orig_dir: process.ORIGINAL_DIR
	Dir         string   // dir: the child chdirs here
	StartMethod string   // start_method: the parent's default start method
	// InitMainFromName / InitMainFromPath: how the child re-imports the
	// parent's __main__ as __mp_main__ (at most one is set).
	InitMainFromName string
	InitMainFromPath string
}

// ProcessObject is the second pickle a spawn child reads: the Process
// instance (multiprocessing.context.SpawnProcess, context.Process or a user
// subclass) rebuilt with NEWOBJ + BUILD of its __dict__.
type ProcessObject struct {
	Class      pickle.Global // the process class
	Identity   []int         // _identity, e.g. [1]
	Config     *pickle.Dict  // _config: authkey, semprefix, daemon?, tempdir?
	ParentPID  int           // _parent_pid
	ParentName string        // _parent_name
	// Target is _target: a pickle.Global for a function pickled by
	// reference, nil for a subclass that overrides run(), or any other
	// value model value.
	Target any
	Args   pickle.Tuple // _args
	Kwargs *pickle.Dict // _kwargs
	Name   string       // _name
	// Extra holds the attributes a user subclass adds, in order.
	Extra []pickle.Pair
}

// Authkey returns _config['authkey'].
func (p *ProcessObject) Authkey() []byte {
	if p.Config == nil {
		return nil
	}
	v, _ := p.Config.Get("authkey")
	b, _ := authkeyBytes(v)
	return b
}

// Daemon reports _config['daemon'].
func (p *ProcessObject) Daemon() bool {
	if p.Config == nil {
		return false
	}
	v, _ := p.Config.Get("daemon")
	b, _ := v.(bool)
	return b
}

// TargetName is the target's Python name, "module.qualname", or "" when
// the target is not a global reference.
func (p *ProcessObject) TargetName() string {
	if g, ok := p.Target.(pickle.Global); ok {
		return g.Module + "." + g.Name
	}
	return ""
}

// corrupt wraps a description of malformed spawn data.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("spawn: "+format+": %w", append(args, mpbridge.ErrCorrupt)...)
}

// DecodePreparation reads the preparation data from its value model (a
// dict with str keys). Unknown keys are ignored, as spawn.prepare does.
func DecodePreparation(v any) (*Preparation, error) {
	d, ok := v.(*pickle.Dict)
	if !ok {
		return nil, corrupt("preparation data is %T, not a dict", v)
	}
	p := &Preparation{}
	for k, val := range d.All() {
		key, ok := k.(string)
		if !ok {
			return nil, corrupt("preparation data key %v is not a str", k)
		}
		var err error
		switch key {
		case "log_to_stderr":
			p.LogToStderr, err = asBool(val, key)
		case "authkey":
			p.Authkey, err = authkeyBytes(val)
		case "log_level":
			var n int
			n, err = asInt(val, key)
			p.LogLevel, p.HasLogLevel = n, true
		case "name":
			p.Name, err = asString(val, key)
		case "sys_path":
			p.SysPath, err = asStrings(val, key)
		case "sys_argv":
			p.SysArgv, err = asStrings(val, key)
		case "orig_dir":
			if val != nil {
				p.OrigDir, err = asString(val, key)
			}
		case "dir":
			p.Dir, err = asString(val, key)
		case "start_method":
			if val != nil {
				p.StartMethod, err = asString(val, key)
			}
		case "init_main_from_name":
			p.InitMainFromName, err = asString(val, key)
		case "init_main_from_path":
			p.InitMainFromPath, err = asString(val, key)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// DecodeProcessObject reads the process object from its value model.
func DecodeProcessObject(v any) (*ProcessObject, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, corrupt("process object is %T, not an object", v)
	}
	cls, ok := o.Callable.(pickle.Global)
	if !ok {
		return nil, corrupt("process object class is %T, not a global", o.Callable)
	}
	st, ok := o.State.(*pickle.Dict)
	if !o.HasState || !ok {
		return nil, corrupt("process object %s.%s has no __dict__ state", cls.Module, cls.Name)
	}
	p := &ProcessObject{Class: cls, Kwargs: pickle.NewDict(0)}
	for k, val := range st.All() {
		key, ok := k.(string)
		if !ok {
			return nil, corrupt("process attribute %v is not a str", k)
		}
		var err error
		switch key {
		case "_identity":
			p.Identity, err = asInts(val, key)
		case "_config":
			p.Config, ok = val.(*pickle.Dict)
			if !ok {
				err = corrupt("_config is %T, not a dict", val)
			}
		case "_parent_pid":
			p.ParentPID, err = asInt(val, key)
		case "_parent_name":
			p.ParentName, err = asString(val, key)
		case "_target":
			p.Target = val
		case "_args":
			switch a := val.(type) {
			case pickle.Tuple:
				p.Args = a
			case *pickle.List:
				p.Args = pickle.Tuple(*a)
			default:
				err = corrupt("_args is %T, not a tuple", val)
			}
		case "_kwargs":
			p.Kwargs, ok = val.(*pickle.Dict)
			if !ok {
				err = corrupt("_kwargs is %T, not a dict", val)
			}
		case "_name":
			p.Name, err = asString(val, key)
		case "_popen", "_closed":
		default:
			p.Extra = append(p.Extra, pickle.Pair{Key: key, Value: val})
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// authkeyBytes reads an AuthenticationString (REDUCE of the class with one
// bytes argument), or plain bytes.
func authkeyBytes(v any) ([]byte, error) {
	switch a := v.(type) {
	case []byte:
		return a, nil
	case *pickle.Object:
		if g, ok := a.Callable.(pickle.Global); ok && g == authStringClass && len(a.Args) == 1 {
			if b, ok := a.Args[0].([]byte); ok {
				return b, nil
			}
		}
	}
	return nil, corrupt("authkey is %T, not an AuthenticationString", v)
}

// authString is the value model of AuthenticationString(key).
func authString(key []byte) *pickle.Object {
	return &pickle.Object{Callable: authStringClass, Kind: pickle.Reduce, Args: pickle.Tuple{key}}
}

func asBool(v any, what string) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, corrupt("%s is %T, not a bool", what, v)
	}
	return b, nil
}

func asString(v any, what string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", corrupt("%s is %T, not a str", what, v)
	}
	return s, nil
}

func asInt(v any, what string) (int, error) {
	switch n := v.(type) {
	case int64:
		if int64(int(n)) == n {
			return int(n), nil
		}
	case *big.Int:
		if n.IsInt64() && int64(int(n.Int64())) == n.Int64() {
			return int(n.Int64()), nil
		}
	case bool:
		if n {
			return 1, nil
		}
		return 0, nil
	}
	return 0, corrupt("%s is %T, not an int", what, v)
}

func items(v any) ([]any, bool) {
	switch s := v.(type) {
	case pickle.Tuple:
		return s, true
	case *pickle.List:
		return *s, true
	case []any:
		return s, true
	}
	return nil, false
}

func asStrings(v any, what string) ([]string, error) { return asSlice(v, what, asString) }

func asInts(v any, what string) ([]int, error) { return asSlice(v, what, asInt) }

// asSlice converts a tuple or list with conv, item by item.
func asSlice[T any](v any, what string, conv func(any, string) (T, error)) ([]T, error) {
	xs, ok := items(v)
	if !ok {
		return nil, corrupt("%s is %T, not a list or tuple", what, v)
	}
	out := make([]T, len(xs))
	for i, x := range xs {
		var err error
		if out[i], err = conv(x, what); err != nil {
			return nil, err
		}
	}
	return out, nil
}
