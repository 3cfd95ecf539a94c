package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DisOptions configures Disassemble. The zero value (or nil) gives
// pickletools.dis's defaults.
type DisOptions struct {
	// Indent is the number of spaces per MARK nesting level (4 if 0;
	// pickletools' indentlevel).
	Indent int
	// Annotate, if positive, appends the first line of each opcode's
	// description, aligned at that column (pickletools' annotate).
	Annotate int
}

// ErrDis is wrapped by every error Disassemble reports about the pickle
// itself (as opposed to a write error).
var ErrDis = errors.New("pickle: disassembly failed")

// Disassemble writes a symbolic listing of the pickle in data to w, in
// the format of CPython's pickletools.dis: one line per opcode with its
// offset, opcode byte, name (indented by MARK nesting) and argument,
// memo indices for MEMOIZE, "(MARK at N)" where a mark is consumed, and a
// final "highest protocol among opcodes = N" line. Like pickletools.dis it
// checks the pickle as it goes (stack and memo use) and stops at the first
// problem, after printing the offending line, with an error wrapping
// ErrDis.
func Disassemble(w io.Writer, data []byte, opts *DisOptions) error {
	indent, annotate := 4, 0
	if opts != nil {
		if opts.Indent > 0 {
			indent = opts.Indent
		}
		annotate = opts.Annotate
	}
	ds := disState{w: w, indent: strings.Repeat(" ", indent), annocol: annotate, annotate: annotate,
		memo: map[string]bool{}}
	return ds.run(data)
}

type disState struct {
	w                 io.Writer
	indent            string
	annotate, annocol int
	stack             []bool // true = markobject
	markstack         []int
	memo              map[string]bool
	maxproto          int
	werr              error
	line              strings.Builder
}

func disErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDis, fmt.Sprintf(format, args...))
}

func (ds *disState) run(data []byte) error {
	ds.maxproto = -1
	pos := 0
	for {
		if pos >= len(data) {
			return disErr("pickle exhausted before seeing STOP")
		}
		op := data[pos]
		info, ok := lookupOp(op)
		if !ok {
			return disErr("at position %d, opcode %s unknown", pos, quoteBytes([]byte{op}))
		}
		n, err := argLen(info.Arg, data[pos+1:])
		if err != nil {
			return disErr("%v at position %d", err, pos)
		}
		if n < 0 {
			return disErr("not enough data in stream to read the argument of %s at position %d", info.Name, pos)
		}
		rawArg := data[pos+1 : pos+1+n]
		arg, hasArg, err := disArg(info.Arg, rawArg)
		if err != nil {
			return disErr("%v at position %d", err, pos)
		}
		if err := ds.opcode(pos, op, info, arg, hasArg, rawArg); err != nil {
			return err
		}
		pos += 1 + n
		if op == opSTOP {
			break
		}
	}
	if _, err := fmt.Fprintf(ds.w, "highest protocol among opcodes = %d\n", ds.maxproto); err != nil {
		return err
	}
	if len(ds.stack) > 0 {
		return disErr("stack not empty after STOP: %s", ds.stackRepr())
	}
	return nil
}

