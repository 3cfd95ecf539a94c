package pickle

import (
	"fmt"
	"strings"
)

// Globals and objects: GLOBAL/STACK_GLOBAL, and objects written back in
// the shape they were decoded from (the C pickler's save_reduce).

// saveNewobjExPartial writes cls.__new__(cls, *args, **kwargs) below
// protocol 4 the way CPython does: functools.partial(cls.__new__, cls,
// *args, **kwargs)(), the partial being REDUCE(partial, (func,)) with
// BUILD((func, (cls, *args), kwargs, None)).
func (e *encodeState) saveNewobjExPartial(o *Object) error {
	cls, ok := o.Callable.(Global)
	if !ok {
		return fmt.Errorf("pickle: an object created with NEWOBJ_EX of a %s cannot be written below protocol 4", typeName(o.Callable))
	}
	if err := e.saveGlobal(globalPartial); err != nil {
		return err
	}
	newFunc := Global{cls.Module, cls.Name + ".__new__"}
	if err := e.saveFreshTuple(newFunc); err != nil {
		return err
	}
	e.op(opREDUCE)
	e.memoize(noKey)
	var kw any = o.Kwargs
	if o.Kwargs == nil || o.Kwargs.Len() == 0 {
		kw = nil
	}
	if err := e.saveFreshTuple(newFunc, freshTuple(append([]any{cls}, o.Args...)), kw, nil); err != nil {
		return err
	}
	e.op(opBUILD)
	e.saveEmptyTuple()
	e.op(opREDUCE)
	return nil
}

// freshTuple is a tuple the pickler builds itself, never shared.
type freshTuple []any

var (
	globalPartial = Global{"functools", "partial"}
	globalGetattr = Global{"builtins", "getattr"}
	globalObject  = Global{"builtins", "object"}

	globalReconstructor = Global{"copyreg", "_reconstructor"}
)

func (e *encodeState) saveGlobal(g Global) error {
	if idx, ok := e.globals[g]; ok {
		e.writeGet(idx)
		return nil
	}
	switch {
	case e.proto >= 4:
		if err := e.saveStr(g.Module); err != nil {
			return err
		}
		if err := e.saveStr(g.Name); err != nil {
			return err
		}
		e.op(opSTACK_GLOBAL)
	case isNestedName(g.Name):
		// A nested class below protocol 4, as CPython 3.13 writes it:
		// getattr(getattr(Outer, 'Middle'), 'Inner'), with only the
		// strings and the result memoized. (3.8–3.12 memoized every
		// intermediate global and tuple; see the package doc.)
		path := strings.Split(g.Name, ".")
		for range path[1:] {
			if err := e.saveGlobal(globalGetattr); err != nil {
				return err
			}
			if e.proto < 2 {
				e.op(opMARK)
			}
		}
		if err := e.writeGlobal(g.Module, path[0]); err != nil {
			return err
		}
		for _, attr := range path[1:] {
			if err := e.saveStr(attr); err != nil {
				return err
			}
			if e.proto < 2 {
				e.op(opTUPLE)
			} else {
				e.op(opTUPLE2)
			}
			e.op(opREDUCE)
		}
	default:
		if err := e.writeGlobal(g.Module, g.Name); err != nil {
			return err
		}
	}
	idx := e.memoLen
	e.memoLen++
	e.globals[g] = idx
	e.writePut(idx)
	return nil
}

// isNestedName reports whether name is a dotted path of non-empty names,
// which protocols below 4 write as getattr steps (and the decoder reads
// back as one Global).
func isNestedName(name string) bool {
	if !strings.Contains(name, ".") {
		return false
	}
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return false
		}
	}
	return true
}

// writeGlobal writes a GLOBAL opcode (protocols 0–3).
func (e *encodeState) writeGlobal(module, name string) error {
	if e.proto < 3 {
		m, n := fixImportsSave(module, name)
		if !isASCII(m) || !isASCII(n) {
			return fmt.Errorf("pickle: can't pickle global identifier '%s.%s' using pickle protocol %d", module, name, e.proto)
		}
		module, name = m, n
	}
	if strings.ContainsRune(module, '\n') || strings.ContainsRune(name, '\n') {
		return fmt.Errorf("pickle: global name %q contains a newline", module+"."+name)
	}
	e.op(opGLOBAL)
	e.buf = append(e.buf, module...)
	e.buf = append(e.buf, '\n')
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, '\n')
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// saveObject writes an Object back in the shape it was decoded from (the
// C pickler's save_reduce, or INST/OBJ for protocol 0/1 objects).
func (e *encodeState) saveObject(o *Object, k memoKey) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	switch o.Kind {
	case NewObj, NewObjEx:
		switch {
		case e.proto < 2:
			// What object.__reduce_ex__ gives below protocol 2, for
			// which __getnewargs__ and __getnewargs_ex__ do not exist:
			// copyreg._reconstructor(cls, object, None).
			if err := e.saveGlobal(globalReconstructor); err != nil {
				return err
			}
			if err := e.saveFreshTuple(o.Callable, globalObject, nil); err != nil {
				return err
			}
			e.op(opREDUCE)
		case o.Kind == NewObj:
			if err := e.save(o.Callable); err != nil {
				return err
			}
			if err := e.saveTuple(o.Args); err != nil {
				return err
			}
			e.op(opNEWOBJ)
		case e.proto < 4:
			if err := e.saveNewobjExPartial(o); err != nil {
				return err
			}
		default:
			if err := e.save(o.Callable); err != nil {
				return err
			}
			if err := e.saveTuple(o.Args); err != nil {
				return err
			}
			kw := o.Kwargs
			if kw == nil {
				kw = new(Dict)
			}
			if err := e.save(kw); err != nil {
				return err
			}
			e.op(opNEWOBJ_EX)
		}
	case Inst, Obj:
		g, isGlobal := o.Callable.(Global)
		e.op(opMARK)
		if o.Kind == Obj || !isGlobal {
			if err := e.save(o.Callable); err != nil {
				return err
			}
		}
		for _, a := range o.Args {
			if err := e.save(a); err != nil {
				return err
			}
		}
		if o.Kind == Obj || !isGlobal {
			e.op(opOBJ)
			break
		}
		module, name := g.Module, g.Name
		if e.proto < 3 {
			module, name = fixImportsSave(module, name)
		}
		e.op(opINST)
		e.buf = append(e.buf, module...)
		e.buf = append(e.buf, '\n')
		e.buf = append(e.buf, name...)
		e.buf = append(e.buf, '\n')
	default: // Reduce
		if err := e.save(o.Callable); err != nil {
			return err
		}
		if err := e.saveTuple(o.Args); err != nil {
			return err
		}
		e.op(opREDUCE)
	}
	if idx := e.memo.get(k); idx >= 0 {
		// Recursive: the object was memoized while saving its arguments.
		e.op(opPOP)
		e.writeGet(idx)
		return nil
	}
	e.memoize(k)
	if len(o.ListItems) > 0 {
		if err := e.appendItems(o.ListItems); err != nil {
			return err
		}
	}
	if len(o.DictItems) > 0 {
		if err := e.setItems(o.DictItems); err != nil {
			return err
		}
	}
	if o.HasState || o.State != nil {
		if err := e.save(o.State); err != nil {
			return err
		}
		e.op(opBUILD)
	}
	return nil
}
