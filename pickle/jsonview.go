package pickle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// ToJSON renders a value-model value as JSON for people and for tools
// (`mpbridge pickle json`, `mpbridge queue get`). Values JSON has map to
// JSON: None → null, bool, int (int64) → number, float → number with a
// point or exponent (1.0, not 1), str → string, list → array, dict with
// str keys → object (in insertion order). Everything else becomes an
// object with a single "$" key (a tag):
//
//	{"$int": "123456789012345678901234567890"}  int beyond 64 bits
//	{"$float": "nan"}  {"$float": "inf"}  {"$float": "-inf"}
//	{"$complex": [1.0, 2.0]}
//	{"$bytes": "base64"}  {"$bytearray": "base64"}
//	{"$tuple": [...]}  {"$set": [...]}  {"$frozenset": [...]}
//	{"$dict": [[key, value], ...]}  a dict with a key that is not a str,
//	                                or whose only key starts with "$"
//	{"$global": "module:qualname"}  a class or function reference
//	{"$datetime": "2024-01-02T03:04:05.678901+01:00[Europe/Paris]"}
//	                                naive: no offset; timezone: offset only;
//	                                zoneinfo: offset and [key]
//	{"$date": "2024-01-02"}  {"$time": "03:04:05.000006+00:00"}
//	{"$timedelta": [days, seconds, microseconds]}
//	{"$decimal": "1.10"}  {"$uuid": "12345678-1234-5678-1234-567812345678"}
//	{"$object": {"callable": ..., "kind": "newobj", "args": [...], "kwargs": {...},
//	             "state": ..., "listitems": [...], "dictitems": [[k, v], ...]}}
//	{"$exception": {...as $object...}}
//	{"$persid": ...}  a persistent id
//
// "kind" (reduce, newobj, newobj_ex, inst or obj) is omitted for reduce,
// and the other fields of $object when empty; "state" is present when the
// pickle had a BUILD, even of None. The datetime tags are used only when
// they hold the whole value (a datetime.timezone with a custom name, for
// one, falls back to $object). Shared objects are written once per
// reference; a value that contains itself is an error, as is one that
// would expand to more than MaxJSONNodes values.
func ToJSON(v any) ([]byte, error) {
	w := &jsonWriter{busy: map[unsafe.Pointer]bool{}}
	if err := w.value(v, 0); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// MaxJSONNodes bounds the number of values ToJSON writes, so that a small
// pickle whose objects are shared many times cannot expand into an
// enormous document.
const MaxJSONNodes = 1 << 22

// maxJSONDepth bounds nesting in ToJSON and FromJSON.
const maxJSONDepth = 10000

// ErrJSON is wrapped by the errors of ToJSON and FromJSON about values
// they cannot represent or parse.
var ErrJSON = errors.New("pickle: json view")

type jsonWriter struct {
	buf   bytes.Buffer
	nodes int
	busy  map[unsafe.Pointer]bool
}

func jsonErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrJSON, fmt.Sprintf(format, args...))
}

// enter marks container p as being written, failing on a cycle.
func (w *jsonWriter) enter(p unsafe.Pointer) error {
	if w.busy[p] {
		return jsonErr("the value contains itself")
	}
	w.busy[p] = true
	return nil
}

