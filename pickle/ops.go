package pickle

import (
	"bytes"
	"encoding/binary"
	"math"
)

// The opcodes of protocols 0–5, as in CPython's pickletools.opcodes.
const (
	opINT              = 0x49 // 'I'
	opBININT           = 0x4a // 'J'
	opBININT1          = 0x4b // 'K'
	opBININT2          = 0x4d // 'M'
	opLONG             = 0x4c // 'L'
	opLONG1            = 0x8a // '\x8a'
	opLONG4            = 0x8b // '\x8b'
	opSTRING           = 0x53 // 'S'
	opBINSTRING        = 0x54 // 'T'
	opSHORT_BINSTRING  = 0x55 // 'U'
	opBINBYTES         = 0x42 // 'B'
	opSHORT_BINBYTES   = 0x43 // 'C'
	opBINBYTES8        = 0x8e // '\x8e'
	opBYTEARRAY8       = 0x96 // '\x96'
	opNEXT_BUFFER      = 0x97 // '\x97'
	opREADONLY_BUFFER  = 0x98 // '\x98'
	opNONE             = 0x4e // 'N'
	opNEWTRUE          = 0x88 // '\x88'
	opNEWFALSE         = 0x89 // '\x89'
	opUNICODE          = 0x56 // 'V'
	opSHORT_BINUNICODE = 0x8c // '\x8c'
	opBINUNICODE       = 0x58 // 'X'
	opBINUNICODE8      = 0x8d // '\x8d'
	opFLOAT            = 0x46 // 'F'
	opBINFLOAT         = 0x47 // 'G'
	opEMPTY_LIST       = 0x5d // ']'
	opAPPEND           = 0x61 // 'a'
	opAPPENDS          = 0x65 // 'e'
	opLIST             = 0x6c // 'l'
	opEMPTY_TUPLE      = 0x29 // ')'
	opTUPLE            = 0x74 // 't'
	opTUPLE1           = 0x85 // '\x85'
	opTUPLE2           = 0x86 // '\x86'
	opTUPLE3           = 0x87 // '\x87'
	opEMPTY_DICT       = 0x7d // '}'
	opDICT             = 0x64 // 'd'
	opSETITEM          = 0x73 // 's'
	opSETITEMS         = 0x75 // 'u'
	opEMPTY_SET        = 0x8f // '\x8f'
	opADDITEMS         = 0x90 // '\x90'
	opFROZENSET        = 0x91 // '\x91'
	opPOP              = 0x30 // '0'
	opDUP              = 0x32 // '2'
	opMARK             = 0x28 // '('
	opPOP_MARK         = 0x31 // '1'
	opGET              = 0x67 // 'g'
	opBINGET           = 0x68 // 'h'
	opLONG_BINGET      = 0x6a // 'j'
	opPUT              = 0x70 // 'p'
	opBINPUT           = 0x71 // 'q'
	opLONG_BINPUT      = 0x72 // 'r'
	opMEMOIZE          = 0x94 // '\x94'
	opEXT1             = 0x82 // '\x82'
	opEXT2             = 0x83 // '\x83'
	opEXT4             = 0x84 // '\x84'
	opGLOBAL           = 0x63 // 'c'
	opSTACK_GLOBAL     = 0x93 // '\x93'
	opREDUCE           = 0x52 // 'R'
	opBUILD            = 0x62 // 'b'
	opINST             = 0x69 // 'i'
	opOBJ              = 0x6f // 'o'
	opNEWOBJ           = 0x81 // '\x81'
	opNEWOBJ_EX        = 0x92 // '\x92'
	opPROTO            = 0x80 // '\x80'
	opSTOP             = 0x2e // '.'
	opFRAME            = 0x95 // '\x95'
	opPERSID           = 0x50 // 'P'
	opBINPERSID        = 0x51 // 'Q'
)

// argKind is the layout of an opcode's argument, named after pickletools'
// ArgumentDescriptors.
type argKind uint8

