package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file maps Python's datetime, decimal and uuid values to Go types.
//
//	Python                          Go
//	datetime.datetime (naive)       time.Time in the location Naive
//	datetime.datetime (aware)       time.Time: timezone.utc ↔ time.UTC,
//	                                datetime.timezone(offset[, name]) ↔ time.FixedZone,
//	                                zoneinfo.ZoneInfo(key) ↔ time.LoadLocation(key)
//	datetime.date                   Date (or time.Time at midnight, Naive)
//	datetime.time                   TimeOfDay
//	datetime.timedelta              time.Duration
//	decimal.Decimal                 Decimal
//	uuid.UUID                       UUID
//
// CPython pickles them as follows (the same in 3.8 to 3.13):
//
//	datetime(...)    REDUCE datetime.datetime (state[, tzinfo])   state: 10 bytes, year u16be,
//	                 month (| 0x80 when fold=1 and protocol > 3), day, hour, minute, second, µs u24be
//	date(...)        REDUCE datetime.date (state,)                 state: 4 bytes, year u16be, month, day
//	time(...)        REDUCE datetime.time (state[, tzinfo])        state: 6 bytes, hour (| 0x80 for fold), ...
//	timedelta(...)   REDUCE datetime.timedelta (days, seconds, microseconds)
//	timezone(...)    REDUCE datetime.timezone (timedelta[, name])  timezone.utc is timezone(timedelta(0))
//	ZoneInfo(key)    REDUCE (getattr(zoneinfo.ZoneInfo, '_unpickle')) (key, 1)
//	Decimal(s)       REDUCE decimal.Decimal (str,)
//	UUID(...)        NEWOBJ uuid.UUID () + BUILD {'int': n}        (copyreg._reconstructor below protocol 2)
//
// Below protocol 3 the byte strings travel as _codecs.encode(str, 'latin1'),
// which the encoder writes and the decoder undoes.
//
// Details of the time mapping:
//   - Go times have nanoseconds, Python microseconds: encoding truncates.
//   - Encoding a time outside years 1 to 9999 is an error.
//   - time.Local encodes as a fixed offset (the one in effect at that
//     instant): Go does not know the IANA name of the local zone. Load the
//     zone with time.LoadLocation to send a zoneinfo.ZoneInfo.
//   - A time.FixedZone keeps its name unless it is "" or the name Python
//     would give the offset ("UTC+05:30"); decoding an unnamed
//     datetime.timezone gives a FixedZone with Python's name.
//   - zoneinfo keys are loaded with time.LoadLocation, which needs the
//     system's time zone database (or a program that imports time/tzdata).
//     ZoneInfo.no_cache(key) decodes like ZoneInfo(key) and encodes back as
//     ZoneInfo(key). pytz zones (pytz._p, pytz._UTC) decode too.
//   - PEP 495 fold: the second of two equal wall times is fold=1, decoded
//     and encoded exactly as Python resolves it (gaps included); like
//     CPython, the fold bit is written only from protocol 4 on.

// Naive is the location of a time.Time that stands for a naive Python
// datetime (one without tzinfo). Decoding a naive datetime gives a
// time.Time in Naive, and a time.Time in Naive encodes as a naive datetime,
// so naive values survive a round trip. Build one with
// time.Date(..., pickle.Naive), or keep the wall clock of another time with
// NaiveOf (t.In(pickle.Naive) would convert the instant instead). Naive
// has a zero offset, so Unix and Equal read the wall clock as UTC, where
// Python refuses to compare naive and aware datetimes.
var Naive = time.FixedZone("", 0)

// NaiveOf returns the naive time with t's wall clock (date and time of day
// as read in t's location), dropping the zone.
func NaiveOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), Naive)
}

// IsNaive reports whether t is a naive time (its location is Naive).
func IsNaive(t time.Time) bool { return t.Location() == Naive }

