package pickle_test

// Differential test against github.com/nlpodyssey/gopickle v0.2.0, the
// decoder the design first named: whatever gopickle decodes without error,
// this package decodes to an equivalent value (gopickleEquiv). gopickle's
// own departures from CPython are tolerated where listed:
//
//   - protocol 0 UNICODE and STRING arguments are not unescaped (gopickle
//     keeps the raw-unicode-escape / quoted text);
//   - BINSTRING/SHORT_BINSTRING decode to a Go string (we may give bytes);
//   - a dict keeps repeated keys (we keep Python's one entry per key: the
//     first key, the last value); sets are unordered Go maps;
//   - a GET of a missing memo entry yields nil instead of an error, and a
//     few other malformed streams are accepted (see gopickleLenient).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/types"

	gopickle "github.com/nlpodyssey/gopickle/pickle"

	"github.com/mpbridge/mpbridge/pickle"
)

// gopickleLoad decodes data with gopickle, turning its panics (such as the
// index out of range on the single byte 0xff) into errors.
func gopickleLoad(data []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gopickle panicked: %v", r)
		}
	}()
	u := gopickle.NewUnpickler(bytes.NewReader(data))
	return u.Load()
}

// TestDifferentialGopickle runs every golden and corpus file through both
// decoders.
func TestDifferentialGopickle(t *testing.T) {
	var files []string
	for _, pat := range []string{goldenDir + "/3.*/*.pickle", corpusDir + "/*.pickle"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no golden or corpus files found")
	}
	both, gpFails := 0, 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		theirs, gerr := gopickleLoad(data)
		if gerr != nil {
			gpFails++
			continue
		}
		ours, err := pickle.Loads(data)
		if err != nil {
			t.Errorf("%s: gopickle decodes it, we fail: %v", name, err)
			continue
		}
		both++
		if err := gopickleEquiv("$", ours, theirs); err != nil {
			t.Errorf("%s: values differ: %v", name, err)
		}
	}
	t.Logf("%d files decoded by both and equivalent; gopickle failed on %d of %d", both, gpFails, len(files))
}

// FuzzDifferentialGopickle: on any input gopickle decodes, we decode an
// equivalent value, unless the input is one gopickle accepts wrongly.
func FuzzDifferentialGopickle(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, err := pickle.Loads(data)
		if errors.Is(err, pickle.ErrTruncated) {
			// gopickle cannot succeed either, and it allocates an
			// announced length before reading it: a FRAME header claiming
			// 200 GB exhausts memory (seed 96eeb91e87c84eeb).
			return
		}
		if !gopickleSafe(data) {
			return
		}
		theirs, gerr := gopickleLoad(data)
		if gerr != nil {
			return
		}
		if err != nil {
			if gopickleLenient(err) || gopickleQuirk(data) {
				return
			}
			t.Fatalf("gopickle decodes %T, we fail: %v", theirs, err)
		}
		if err := gopickleEquiv("$", ours, theirs); err != nil && !gopickleQuirk(data) {
			t.Fatalf("values differ: %v", err)
		}
	})
}

// gopickleSafe reports whether gopickle can be given data without risk of
// exhausting memory: it allocates the length a FRAME, BINBYTES8,
// BINUNICODE8, BYTEARRAY8 (8-byte lengths) or BINBYTES, BINUNICODE,
// BINSTRING, LONG4 (4-byte lengths) announces before reading it. Any such
// opcode byte followed by a length beyond the input makes it unsafe,
// wherever it stands (our decoder may stop earlier, at an error gopickle
// lets pass, such as a GET of a missing memo entry: seed 6a806b28fe1ee744).
func gopickleSafe(data []byte) bool {
	for i, c := range data {
		var n uint64
		switch c {
		case 0x95, 0x8e, 0x8d, 0x96:
			if i+9 > len(data) {
				continue
			}
			n = binary.LittleEndian.Uint64(data[i+1:])
		case 'B', 'X', 'T', 0x8b:
			if i+5 > len(data) {
				continue
			}
			n = uint64(binary.LittleEndian.Uint32(data[i+1:]))
		default:
			continue
		}
		if n > uint64(len(data)) {
			return false
		}
	}
	return true
}