const (
	argNone                 argKind = iota
	argUint1                        // 1-byte unsigned
	argUint2                        // 2-byte little-endian unsigned
	argInt4                         // 4-byte little-endian signed
	argUint4                        // 4-byte little-endian unsigned
	argUint8                        // 8-byte little-endian unsigned
	argFloat8                       // 8-byte big-endian IEEE 754 double
	argLong1                        // 1-byte length, then two's complement little-endian bytes
	argLong4                        // 4-byte signed length, then the bytes
	argDecimalnlShort               // decimal digits up to a newline
	argDecimalnlLong                // decimal digits, optional L, newline
	argStringnl                     // a quoted Python 2 str literal up to a newline
	argStringnlNoescape             // raw text up to a newline
	argStringnlNoescapePair         // two newline-terminated lines
	argUnicodestringnl              // raw-unicode-escape text up to a newline
	argFloatnl                      // a float literal up to a newline
	argString1                      // 1-byte length, then bytes
	argString4                      // 4-byte signed length, then bytes
	argBytes1                       // 1-byte length, then bytes
	argBytes4                       // 4-byte unsigned length, then bytes
	argBytes8                       // 8-byte unsigned length, then bytes
	argBytearray8                   // 8-byte unsigned length, then bytes
	argUnicodestring1               // 1-byte length, then UTF-8
	argUnicodestring4               // 4-byte unsigned length, then UTF-8
	argUnicodestring8               // 8-byte unsigned length, then UTF-8
)

// argLayouts describes how to find the end of each kind of argument:
// fixed is a fixed size, lines a number of newline-terminated lines, and
// lenSize the size of a little-endian length prefix (signed if signedLen).
var argLayouts = [...]struct {
	fixed, lines, lenSize int
	signedLen             bool
}{
	argUint1: {fixed: 1}, argUint2: {fixed: 2}, argInt4: {fixed: 4}, argUint4: {fixed: 4},
	argUint8: {fixed: 8}, argFloat8: {fixed: 8},
	argLong1: {lenSize: 1}, argLong4: {lenSize: 4, signedLen: true},
	argDecimalnlShort: {lines: 1}, argDecimalnlLong: {lines: 1}, argStringnl: {lines: 1},
	argStringnlNoescape: {lines: 1}, argStringnlNoescapePair: {lines: 2},
	argUnicodestringnl: {lines: 1}, argFloatnl: {lines: 1},
	argString1: {lenSize: 1}, argString4: {lenSize: 4, signedLen: true},
	argBytes1: {lenSize: 1}, argBytes4: {lenSize: 4}, argBytes8: {lenSize: 8},
	argBytearray8:     {lenSize: 8},
	argUnicodestring1: {lenSize: 1}, argUnicodestring4: {lenSize: 4}, argUnicodestring8: {lenSize: 8},
}

// opInfo describes one opcode: its name, argument, the protocol that
// introduced it, and its stack effect (Pop items are taken, of which the
// one at index MarkAt, if not -1, is a MARK followed by a stack slice; Push
// items are pushed, a MARK if PushMark). Doc is the first line of
// pickletools' description.
type opInfo struct {
	Name     string
	Arg      argKind
	Proto    int
	Pop      int
	MarkAt   int
	Push     int
	PushMark bool
	Doc      string
}