func (w *jsonWriter) value(v any, depth int) error {
	w.nodes++
	if w.nodes > MaxJSONNodes {
		return jsonErr("more than %d values", MaxJSONNodes)
	}
	if depth > maxJSONDepth {
		return jsonErr("nested deeper than %d", maxJSONDepth)
	}
	b := &w.buf
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case *big.Int:
		if x.IsInt64() {
			b.WriteString(x.String())
			break
		}
		w.tag("$int")
		writeJSONString(b, x.String())
		b.WriteByte('}')
	case float64:
		w.float(x)
	case complex128:
		w.tag("$complex")
		b.WriteByte('[')
		w.float(real(x))
		b.WriteByte(',')
		w.float(imag(x))
		b.WriteString("]}")
	case string:
		writeJSONString(b, x)
	case []byte:
		w.tag("$bytes")
		writeJSONString(b, base64.StdEncoding.EncodeToString(x))
		b.WriteByte('}')
	case *ByteArray:
		w.tag("$bytearray")
		writeJSONString(b, base64.StdEncoding.EncodeToString(*x))
		b.WriteByte('}')
	case Tuple:
		w.tag("$tuple")
		if err := w.array(x, depth); err != nil {
			return err
		}
		b.WriteByte('}')
	case *List:
		if err := w.enter(unsafe.Pointer(x)); err != nil {
			return err
		}
		if err := w.array(*x, depth); err != nil {
			return err
		}
		delete(w.busy, unsafe.Pointer(x))
	case []any:
		return w.array(x, depth)
	case *Set:
		return w.set("$set", unsafe.Pointer(x), x.Items(), depth)
	case *FrozenSet:
		return w.set("$frozenset", unsafe.Pointer(x), x.Items(), depth)
	case *Dict:
		if err := w.enter(unsafe.Pointer(x)); err != nil {
			return err
		}
		if err := w.dict(x, depth); err != nil {
			return err
		}
		delete(w.busy, unsafe.Pointer(x))
	case Global:
		w.tag("$global")
		writeJSONString(b, x.Module+":"+x.Name)
		b.WriteByte('}')
	case PersistentID:
		w.tag("$persid")
		if err := w.value(x.ID, depth+1); err != nil {
			return err
		}
		b.WriteByte('}')
	case *Exception:
		if err := w.enter(unsafe.Pointer(x)); err != nil {
			return err
		}
		if err := w.object("$exception", &x.Object, depth); err != nil {
			return err
		}
		delete(w.busy, unsafe.Pointer(x))
	case *Object:
		if w.known(x) {
			break
		}
		if err := w.enter(unsafe.Pointer(x)); err != nil {
			return err
		}
		if err := w.object("$object", x, depth); err != nil {
			return err
		}
		delete(w.busy, unsafe.Pointer(x))
	default:
		// A Go value that is not in the value model: convert it first.
		m, err := DefaultRegistry.ModelOf(v, DefaultProtocol)
		if err != nil {
			return err
		}
		if reflect.TypeOf(m) == reflect.TypeOf(v) {
			return jsonErr("cannot render Go %T", v)
		}
		return w.value(m, depth)
	}
	return nil
}

func (w *jsonWriter) tag(name string) {
	w.buf.WriteString(`{"`)
	w.buf.WriteString(name)
	w.buf.WriteString(`":`)
}

func (w *jsonWriter) float(f float64) {
	switch {
	case math.IsNaN(f):
		w.buf.WriteString(`{"$float":"nan"}`)
	case math.IsInf(f, 1):
		w.buf.WriteString(`{"$float":"inf"}`)
	case math.IsInf(f, -1):
		w.buf.WriteString(`{"$float":"-inf"}`)
	default:
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		w.buf.WriteString(s)
	}
}

func (w *jsonWriter) array(xs []any, depth int) error {
	w.buf.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		if err := w.value(x, depth+1); err != nil {
			return err
		}
	}
	w.buf.WriteByte(']')
	return nil
}

func (w *jsonWriter) set(tag string, p unsafe.Pointer, xs []any, depth int) error {
	if err := w.enter(p); err != nil {
		return err
	}
	w.tag(tag)
	if err := w.array(xs, depth); err != nil {
		return err
	}
	w.buf.WriteByte('}')
	delete(w.busy, p)
	return nil
}

func (w *jsonWriter) pairs(keys, vals []any, depth int) error {
	w.buf.WriteByte('[')
	for i := range keys {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		w.buf.WriteByte('[')
		if err := w.value(keys[i], depth+1); err != nil {
			return err
		}
		w.buf.WriteByte(',')
		if err := w.value(vals[i], depth+1); err != nil {
			return err
		}
		w.buf.WriteByte(']')
	}
	w.buf.WriteByte(']')
	return nil
}

func (w *jsonWriter) dict(d *Dict, depth int) error {
	keys, vals := d.Keys(), d.Values()
	plain := true
	for _, k := range keys {
		if _, ok := k.(string); !ok {
			plain = false
			break
		}
	}
	if plain && len(keys) == 1 && strings.HasPrefix(keys[0].(string), "$") {
		plain = false // would read back as a tag
	}
	if !plain {
		w.tag("$dict")
		if err := w.pairs(keys, vals, depth); err != nil {
			return err
		}
		w.buf.WriteByte('}')
		return nil
	}
	w.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		writeJSONString(&w.buf, k.(string))
		w.buf.WriteByte(':')
		if err := w.value(vals[i], depth+1); err != nil {
			return err
		}
	}
	w.buf.WriteByte('}')
	return nil
}