// FixedOffset returns t in a fixed zone with t's current UTC offset, which
// encodes as datetime.timezone(timedelta(seconds=offset)) instead of
// zoneinfo.ZoneInfo. Python 3.8 has no zoneinfo module; convert times in
// named zones with FixedOffset (or set the registry's ZonePolicy) before
// sending them to a 3.8 peer.
func FixedOffset(t time.Time) time.Time {
	if t.Location() == Naive || t.Location() == time.UTC {
		return t
	}
	_, off := t.Zone()
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone(pyTZName(off), off))
}

// Date is Python's datetime.date: a calendar date without a time or zone.
// The zero Date encodes as None (and None leaves a Date unchanged).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// In returns midnight at the start of d in loc (Naive for a naive time).
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats d as Python's date.isoformat does: "2024-01-02".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// IsValid reports whether d is a date Python accepts (years 1 to 9999).
func (d Date) IsValid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= 1 && d.Month <= 12 && d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// TimeOfDay is Python's datetime.time: a wall-clock time with an optional
// zone. Zone nil is a naive time; time.UTC, a fixed zone or a named zone
// map to tzinfo as for time.Time.
type TimeOfDay struct {
	Hour, Minute, Second int
	Microsecond          int
	// Fold is PEP 495's fold: the later of two equal wall times around a
	// backwards clock change. It travels only at protocol 4 and above,
	// as in CPython.
	Fold bool
	Zone *time.Location
}

// String formats t as Python's time.isoformat does, without the zone.
func (t TimeOfDay) String() string {
	s := fmt.Sprintf("%02d:%02d:%02d", t.Hour, t.Minute, t.Second)
	if t.Microsecond != 0 {
		s += fmt.Sprintf(".%06d", t.Microsecond)
	}
	return s
}

// IsValid reports whether every field of t is in Python's range.
func (t TimeOfDay) IsValid() bool {
	return t.Hour >= 0 && t.Hour < 24 && t.Minute >= 0 && t.Minute < 60 && t.Second >= 0 && t.Second < 60 &&
		t.Microsecond >= 0 && t.Microsecond < 1e6
}

// Decimal is Python's decimal.Decimal, held as its string form, e.g.
// "1.10", "-0", "1E+3", "NaN" or "-Infinity". It pickles as CPython does:
// REDUCE decimal.Decimal (str,). Encoding and decoding check the syntax
// Python's Decimal constructor accepts; decoding keeps Python's str(d).
// The zero Decimal ("") encodes as None.
type Decimal string

// String returns the decimal's text.
func (d Decimal) String() string { return string(d) }

// IsValid reports whether d is in the syntax decimal.Decimal accepts: an
// optional sign, then digits with an optional point and exponent, or
// Infinity/Inf, or NaN/sNaN with an optional payload (case-insensitive,
// underscores allowed between digits, no surrounding spaces).
func (d Decimal) IsValid() bool {
	s := string(d)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	ls := strings.ToLower(s)
	switch {
	case ls == "inf" || ls == "infinity":
		return true
	case strings.HasPrefix(ls, "nan"):
		return digitsOK(s[3:], true)
	case strings.HasPrefix(ls, "snan"):
		return digitsOK(s[4:], true)
	}
	mant, exp, hasExp := strings.Cut(ls, "e")
	if hasExp {
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if !digitsOK(exp, false) {
			return false
		}
	}
	ip, fp, hasPoint := strings.Cut(mant, ".")
	if !hasPoint {
		return digitsOK(ip, false)
	}
	return (ip != "" || fp != "") && digitsOK(ip, true) && digitsOK(fp, true)
}