// gopickleLenient reports whether our decode error is one where gopickle is
// known to accept a stream that CPython rejects too (each checked against
// CPython 3.12's pickle.loads):
//   - GET of a missing memo entry: gopickle pushes nil; CPython raises
//     "Memo value not found at index N";
//   - BUILD on a value that is not an object (bytes, str, int, ...) with a
//     state that is not a dict: gopickle ignores it; CPython raises "state
//     is not a dictionary" (seed e3a4875125c6859c);
//   - UNICODE (protocol 0) with a malformed \u escape: gopickle does not
//     unescape; CPython raises UnicodeDecodeError "truncated \uXXXX escape"
//     (seed cde79a128b53bb04);
//   - an unhashable dict key (a dict set as its own key): gopickle stores
//     it; CPython raises "unhashable type: 'dict'" (seed 84df53d8c7b50235);
//   - READONLY_BUFFER on an empty stack: gopickle ignores it; CPython
//     raises "unpickling stack underflow" (seed 998c493f760fcf63).
func gopickleLenient(err error) bool {
	var se *pickle.SyntaxError
	if !errors.As(err, &se) {
		return false
	}
	switch {
	case errors.Is(err, pickle.ErrMemoMissing), errors.Is(err, pickle.ErrUnhashable):
		return true
	case errors.Is(err, pickle.ErrBadValue) && (se.OpName == "BUILD" || se.OpName == "UNICODE"):
		return true
	case errors.Is(err, pickle.ErrStackUnderflow) && se.OpName == "READONLY_BUFFER":
		return true
	}
	return false
}

// gopickleQuirk reports whether data uses an opcode whose gopickle decoding
// departs from CPython: the text opcodes of protocol 0, and INT or LONG
// with a leading zero, which gopickle reads as decimal where CPython's INT
// reads "010" as octal 8 (strtol) and LONG refuses it (seed
// d181a69883e4d376).
func gopickleQuirk(data []byte) bool {
	return bytes.ContainsAny(data, "VSTU") || leadingZeroTextInt.Match(data)
}

var leadingZeroTextInt = regexp.MustCompile(`[IL][ \t]*[+-]?0[0-9_]`)

// gopickleEquiv reports how our value differs from gopickle's, or nil.
// Cycles are followed once: a pair of nodes already being compared is
// taken as equivalent.
func gopickleEquiv(path string, ours, theirs any) error {
	q := &gpEq{seen: map[[2]uintptr]bool{}}
	return q.gopickleEquiv(path, ours, theirs)
}

type gpEq struct{ seen map[[2]uintptr]bool }

