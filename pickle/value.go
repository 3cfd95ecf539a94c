package pickle

// This file defines the value model: the Go types that decoding into an any
// yields for Python types without a native Go counterpart. The package doc
// (doc.go) has the complete Python ↔ Go table.

// Tuple is a Python tuple. Its identity is its backing array: two Tuple
// values with the same first element address and length are the same
// Python object, so the encoder memoizes them once. The empty tuple is
// never memoized, as in CPython.
type Tuple []any

// List is a Python list. Lists are handled through *List so that shared
// references and cycles (a list containing itself) survive a round trip.
// The encoder also accepts a plain []any as a list.
type List []any

// ByteArray is a Python bytearray, handled through *ByteArray.
type ByteArray []byte

// Global is a reference to a module-level Python object, usually a class
// or a function, such as builtins.int or collections.OrderedDict. Decoding
// never imports or calls anything: a global stays a Global value.
type Global struct {
	Module string
	Name   string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// ObjectKind records which opcode created an Object, so that the encoder
// writes the object back in the same shape.
type ObjectKind uint8

// The ways a pickle creates an object.
const (
	// Reduce is callable(*args): the REDUCE opcode.
	Reduce ObjectKind = iota
	// NewObj is cls.__new__(cls, *args): the NEWOBJ opcode (protocol 2+).
	NewObj
	// NewObjEx is cls.__new__(cls, *args, **kwargs): NEWOBJ_EX (protocol 4+).
	NewObjEx
	// Inst is the protocol 0 INST opcode: a class named inline, with args
	// taken from the stack since the last MARK.
	Inst
	// Obj is the protocol 1 OBJ opcode: the class and args since the last
	// MARK.
	Obj
)

var kindNames = [...]string{"Reduce", "NewObj", "NewObjEx", "Inst", "Obj"}

// String returns the kind's name.
func (k ObjectKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ObjectKind(?)"
}

// Pair is one key/value pair, as added to an Object by SETITEM(S).
type Pair struct {
	Key, Value any
}

// Object is any Python object the value model has no closer type for: an
// instance of an unknown class, or the result of calling an unknown
// callable. It records how the pickle built the object, and the encoder
// writes it back the same way: Callable and Args (REDUCE, NEWOBJ, INST,
// OBJ), Kwargs (NEWOBJ_EX), then ListItems (APPENDS), DictItems (SETITEMS)
// and finally State (BUILD), which is CPython's order in save_reduce.
//
// Objects are handled through *Object; its identity is the pointer.
type Object struct {
	// Callable is the class or function, usually a Global. For NewObj and
	// NewObjEx it is the class.
	Callable any
	// Kind is the opcode that created the object.
	Kind ObjectKind
	// Args are the positional arguments.
	Args Tuple
	// Kwargs are the keyword arguments of NEWOBJ_EX.
	Kwargs *Dict
	// State is the argument of BUILD (often a *Dict of attributes, or a
	// (dict, slots) Tuple, or whatever __setstate__ accepts).
	State any
	// HasState reports whether a BUILD was applied. It distinguishes a
	// BUILD with state None from no BUILD at all.
	HasState bool
	// ListItems are the items added by APPEND/APPENDS (list subclasses,
	// and objects whose __reduce__ returns a list iterator).
	ListItems []any
	// DictItems are the pairs added by SETITEM/SETITEMS.
	DictItems []Pair
}

// Class returns the Python class of the object when the pickle names it:
// the Callable for NewObj, NewObjEx, Inst and Obj, the first argument for
// copyreg.__newobj__ and copyreg._reconstructor reductions, and otherwise
// the Callable (for REDUCE of a class, the usual case).
func (o *Object) Class() any {
	if o.Kind == Reduce {
		if g, ok := o.Callable.(Global); ok && len(o.Args) > 0 &&
			(g == Global{"copyreg", "__newobj__"} || g == Global{"copyreg", "_reconstructor"} ||
				g == Global{"copyreg", "__newobj_ex__"}) {
			return o.Args[0]
		}
	}
	return o.Callable
}

// PersistentID is a persistent reference (PERSID/BINPERSID) decoded with
// no DecodeOptions.PersistentLoad hook. Encoding it writes the reference
// back.
type PersistentID struct {
	ID any
}
