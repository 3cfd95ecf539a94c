package pickle

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

// This file stores value-model values in Go values (the decoding half of
// the mapping layer). What each Go target accepts:
//
//	any                       the value as decoded (value model); an instance of a
//	                          registered class becomes its Go type
//	other interfaces          an instance of a registered class whose Go type
//	                          implements it, or a value-model value that does
//	                          (*Exception for error)
//	bool                      bool
//	ints, uints               int, with an error when it overflows the Go type
//	floats                    float or int
//	complex                   complex, float or int
//	string                    str
//	[]byte, [N]byte           bytes or bytearray (a [N]byte needs exactly N bytes),
//	                          or a list/tuple of ints
//	slices                    list, tuple, set or frozenset
//	arrays                    list or tuple of exactly the array's length
//	maps                      dict (keys converted to the key type); a set or
//	                          frozenset into map[K]bool or map[K]struct{}
//	structs                   dict, or a class instance: its state dict (and
//	                          slots dict), keyword arguments, or positional
//	                          arguments in field order (a namedtuple)
//	pointers                  None sets nil; else the pointed-to value
//	time.Time                 datetime.datetime, or datetime.date (midnight, Naive)
//	time.Duration             datetime.timedelta, or an int or float of seconds
//	Date, TimeOfDay           datetime.date (or datetime.datetime), datetime.time
//	Decimal                   decimal.Decimal, or an int
//	UUID                      uuid.UUID, a str in a form uuid.UUID accepts, or 16 bytes
//	big.Int                   int
//	encoding.TextUnmarshaler  str
//	Unpickler                 anything: the method decides
//
// Struct fields match dict keys exactly, then ignoring case, '_' and '-'
// (so "user_id" fills UserID); keys with no field are ignored. None leaves
// a non-nillable target unchanged, as JSON null does. Decoding stops at
// the first error. A Python object referenced twice becomes one Go pointer
// when the target is a pointer (cycles included) and shares the slice or
// map when the target is a slice or map.

// UnmarshalTypeError reports a Python value that cannot be stored in the
// Go value it was decoded into.
type UnmarshalTypeError struct {
	Value string       // the Python value: its type ("str", "datetime.datetime"), with the value for ints ("int 300")
	Type  reflect.Type // the Go type it could not be stored in
	Path  string       // where in the target, e.g. "Items[3].Size" or `Meta["k"]`; "" for the top level
	Err   error        // the reason, when more than a type mismatch
}