func (q *gpEq) gopickleEquiv(path string, ours, theirs any) error {
	if id, ok := identityOf(ours); ok {
		if rv := reflect.ValueOf(theirs); rv.Kind() == reflect.Pointer {
			k := [2]uintptr{id.ptr, rv.Pointer()}
			if q.seen[k] {
				return nil
			}
			q.seen[k] = true
		}
	}
	switch th := theirs.(type) {
	case nil:
		if ours != nil {
			return fmt.Errorf("%s: want None, got %T", path, ours)
		}
		return nil
	case bool:
		if ours != th {
			return fmt.Errorf("%s: %v vs %v", path, ours, th)
		}
		return nil
	case int:
		return equivInt(path, ours, big.NewInt(int64(th)))
	case *big.Int:
		return equivInt(path, ours, th)
	case float64:
		o, ok := ours.(float64)
		if !ok || !(o == th || (math.IsNaN(o) && math.IsNaN(th))) {
			return fmt.Errorf("%s: %T %v vs float %v", path, ours, ours, th)
		}
		return nil
	case string:
		switch o := ours.(type) {
		case string:
			if o == th || o == rawUnicodeUnescape(th) {
				return nil
			}
		case []byte:
			if string(o) == th {
				return nil
			}
		}
		return fmt.Errorf("%s: %T %q vs str %q", path, ours, ours, th)
	case []byte:
		o, ok := ours.([]byte)
		if !ok || !bytes.Equal(o, th) {
			return fmt.Errorf("%s: %T vs bytes %q", path, ours, clip(th))
		}
		return nil
	case *types.ByteArray:
		o, ok := ours.(*pickle.ByteArray)
		if !ok || !bytes.Equal(*o, *th) {
			return fmt.Errorf("%s: %T vs bytearray", path, ours)
		}
		return nil
	case *types.Tuple:
		o, ok := ours.(pickle.Tuple)
		if !ok {
			return fmt.Errorf("%s: %T vs tuple", path, ours)
		}
		return q.equivSeq(path, o, *th)
	case *types.List:
		o, ok := ours.(*pickle.List)
		if !ok {
			return fmt.Errorf("%s: %T vs list", path, ours)
		}
		return q.equivSeq(path, *o, *th)
	case *types.Dict:
		o, ok := ours.(*pickle.Dict)
		if !ok {
			return fmt.Errorf("%s: %T vs dict", path, ours)
		}
		var pairs []pickle.Pair
		for _, e := range *th {
			pairs = append(pairs, pickle.Pair{Key: e.Key, Value: e.Value})
		}
		return q.equivPairs(path, dictPairs(o), foldPairs(pairs))
	case *types.OrderedDict:
		o, ok := ours.(*pickle.Object)
		if !ok || o.Callable != (pickle.Global{Module: "collections", Name: "OrderedDict"}) {
			return fmt.Errorf("%s: %T vs OrderedDict", path, ours)
		}
		var pairs []pickle.Pair
		for e := th.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			pairs = append(pairs, pickle.Pair{Key: oe.Key, Value: oe.Value})
		}
		return q.equivPairs(path, o.DictItems, pairs)
	case *types.Set:
		o, ok := ours.(*pickle.Set)
		if !ok {
			return fmt.Errorf("%s: %T vs set", path, ours)
		}
		return q.equivUnordered(path, o.Items(), mapKeys(*th))
	case *types.FrozenSet:
		o, ok := ours.(*pickle.FrozenSet)
		if !ok {
			return fmt.Errorf("%s: %T vs frozenset", path, ours)
		}
		return q.equivUnordered(path, o.Items(), mapKeys(*th))
	case *types.GenericClass:
		return equivGlobal(path, ours, th.Module, th.Name)
	case *types.OrderedDictClass:
		return equivGlobal(path, ours, "collections", "OrderedDict")
	case *types.ObjectClass:
		return equivGlobal(path, ours, "builtins", "object")
	case *types.Reconstructor:
		return equivGlobal(path, ours, "copyreg", "_reconstructor")
	case *types.GenericObject:
		return q.equivGenericObject(path, ours, th)
	}
	return fmt.Errorf("%s: gopickle gave %T, which the equivalence does not know", path, theirs)
}