var jsonKindNames = map[ObjectKind]string{Reduce: "reduce", NewObj: "newobj", NewObjEx: "newobj_ex", Inst: "inst", Obj: "obj"}

func (w *jsonWriter) object(tag string, o *Object, depth int) error {
	b := &w.buf
	w.tag(tag)
	b.WriteString(`{"callable":`)
	if err := w.value(o.Callable, depth+1); err != nil {
		return err
	}
	if o.Kind != Reduce {
		name, ok := jsonKindNames[o.Kind]
		if !ok {
			return jsonErr("unknown object kind %d", o.Kind)
		}
		b.WriteString(`,"kind":"` + name + `"`)
	}
	b.WriteString(`,"args":`)
	if err := w.array(o.Args, depth+1); err != nil {
		return err
	}
	if o.Kwargs != nil {
		b.WriteString(`,"kwargs":`)
		if err := w.value(o.Kwargs, depth+1); err != nil {
			return err
		}
	}
	if o.HasState {
		b.WriteString(`,"state":`)
		if err := w.value(o.State, depth+1); err != nil {
			return err
		}
	}
	if len(o.ListItems) > 0 {
		b.WriteString(`,"listitems":`)
		if err := w.array(o.ListItems, depth+1); err != nil {
			return err
		}
	}
	if len(o.DictItems) > 0 {
		keys, vals := make([]any, len(o.DictItems)), make([]any, len(o.DictItems))
		for i, p := range o.DictItems {
			keys[i], vals[i] = p.Key, p.Value
		}
		b.WriteString(`,"dictitems":`)
		if err := w.pairs(keys, vals, depth+1); err != nil {
			return err
		}
	}
	b.WriteString("}}")
	return nil
}

// known writes the short tag of a datetime, date, time, timedelta,
// Decimal or UUID object when the tag holds the whole value: when reading
// the tag back gives the same object.
func (w *jsonWriter) known(o *Object) bool {
	g, ok := o.Callable.(Global)
	if !ok {
		return false
	}
	var tag, text string
	switch g {
	case gDatetime:
		t, err := datetimeFrom(o)
		if err != nil {
			return false
		}
		tag, text = "$datetime", isoDatetime(t)
	case gDate:
		d, err := dateFrom(o)
		if err != nil {
			return false
		}
		tag, text = "$date", d.String()
	case gTime:
		t, err := timeOfDayFrom(o)
		if err != nil {
			return false
		}
		zone := isoZone(t.Zone, time.Date(2000, 1, 1, t.Hour, t.Minute, t.Second, 0, zoneOrNaive(t.Zone)))
		tag, text = "$time", t.String()+zone
	case gTimedelta:
		us, err := timedeltaFrom(o)
		if err != nil {
			return false
		}
		td := timedeltaModel(us)
		if !modelEqual(o, td) {
			return false
		}
		w.tag("$timedelta")
		fmt.Fprintf(&w.buf, "[%d,%d,%d]}", td.Args[0], td.Args[1], td.Args[2])
		return true
	case gDecimal:
		d, err := decimalFrom(o)
		if err != nil {
			return false
		}
		tag, text = "$decimal", string(d)
	case gUUID:
		u, err := uuidFrom(o)
		if err != nil {
			return false
		}
		tag, text = "$uuid", u.String()
	default:
		return false
	}
	if again, err := knownFromText(tag, text); err != nil || !modelEqual(o, again) {
		return false
	}
	w.tag(tag)
	writeJSONString(&w.buf, text)
	w.buf.WriteByte('}')
	return true
}

func zoneOrNaive(l *time.Location) *time.Location {
	if l == nil {
		return Naive
	}
	return l
}

// isoDatetime formats t as Python's isoformat, plus [key] for a named zone.
func isoDatetime(t time.Time) string {
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + isoZone(t.Location(), t)
}