func (ds *disState) stackRepr() string {
	parts := make([]string, len(ds.stack))
	for i, m := range ds.stack {
		if m {
			parts[i] = "<markobject>"
		} else {
			parts[i] = "any"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// opcode prints one line and emulates the stack effect, as pickletools.dis.
func (ds *disState) opcode(pos int, op byte, info *opInfo, arg string, hasArg bool, rawArg []byte) error {
	code := opCodeRepr(op)
	l := &ds.line
	l.Reset()
	fmt.Fprintf(l, "%5d: ", pos)
	prefix := l.Len() // pickletools prints the offset apart from the line it aligns
	fmt.Fprintf(l, "%-4s %s%s", code, strings.Repeat(ds.indent, len(ds.markstack)), info.Name)
	ds.maxproto = max(ds.maxproto, info.Proto)
	numtopop := info.Pop
	markmsg, errmsg := "", ""
	top := len(ds.stack) > 0 && ds.stack[len(ds.stack)-1]
	if info.MarkAt >= 0 || (op == opPOP && top) {
		if len(ds.markstack) > 0 {
			markpos := ds.markstack[len(ds.markstack)-1]
			ds.markstack = ds.markstack[:len(ds.markstack)-1]
			markmsg = fmt.Sprintf("(MARK at %d)", markpos)
			for len(ds.stack) > 0 && !ds.stack[len(ds.stack)-1] {
				ds.stack = ds.stack[:len(ds.stack)-1]
			}
			if len(ds.stack) == 0 {
				return disErr("MARK missing from the stack at position %d", pos)
			}
			ds.stack = ds.stack[:len(ds.stack)-1]
			numtopop = max(info.MarkAt, 0)
		} else {
			errmsg, markmsg = "no MARK exists on stack", "no MARK exists on stack"
		}
	}
	switch op {
	case opPUT, opBINPUT, opLONG_BINPUT, opMEMOIZE:
		key := arg
		if op == opMEMOIZE {
			key = strconv.Itoa(len(ds.memo))
			markmsg = "(as " + key + ")"
		}
		switch {
		case ds.memo[key]:
			shown := key
			if op == opMEMOIZE {
				shown = "None"
			}
			errmsg = "memo key " + shown + " already defined"
		case len(ds.stack) == 0:
			errmsg = "stack is empty -- can't store into memo"
		case ds.stack[len(ds.stack)-1]:
			errmsg = "can't store markobject in the memo"
		default:
			ds.memo[key] = true
		}
	case opGET, opBINGET, opLONG_BINGET:
		if !ds.memo[arg] {
			errmsg = "memo key " + arg + " has never been stored into"
		}
	}
	if hasArg || markmsg != "" {
		l.WriteString(strings.Repeat(" ", max(0, 10-len(info.Name))))
		if hasArg {
			l.WriteByte(' ')
			l.WriteString(arg)
		}
		if markmsg != "" {
			l.WriteByte(' ')
			l.WriteString(markmsg)
		}
	}
	if ds.annotate > 0 {
		n := utf8.RuneCountInString(l.String()[prefix:])
		l.WriteString(strings.Repeat(" ", max(0, ds.annocol-n)))
		ds.annocol = utf8.RuneCountInString(l.String()[prefix:])
		if ds.annocol > 50 {
			ds.annocol = ds.annotate
		}
		l.WriteByte(' ')
		l.WriteString(info.Doc)
	}
	l.WriteByte('\n')
	if _, err := io.WriteString(ds.w, l.String()); err != nil {
		return err
	}
	if errmsg != "" {
		return disErr("%s", errmsg)
	}
	if len(ds.stack) < numtopop {
		return disErr("tries to pop %d items from stack with only %d items", numtopop, len(ds.stack))
	}
	ds.stack = ds.stack[:len(ds.stack)-numtopop]
	if info.PushMark {
		ds.markstack = append(ds.markstack, pos)
		ds.stack = append(ds.stack, true)
	} else {
		for range info.Push {
			ds.stack = append(ds.stack, false)
		}
	}
	return nil
}

// opCodeRepr is repr(opcode.code)[1:-1]: the opcode as a Python str
// literal without quotes.
func opCodeRepr(op byte) string {
	if op >= 0x20 && op < 0x7f {
		return string(rune(op))
	}
	s := quoteStr(string(rune(op)))
	return s[1 : len(s)-1]
}

// disArg returns the Python repr of an opcode's argument as
// pickletools.dis prints it.
func disArg(k argKind, raw []byte) (string, bool, error) {
	switch k {
	case argNone:
		return "", false, nil
	case argUint1:
		return strconv.Itoa(int(raw[0])), true, nil
	case argUint2:
		return strconv.Itoa(int(binary.LittleEndian.Uint16(raw))), true, nil
	case argInt4:
		return strconv.Itoa(int(int32(binary.LittleEndian.Uint32(raw)))), true, nil
	case argUint4:
		return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(raw)), 10), true, nil
	case argUint8:
		return strconv.FormatUint(binary.LittleEndian.Uint64(raw), 10), true, nil
	case argFloat8:
		return floatRepr(math.Float64frombits(binary.BigEndian.Uint64(raw))), true, nil
	case argLong1, argLong4:
		size := 1
		if k == argLong4 {
			size = 4
		}
		return intRepr(decodeLong(raw[size:])), true, nil
	case argDecimalnlShort:
		line := raw[:len(raw)-1]
		switch string(line) {
		case "00":
			return "False", true, nil
		case "01":
			return "True", true, nil
		}
		v, err := pyIntBase10(string(line))
		return v, true, err
	case argDecimalnlLong:
		line := raw[:len(raw)-1]
		if n := len(line); n > 0 && line[n-1] == 'L' {
			line = line[:n-1]
		}
		v, err := pyIntBase10(string(line))
		return v, true, err
	case argFloatnl:
		f, err := strconv.ParseFloat(strings.TrimSpace(string(raw[:len(raw)-1])), 64)
		if err != nil {
			return "", true, fmt.Errorf("could not convert string to float: %s", quoteBytes(raw[:len(raw)-1]))
		}
		return floatRepr(f), true, nil
	case argStringnl:
		line := raw[:len(raw)-1]
		if len(line) < 1 || (line[0] != '"' && line[0] != '\'') {
			return "", true, fmt.Errorf("no string quotes around %s", quoteBytes(line))
		}
		if len(line) < 2 || line[len(line)-1] != line[0] {
			return "", true, fmt.Errorf("string quote %s not found at both ends of %s", quoteBytes(line[:1]), quoteBytes(line))
		}
		s, err := escapeDecode(line[1 : len(line)-1])
		if err != nil {
			return "", true, err
		}
		if !isASCII(string(s)) {
			return "", true, fmt.Errorf("'ascii' codec can't decode the STRING argument")
		}
		return quoteBytes(s)[1:], true, nil
	case argStringnlNoescape:
		s, err := noescape(raw[:len(raw)-1])
		return quoteStr(s), true, err
	case argStringnlNoescapePair:
		i := strings.IndexByte(string(raw), '\n')
		a, err := noescape(raw[:i])
		if err != nil {
			return "", true, err
		}
		b, err := noescape(raw[i+1 : len(raw)-1])
		return quoteStr(a + " " + b), true, err
	case argString1, argString4:
		return quoteBytes(raw[argLayouts[k].lenSize:])[1:], true, nil
	case argBytes1, argBytes4, argBytes8:
		return quoteBytes(raw[argLayouts[k].lenSize:]), true, nil
	case argBytearray8:
		return "bytearray(" + quoteBytes(raw[8:]) + ")", true, nil
	case argUnicodestringnl:
		s, err := rawUnicodeEscapeDecode(raw[:len(raw)-1])
		return quoteStr(s), true, err
	case argUnicodestring1, argUnicodestring4, argUnicodestring8:
		return quoteStr(string(raw[argLayouts[k].lenSize:])), true, nil
	}
	return "", false, fmt.Errorf("unknown argument kind %d", k)
}

// noescape reads a stringnl_noescape argument: escapes undone, ASCII.
func noescape(b []byte) (string, error) {
	s, err := escapeDecode(b)
	if err != nil {
		return "", err
	}
	if !isASCII(string(s)) {
		return "", fmt.Errorf("'ascii' codec can't decode the argument")
	}
	return string(s), nil
}

// pyIntBase10 is repr(int(s)) for Python's int() in base 10.
func pyIntBase10(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) > maxIntDigits {
		return "", fmt.Errorf("int literal of more than %d digits", maxIntDigits)
	}
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	clean := strings.ReplaceAll(t, "_", "")
	if strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
		clean = "x"
	}
	v, ok := new(big.Int).SetString(clean, 10)
	if !ok {
		return "", fmt.Errorf("invalid literal for int() with base 10: %s", quoteBytes([]byte(s)))
	}
	return v.String(), nil
}

func intRepr(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	}
	return fmt.Sprint(v)
}