func (e *UnmarshalTypeError) Error() string {
	s := "pickle: cannot unmarshal Python " + e.Value + " into Go value of type " + e.Type.String() + atPath(e.Path)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the reason, if any.
func (e *UnmarshalTypeError) Unwrap() error { return e.Err }

// errCycle is the reason given when a Python value contains itself and the
// Go target type cannot (it has no pointer or interface on the cycle).
var errCycle = errors.New("the Python value contains itself; decode into pointers or any to keep the cycle")

// assignModel stores the value-model value m (as returned by decoding into
// an any) into dst, which is settable. It uses DefaultRegistry.
func assignModel(m any, dst reflect.Value) error {
	return newGoDecoder(DefaultRegistry).assign(m, dst)
}

// goDecoder stores one value-model value.
type goDecoder struct {
	reg *Registry
	// done maps (Python object, Go type) to the Go value already made from
	// it. Pointer targets are always recorded, so a shared object becomes
	// one pointer and a cycle through pointers closes. Other containers
	// are recorded once more than memoAfter of them have been filled, which
	// keeps decoding linear in the size of the pickle even when an object
	// is shared exponentially many times (a tuple of two references to a
	// tuple of two references ...), at no cost for ordinary values.
	done  map[nodeKey]reflect.Value
	path  []nodeKey // containers being filled: meeting one again is a cycle
	fills int
}

// memoAfter is the number of container fills after which finished
// containers are memoized.
const memoAfter = 1024

type nodeKey struct {
	ptr unsafe.Pointer
	n   int
	typ reflect.Type
}

func newGoDecoder(r *Registry) *goDecoder { return &goDecoder{reg: r} }

// keyOf returns the identity of container m for target type t.
func keyOf(m any, t reflect.Type) (nodeKey, bool) {
	var p unsafe.Pointer
	n := 0
	switch x := m.(type) {
	case *List:
		p = unsafe.Pointer(x)
	case *Dict:
		p = unsafe.Pointer(x)
	case *Set:
		p = unsafe.Pointer(x)
	case *FrozenSet:
		p = unsafe.Pointer(x)
	case *Object:
		p = unsafe.Pointer(x)
	case *Exception:
		p = unsafe.Pointer(x)
	case Tuple:
		if len(x) == 0 {
			return nodeKey{}, false
		}
		p, n = unsafe.Pointer(unsafe.SliceData(x)), len(x)
	case []any:
		if len(x) == 0 {
			return nodeKey{}, false
		}
		p, n = unsafe.Pointer(unsafe.SliceData(x)), len(x)
	default:
		return nodeKey{}, false
	}
	return nodeKey{p, n, t}, true
}

var (
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
	byteSliceType     = reflect.TypeFor[[]byte]()
)

func (d *goDecoder) typeErr(m any, t reflect.Type, err error) error {
	return &UnmarshalTypeError{Value: pyValueText(m), Type: t, Err: err}
}

// assign stores m in dst.
func (d *goDecoder) assign(m any, dst reflect.Value) error {
	t := dst.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && dst.CanAddr() && reflect.PointerTo(t).Implements(unpicklerType) {
		if err := dst.Addr().Interface().(Unpickler).Unpickle(m); err != nil {
			var ute *UnmarshalTypeError
			if errors.As(err, &ute) {
				return err
			}
			return d.typeErr(m, t, err)
		}
		return nil
	}
	if m == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			dst.SetZero()
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return d.pointer(m, dst)
	case reflect.Interface:
		return d.iface(m, dst)
	}
	if ok, err := d.special(m, dst); ok {
		return err
	}
	if cls, ok := d.reg.classFor(t); ok {
		if g, o, isObj := classOf(m); isObj {
			if g != cls && !d.reg.decodesTo(g, t) {
				return d.typeErr(m, t, fmt.Errorf("want an instance of %s.%s", cls.Module, cls.Name))
			}
			if t.Kind() != reflect.Struct {
				if len(o.Args) != 1 {
					return d.typeErr(m, t, errors.New("want one constructor argument"))
				}
				return d.kind(o.Args[0], dst)
			}
		}
	}
	if s, ok := m.(string); ok && t.Kind() != reflect.String && reflect.PointerTo(t).Implements(textUnmarshalType) && dst.CanAddr() {
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return d.typeErr(m, t, err)
		}
		return nil
	}
	if reflect.TypeOf(m) == t {
		dst.Set(reflect.ValueOf(m))
		return nil
	}
	return d.kind(m, dst)
}

// pointer stores non-nil m through the pointer dst, allocating when dst is
// nil, and reusing the pointer made for the same Python object before.
func (d *goDecoder) pointer(m any, dst reflect.Value) error {
	t := dst.Type()
	if reflect.TypeOf(m) == t { // a value-model pointer type: *Dict, *Object, ...
		dst.Set(reflect.ValueOf(m))
		return nil
	}
	key, shared := keyOf(m, t)
	if shared {
		if p, ok := d.done[key]; ok {
			dst.Set(p)
			return nil
		}
	}
	p := dst
	if dst.IsNil() {
		p = reflect.New(t.Elem())
	}
	if shared {
		if d.done == nil {
			d.done = map[nodeKey]reflect.Value{}
		}
		d.done[key] = p
	}
	if err := d.assign(m, p.Elem()); err != nil {
		return err
	}
	dst.Set(p)
	return nil
}

