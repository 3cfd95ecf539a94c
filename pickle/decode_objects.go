package pickle

import (
	"encoding/binary"
	"strconv"
	"unsafe"
)

// Opcodes that build containers, use the memo, and name globals and
// objects.

// ---- containers ----

func (d *decoder) loadEmptyList() error {
	d.push(new(List))
	return nil
}

func (d *decoder) loadAppend() error {
	v, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	if l, ok := (*t).(*List); ok {
		*l = append(*l, v)
		return nil
	}
	o, ok := asObject(*t)
	if !ok {
		return detail(ErrBadValue, "APPEND to %s", typeName(*t))
	}
	o.ListItems = append(o.ListItems, v)
	return nil
}

func (d *decoder) loadAppends() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	if err := d.account(16 * len(items)); err != nil {
		return err
	}
	switch x := (*t).(type) {
	case *List:
		switch l := *x; {
		case len(l) == 0:
			size := len(items)
			if size == batchSize {
				size += d.batchItems(d.pos, opAPPENDS)
			}
			*x = append(make(List, 0, size), items...)
		case len(l)+len(items) > cap(l):
			// Lists come in batches of 1000: double, rather than let
			// append grow by a quarter at every batch.
			grown := make(List, len(l), max(2*len(l), len(l)+len(items)))
			copy(grown, l)
			*x = append(grown, items...)
		default:
			*x = append(l, items...)
		}
	default:
		o, ok := asObject(*t)
		if !ok {
			return detail(ErrBadValue, "APPENDS to %s", typeName(*t))
		}
		o.ListItems = append(o.ListItems, items...)
	}
	return nil
}

func (d *decoder) loadList() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if err := d.account(16 * len(items)); err != nil {
		return err
	}
	l := List(append([]any(nil), items...))
	d.push(&l)
	return nil
}

func (d *decoder) loadEmptyTuple() error {
	d.push(emptyTuple)
	return nil
}

func (d *decoder) loadTuple() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if err := d.account(16 * len(items)); err != nil {
		return err
	}
	if len(items) == 0 {
		d.push(emptyTuple)
		return nil
	}
	t, v := d.box.newTuple(len(items))
	copy(t, items)
	d.push(v)
	return nil
}

func (d *decoder) loadTuple1() error { return d.tupleN(1) }
func (d *decoder) loadTuple2() error { return d.tupleN(2) }
func (d *decoder) loadTuple3() error { return d.tupleN(3) }

func (d *decoder) tupleN(n int) error {
	if len(d.stack)-d.fence < n {
		return ErrStackUnderflow
	}
	t, v := d.box.newTuple(n)
	copy(t, d.stack[len(d.stack)-n:])
	d.stack = d.stack[:len(d.stack)-n]
	d.push(v)
	return nil
}

func (d *decoder) loadEmptyDict() error {
	d.push(new(Dict))
	return nil
}

func (d *decoder) loadDict() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return detail(ErrBadValue, "odd number of items for DICT")
	}
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	dict := NewDict(len(items) / 2)
	for i := 0; i < len(items); i += 2 {
		if err := dict.t.insert(items[i], items[i+1], &d.hs); err != nil {
			return err
		}
	}
	d.push(dict)
	return nil
}

func (d *decoder) loadSetitem() error {
	if len(d.stack)-d.fence < 3 {
		return ErrStackUnderflow
	}
	n := len(d.stack)
	k, v := d.stack[n-2], d.stack[n-1]
	d.stack = d.stack[:n-2]
	return d.setItems(d.stack[n-3], []any{k, v})
}

func (d *decoder) loadSetitems() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return detail(ErrBadValue, "odd number of items for SETITEMS")
	}
	return d.setItems(*t, items)
}

func (d *decoder) setItems(target any, items []any) error {
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	switch x := target.(type) {
	case *Dict:
		if x.t.entries == nil {
			size := len(items)
			if size == 2*batchSize {
				size += d.batchItems(d.pos, opSETITEMS)
			}
			x.t.init(size / 2)
		}
		for i := 0; i < len(items); i += 2 {
			if err := x.t.insert(items[i], items[i+1], &d.hs); err != nil {
				return err
			}
		}
	default:
		o, ok := asObject(target)
		if !ok {
			return detail(ErrBadValue, "SETITEM on %s", typeName(target))
		}
		for i := 0; i < len(items); i += 2 {
			o.DictItems = append(o.DictItems, Pair{items[i], items[i+1]})
		}
	}
	return nil
}