// digitsOK reports whether s is ASCII digits with single underscores
// between digits (empty allowed when emptyOK).
func digitsOK(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' && i > 0 && i < len(s)-1 && s[i-1] != '_' {
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// UUID is Python's uuid.UUID: 16 bytes, most significant first (UUID.bytes).
type UUID [16]byte

// String formats u as Python's str(uuid) does.
func (u UUID) String() string {
	var b [36]byte
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&15]
		j += 2
	}
	return string(b[:])
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseUUID.
func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// ParseUUID parses the forms Python's uuid.UUID(hex) accepts: 32 hex
// digits with any hyphens, optionally in braces or after "urn:uuid:".
func ParseUUID(s string) (UUID, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	var u UUID
	if len(h) != 32 {
		return u, fmt.Errorf("pickle: invalid UUID %q: want 32 hex digits", s)
	}
	for i := range u {
		hi, ok1 := unhex(h[2*i])
		lo, ok2 := unhex(h[2*i+1])
		if !ok1 || !ok2 {
			return UUID{}, fmt.Errorf("pickle: invalid UUID %q: bad hex digit", s)
		}
		u[i] = hi<<4 | lo
	}
	return u, nil
}

// The globals these types pickle through. Module and class names that are
// the same text get separate backing arrays, as CPython's interned module
// name and class name are separate objects, so the encoder's string memo
// produces CPython's bytes.
var (
	modDatetime       = "datetime"
	gDatetime         = Global{modDatetime, strings.Clone("datetime")}
	gDate             = Global{modDatetime, "date"}
	gTime             = Global{modDatetime, "time"}
	gTimedelta        = Global{modDatetime, "timedelta"}
	gTimezone         = Global{modDatetime, "timezone"}
	gDecimal          = Global{"decimal", "Decimal"}
	gUUID             = Global{"uuid", "UUID"}
	gZoneInfo         = Global{"zoneinfo", "ZoneInfo"}
	gZoneInfoUnpickle = Global{"zoneinfo", "ZoneInfo._unpickle"}
	gGetattr          = Global{"builtins", "getattr"}
	gObject           = Global{"builtins", "object"}
	gReconstructor    = Global{"copyreg", "_reconstructor"}
	gPytzP            = Global{"pytz", "_p"}
	gPytzUTC          = Global{"pytz", "_UTC"}
	unpickleName      = "_unpickle"
	errZoneRange      = errors.New("UTC offset must be strictly between -24h and +24h")
	errYearRange      = errors.New("year outside Python's range 1 to 9999")
	errFractionalTZ   = errors.New("UTC offset has a fraction of a second, which Go zones cannot hold")
)

// ZonePolicy says how a time in a named zone (one loaded with
// time.LoadLocation) encodes. See Registry.SetZonePolicy.
type ZonePolicy int

const (
	// ZoneInfo encodes a named zone as zoneinfo.ZoneInfo(key), which keeps
	// the zone's rules. Python 3.8 has no zoneinfo module and fails to load
	// it with ModuleNotFoundError. This is the default.
	ZoneInfo ZonePolicy = iota
	// ZoneFixed encodes a named zone as datetime.timezone with the UTC
	// offset in effect at that instant: loadable by 3.8, same instant and
	// wall clock, but the zone's rules are lost.
	ZoneFixed
	// ZoneReject makes encoding a time in a named zone fail with
	// ErrNamedZone, for programs that must not send zoneinfo to a 3.8
	// peer and must not lose the zone silently either.
	ZoneReject
)

// ErrNamedZone is returned (wrapped in an *UnsupportedValueError) when
// ZonePolicy is ZoneReject and a time in a named zone is encoded.
var ErrNamedZone = errors.New("pickle: time in a named zone needs zoneinfo (Python 3.9+); convert it with FixedOffset")

// newReduce builds the object callable(*args).
func newReduce(callable any, args ...any) *Object {
	return &Object{Callable: callable, Kind: Reduce, Args: Tuple(args)}
}

// newInstance builds what CPython's object.__reduce_ex__ produces for an
// instance of a plain class: NEWOBJ cls () from protocol 2 on,
// copyreg._reconstructor(cls, object, None) below it, followed by BUILD
// state when state is not nil.
func newInstance(cls Global, state any, protocol int) *Object {
	var o *Object
	if protocol >= 2 {
		o = &Object{Callable: cls, Kind: NewObj, Args: Tuple{}}
	} else {
		o = newReduce(gReconstructor, cls, gObject, nil)
	}
	if state != nil {
		o.State, o.HasState = state, true
	}
	return o
}

