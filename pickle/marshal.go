package pickle

import (
	"encoding"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// This file converts Go values to the value model (the encoding half of
// the mapping layer). The rules, like encoding/json's:
//
//	Go                                Python
//	nil pointer, nil interface        None
//	bool, ints, floats, string        bool, int, float, str
//	complex64/128                     complex
//	[]byte, [N]byte                   bytes
//	other slices ([]T)                list (a nil slice is an empty list)
//	other arrays ([N]T)               tuple
//	map[K]V                           dict, keys in sorted order (a nil map is an empty dict)
//	struct                            dict of its exported fields (see below)
//	*big.Int, big.Int                 int
//	time.Time, time.Duration          datetime.datetime, datetime.timedelta
//	Date, TimeOfDay, Decimal, UUID    datetime.date, datetime.time, decimal.Decimal, uuid.UUID
//	Reducer                           whatever PickleReduce returns
//	PythonClass or registered type    an instance of that class
//	encoding.TextMarshaler            str
//
// Struct fields: a field's key is its name, or the name in its
// `pickle:"name"` tag; `pickle:"-"` skips it; the option omitempty skips
// false, 0, "", nil and empty slices, maps and strings; omitzero skips the
// zero value (or a value whose IsZero method reports true). Fields of
// untagged embedded structs are promoted as in encoding/json.
//
// Pointers shared in the Go value stay shared in the pickle (one Python
// object, referenced twice), and pointer cycles become Python cycles.
// Times and durations are truncated to microseconds, Python's resolution.

// UnsupportedTypeError is returned when encoding a Go value of a type that
// has no Python counterpart: channels, functions, unsafe pointers.
type UnsupportedTypeError struct {
	Type reflect.Type
	Path string // where in the value, e.g. "Items[3].Callback"
}

func (e *UnsupportedTypeError) Error() string {
	return "pickle: unsupported Go type " + e.Type.String() + atPath(e.Path)
}

// UnsupportedValueError is returned when encoding a Go value whose type is
// supported but whose value has no Python counterpart: a time outside
// years 1 to 9999, a map key Python cannot hash, a pointer to itself.
type UnsupportedValueError struct {
	Value reflect.Value
	Path  string
	Err   error
}

func (e *UnsupportedValueError) Error() string {
	return fmt.Sprintf("pickle: cannot encode %v value%s: %v", e.Value.Type(), atPath(e.Path), e.Err)
}

// Unwrap returns the cause.
func (e *UnsupportedValueError) Unwrap() error { return e.Err }

func atPath(p string) string {
	if p == "" {
		return ""
	}
	return " at " + p
}

// goToModel converts a Go value that the encoder has no fast path for
// (structs, typed maps and slices, time.Time, registered classes, ...) into
// the value model, which the encoder then writes. It uses DefaultRegistry.
func goToModel(v any, protocol int) (any, error) {
	e := newGoEncoder(DefaultRegistry, protocol)
	return e.model(reflect.ValueOf(v))
}

// goEncoder converts one Go value.
type goEncoder struct {
	reg      *Registry
	zones    ZonePolicy
	protocol int
	// refs maps Go references (pointer, map, slice) to the model value
	// made for them, so sharing and cycles carry over. A nil entry marks a
	// reference still being converted that has no container yet.
	refs map[refKey]any
}

type refKey struct {
	ptr unsafe.Pointer
	n   int // slice length
	typ reflect.Type
}

func newGoEncoder(r *Registry, protocol int) *goEncoder {
	return &goEncoder{reg: r, zones: r.ZonePolicy(), protocol: protocol}
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	durationType    = reflect.TypeFor[time.Duration]()
	dateType        = reflect.TypeFor[Date]()
	timeOfDayType   = reflect.TypeFor[TimeOfDay]()
	decimalType     = reflect.TypeFor[Decimal]()
	uuidType        = reflect.TypeFor[UUID]()
	bigIntType      = reflect.TypeFor[big.Int]()
	textMarshalType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType    = reflect.TypeFor[interface{ IsZero() bool }]()
)

// isSpecialStruct reports whether struct type t is one of the types with
// its own Python counterpart, which embedding does not flatten.
func isSpecialStruct(t reflect.Type) bool {
	return t == timeType || t == dateType || t == timeOfDayType || t == bigIntType
}

// isModelType reports whether values of t are already value-model values,
// passed through as they are.
func isModelType(t reflect.Type) bool {
	return slices.Contains(modelTypes[:], t)
}

var modelTypes = [...]reflect.Type{
	reflect.TypeFor[*Dict](), reflect.TypeFor[*List](), reflect.TypeFor[Tuple](), reflect.TypeFor[*Set](),
	reflect.TypeFor[*FrozenSet](), reflect.TypeFor[Global](), reflect.TypeFor[*Object](),
	reflect.TypeFor[*Exception](), reflect.TypeFor[*ByteArray](), reflect.TypeFor[PersistentID](),
	reflect.TypeFor[*big.Int](),
}

// model converts v. Errors carry the path of the failing part.
func (e *goEncoder) model(v reflect.Value) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	t := v.Type()
	if isModelType(t) {
		return v.Interface(), nil
	}
	if t.Kind() == reflect.Pointer && v.IsNil() {
		return nil, nil
	}
	if t.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, nil
		}
		return e.model(v.Elem())
	}
	// Reducer first: the type has the last word on its form.
	if t.Implements(reducerType) {
		return e.reduce(v)
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(reducerType) {
		pv := reflect.New(t)
		pv.Elem().Set(v)
		return e.reduce(pv)
	}
	switch t {
	case timeType:
		return e.wrapValue(v, func() (any, error) { return timeModel(v.Interface().(time.Time), e.protocol, e.zones) })
	case durationType:
		return durationModel(time.Duration(v.Int())), nil
	case dateType:
		return e.wrapValue(v, func() (any, error) { return dateModel(v.Interface().(Date)) })
	case timeOfDayType:
		return e.wrapValue(v, func() (any, error) {
			return timeOfDayModel(v.Interface().(TimeOfDay), e.protocol, e.zones)
		})
	case decimalType:
		return e.wrapValue(v, func() (any, error) { return decimalModel(Decimal(v.String())) })
	case uuidType:
		return uuidModel(v.Interface().(UUID), e.protocol), nil
	case bigIntType:
		b := new(big.Int)
		if v.CanAddr() {
			b.Set(v.Addr().Interface().(*big.Int))
		} else {
			x := v.Interface().(big.Int)
			b.Set(&x)
		}
		return intModel(b), nil
	}
	if t.Kind() == reflect.Pointer {
		return e.pointer(v)
	}
	if cls, ok := e.reg.classFor(t); ok {
		return e.instance(v, cls, refKey{})
	}
	if tm, ok := textMarshaler(v); ok {
		b, err := tm.MarshalText()
		if err != nil {
			return nil, &UnsupportedValueError{Value: v, Err: err}
		}
		return string(b), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := v.Uint(); u > 1<<63-1 {
			return new(big.Int).SetUint64(u), nil
		} else {
			return int64(u), nil
		}
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.Complex64, reflect.Complex128:
		return v.Complex(), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(reducerType) {
			if v.IsNil() {
				return []byte{}, nil
			}
			return v.Bytes(), nil
		}
		return e.list(v)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			return b, nil
		}
		tup := make(Tuple, v.Len())
		return tup, e.elems(v, tup)
	case reflect.Map:
		return e.dict(v)
	case reflect.Struct:
		d := NewDict(t.NumField())
		return d, e.fillStruct(d, v)
	}
	return nil, &UnsupportedTypeError{Type: t}
}