// opTable is indexed by opcode byte; entries with an empty Name are not
// opcodes (see lookupOp).
var opTable = [256]opInfo{
	opINT:              {Name: "INT", Arg: argDecimalnlShort, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an integer or bool."},
	opBININT:           {Name: "BININT", Arg: argInt4, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a four-byte signed integer."},
	opBININT1:          {Name: "BININT1", Arg: argUint1, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a one-byte unsigned integer."},
	opBININT2:          {Name: "BININT2", Arg: argUint2, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a two-byte unsigned integer."},
	opLONG:             {Name: "LONG", Arg: argDecimalnlLong, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a long integer."},
	opLONG1:            {Name: "LONG1", Arg: argLong1, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Long integer using one-byte length."},
	opLONG4:            {Name: "LONG4", Arg: argLong4, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Long integer using four-byte length."},
	opSTRING:           {Name: "STRING", Arg: argStringnl, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python string object."},
	opBINSTRING:        {Name: "BINSTRING", Arg: argString4, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python string object."},
	opSHORT_BINSTRING:  {Name: "SHORT_BINSTRING", Arg: argString1, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python string object."},
	opBINBYTES:         {Name: "BINBYTES", Arg: argBytes4, Proto: 3, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python bytes object."},
	opSHORT_BINBYTES:   {Name: "SHORT_BINBYTES", Arg: argBytes1, Proto: 3, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python bytes object."},
	opBINBYTES8:        {Name: "BINBYTES8", Arg: argBytes8, Proto: 4, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python bytes object."},
	opBYTEARRAY8:       {Name: "BYTEARRAY8", Arg: argBytearray8, Proto: 5, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python bytearray object."},
	opNEXT_BUFFER:      {Name: "NEXT_BUFFER", Arg: argNone, Proto: 5, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an out-of-band buffer object."},
	opREADONLY_BUFFER:  {Name: "READONLY_BUFFER", Arg: argNone, Proto: 5, Pop: 1, MarkAt: -1, Push: 1, PushMark: false, Doc: "Make an out-of-band buffer object read-only."},
	opNONE:             {Name: "NONE", Arg: argNone, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push None on the stack."},
	opNEWTRUE:          {Name: "NEWTRUE", Arg: argNone, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push True onto the stack."},
	opNEWFALSE:         {Name: "NEWFALSE", Arg: argNone, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push False onto the stack."},
	opUNICODE:          {Name: "UNICODE", Arg: argUnicodestringnl, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python Unicode string object."},
	opSHORT_BINUNICODE: {Name: "SHORT_BINUNICODE", Arg: argUnicodestring1, Proto: 4, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python Unicode string object."},
	opBINUNICODE:       {Name: "BINUNICODE", Arg: argUnicodestring4, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python Unicode string object."},
	opBINUNICODE8:      {Name: "BINUNICODE8", Arg: argUnicodestring8, Proto: 4, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a Python Unicode string object."},
	opFLOAT:            {Name: "FLOAT", Arg: argFloatnl, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Newline-terminated decimal float literal."},
	opBINFLOAT:         {Name: "BINFLOAT", Arg: argFloat8, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Float stored in binary form, with 8 bytes of data."},
	opEMPTY_LIST:       {Name: "EMPTY_LIST", Arg: argNone, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an empty list."},
	opAPPEND:           {Name: "APPEND", Arg: argNone, Proto: 0, Pop: 2, MarkAt: -1, Push: 1, PushMark: false, Doc: "Append an object to a list."},
	opAPPENDS:          {Name: "APPENDS", Arg: argNone, Proto: 1, Pop: 3, MarkAt: 1, Push: 1, PushMark: false, Doc: "Extend a list by a slice of stack objects."},
	opLIST:             {Name: "LIST", Arg: argNone, Proto: 0, Pop: 2, MarkAt: 0, Push: 1, PushMark: false, Doc: "Build a list out of the topmost stack slice, after markobject."},
	opEMPTY_TUPLE:      {Name: "EMPTY_TUPLE", Arg: argNone, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an empty tuple."},
	opTUPLE:            {Name: "TUPLE", Arg: argNone, Proto: 0, Pop: 2, MarkAt: 0, Push: 1, PushMark: false, Doc: "Build a tuple out of the topmost stack slice, after markobject."},
	opTUPLE1:           {Name: "TUPLE1", Arg: argNone, Proto: 2, Pop: 1, MarkAt: -1, Push: 1, PushMark: false, Doc: "Build a one-tuple out of the topmost item on the stack."},
	opTUPLE2:           {Name: "TUPLE2", Arg: argNone, Proto: 2, Pop: 2, MarkAt: -1, Push: 1, PushMark: false, Doc: "Build a two-tuple out of the top two items on the stack."},
	opTUPLE3:           {Name: "TUPLE3", Arg: argNone, Proto: 2, Pop: 3, MarkAt: -1, Push: 1, PushMark: false, Doc: "Build a three-tuple out of the top three items on the stack."},
	opEMPTY_DICT:       {Name: "EMPTY_DICT", Arg: argNone, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an empty dict."},
	opDICT:             {Name: "DICT", Arg: argNone, Proto: 0, Pop: 2, MarkAt: 0, Push: 1, PushMark: false, Doc: "Build a dict out of the topmost stack slice, after markobject."},
	opSETITEM:          {Name: "SETITEM", Arg: argNone, Proto: 0, Pop: 3, MarkAt: -1, Push: 1, PushMark: false, Doc: "Add a key+value pair to an existing dict."},
	opSETITEMS:         {Name: "SETITEMS", Arg: argNone, Proto: 1, Pop: 3, MarkAt: 1, Push: 1, PushMark: false, Doc: "Add an arbitrary number of key+value pairs to an existing dict."},
	opEMPTY_SET:        {Name: "EMPTY_SET", Arg: argNone, Proto: 4, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an empty set."},
	opADDITEMS:         {Name: "ADDITEMS", Arg: argNone, Proto: 4, Pop: 3, MarkAt: 1, Push: 1, PushMark: false, Doc: "Add an arbitrary number of items to an existing set."},
	opFROZENSET:        {Name: "FROZENSET", Arg: argNone, Proto: 4, Pop: 2, MarkAt: 0, Push: 1, PushMark: false, Doc: "Build a frozenset out of the topmost slice, after markobject."},
	opPOP:              {Name: "POP", Arg: argNone, Proto: 0, Pop: 1, MarkAt: -1, Push: 0, PushMark: false, Doc: "Discard the top stack item, shrinking the stack by one item."},
	opDUP:              {Name: "DUP", Arg: argNone, Proto: 0, Pop: 1, MarkAt: -1, Push: 2, PushMark: false, Doc: "Push the top stack item onto the stack again, duplicating it."},
	opMARK:             {Name: "MARK", Arg: argNone, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: true, Doc: "Push markobject onto the stack."},
	opPOP_MARK:         {Name: "POP_MARK", Arg: argNone, Proto: 1, Pop: 2, MarkAt: 0, Push: 0, PushMark: false, Doc: "Pop all the stack objects at and above the topmost markobject."},
	opGET:              {Name: "GET", Arg: argDecimalnlShort, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Read an object from the memo and push it on the stack."},
	opBINGET:           {Name: "BINGET", Arg: argUint1, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Read an object from the memo and push it on the stack."},
	opLONG_BINGET:      {Name: "LONG_BINGET", Arg: argUint4, Proto: 1, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Read an object from the memo and push it on the stack."},
	opPUT:              {Name: "PUT", Arg: argDecimalnlShort, Proto: 0, Pop: 0, MarkAt: -1, Push: 0, PushMark: false, Doc: "Store the stack top into the memo.  The stack is not popped."},
	opBINPUT:           {Name: "BINPUT", Arg: argUint1, Proto: 1, Pop: 0, MarkAt: -1, Push: 0, PushMark: false, Doc: "Store the stack top into the memo.  The stack is not popped."},
	opLONG_BINPUT:      {Name: "LONG_BINPUT", Arg: argUint4, Proto: 1, Pop: 0, MarkAt: -1, Push: 0, PushMark: false, Doc: "Store the stack top into the memo.  The stack is not popped."},
	opMEMOIZE:          {Name: "MEMOIZE", Arg: argNone, Proto: 4, Pop: 1, MarkAt: -1, Push: 1, PushMark: false, Doc: "Store the stack top into the memo.  The stack is not popped."},
	opEXT1:             {Name: "EXT1", Arg: argUint1, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Extension code."},
	opEXT2:             {Name: "EXT2", Arg: argUint2, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Extension code."},
	opEXT4:             {Name: "EXT4", Arg: argInt4, Proto: 2, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Extension code."},
	opGLOBAL:           {Name: "GLOBAL", Arg: argStringnlNoescapePair, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a global object (module.attr) on the stack."},
	opSTACK_GLOBAL:     {Name: "STACK_GLOBAL", Arg: argNone, Proto: 4, Pop: 2, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push a global object (module.attr) on the stack."},
	opREDUCE:           {Name: "REDUCE", Arg: argNone, Proto: 0, Pop: 2, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an object built from a callable and an argument tuple."},
	opBUILD:            {Name: "BUILD", Arg: argNone, Proto: 0, Pop: 2, MarkAt: -1, Push: 1, PushMark: false, Doc: "Finish building an object, via __setstate__ or dict update."},
	opINST:             {Name: "INST", Arg: argStringnlNoescapePair, Proto: 0, Pop: 2, MarkAt: 0, Push: 1, PushMark: false, Doc: "Build a class instance."},
	opOBJ:              {Name: "OBJ", Arg: argNone, Proto: 1, Pop: 3, MarkAt: 0, Push: 1, PushMark: false, Doc: "Build a class instance."},
	opNEWOBJ:           {Name: "NEWOBJ", Arg: argNone, Proto: 2, Pop: 2, MarkAt: -1, Push: 1, PushMark: false, Doc: "Build an object instance."},
	opNEWOBJ_EX:        {Name: "NEWOBJ_EX", Arg: argNone, Proto: 4, Pop: 3, MarkAt: -1, Push: 1, PushMark: false, Doc: "Build an object instance."},
	opPROTO:            {Name: "PROTO", Arg: argUint1, Proto: 2, Pop: 0, MarkAt: -1, Push: 0, PushMark: false, Doc: "Protocol version indicator."},
	opSTOP:             {Name: "STOP", Arg: argNone, Proto: 0, Pop: 1, MarkAt: -1, Push: 0, PushMark: false, Doc: "Stop the unpickling machine."},
	opFRAME:            {Name: "FRAME", Arg: argUint8, Proto: 4, Pop: 0, MarkAt: -1, Push: 0, PushMark: false, Doc: "Indicate the beginning of a new frame."},
	opPERSID:           {Name: "PERSID", Arg: argStringnlNoescape, Proto: 0, Pop: 0, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an object identified by a persistent ID."},
	opBINPERSID:        {Name: "BINPERSID", Arg: argNone, Proto: 1, Pop: 1, MarkAt: -1, Push: 1, PushMark: false, Doc: "Push an object identified by a persistent ID."},
}

// lookupOp returns the description of an opcode byte and whether it is a
// known opcode. Unknown bytes get a placeholder description, the explicit
// fallback every table user relies on.
func lookupOp(op byte) (*opInfo, bool) {
	info := &opTable[op]
	if info.Name == "" {
		return &unknownOp, false
	}
	return info, true
}

var unknownOp = opInfo{Name: "", MarkAt: -1}

// opName returns the opcode's name, or "" if the byte is not an opcode.
func opName(op byte) string { return opTable[op].Name }

// lenPrefix decodes the little-endian length prefix of size bytes (1, 4
// or 8) at the start of b, which must hold it. A signed 4-byte prefix that
// is negative is an ErrBadValue. It serves the decoder (readLen), argLen
// and the stream scanner alike, so that all three read and reject
// prefixes the same way.
func lenPrefix(b []byte, size int, signed bool) (uint64, error) {
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 4:
		u := binary.LittleEndian.Uint32(b)
		if signed && int32(u) < 0 {
			return 0, detail(ErrBadValue, "negative length %d", int32(u))
		}
		return uint64(u), nil
	}
	return binary.LittleEndian.Uint64(b), nil
}

// argLen returns the length of the argument of kind k at the start of
// data, or -1 if data ends first. A length prefix that is negative or that
// cannot fit in an int is reported as an error.
func argLen(k argKind, data []byte) (int, error) {
	if k == argNone {
		return 0, nil
	}
	l := argLayouts[k]
	switch {
	case l.fixed > 0:
		if len(data) < l.fixed {
			return -1, nil
		}
		return l.fixed, nil
	case l.lines > 0:
		n := 0
		for range l.lines {
			i := bytes.IndexByte(data[n:], '\n')
			if i < 0 {
				return -1, nil
			}
			n += i + 1
		}
		return n, nil
	}
	if len(data) < l.lenSize {
		return -1, nil
	}
	size, err := lenPrefix(data, l.lenSize, l.signedLen)
	if err != nil {
		return 0, err
	}
	if size > math.MaxInt-uint64(l.lenSize) {
		return 0, detail(ErrBadValue, "length %d out of range", size)
	}
	if uint64(len(data)-l.lenSize) < size {
		return -1, nil
	}
	return l.lenSize + int(size), nil
}