// ---- encoding ----

// timeModel converts t to a datetime.datetime object.
func timeModel(t time.Time, protocol int, zp ZonePolicy) (any, error) {
	tz, err := tzModel(t, zp)
	if err != nil {
		return nil, err
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return nil, errYearRange
	}
	st := make([]byte, 10)
	binary.BigEndian.PutUint16(st, uint16(t.Year()))
	st[2] = byte(t.Month())
	if protocol > 3 && isFold(t) {
		st[2] |= 0x80
	}
	st[3], st[4], st[5], st[6] = byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())
	putU24(st[7:], t.Nanosecond()/1000)
	if tz == nil {
		return newReduce(gDatetime, st), nil
	}
	return newReduce(gDatetime, st, tz), nil
}

func putU24(b []byte, v int) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }

// isFold reports whether t is the second occurrence of its wall time: its
// zone period started with a clock moved back and t is still within the
// repeated stretch.
func isFold(t time.Time) bool {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Nanosecond).Zone()
	return prev > off && t.Sub(start) < time.Duration(prev-off)*time.Second
}

// tzModel returns the tzinfo object for t's location, or nil for Naive.
func tzModel(t time.Time, zp ZonePolicy) (any, error) {
	loc := t.Location()
	switch loc {
	case Naive:
		return nil, nil
	case time.UTC:
		return timezoneModel(0, ""), nil
	case time.Local:
		_, off := t.Zone()
		return fixedZoneModel(off, "")
	}
	name, off := t.Zone()
	if name == loc.String() { // a time.FixedZone
		return fixedZoneModel(off, name)
	}
	switch zp {
	case ZoneFixed:
		return fixedZoneModel(off, "")
	case ZoneReject:
		return nil, ErrNamedZone
	}
	return zoneInfoModel(loc.String()), nil
}

func fixedZoneModel(off int, name string) (any, error) {
	if off <= -86400 || off >= 86400 {
		return nil, errZoneRange
	}
	if name == pyTZName(off) {
		name = ""
	}
	return timezoneModel(off, name), nil
}

func timezoneModel(off int, name string) *Object {
	td := timedeltaModel(int64(off) * 1e6)
	if name == "" {
		return newReduce(gTimezone, td)
	}
	return newReduce(gTimezone, td, name)
}

func zoneInfoModel(key string) *Object {
	return newReduce(newReduce(gGetattr, gZoneInfo, unpickleName), key, int64(1))
}