func (d *decoder) loadEmptySet() error {
	d.push(new(Set))
	return nil
}

func (d *decoder) loadAdditems() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	s, ok := (*t).(*Set)
	if !ok {
		return detail(ErrBadValue, "ADDITEMS on %s", typeName(*t))
	}
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	if s.t.entries == nil {
		size := len(items)
		if size == batchSize {
			size += d.batchItems(d.pos, opADDITEMS)
		}
		s.t.init(size)
	}
	for _, it := range items {
		if err := s.t.insert(it, nil, &d.hs); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) loadFrozenset() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if err := d.account(20 * len(items)); err != nil {
		return err
	}
	s := NewFrozenSet(len(items))
	for _, it := range items {
		if err := s.t.insert(it, nil, &d.hs); err != nil {
			return err
		}
	}
	d.push(s)
	return nil
}

// ---- memo opcodes ----

func (d *decoder) loadGet() error        { return d.get(0) }
func (d *decoder) loadBinget() error     { return d.get(1) }
func (d *decoder) loadLongBinget() error { return d.get(4) }
func (d *decoder) loadPut() error        { return d.putArg(0) }
func (d *decoder) loadBinput() error     { return d.putArg(1) }
func (d *decoder) loadLongBinput() error { return d.putArg(4) }

// readIndex reads a memo index: a decimal line (size 0, GET and PUT), one
// byte or four little-endian bytes.
func (d *decoder) readIndex(size int) (uint64, error) {
	switch size {
	case 1:
		c, err := d.readByte()
		return uint64(c), err
	case 4:
		b, err := d.read(4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
	line, err := d.readLine()
	if err != nil {
		return 0, err
	}
	idx, err := strconv.ParseUint(trimSpace(string(line)), 10, 64)
	if err != nil {
		return 0, detail(ErrBadValue, "invalid memo index %q", clip(string(line)))
	}
	return idx, nil
}

func (d *decoder) get(size int) error {
	idx, err := d.readIndex(size)
	if err != nil {
		return err
	}
	return d.memoGet(idx)
}

func (d *decoder) putArg(size int) error {
	idx, err := d.readIndex(size)
	if err != nil {
		return err
	}
	return d.put(idx)
}

func (d *decoder) put(idx uint64) error {
	t, err := d.top()
	if err != nil {
		return err
	}
	return d.memoPut(idx, *t)
}

func (d *decoder) loadMemoize() error {
	n := len(d.stack)
	if n <= d.fence {
		return ErrStackUnderflow
	}
	if d.memoCount == len(d.memo) && d.memoCount < d.maxMemo {
		d.memo = append(d.memo, d.stack[n-1])
		d.memoCount++
		return nil
	}
	return d.memoPut(uint64(d.memoCount), d.stack[n-1])
}

// ---- globals and objects ----

func (d *decoder) loadExt1() error { return d.extArg(1) }
func (d *decoder) loadExt2() error { return d.extArg(2) }
func (d *decoder) loadExt4() error { return d.extArg(4) }

// extArg reads an extension code of size bytes (EXT4's is signed).
func (d *decoder) extArg(size int) error {
	b, err := d.read(size)
	if err != nil {
		return err
	}
	switch size {
	case 1:
		return d.ext(int(b[0]))
	case 2:
		return d.ext(int(binary.LittleEndian.Uint16(b)))
	}
	return d.ext(int(int32(binary.LittleEndian.Uint32(b))))
}

func (d *decoder) ext(code int) error {
	if code <= 0 {
		return detail(ErrBadValue, "EXT specifies code <= 0")
	}
	if d.opts == nil || d.opts.Ext == nil {
		return detail(ErrNoHook, "extension code %d needs DecodeOptions.Ext", code)
	}
	g, err := d.opts.Ext(code)
	if err != nil {
		return err
	}
	v, err := d.findClass(g.Module, g.Name, false)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

func (d *decoder) loadGlobal() error {
	v, err := d.globalArg()
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

// globalArg reads the "module\nname\n" argument of GLOBAL and INST and
// resolves it.
func (d *decoder) globalArg() (any, error) {
	mod, err := d.readLine()
	if err != nil {
		return nil, err
	}
	name, err := d.readLine()
	if err != nil {
		return nil, err
	}
	return d.findClass(d.lineString(mod), d.lineString(name), d.proto < 3)
}

// lineString returns a string for a line of the input (already consumed).
func (d *decoder) lineString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if d.owned {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

func (d *decoder) loadStackGlobal() error {
	name, err := d.pop()
	if err != nil {
		return err
	}
	mod, err := d.pop()
	if err != nil {
		return err
	}
	ms, ok1 := mod.(string)
	ns, ok2 := name.(string)
	if !ok1 || !ok2 {
		return detail(ErrBadValue, "STACK_GLOBAL requires str")
	}
	v, err := d.findClass(ms, ns, d.proto < 3)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

// findClass resolves a global: Python 2 names are mapped as CPython's
// fix_imports does below protocol 3, then DecodeOptions.Find is asked;
// without it the result is a Global.
func (d *decoder) findClass(module, name string, fix bool) (any, error) {
	if fix {
		module, name = fixImportsLoad(module, name)
	}
	if d.opts != nil && d.opts.Find != nil {
		return d.opts.Find(module, name)
	}
	return Global{Module: module, Name: name}, nil
}

func (d *decoder) loadReduce() error {
	args, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	tup, ok := args.(Tuple)
	if !ok {
		return detail(ErrBadValue, "REDUCE arguments must be a tuple, not %s", typeName(args))
	}
	v, err := d.reduce(*t, tup)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (d *decoder) loadBuild() error {
	state, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	o, ok := asObject(*t)
	if !ok {
		return detail(ErrBadValue, "BUILD on %s", typeName(*t))
	}
	o.State, o.HasState = state, true
	return nil
}

func (d *decoder) loadInst() error {
	cls, err := d.globalArg()
	if err != nil {
		return err
	}
	items, err := d.popMark()
	if err != nil {
		return err
	}
	d.push(newObject(cls, Inst, append(Tuple(nil), items...)))
	return nil
}

func (d *decoder) loadObj() error {
	items, err := d.popMark()
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return detail(ErrStackUnderflow, "OBJ without a class")
	}
	d.push(newObject(items[0], Obj, append(Tuple(nil), items[1:]...)))
	return nil
}

func (d *decoder) loadNewobj() error {
	args, err := d.pop()
	if err != nil {
		return err
	}
	t, err := d.top()
	if err != nil {
		return err
	}
	tup, ok := args.(Tuple)
	if !ok {
		return detail(ErrBadValue, "NEWOBJ arguments must be a tuple, not %s", typeName(args))
	}
	*t = newObject(*t, NewObj, tup)
	return nil
}

func (d *decoder) loadNewobjEx() error {
	if len(d.stack)-d.fence < 3 {
		return ErrStackUnderflow
	}
	n := len(d.stack)
	cls, args, kwargs := d.stack[n-3], d.stack[n-2], d.stack[n-1]
	tup, ok := args.(Tuple)
	if !ok {
		return detail(ErrBadValue, "NEWOBJ_EX arguments must be a tuple, not %s", typeName(args))
	}
	kw, ok := kwargs.(*Dict)
	if !ok {
		return detail(ErrBadValue, "NEWOBJ_EX keyword arguments must be a dict, not %s", typeName(kwargs))
	}
	o := newObject(cls, NewObjEx, tup)
	if x, ok := asObject(o); ok {
		x.Kwargs = kw
	}
	d.stack = d.stack[:n-2]
	d.stack[n-3] = o
	return nil
}

// asObject returns the *Object of v: v itself, or the one an *Exception
// embeds.
func asObject(v any) (*Object, bool) {
	switch x := v.(type) {
	case *Object:
		return x, true
	case *Exception:
		return &x.Object, true
	}
	return nil, false
}

// newObject returns an *Object, or an *Exception for exception classes.
func newObject(cls any, kind ObjectKind, args Tuple) any {
	if g, ok := cls.(Global); ok && isExceptionClass(g) {
		return &Exception{Object{Callable: cls, Kind: kind, Args: args}}
	}
	return &Object{Callable: cls, Kind: kind, Args: args}
}

func (d *decoder) loadPersid() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	for _, c := range line {
		if c >= 0x80 {
			return detail(ErrBadValue, "persistent IDs in protocol 0 must be ASCII strings")
		}
	}
	return d.persistent(d.lineString(line))
}

func (d *decoder) loadBinpersid() error {
	pid, err := d.pop()
	if err != nil {
		return err
	}
	return d.persistent(pid)
}

func (d *decoder) persistent(pid any) error {
	if d.opts != nil && d.opts.PersistentLoad != nil {
		v, err := d.opts.PersistentLoad(pid)
		if err != nil {
			return err
		}
		d.push(v)
		return nil
	}
	d.push(PersistentID{ID: pid})
	return nil
}