// iface stores m in an interface: a registered class as its Go type, the
// value model otherwise.
func (d *goDecoder) iface(m any, dst reflect.Value) error {
	t := dst.Type()
	if g, _, ok := classOf(m); ok {
		if rt, ok := d.reg.TypeOf(g.Module, g.Name); ok {
			nv := reflect.New(rt).Elem()
			if err := d.assign(m, nv); err != nil {
				return err
			}
			if !rt.AssignableTo(t) {
				return d.typeErr(m, t, fmt.Errorf("registered type %v does not implement it", rt))
			}
			dst.Set(nv)
			return nil
		}
	}
	mv := reflect.ValueOf(m)
	if !mv.Type().AssignableTo(t) {
		return d.typeErr(m, t, nil)
	}
	dst.Set(mv)
	return nil
}

// special handles the target types with their own Python counterpart.
func (d *goDecoder) special(m any, dst reflect.Value) (bool, error) {
	t := dst.Type()
	var err error
	switch t {
	case timeType:
		var tm time.Time
		if isPyClass(m, gDate) {
			var dt Date
			if dt, err = dateFrom(m); err == nil {
				tm = dt.In(Naive)
			}
		} else if isPyClass(m, gDatetime) {
			tm, err = datetimeFrom(m)
		} else {
			return true, d.typeErr(m, t, nil)
		}
		if err == nil {
			dst.Set(reflect.ValueOf(tm))
		}
	case durationType:
		var du time.Duration
		switch x := m.(type) {
		case int64:
			if x > math.MaxInt64/int64(time.Second) || x < math.MinInt64/int64(time.Second) {
				err = errDurationRange
			}
			du = time.Duration(x) * time.Second
		case float64:
			if !(math.Abs(x) < float64(math.MaxInt64)/float64(time.Second)) {
				err = errDurationRange
			}
			du = time.Duration(x * float64(time.Second))
		default:
			if !isPyClass(m, gTimedelta) {
				return true, d.typeErr(m, t, nil)
			}
			du, err = durationFrom(m)
		}
		if err == nil {
			dst.SetInt(int64(du))
		}
	case dateType:
		if !isPyClass(m, gDate) && !isPyClass(m, gDatetime) {
			return true, d.typeErr(m, t, nil)
		}
		var dt Date
		if dt, err = dateFrom(m); err == nil {
			dst.Set(reflect.ValueOf(dt))
		}
	case timeOfDayType:
		if !isPyClass(m, gTime) {
			return true, d.typeErr(m, t, nil)
		}
		var tod TimeOfDay
		if tod, err = timeOfDayFrom(m); err == nil {
			dst.Set(reflect.ValueOf(tod))
		}
	case decimalType:
		switch x := m.(type) {
		case int64:
			dst.SetString(strconv.FormatInt(x, 10))
		case *big.Int:
			dst.SetString(x.String())
		default:
			if !isPyClass(m, gDecimal) {
				return true, d.typeErr(m, t, nil)
			}
			var dec Decimal
			if dec, err = decimalFrom(m); err == nil {
				dst.SetString(string(dec))
			}
		}
	case uuidType:
		var u UUID
		switch x := m.(type) {
		case string:
			u, err = ParseUUID(x)
		case []byte:
			if len(x) != 16 {
				err = errors.New("want 16 bytes")
			}
			copy(u[:], x)
		default:
			if g, _, ok := classOf(m); !ok || g != gUUID {
				return true, d.typeErr(m, t, nil)
			}
			u, err = uuidFrom(m)
		}
		if err == nil {
			dst.Set(reflect.ValueOf(u))
		}
	case bigIntType:
		switch x := m.(type) {
		case int64:
			dst.Addr().Interface().(*big.Int).SetInt64(x)
		case *big.Int:
			dst.Addr().Interface().(*big.Int).Set(x)
		default:
			return true, d.typeErr(m, t, nil)
		}
	default:
		return false, nil
	}
	if err != nil {
		return true, d.typeErr(m, t, err)
	}
	return true, nil
}