// pyTZName is the name Python gives datetime.timezone(offset) without an
// explicit name: "UTC", "UTC+05:30", "UTC-00:00:30".
func pyTZName(off int) string {
	if off == 0 {
		return "UTC"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	if off%60 != 0 {
		return fmt.Sprintf("UTC%c%02d:%02d:%02d", sign, off/3600, off/60%60, off%60)
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, off/3600, off/60%60)
}

// durationModel converts d to a datetime.timedelta, truncated to whole
// microseconds.
func durationModel(d time.Duration) *Object { return timedeltaModel(d.Microseconds()) }

func timedeltaModel(us int64) *Object {
	const day = 86400 * 1e6
	days, rem := us/day, us%day
	if rem < 0 {
		days, rem = days-1, rem+day
	}
	return newReduce(gTimedelta, days, rem/1e6, rem%1e6)
}

func dateModel(d Date) (any, error) {
	if d == (Date{}) {
		return nil, nil // None: Python has no zero date
	}
	if !d.IsValid() {
		return nil, fmt.Errorf("invalid date %d-%d-%d", d.Year, int(d.Month), d.Day)
	}
	st := make([]byte, 4)
	binary.BigEndian.PutUint16(st, uint16(d.Year))
	st[2], st[3] = byte(d.Month), byte(d.Day)
	return newReduce(gDate, st), nil
}

func timeOfDayModel(t TimeOfDay, protocol int, zp ZonePolicy) (any, error) {
	if !t.IsValid() {
		return nil, fmt.Errorf("invalid time of day %02d:%02d:%02d.%06d", t.Hour, t.Minute, t.Second, t.Microsecond)
	}
	st := make([]byte, 6)
	st[0], st[1], st[2] = byte(t.Hour), byte(t.Minute), byte(t.Second)
	if t.Fold && protocol > 3 {
		st[0] |= 0x80
	}
	putU24(st[3:], t.Microsecond)
	if t.Zone == nil || t.Zone == Naive {
		return newReduce(gTime, st), nil
	}
	if t.Zone == time.Local {
		return nil, errors.New("time.Local has no fixed offset for a time of day; use a fixed or named zone")
	}
	tz, err := tzModel(time.Date(2000, 1, 1, t.Hour, t.Minute, t.Second, 0, t.Zone), zp)
	if err != nil {
		return nil, err
	}
	return newReduce(gTime, st, tz), nil
}

func decimalModel(d Decimal) (any, error) {
	if d == "" {
		return nil, nil // None: the zero Decimal is no number
	}
	if !d.IsValid() {
		return nil, fmt.Errorf("invalid decimal %q", string(d))
	}
	return newReduce(gDecimal, string(d)), nil
}

func uuidModel(u UUID, protocol int) *Object {
	st := NewDict(1)
	_ = st.Set("int", intModel(new(big.Int).SetBytes(u[:])))
	return newInstance(gUUID, st, protocol)
}

// intModel returns b as the value model holds ints: int64 when it fits.
func intModel(b *big.Int) any {
	if b.IsInt64() {
		return b.Int64()
	}
	return b
}

// ---- decoding ----

// classOf returns the class an object was built from: the callable of a
// REDUCE/NEWOBJ, or the class argument of copyreg._reconstructor and
// copyreg.__newobj__.
func classOf(m any) (Global, *Object, bool) {
	o, ok := asObject(m)
	if !ok {
		return Global{}, nil, false
	}
	g, ok := o.Callable.(Global)
	if !ok {
		return Global{}, o, false
	}
	if (g == gReconstructor || g == Global{"copyreg", "__newobj__"}) && len(o.Args) > 0 {
		if c, ok := o.Args[0].(Global); ok {
			return c, o, true
		}
	}
	return g, o, true
}

// byteState returns the bytes an object state was pickled as: bytes, a
// latin-1 str (Python 2 era pickles), or _codecs.encode(str, 'latin1') as
// protocols 0 to 2 write bytes.
func byteState(m any) ([]byte, bool) {
	switch x := m.(type) {
	case []byte:
		return x, true
	case string:
		return latin1(x)
	case *Object:
		if g, ok := x.Callable.(Global); ok && g == globalEncode && len(x.Args) == 2 && !x.HasState {
			if s, ok := x.Args[0].(string); ok && x.Args[1] == "latin1" {
				return latin1(s)
			}
		}
	}
	return nil, false
}

func latin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// reduceArgs checks that m is a plain REDUCE of cls and returns its args.
func reduceArgs(m any, cls Global) (Tuple, bool) {
	o, ok := m.(*Object)
	if !ok || o.Kind != Reduce || o.HasState || len(o.ListItems) > 0 || len(o.DictItems) > 0 {
		return nil, false
	}
	if g, ok := o.Callable.(Global); !ok || g != cls {
		return nil, false
	}
	return o.Args, true
}

// isPyClass reports whether m is an instance built from cls (by REDUCE).
func isPyClass(m any, cls Global) bool {
	o, ok := m.(*Object)
	if !ok {
		return false
	}
	g, ok := o.Callable.(Global)
	return ok && g == cls
}

var errBadState = errors.New("malformed pickled state")

// datetimeFrom decodes a datetime.datetime object.
func datetimeFrom(m any) (time.Time, error) {
	args, ok := reduceArgs(m, gDatetime)
	if !ok || len(args) < 1 || len(args) > 2 {
		return time.Time{}, errBadState
	}
	st, ok := byteState(args[0])
	if !ok || len(st) != 10 {
		return time.Time{}, errBadState
	}
	y := int(binary.BigEndian.Uint16(st))
	mo, fold := time.Month(st[2]&0x7f), st[2]&0x80 != 0
	d, h, mi, s, us := int(st[3]), int(st[4]), int(st[5]), int(st[6]), int(st[7])<<16|int(st[8])<<8|int(st[9])
	if !(Date{y, mo, d}).IsValid() || !(TimeOfDay{Hour: h, Minute: mi, Second: s, Microsecond: us}).IsValid() {
		return time.Time{}, errBadState
	}
	var tz any
	if len(args) == 2 {
		tz = args[1]
	}
	loc, pytzOff, err := locationFrom(tz)
	if err != nil {
		return time.Time{}, err
	}
	if pytzOff != nil { // pytz: the wall clock is in the given fixed offset
		u := time.Date(y, mo, d, h, mi, s, us*1000, time.UTC)
		return u.Add(-time.Duration(*pytzOff) * time.Second).In(loc), nil
	}
	return resolveWall(y, mo, d, h, mi, s, us*1000, loc, fold), nil
}

// resolveWall returns the instant whose wall clock in loc is the given
// one, choosing as Python's PEP 495 does: of two instants (a clock moved
// back), the earlier for fold=0 and the later for fold=1; in a gap (a clock
// moved forward), the offset before the change for fold=0 and the one
// after it for fold=1.
func resolveWall(y int, mo time.Month, d, h, mi, s, ns int, loc *time.Location, fold bool) time.Time {
	t := time.Date(y, mo, d, h, mi, s, ns, loc)
	start, end := t.ZoneBounds()
	if start.IsZero() && end.IsZero() {
		return t // a fixed offset: one instant
	}
	u := time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	at := func(off int) time.Time { return u.Add(-time.Duration(off) * time.Second) }
	offAt := func(i time.Time) int { _, o := i.In(loc).Zone(); return o }
	_, o0 := t.Zone()
	prev, next := o0, o0
	if !start.IsZero() {
		prev = offAt(start.Add(-time.Nanosecond))
	}
	if !end.IsZero() {
		next = offAt(end)
	}
	var cands []time.Time
	for _, off := range []int{prev, o0, next} {
		if c := at(off); offAt(c) == off && !slices.ContainsFunc(cands, c.Equal) {
			cands = append(cands, c)
		}
	}
	if len(cands) > 0 {
		slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
		if fold {
			return cands[len(cands)-1].In(loc)
		}
		return cands[0].In(loc)
	}
	before, after := o0, next // gap at the end of t's period
	if at(o0).Before(start) { // gap at its start
		before, after = prev, o0
	}
	if fold {
		return at(after).In(loc)
	}
	return at(before).In(loc)
}

// locationFrom decodes a tzinfo: None (Naive), datetime.timezone,
// zoneinfo.ZoneInfo, or pytz's _p/_UTC (for pytz the datetime's wall clock
// is in the returned fixed offset, in seconds).
func locationFrom(tz any) (*time.Location, *int, error) {
	if tz == nil {
		return Naive, nil, nil
	}
	if args, ok := reduceArgs(tz, gTimezone); ok && (len(args) == 1 || len(args) == 2) {
		us, err := timedeltaFrom(args[0])
		if err != nil {
			return nil, nil, err
		}
		if us%1e6 != 0 {
			return nil, nil, errFractionalTZ
		}
		off := int(us / 1e6)
		if off <= -86400 || off >= 86400 {
			return nil, nil, errZoneRange
		}
		name := ""
		if len(args) == 2 {
			if name, ok = args[1].(string); !ok {
				return nil, nil, errBadState
			}
		} else if off == 0 {
			return time.UTC, nil, nil
		}
		if name == "" {
			name = pyTZName(off)
		}
		return time.FixedZone(name, off), nil, nil
	}
	if key, ok := zoneInfoKey(tz); ok {
		loc, err := time.LoadLocation(key)
		if err != nil {
			return nil, nil, fmt.Errorf("zoneinfo key %q: %w", key, err)
		}
		return loc, nil, nil
	}
	if args, ok := reduceArgs(tz, gPytzUTC); ok && len(args) == 0 {
		return time.UTC, nil, nil
	}
	if args, ok := reduceArgs(tz, gPytzP); ok && len(args) >= 1 {
		key, ok := args[0].(string)
		if !ok {
			return nil, nil, errBadState
		}
		loc, err := time.LoadLocation(key)
		if err != nil {
			return nil, nil, fmt.Errorf("pytz zone %q: %w", key, err)
		}
		if len(args) < 2 { // a static pytz zone (pytz._p(key))
			return loc, nil, nil
		}
		off, ok := args[1].(int64)
		if !ok || off <= -86400 || off >= 86400 {
			return nil, nil, errBadState
		}
		o := int(off)
		return loc, &o, nil
	}
	return nil, nil, fmt.Errorf("unsupported tzinfo %s", pyTypeName(tz))
}

// zoneInfoKey recognises zoneinfo.ZoneInfo._unpickle(key, from_cache),
// whose callable is getattr(zoneinfo.ZoneInfo, '_unpickle') in CPython's
// pickle and may be decoded as the Global zoneinfo.ZoneInfo._unpickle.
func zoneInfoKey(tz any) (string, bool) {
	o, ok := tz.(*Object)
	if !ok || o.Kind != Reduce || o.HasState || len(o.Args) != 2 {
		return "", false
	}
	key, ok := o.Args[0].(string)
	if !ok {
		return "", false
	}
	if g, ok := asGlobal(o.Callable); !ok || g != gZoneInfoUnpickle {
		return "", false
	}
	return key, true
}

// asGlobal returns m as a Global: a Global, or getattr(Global, 'name') as
// the Global of the qualified name (how a method or nested class is
// reached below protocol 4, and a classmethod at every protocol).
func asGlobal(m any) (Global, bool) {
	switch x := m.(type) {
	case Global:
		return x, true
	case *Object:
		g, ok := x.Callable.(Global)
		if !ok || x.Kind != Reduce || x.HasState || len(x.Args) != 2 || g.Name != "getattr" ||
			g.Module != "builtins" && g.Module != "__builtin__" {
			return Global{}, false
		}
		parent, ok1 := asGlobal(x.Args[0])
		name, ok2 := x.Args[1].(string)
		if !ok1 || !ok2 {
			return Global{}, false
		}
		return Global{parent.Module, parent.Name + "." + name}, true
	}
	return Global{}, false
}

// timedeltaFrom decodes a datetime.timedelta to microseconds.
func timedeltaFrom(m any) (int64, error) {
	args, ok := reduceArgs(m, gTimedelta)
	if !ok || len(args) > 3 {
		return 0, errBadState
	}
	total := new(big.Int)
	scale := []int64{86400 * 1e6, 1e6, 1}
	for i, a := range args {
		var v *big.Int
		switch x := a.(type) {
		case int64:
			v = big.NewInt(x)
		case *big.Int:
			v = x
		default:
			return 0, errBadState
		}
		total.Add(total, new(big.Int).Mul(v, big.NewInt(scale[i])))
	}
	if !total.IsInt64() {
		return 0, errDurationRange
	}
	return total.Int64(), nil
}

var errDurationRange = errors.New("timedelta out of time.Duration's range (±292 years)")

// durationFrom decodes a datetime.timedelta to a time.Duration.
func durationFrom(m any) (time.Duration, error) {
	us, err := timedeltaFrom(m)
	if err != nil {
		return 0, err
	}
	if us > int64(time.Duration(1<<63-1)/time.Microsecond) || us < int64(-1<<63/int64(time.Microsecond)) {
		return 0, errDurationRange
	}
	return time.Duration(us) * time.Microsecond, nil
}

func dateFrom(m any) (Date, error) {
	if isPyClass(m, gDatetime) {
		t, err := datetimeFrom(m)
		if err != nil {
			return Date{}, err
		}
		return DateOf(t), nil
	}
	args, ok := reduceArgs(m, gDate)
	if !ok || len(args) != 1 {
		return Date{}, errBadState
	}
	st, ok := byteState(args[0])
	if !ok || len(st) != 4 {
		return Date{}, errBadState
	}
	d := Date{int(binary.BigEndian.Uint16(st)), time.Month(st[2]), int(st[3])}
	if !d.IsValid() {
		return Date{}, errBadState
	}
	return d, nil
}

func timeOfDayFrom(m any) (TimeOfDay, error) {
	args, ok := reduceArgs(m, gTime)
	if !ok || len(args) < 1 || len(args) > 2 {
		return TimeOfDay{}, errBadState
	}
	st, ok := byteState(args[0])
	if !ok || len(st) != 6 {
		return TimeOfDay{}, errBadState
	}
	t := TimeOfDay{Hour: int(st[0] & 0x7f), Fold: st[0]&0x80 != 0, Minute: int(st[1]), Second: int(st[2]),
		Microsecond: int(st[3])<<16 | int(st[4])<<8 | int(st[5])}
	if !t.IsValid() {
		return TimeOfDay{}, errBadState
	}
	if len(args) == 2 && args[1] != nil {
		loc, _, err := locationFrom(args[1])
		if err != nil {
			return TimeOfDay{}, err
		}
		t.Zone = loc
	}
	return t, nil
}

func decimalFrom(m any) (Decimal, error) {
	args, ok := reduceArgs(m, gDecimal)
	if !ok || len(args) != 1 {
		return "", errBadState
	}
	s, ok := args[0].(string)
	if !ok || !Decimal(s).IsValid() {
		return "", errBadState
	}
	return Decimal(s), nil
}

func uuidFrom(m any) (UUID, error) {
	cls, o, ok := classOf(m)
	if !ok || cls != gUUID || !o.HasState {
		return UUID{}, errBadState
	}
	st, ok := o.State.(*Dict)
	if !ok {
		return UUID{}, errBadState
	}
	iv, _ := st.Get("int")
	var b *big.Int
	switch x := iv.(type) {
	case int64:
		if x < 0 {
			return UUID{}, errBadState
		}
		b = big.NewInt(x)
	case *big.Int:
		b = x
	default:
		return UUID{}, errBadState
	}
	if b.Sign() < 0 || b.BitLen() > 128 {
		return UUID{}, errBadState
	}
	var u UUID
	b.FillBytes(u[:])
	return u, nil
}

// daysIn returns the number of days of month m in year y (proleptic Gregorian).
func daysIn(y int, m time.Month) int {
	if m == time.February {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int((m-1)%7%2)
}

// pyTypeName names the Python type of a value-model value, for messages:
// the class for an object ("datetime.datetime").
func pyTypeName(m any) string {
	switch x := m.(type) {
	case nil:
		return "None"
	case Global:
		return "global " + x.String()
	case *Object, *Exception:
		if g, _, ok := classOf(x); ok {
			return g.String()
		}
	}
	return typeName(m)
}

// pyValueText describes m for an error: its type, and its value for ints.
func pyValueText(m any) string {
	switch x := m.(type) {
	case int64:
		return "int " + strconv.FormatInt(x, 10)
	case *big.Int:
		return "int " + x.String()
	}
	return pyTypeName(m)
}