// textMarshaler returns v's MarshalText method, if it has one (possibly
// through its address).
func textMarshaler(v reflect.Value) (encoding.TextMarshaler, bool) {
	if v.Type().Implements(textMarshalType) {
		return v.Interface().(encoding.TextMarshaler), true
	}
	if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(textMarshalType) {
		return v.Addr().Interface().(encoding.TextMarshaler), true
	}
	return nil, false
}

// wrapValue runs f and reports its error as an UnsupportedValueError on v.
func (e *goEncoder) wrapValue(v reflect.Value, f func() (any, error)) (any, error) {
	m, err := f()
	if err != nil {
		var uve *UnsupportedValueError
		if errors.As(err, &uve) {
			return nil, err
		}
		return nil, &UnsupportedValueError{Value: v, Err: err}
	}
	return m, nil
}

func (e *goEncoder) reduce(v reflect.Value) (any, error) {
	o, err := v.Interface().(Reducer).PickleReduce()
	if err != nil {
		return nil, &UnsupportedValueError{Value: v, Err: err}
	}
	if o == nil {
		return nil, nil
	}
	return o, nil
}

// pointer converts a non-nil pointer, reusing the model value made for
// the same pointer before.
func (e *goEncoder) pointer(v reflect.Value) (any, error) {
	key := refKey{ptr: v.UnsafePointer(), typ: v.Type()}
	if m, ok := e.refs[key]; ok {
		if m == nil {
			return nil, &UnsupportedValueError{Value: v, Err: errors.New("pointer cycle without a container")}
		}
		return m, nil
	}
	if e.refs == nil {
		e.refs = map[refKey]any{}
	}
	elem := v.Elem()
	et := elem.Type()
	// Containers are registered before their contents are converted, so
	// a cycle back to this pointer finds them.
	if et.Kind() == reflect.Struct && !isSpecialStruct(et) && !et.Implements(reducerType) && !v.Type().Implements(reducerType) &&
		!et.Implements(textMarshalType) && !v.Type().Implements(textMarshalType) {
		if cls, ok := e.reg.classFor(et); ok {
			return e.instance(elem, cls, key)
		}
		d := NewDict(et.NumField())
		e.refs[key] = d
		return d, e.fillStruct(d, elem)
	}
	e.refs[key] = nil
	m, err := e.model(elem)
	if err != nil {
		return nil, err
	}
	e.refs[key] = m
	return m, nil
}