// kind stores m by the kind of dst, ignoring its named type's methods.
func (d *goDecoder) kind(m any, dst reflect.Value) error {
	t := dst.Type()
	switch t.Kind() {
	case reflect.Bool:
		if b, ok := m.(bool); ok {
			dst.SetBool(b)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch x := m.(type) {
		case int64:
			if !dst.OverflowInt(x) {
				dst.SetInt(x)
				return nil
			}
		case *big.Int:
			if x.IsInt64() && !dst.OverflowInt(x.Int64()) {
				dst.SetInt(x.Int64())
				return nil
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		switch x := m.(type) {
		case int64:
			if x >= 0 && !dst.OverflowUint(uint64(x)) {
				dst.SetUint(uint64(x))
				return nil
			}
		case *big.Int:
			if x.IsUint64() && !dst.OverflowUint(x.Uint64()) {
				dst.SetUint(x.Uint64())
				return nil
			}
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := m.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		case *big.Int:
			f, _ = new(big.Float).SetInt(x).Float64()
		default:
			return d.typeErr(m, t, nil)
		}
		if dst.OverflowFloat(f) && !math.IsInf(f, 0) || math.IsInf(f, 0) && !isInfSource(m) {
			return d.typeErr(m, t, errors.New("out of range"))
		}
		dst.SetFloat(f)
		return nil
	case reflect.Complex64, reflect.Complex128:
		var c complex128
		switch x := m.(type) {
		case complex128:
			c = x
		case float64:
			c = complex(x, 0)
		case int64:
			c = complex(float64(x), 0)
		default:
			return d.typeErr(m, t, nil)
		}
		dst.SetComplex(c)
		return nil
	case reflect.String:
		if s, ok := m.(string); ok {
			dst.SetString(s)
			return nil
		}
	case reflect.Slice:
		return d.slice(m, dst)
	case reflect.Array:
		return d.array(m, dst)
	case reflect.Map:
		return d.mapping(m, dst)
	case reflect.Struct:
		return d.strct(m, dst)
	}
	return d.typeErr(m, t, nil)
}

func isInfSource(m any) bool {
	f, ok := m.(float64)
	return ok && math.IsInf(f, 0)
}

// items returns the elements of a Python sequence or set.
func items(m any) ([]any, bool) {
	switch x := m.(type) {
	case *List:
		return *x, true
	case Tuple:
		return x, true
	case []any:
		return x, true
	case *Set:
		return x.Items(), true
	case *FrozenSet:
		return x.Items(), true
	}
	return nil, false
}

// begin checks the memo for container m filling non-pointer dst: done
// reports that dst was set from an earlier identical fill. A container
// that is already being filled into the same Go type is a cycle the
// target cannot hold.
func (d *goDecoder) begin(m any, dst reflect.Value) (key nodeKey, tracked, done bool, err error) {
	key, tracked = keyOf(m, dst.Type())
	if !tracked {
		return key, false, false, nil
	}
	if v, ok := d.done[key]; ok {
		dst.Set(v)
		return key, true, true, nil
	}
	for _, k := range d.path {
		if k == key {
			return key, true, false, d.typeErr(m, dst.Type(), errCycle)
		}
	}
	d.path = append(d.path, key)
	return key, true, false, nil
}

// end records the finished fill of dst from the container with key.
func (d *goDecoder) end(key nodeKey, dst reflect.Value) {
	d.path = d.path[:len(d.path)-1]
	d.fills++
	if d.fills <= memoAfter {
		return
	}
	if d.done == nil {
		d.done = map[nodeKey]reflect.Value{}
	}
	v := reflect.New(dst.Type()).Elem()
	v.Set(dst)
	d.done[key] = v
}

// bytesOf returns the contents of a bytes or bytearray.
func bytesOf(m any) ([]byte, bool) {
	switch x := m.(type) {
	case []byte:
		return x, true
	case *ByteArray:
		if x != nil {
			return *x, true
		}
	}
	return nil, false
}

func (d *goDecoder) slice(m any, dst reflect.Value) error {
	t := dst.Type()
	if t.Elem().Kind() == reflect.Uint8 {
		if b, ok := bytesOf(m); ok {
			if byteSliceType.ConvertibleTo(t) {
				dst.Set(reflect.ValueOf(b).Convert(t))
			} else { // a slice of a named byte type
				s := reflect.MakeSlice(t, len(b), len(b))
				for i, c := range b {
					s.Index(i).SetUint(uint64(c))
				}
				dst.Set(s)
			}
			return nil
		}
	}
	elems, ok := items(m)
	if !ok {
		return d.typeErr(m, t, nil)
	}
	key, tracked, done, err := d.begin(m, dst)
	if done || err != nil {
		return err
	}
	s := reflect.MakeSlice(t, len(elems), len(elems))
	for i, e := range elems {
		if err := d.assign(e, s.Index(i)); err != nil {
			return prefixErr(err, "["+strconv.Itoa(i)+"]")
		}
	}
	dst.Set(s)
	if tracked {
		d.end(key, dst)
	}
	return nil
}

func (d *goDecoder) array(m any, dst reflect.Value) error {
	t := dst.Type()
	if t.Elem().Kind() == reflect.Uint8 {
		if b, ok := bytesOf(m); ok {
			if len(b) != t.Len() {
				return d.typeErr(m, t, fmt.Errorf("%d bytes for %d", len(b), t.Len()))
			}
			for i, c := range b {
				dst.Index(i).SetUint(uint64(c))
			}
			return nil
		}
	}
	elems, ok := items(m)
	if !ok {
		return d.typeErr(m, t, nil)
	}
	if len(elems) != t.Len() {
		return d.typeErr(m, t, fmt.Errorf("%d items for %d", len(elems), t.Len()))
	}
	key, tracked, done, err := d.begin(m, dst)
	if done || err != nil {
		return err
	}
	for i, e := range elems {
		if err := d.assign(e, dst.Index(i)); err != nil {
			return prefixErr(err, "["+strconv.Itoa(i)+"]")
		}
	}
	if tracked {
		d.end(key, dst)
	}
	return nil
}

func (d *goDecoder) mapping(m any, dst reflect.Value) error {
	t := dst.Type()
	var setKeys []any
	switch x := m.(type) {
	case *Dict:
	case *Set, *FrozenSet:
		if ek := t.Elem().Kind(); !(ek == reflect.Bool || ek == reflect.Struct && t.Elem().NumField() == 0) {
			return d.typeErr(m, t, errors.New("a set decodes into map[K]bool or map[K]struct{}"))
		}
		setKeys, _ = items(x)
	default:
		return d.typeErr(m, t, nil)
	}
	key, tracked, done, err := d.begin(m, dst)
	if done || err != nil {
		return err
	}
	if dst.IsNil() {
		dst.Set(reflect.MakeMap(t))
	}
	kt, vt := t.Key(), t.Elem()
	put := func(k, v any) error {
		kv := reflect.New(kt).Elem()
		if err := d.assign(k, kv); err != nil {
			return prefixErr(err, "[key "+keyText(k)+"]")
		}
		if !kv.Comparable() {
			return d.typeErr(k, kt, errors.New("cannot be a Go map key"))
		}
		vv := reflect.New(vt).Elem()
		if setKeys != nil {
			if vt.Kind() == reflect.Bool {
				vv.SetBool(true)
			}
		} else if err := d.assign(v, vv); err != nil {
			return prefixErr(err, "["+keyText(k)+"]")
		}
		dst.SetMapIndex(kv, vv)
		return nil
	}
	if setKeys != nil {
		for _, k := range setKeys {
			if err := put(k, nil); err != nil {
				return err
			}
		}
	} else {
		for k, v := range m.(*Dict).All() {
			if err := put(k, v); err != nil {
				return err
			}
		}
	}
	if tracked {
		d.end(key, dst)
	}
	return nil
}

// keyText renders a dict key for an error path.
func keyText(k any) string {
	switch x := k.(type) {
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	}
	return pyTypeName(k)
}

func (d *goDecoder) strct(m any, dst reflect.Value) error {
	t := dst.Type()
	var o *Object
	switch x := m.(type) {
	case *Dict:
	case *Object:
		o = x
	case *Exception:
		o = &x.Object
	default:
		return d.typeErr(m, t, nil)
	}
	key, tracked, done, err := d.begin(m, dst)
	if done || err != nil {
		return err
	}
	sf := cachedFields(t)
	if o == nil {
		err = d.fields(m.(*Dict).All(), sf, dst)
	} else {
		err = d.objectFields(o, sf, dst)
	}
	if err != nil {
		return err
	}
	if tracked {
		d.end(key, dst)
	}
	return nil
}

// fields fills struct dst from string-keyed pairs.
func (d *goDecoder) fields(pairs func(func(any, any) bool), sf *structFields, dst reflect.Value) error {
	var err error
	pairs(func(k, v any) bool {
		ks, ok := k.(string)
		if !ok {
			return true
		}
		f, ok := sf.lookup(ks)
		if !ok {
			return true
		}
		err = d.setField(v, f, dst)
		return err == nil
	})
	return err
}

func (d *goDecoder) setField(v any, f *field, dst reflect.Value) error {
	fv, err := fieldForSet(dst, f.index)
	if err != nil {
		return &UnmarshalTypeError{Value: pyValueText(v), Type: f.typ, Path: f.name, Err: err}
	}
	if err := d.assign(v, fv); err != nil {
		return prefixErr(err, f.name)
	}
	return nil
}

// fieldForSet follows index, allocating nil embedded pointers.
func fieldForSet(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("cannot set embedded pointer to unexported struct %v", v.Type().Elem())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// objectFields fills struct dst from a class instance: positional
// constructor arguments in field order (a namedtuple), keyword arguments
// (NEWOBJ_EX), dict items, then the state (a dict, or a (dict, slots) pair).
func (d *goDecoder) objectFields(o *Object, sf *structFields, dst reflect.Value) error {
	if err := d.positional(o, sf, dst); err != nil {
		return err
	}
	if o.Kwargs != nil {
		if err := d.fields(o.Kwargs.All(), sf, dst); err != nil {
			return err
		}
	}
	if len(o.DictItems) > 0 {
		pairs := func(yield func(any, any) bool) {
			for _, p := range o.DictItems {
				if !yield(p.Key, p.Value) {
					return
				}
			}
		}
		if err := d.fields(pairs, sf, dst); err != nil {
			return err
		}
	}
	if !o.HasState || o.State == nil {
		return nil
	}
	states := []any{o.State}
	if tup, ok := o.State.(Tuple); ok && len(tup) == 2 {
		states = tup[:]
	}
	for _, s := range states {
		switch x := s.(type) {
		case nil:
		case *Dict:
			if err := d.fields(x.All(), sf, dst); err != nil {
				return err
			}
		default:
			return &UnmarshalTypeError{Value: "object state " + pyTypeName(o.State), Type: dst.Type(),
				Err: errors.New("state is not a dict; implement Unpickler to decode it")}
		}
	}
	return nil
}

// positional fills fields in order from an object's constructor
// arguments: the args of cls(*args) or cls.__new__(cls, *args), or the
// value of copyreg._reconstructor(cls, base, value) for a tuple or list
// subclass pickled below protocol 2 (a namedtuple).
func (d *goDecoder) positional(o *Object, sf *structFields, dst reflect.Value) error {
	args := o.Args
	if g, ok := o.Callable.(Global); !ok {
		return nil
	} else if g == gReconstructor {
		if len(args) != 3 {
			return nil
		}
		if args, ok = items(args[2]); !ok {
			return nil
		}
	} else if (g == Global{"copyreg", "__newobj__"}) && len(args) > 0 {
		args = args[1:]
	}
	for i, a := range args {
		if i >= len(sf.list) {
			break
		}
		if err := d.setField(a, &sf.list[i], dst); err != nil {
			return err
		}
	}
	return nil
}