// isoZone renders loc at instant t: "" (naive), "+05:30", "+01:00[Europe/Paris]".
func isoZone(loc *time.Location, t time.Time) string {
	if loc == nil || loc == Naive {
		return ""
	}
	name, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	s := fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf(":%02d", off%60)
	}
	if loc == time.UTC || loc == time.Local || name == loc.String() { // fixed
		return s
	}
	return s + "[" + loc.String() + "]"
}

// modelEqual compares two value-model values structurally (no cycles).
// getattr(Outer, 'name') equals the Global Outer.name.
func modelEqual(a, b any) bool {
	if ga, ok := asGlobal(a); ok {
		gb, ok := asGlobal(b)
		return ok && ga == gb
	}
	switch x := a.(type) {
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && seqEqual(x, y)
	case *List:
		y, ok := b.(*List)
		return ok && seqEqual(*x, *y)
	case *Dict:
		y, ok := b.(*Dict)
		return ok && seqEqual(x.Keys(), y.Keys()) && seqEqual(x.Values(), y.Values())
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Kind != y.Kind || x.HasState != y.HasState || !modelEqual(x.Callable, y.Callable) ||
			!seqEqual(x.Args, y.Args) || !modelEqual(x.State, y.State) || !seqEqual(x.ListItems, y.ListItems) ||
			len(x.DictItems) != len(y.DictItems) || (x.Kwargs == nil) != (y.Kwargs == nil) ||
			x.Kwargs != nil && !modelEqual(x.Kwargs, y.Kwargs) {
			return false
		}
		for i := range x.DictItems {
			if !modelEqual(x.DictItems[i].Key, y.DictItems[i].Key) || !modelEqual(x.DictItems[i].Value, y.DictItems[i].Value) {
				return false
			}
		}
		return true
	case nil, bool, int64, string, complex128, Global:
		return a == b
	}
	return false
}

func seqEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !modelEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// writeJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else if r == '\u2028' || r == '\u2029' {
			fmt.Fprintf(b, `\u%04x`, r)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// FromJSON is the inverse of ToJSON: it builds a value-model value from
// JSON, so that JSON typed by a person can be sent to Python. Plain JSON
// maps to None, bool, int (an integer literal; *big.Int beyond 64 bits),
// float (a literal with a point or exponent), str, list and dict (in
// document order); an object with a single key starting with "$" is one
// of ToJSON's tags, and an unknown tag is an error.
func FromJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &jsonParser{dec: dec}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, jsonErr("data after the value")
	}
	return v, nil
}

type jsonParser struct{ dec *json.Decoder }

func (p *jsonParser) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err == io.EOF {
		return nil, jsonErr("unexpected end of JSON")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	return t, nil
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, jsonErr("nested deeper than %d", maxJSONDepth)
	}
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case string:
		return x, nil
	case json.Number:
		return parseJSONNumber(string(x))
	case json.Delim:
		if x == '[' {
			l := List{}
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			if _, err := p.token(); err != nil {
				return nil, err
			}
			return &l, nil
		}
		if x == '{' {
			return p.object(depth)
		}
	}
	return nil, jsonErr("unexpected %v", t)
}

func parseJSONNumber(s string) (any, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, jsonErr("float %s out of range", s)
		}
		return f, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, jsonErr("bad number %s", s)
	}
	return b, nil
}

func (p *jsonParser) object(depth int) (any, error) {
	d := NewDict(0)
	var firstKey string
	var firstVal any
	n := 0
	for p.dec.More() {
		kt, err := p.token()
		if err != nil {
			return nil, err
		}
		k := kt.(string)
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			firstKey, firstVal = k, v
		}
		n++
		if err := d.Set(k, v); err != nil {
			return nil, err
		}
	}
	if _, err := p.token(); err != nil {
		return nil, err
	}
	if n == 1 && strings.HasPrefix(firstKey, "$") {
		v, err := fromTag(firstKey, firstVal)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, firstKey)
		}
		return v, nil
	}
	return d, nil
}