func equivInt(path string, ours any, want *big.Int) error {
	switch o := ours.(type) {
	case int64:
		if want.IsInt64() && want.Int64() == o {
			return nil
		}
	case *big.Int:
		if o.Cmp(want) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%s: %T %v vs int %v", path, ours, ours, want)
}

// py2Modules and py2Names are the part of CPython's _compat_pickle mapping
// that protocol 0-2 pickles of 3.8-3.13 use; gopickle does not apply it.
var (
	py2Modules = map[string]string{"__builtin__": "builtins", "copy_reg": "copyreg", "Queue": "queue", "exceptions": "builtins"}
	py2Names   = map[[2]string][2]string{
		{"__builtin__", "long"}: {"builtins", "int"}, {"__builtin__", "xrange"}: {"builtins", "range"},
		{"__builtin__", "unicode"}: {"builtins", "str"}, {"__builtin__", "basestring"}: {"builtins", "str"},
		{"__builtin__", "reduce"}: {"functools", "reduce"}, {"__builtin__", "intern"}: {"sys", "intern"},
		{"__builtin__", "unichr"}: {"builtins", "chr"}, {"UserDict", "UserDict"}: {"collections", "UserDict"},
	}
)

// equivGlobal accepts our global for module.name under its Python 2 or 3
// spelling.
func equivGlobal(path string, ours any, module, name string) error {
	g, ok := ours.(pickle.Global)
	if ok {
		if g.Module == module && g.Name == name {
			return nil
		}
		if m, ok := py2Names[[2]string{module, name}]; ok && g.Module == m[0] && g.Name == m[1] {
			return nil
		}
		if m, ok := py2Modules[module]; ok && g.Module == m && g.Name == name {
			return nil
		}
	}
	return fmt.Errorf("%s: %T %v vs global %s.%s", path, ours, ours, module, name)
}

func (q *gpEq) equivSeq(path string, ours, theirs []any) error {
	if len(ours) != len(theirs) {
		return fmt.Errorf("%s: %d vs %d items", path, len(ours), len(theirs))
	}
	for i := range ours {
		if err := q.gopickleEquiv(path+"["+strconv.Itoa(i)+"]", ours[i], theirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (q *gpEq) equivPairs(path string, ours, theirs []pickle.Pair) error {
	if len(ours) != len(theirs) {
		return fmt.Errorf("%s: %d vs %d pairs", path, len(ours), len(theirs))
	}
	for i := range ours {
		if err := q.gopickleEquiv(path+".key", ours[i].Key, theirs[i].Key); err != nil {
			return err
		}
		if err := q.gopickleEquiv(path+".value", ours[i].Value, theirs[i].Value); err != nil {
			return err
		}
	}
	return nil
}

// equivUnordered matches each of gopickle's set items to a distinct one of
// ours (after folding Python-equal duplicates gopickle keeps apart).
func (q *gpEq) equivUnordered(path string, ours, theirs []any) error {
	var folded []any
	seenKeys := map[string]bool{}
	for _, x := range theirs {
		if k, ok := canonKey(x); ok {
			if !seenKeys[k] {
				seenKeys[k] = true
				folded = append(folded, x)
			}
			continue
		}
		dup := false
		for _, y := range folded {
			if pyKeyEqual(x, y) {
				dup = true
				break
			}
		}
		if !dup {
			folded = append(folded, x)
		}
	}
	if len(ours) != len(folded) {
		return fmt.Errorf("%s: %d vs %d items", path, len(ours), len(folded))
	}
	used := make([]bool, len(ours))
	byKey := map[string][]int{}
	for j, y := range ours {
		if k, ok := canonKey(y); ok {
			byKey[k] = append(byKey[k], j)
		}
	}
	for _, x := range folded {
		if k, ok := canonKey(x); ok {
			if js := byKey[k]; len(js) > 0 {
				used[js[0]], byKey[k] = true, js[1:]
				continue
			}
			return fmt.Errorf("%s: no item equivalent to %v", path, x)
		}
		found := false
		for j, y := range ours {
			if !used[j] && gopickleEquiv(path, y, x) == nil {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s: no item equivalent to %v", path, x)
		}
	}
	return nil
}

// foldPairs applies Python dict semantics to gopickle's entries: one entry
// per key (Python equality), first key position, last value.
func foldPairs(in []pickle.Pair) []pickle.Pair {
	var out []pickle.Pair
	index := map[string]int{}
	for _, p := range in {
		if k, ok := canonKey(p.Key); ok {
			if i, dup := index[k]; dup {
				out[i].Value = p.Value
				continue
			}
			index[k] = len(out)
			out = append(out, p)
			continue
		}
		found := false
		for i := range out {
			if pyKeyEqual(out[i].Key, p.Key) {
				out[i].Value, found = p.Value, true
				break
			}
		}
		if !found {
			out = append(out, p)
		}
	}
	return out
}

// canonKey returns a string equal for Python-equal hashable scalars and
// tuples of them, in either value model (ours or gopickle's); ok is false
// for other values.
func canonKey(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "N", true
	case string:
		return "s" + x, true
	case []byte:
		return "b" + string(x), true
	case bool:
		if x {
			return "n1", true
		}
		return "n0", true
	case int:
		return "n" + strconv.Itoa(x), true
	case int64:
		return "n" + strconv.FormatInt(x, 10), true
	case *big.Int:
		return "n" + x.String(), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			return "n" + strconv.FormatInt(int64(x), 10), true
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64), !math.IsNaN(x)
	case pickle.Tuple:
		return canonSeq(x)
	case *types.Tuple:
		return canonSeq(*x)
	}
	return "", false
}

func canonSeq(items []any) (string, bool) {
	var b strings.Builder
	b.WriteString("(")
	for _, e := range items {
		k, ok := canonKey(e)
		if !ok {
			return "", false
		}
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteString(":")
		b.WriteString(k)
	}
	return b.String(), true
}

// pyKeyEqual is Python == for the hashable values gopickle produces.
func pyKeyEqual(a, b any) bool {
	if x, ok := pyNumber(a); ok {
		y, ok := pyNumber(b)
		return ok && x.Cmp(y) == 0
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case nil:
		return b == nil
	case *types.Tuple:
		y, ok := b.(*types.Tuple)
		if !ok || len(*x) != len(*y) {
			return false
		}
		for i := range *x {
			if !pyKeyEqual((*x)[i], (*y)[i]) {
				return false
			}
		}
		return true
	case *types.GenericClass:
		y, ok := b.(*types.GenericClass)
		return ok && *x == *y
	}
	return a == b
}

// pyNumber converts bool, int, *big.Int and integral floats to a big.Float
// for Python's cross-type numeric equality (1 == 1.0 == True).
func pyNumber(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case int:
		return new(big.Float).SetInt64(int64(x)), true
	case *big.Int:
		return new(big.Float).SetInt(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return big.NewFloat(x), true
	}
	return nil, false
}

func mapKeys[K comparable, V any](m map[K]V) []any {
	out := make([]any, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// equivGenericObject: gopickle builds a GenericObject for NEWOBJ, INST and
// OBJ of an unknown class (Args = ConstructorArgs) and for
// copyreg._reconstructor(cls, object, None) (no arguments).
func (q *gpEq) equivGenericObject(path string, ours any, th *types.GenericObject) error {
	o, ok := ours.(*pickle.Object)
	if !ok {
		if e, isExc := ours.(*pickle.Exception); isExc {
			o = &e.Object
		} else {
			return fmt.Errorf("%s: %T vs object of %s.%s", path, ours, th.Class.Module, th.Class.Name)
		}
	}
	if g, ok := o.Callable.(pickle.Global); ok && o.Kind == pickle.Reduce && len(o.Args) >= 2 &&
		g == (pickle.Global{Module: "copyreg", Name: "_reconstructor"}) {
		// copyreg._reconstructor(cls, base, state): gopickle builds
		// base.PyNew(cls), i.e. an object of cls when base is object,
		// else (wrongly) an object of base with cls as its argument. It
		// does not check the arity either, where CPython's call raises
		// TypeError for other than three arguments (seed 246bb33c302e02c9).
		if base, ok := o.Args[1].(pickle.Global); ok && base == (pickle.Global{Module: "builtins", Name: "object"}) {
			if len(th.ConstructorArgs) == 0 {
				return q.gopickleEquiv(path+".class", o.Args[0], th.Class)
			}
		} else if len(th.ConstructorArgs) == 1 {
			if err := q.gopickleEquiv(path+".base", o.Args[1], th.Class); err != nil {
				return err
			}
			return q.gopickleEquiv(path+".class", o.Args[0], th.ConstructorArgs[0])
		}
		return fmt.Errorf("%s: copyreg._reconstructor vs gopickle object of %s.%s", path, th.Class.Module, th.Class.Name)
	}
	if err := q.gopickleEquiv(path+".class", o.Class(), th.Class); err != nil {
		return err
	}
	switch o.Kind {
	case pickle.NewObj, pickle.Inst, pickle.Obj:
		return q.equivSeq(path+".args", o.Args, th.ConstructorArgs)
	case pickle.NewObjEx:
		args := append(append([]any{}, o.Args...), o.Kwargs)
		return q.equivSeq(path+".args", args, th.ConstructorArgs)
	case pickle.Reduce:
		if len(th.ConstructorArgs) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%s: object kind %v vs gopickle's %d constructor args", path, o.Kind, len(th.ConstructorArgs))
}

// rawUnicodeUnescape decodes Python's raw-unicode-escape: bytes are
// latin-1 code points, \uXXXX and \UXXXXXXXX escapes are decoded.
func rawUnicodeUnescape(s string) string {
	var out []rune
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+5 < len(s) && s[i+1] == 'u' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil {
				out = append(out, rune(n))
				i += 5
				continue
			}
		}
		if c == '\\' && i+9 < len(s) && s[i+1] == 'U' {
			if n, err := strconv.ParseUint(s[i+2:i+10], 16, 32); err == nil {
				out = append(out, rune(n))
				i += 9
				continue
			}
		}
		out = append(out, rune(c))
	}
	b := make([]byte, 0, len(out))
	for _, r := range out {
		if r >= 0xd800 && r <= 0xdfff { // a lone surrogate, as CPython's surrogatepass writes it
			b = append(b, byte(0xe0|r>>12), byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