// instance converts a value of a type that encodes as an instance of cls.
func (e *goEncoder) instance(v reflect.Value, cls Global, key refKey) (any, error) {
	if v.Kind() != reflect.Struct {
		inner, err := e.modelUnderlying(v)
		if err != nil {
			return nil, err
		}
		return newReduce(cls, inner), nil
	}
	d := NewDict(v.NumField())
	o := newInstance(cls, d, e.protocol)
	if key.typ != nil {
		e.refs[key] = o
	}
	if err := e.fillStruct(d, v); err != nil {
		return nil, err
	}
	if d.Len() == 0 { // CPython writes no BUILD for an empty __dict__
		o.State, o.HasState = nil, false
	}
	return o, nil
}

// modelUnderlying converts v as a value of its underlying type, ignoring
// the methods and registration of its named type.
func (e *goEncoder) modelUnderlying(v reflect.Value) (any, error) {
	var ut reflect.Type
	switch v.Kind() {
	case reflect.Bool:
		ut = reflect.TypeFor[bool]()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		ut = reflect.TypeFor[uint64]()
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Slice:
		ut = reflect.SliceOf(v.Type().Elem())
	case reflect.Map:
		ut = reflect.MapOf(v.Type().Key(), v.Type().Elem())
	case reflect.Array:
		ut = reflect.ArrayOf(v.Len(), v.Type().Elem())
	default:
		return nil, &UnsupportedTypeError{Type: v.Type()}
	}
	return e.model(v.Convert(ut))
}

func (e *goEncoder) fillStruct(d *Dict, v reflect.Value) error {
	sf := cachedFields(v.Type())
	for i := range sf.list {
		f := &sf.list[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue // behind a nil embedded pointer
		}
		if f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		m, err := e.model(fv)
		if err != nil {
			return prefixErr(err, f.name)
		}
		if err := d.Set(f.name, m); err != nil {
			return err
		}
	}
	return nil
}