// fromTag builds the value of a {"$tag": payload} object.
func fromTag(tag string, v any) (any, error) {
	str := func() (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", jsonErr("%s wants a string", tag)
		}
		return s, nil
	}
	list := func() ([]any, error) {
		l, ok := v.(*List)
		if !ok {
			return nil, jsonErr("%s wants an array", tag)
		}
		return *l, nil
	}
	switch tag {
	case "$int":
		s, err := str()
		if err != nil {
			return nil, err
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, jsonErr("bad int %q", s)
		}
		return intModel(b), nil
	case "$float":
		s, err := str()
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(s) {
		case "nan":
			return math.NaN(), nil
		case "inf", "+inf", "infinity":
			return math.Inf(1), nil
		case "-inf", "-infinity":
			return math.Inf(-1), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, jsonErr("bad float %q", s)
		}
		return f, nil
	case "$complex":
		l, err := list()
		if err != nil || len(l) != 2 {
			return nil, jsonErr("$complex wants [real, imag]")
		}
		re, ok1 := jsonFloat(l[0])
		im, ok2 := jsonFloat(l[1])
		if !ok1 || !ok2 {
			return nil, jsonErr("$complex wants numbers")
		}
		return complex(re, im), nil
	case "$bytes", "$bytearray":
		s, err := str()
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, jsonErr("bad base64: %v", err)
		}
		if tag == "$bytearray" {
			ba := ByteArray(b)
			return &ba, nil
		}
		return b, nil
	case "$tuple":
		l, err := list()
		if err != nil {
			return nil, err
		}
		return Tuple(l), nil
	case "$set", "$frozenset":
		l, err := list()
		if err != nil {
			return nil, err
		}
		var add func(any) error
		var out any
		if tag == "$set" {
			s := NewSet(len(l))
			add, out = s.Add, s
		} else {
			s := NewFrozenSet(len(l))
			add, out = s.Add, s
		}
		for _, x := range l {
			if err := add(x); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "$dict":
		l, err := list()
		if err != nil {
			return nil, err
		}
		d := NewDict(len(l))
		for _, x := range l {
			kv, ok := x.(*List)
			if !ok || len(*kv) != 2 {
				return nil, jsonErr("$dict wants [[key, value], ...]")
			}
			if err := d.Set((*kv)[0], (*kv)[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	case "$global":
		s, err := str()
		if err != nil {
			return nil, err
		}
		mod, name, ok := strings.Cut(s, ":")
		if !ok || mod == "" || name == "" {
			return nil, jsonErr("$global wants \"module:name\", got %q", s)
		}
		return Global{mod, name}, nil
	case "$persid":
		return PersistentID{ID: v}, nil
	case "$object", "$exception":
		return objectFromJSON(tag, v)
	case "$datetime", "$date", "$time", "$decimal", "$uuid":
		s, err := str()
		if err != nil {
			return nil, err
		}
		return knownFromText(tag, s)
	case "$timedelta":
		l, err := list()
		if err != nil || len(l) != 3 {
			return nil, jsonErr("$timedelta wants [days, seconds, microseconds]")
		}
		o := newReduce(gTimedelta, l...)
		us, err := timedeltaFrom(o)
		if err != nil {
			return nil, jsonErr("$timedelta: %v", err)
		}
		return timedeltaModel(us), nil
	}
	return nil, jsonErr("unknown tag %q", tag)
}

func jsonFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func objectFromJSON(tag string, v any) (any, error) {
	d, ok := v.(*Dict)
	if !ok {
		return nil, jsonErr("%s wants an object", tag)
	}
	o := &Object{Kind: Reduce, Args: Tuple{}}
	for k, val := range d.All() {
		switch k {
		case "callable":
			o.Callable = val
		case "kind":
			found := false
			for kind, name := range jsonKindNames {
				if val == name {
					o.Kind, found = kind, true
				}
			}
			if !found {
				return nil, jsonErr("unknown kind %v", val)
			}
		case "args":
			l, ok := val.(*List)
			if !ok {
				return nil, jsonErr("args wants an array")
			}
			o.Args = Tuple(*l)
		case "kwargs":
			kw, ok := val.(*Dict)
			if !ok {
				return nil, jsonErr("kwargs wants an object")
			}
			o.Kwargs = kw
		case "state":
			o.State, o.HasState = val, true
		case "listitems":
			l, ok := val.(*List)
			if !ok {
				return nil, jsonErr("listitems wants an array")
			}
			o.ListItems = *l
		case "dictitems":
			l, ok := val.(*List)
			if !ok {
				return nil, jsonErr("dictitems wants [[key, value], ...]")
			}
			for _, x := range *l {
				kv, ok := x.(*List)
				if !ok || len(*kv) != 2 {
					return nil, jsonErr("dictitems wants [[key, value], ...]")
				}
				o.DictItems = append(o.DictItems, Pair{(*kv)[0], (*kv)[1]})
			}
		default:
			return nil, jsonErr("unknown field %q", k)
		}
	}
	if o.Callable == nil {
		return nil, jsonErr("%s needs a callable", tag)
	}
	if tag == "$exception" {
		return &Exception{Object: *o}, nil
	}
	return o, nil
}

// knownFromText parses the text of a $datetime, $date, $time, $decimal or
// $uuid tag into its object.
func knownFromText(tag, s string) (any, error) {
	bad := func(err error) (any, error) { return nil, jsonErr("bad %s %q: %v", tag, s, err) }
	switch tag {
	case "$decimal":
		if !Decimal(s).IsValid() {
			return bad(errors.New("not a decimal"))
		}
		return decimalModel(Decimal(s))
	case "$uuid":
		u, err := ParseUUID(s)
		if err != nil {
			return bad(err)
		}
		return uuidModel(u, HighestProtocol), nil
	case "$date":
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return bad(err)
		}
		return dateModel(DateOf(t))
	case "$time":
		clock, loc, off, err := splitZone(s)
		if err != nil {
			return bad(err)
		}
		t, err := time.Parse("15:04:05.999999999", clock)
		if err != nil {
			return bad(err)
		}
		if off != nil && loc == nil {
			loc = fixedLocation(*off)
		}
		tod := TimeOfDay{Hour: t.Hour(), Minute: t.Minute(), Second: t.Second(), Microsecond: t.Nanosecond() / 1000, Zone: loc}
		return timeOfDayModel(tod, HighestProtocol, ZoneInfo)
	case "$datetime":
		wall, loc, off, err := splitZone(s)
		if err != nil {
			return bad(err)
		}
		w, err := time.Parse("2006-01-02T15:04:05.999999999", wall)
		if err != nil {
			return bad(err)
		}
		var t time.Time
		switch {
		case loc == nil && off == nil:
			t = NaiveOf(w)
		case loc == nil:
			t = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), fixedLocation(*off))
		case off == nil:
			t = resolveWall(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc, false)
		default:
			t = w.Add(-time.Duration(*off) * time.Second).In(loc)
			if _, o := t.Zone(); o != *off {
				return bad(fmt.Errorf("offset %d s is not in effect in %s then", *off, loc))
			}
		}
		return timeModel(t, HighestProtocol, ZoneInfo)
	}
	return nil, jsonErr("unknown tag %q", tag)
}

func fixedLocation(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone(pyTZName(off), off)
}

// splitZone splits "clock[±HH:MM[:SS]|Z][[key]]" into the clock text, the
// named zone and the offset in seconds.
func splitZone(s string) (clock string, loc *time.Location, off *int, err error) {
	if strings.HasSuffix(s, "]") {
		i := strings.LastIndexByte(s, '[')
		if i < 0 {
			return "", nil, nil, errors.New("unbalanced [")
		}
		if loc, err = time.LoadLocation(s[i+1 : len(s)-1]); err != nil {
			return "", nil, nil, err
		}
		s = s[:i]
	}
	if strings.HasSuffix(s, "Z") {
		o := 0
		return s[:len(s)-1], loc, &o, nil
	}
	i := strings.LastIndexAny(s, "+-")
	if i < 0 || !strings.Contains(s[:i], ":") {
		return s, loc, nil, nil // no offset
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	parts := strings.Split(s[i+1:], ":")
	if len(parts) < 2 || len(parts) > 3 {
		return "", nil, nil, errors.New("offset wants ±HH:MM[:SS]")
	}
	total := 0
	for j, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) != 2 || n < 0 || j == 0 && n > 23 || n > 59 {
			return "", nil, nil, errors.New("offset wants ±HH:MM[:SS]")
		}
		total = total*60 + n
	}
	if len(parts) == 2 {
		total *= 60
	}
	total *= sign
	return s[:i], loc, &total, nil
}