// fieldByIndex follows index through embedded structs, stopping at a nil
// embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func isZeroValue(v reflect.Value) bool {
	if v.Type().Implements(isZeroerType) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// list converts a slice to a *List, shared by every slice with the same
// start, length and type.
func (e *goEncoder) list(v reflect.Value) (any, error) {
	n := v.Len()
	var key refKey
	if n > 0 {
		key = refKey{ptr: v.UnsafePointer(), n: n, typ: v.Type()}
		if m, ok := e.refs[key]; ok {
			return m, nil
		}
		if e.refs == nil {
			e.refs = map[refKey]any{}
		}
	}
	l := make(List, n)
	pl := &l
	if n > 0 {
		e.refs[key] = pl
	}
	return pl, e.elems(v, l)
}

// elems converts the elements of slice or array v into out.
func (e *goEncoder) elems(v reflect.Value, out []any) error {
	for i := range out {
		m, err := e.model(v.Index(i))
		if err != nil {
			return prefixErr(err, fmt.Sprintf("[%d]", i))
		}
		out[i] = m
	}
	return nil
}

// dict converts a map to a *Dict with the keys sorted (numbers by value,
// strings and bytes by their bytes, other keys by type then text), as
// encoding/json sorts map keys.
func (e *goEncoder) dict(v reflect.Value) (any, error) {
	if v.IsNil() {
		return NewDict(0), nil
	}
	key := refKey{ptr: v.UnsafePointer(), typ: v.Type()}
	if m, ok := e.refs[key]; ok {
		return m, nil
	}
	if e.refs == nil {
		e.refs = map[refKey]any{}
	}
	d := NewDict(v.Len())
	e.refs[key] = d
	type kv struct {
		k  any
		mk reflect.Value
	}
	keys := make([]kv, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := e.model(it.Key())
		if err != nil {
			return nil, prefixErr(err, fmt.Sprintf("[%v]", it.Key()))
		}
		keys = append(keys, kv{k, it.Key()})
	}
	slices.SortFunc(keys, func(a, b kv) int { return compareKeys(a.k, b.k) })
	for _, k := range keys {
		m, err := e.model(v.MapIndex(k.mk))
		if err != nil {
			return nil, prefixErr(err, fmt.Sprintf("[%v]", k.mk))
		}
		if err := d.Set(k.k, m); err != nil {
			return nil, &UnsupportedValueError{Value: k.mk, Err: err}
		}
	}
	return d, nil
}

// compareKeys orders model values for map key sorting.
func compareKeys(a, b any) int {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int64:
		return big.NewInt(x).Cmp(toBig(b))
	case *big.Int:
		return x.Cmp(toBig(b))
	case float64:
		y := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return strings.Compare(string(x), string(b.([]byte)))
	case Tuple:
		y := b.(Tuple)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := compareKeys(x[i], y[i]); c != 0 {
				return c
			}
		}
		return len(x) - len(y)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func keyRank(k any) int {
	switch k.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case int64, *big.Int:
		return 2
	case float64:
		return 3
	case string:
		return 4
	case []byte:
		return 5
	case Tuple:
		return 6
	}
	return 7
}

func toBig(m any) *big.Int {
	if x, ok := m.(int64); ok {
		return big.NewInt(x)
	}
	return m.(*big.Int)
}

// prefixErr adds a path element to the error from a part of a value.
func prefixErr(err error, elem string) error {
	join := func(p string) string {
		if p == "" || strings.HasPrefix(p, "[") {
			return elem + p
		}
		return elem + "." + p
	}
	switch e := err.(type) {
	case *UnsupportedTypeError:
		e.Path = join(e.Path)
	case *UnsupportedValueError:
		e.Path = join(e.Path)
	case *UnmarshalTypeError:
		e.Path = join(e.Path)
	}
	return err
}
