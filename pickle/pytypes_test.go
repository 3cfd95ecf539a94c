package pickle

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/internal/pytest"
)

func mustLoad(t testing.TB, key string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(key)
	require.NoError(t, err)
	return loc
}

func TestFoldAndGap(t *testing.T) {
	paris := mustLoad(t, "Europe/Paris")
	utc := func(h, m int, day int, mon time.Month) time.Time {
		return time.Date(2024, mon, day, h, m, 0, 0, time.UTC)
	}
	// 2024-10-27 02:30 happens twice in Paris: 00:30Z (CEST) and 01:30Z (CET).
	require.False(t, isFold(utc(0, 30, 27, 10).In(paris)))
	require.True(t, isFold(utc(1, 30, 27, 10).In(paris)))
	require.False(t, isFold(utc(2, 30, 27, 10).In(paris)))
	require.True(t, resolveWall(2024, 10, 27, 2, 30, 0, 0, paris, false).Equal(utc(0, 30, 27, 10)))
	require.True(t, resolveWall(2024, 10, 27, 2, 30, 0, 0, paris, true).Equal(utc(1, 30, 27, 10)))
	// 2024-03-31 02:30 does not exist in Paris: fold=0 reads it with the
	// offset before the change (+1), fold=1 with the one after (+2), as
	// Python does.
	require.True(t, resolveWall(2024, 3, 31, 2, 30, 0, 0, paris, false).Equal(utc(1, 30, 31, 3)))
	require.True(t, resolveWall(2024, 3, 31, 2, 30, 0, 0, paris, true).Equal(utc(0, 30, 31, 3)))
	// Ordinary times ignore fold.
	require.True(t, resolveWall(2024, 7, 1, 12, 0, 0, 0, paris, true).Equal(utc(10, 0, 1, 7)))
}

func TestTimeModelRoundTrip(t *testing.T) {
	paris := mustLoad(t, "Europe/Paris")
	for _, tc := range []struct {
		t    time.Time
		json string
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 678901000, Naive), `{"$datetime":"2024-01-02T03:04:05.678901"}`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `{"$datetime":"2024-01-02T03:04:05+00:00"}`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+05:30", 19800)), `{"$datetime":"2024-01-02T03:04:05+05:30"}`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -3600)), `{"$datetime":"2024-01-02T03:04:05-01:00"}`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, paris), `{"$datetime":"2024-01-02T03:04:05+01:00[Europe/Paris]"}`},
		{time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC).In(paris), `{"$datetime":"2024-10-27T02:30:00+01:00[Europe/Paris]"}`},
		{time.Date(1, 1, 1, 0, 0, 0, 0, Naive), `{"$datetime":"0001-01-01T00:00:00"}`},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999000, Naive), `{"$datetime":"9999-12-31T23:59:59.999999"}`},
	} {
		m, err := timeModel(tc.t, 4, ZoneInfo)
		require.NoError(t, err)
		require.Equal(t, tc.json, jsonOf(t, m))
		back, err := datetimeFrom(m)
		require.NoError(t, err)
		require.True(t, tc.t.Equal(back), "%v != %v", tc.t, back)
		_, off1 := tc.t.Zone()
		_, off2 := back.Zone()
		require.Equal(t, off1, off2)
		want := tc.t.Location().String()
		if want == "" && !IsNaive(tc.t) {
			want = pyTZName(off1) // an unnamed fixed zone comes back with Python's name
		}
		require.Equal(t, want, back.Location().String())
		require.Equal(t, IsNaive(tc.t), IsNaive(back))
		// And through the JSON view.
		m2, err := FromJSON([]byte(tc.json))
		require.NoError(t, err)
		require.True(t, modelEqual(m, m2), "%s", tc.json)
	}
	// A named fixed zone keeps its name: the JSON view falls back to $object.
	ist := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 19800))
	m, err := timeModel(ist, 4, ZoneInfo)
	require.NoError(t, err)
	back, err := datetimeFrom(m)
	require.NoError(t, err)
	name, _ := back.Zone()
	require.Equal(t, "IST", name)
	require.Contains(t, jsonOf(t, m), `"$object"`)

	// Zone policies.
	pt := time.Date(2024, 7, 1, 12, 0, 0, 0, paris)
	m, err = timeModel(pt, 4, ZoneFixed)
	require.NoError(t, err)
	require.Equal(t, `{"$datetime":"2024-07-01T12:00:00+02:00"}`, jsonOf(t, m))
	_, err = timeModel(pt, 4, ZoneReject)
	require.ErrorIs(t, err, ErrNamedZone)
	m, err = timeModel(FixedOffset(pt), 4, ZoneReject)
	require.NoError(t, err)
	require.Equal(t, `{"$datetime":"2024-07-01T12:00:00+02:00"}`, jsonOf(t, m))

	// time.Local encodes as its offset at that instant.
	lt := time.Date(2024, 7, 1, 12, 0, 0, 0, time.Local)
	m, err = timeModel(lt, 4, ZoneInfo)
	require.NoError(t, err)
	back, err = datetimeFrom(m)
	require.NoError(t, err)
	require.True(t, back.Equal(lt))

	// Below protocol 4 the fold bit is not written, as in CPython.
	second := time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC).In(paris)
	m4, _ := timeModel(second, 4, ZoneInfo)
	m3, _ := timeModel(second, 3, ZoneInfo)
	require.Equal(t, byte(0x80|10), m4.(*Object).Args[0].([]byte)[2])
	require.Equal(t, byte(10), m3.(*Object).Args[0].([]byte)[2])

	// Out of Python's range.
	_, err = timeModel(time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), 4, ZoneInfo)
	require.ErrorIs(t, err, errYearRange)
	_, err = timeModel(time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 86400)), 4, ZoneInfo)
	require.ErrorIs(t, err, errZoneRange)
}

func TestDatetimeFromMalformed(t *testing.T) {
	good := []byte{0x07, 0xe8, 1, 2, 3, 4, 5, 0, 0, 0}
	bad := func(mut func([]byte)) []byte { b := append([]byte(nil), good...); mut(b); return b }
	for _, m := range []any{
		newReduce(gDatetime),
		newReduce(gDatetime, good[:9]),
		newReduce(gDatetime, bad(func(b []byte) { b[2] = 13 })),
		newReduce(gDatetime, bad(func(b []byte) { b[3] = 30; b[2] = 2 })),
		newReduce(gDatetime, bad(func(b []byte) { b[4] = 24 })),
		newReduce(gDatetime, bad(func(b []byte) { b[7] = 0xff })),
		newReduce(gDatetime, bad(func(b []byte) { b[0], b[1] = 0, 0 })),
		newReduce(gDatetime, good, "not a tzinfo"),
		newReduce(gDatetime, good, newReduce(gTimezone, timedeltaModel(86400e6))),
		newReduce(gDatetime, good, newReduce(gTimezone, timedeltaModel(1))),
		newReduce(gDatetime, good, zoneInfoModel("No/Such_Zone")),
		newReduce(gDatetime, good, newReduce(gTimezone, newReduce(gTimedelta, 1.5))),
		newReduce(gDatetime, "\u0100bcdefghij"),
	} {
		_, err := datetimeFrom(m)
		require.Error(t, err, jsonOf(t, m))
	}
	// The latin-1 str of Python 2 pickles and _codecs.encode both work.
	for _, st := range []any{string([]rune{0x07, 0xe8, 1, 2, 3, 4, 5, 0, 0, 0}), newReduce(globalEncode, string([]rune{0x07, 0xe8, 1, 2, 3, 4, 5, 0, 0, 0}), "latin1")} {
		tm, err := datetimeFrom(newReduce(gDatetime, st))
		require.NoError(t, err)
		require.Equal(t, time.Date(2024, 1, 2, 3, 4, 5, 0, Naive), tm)
	}
	// zoneinfo's callable as CPython writes it (getattr) and as a Global.
	for _, tz := range []any{zoneInfoModel("Europe/Paris"), newReduce(gZoneInfoUnpickle, "Europe/Paris", int64(1))} {
		tm, err := datetimeFrom(newReduce(gDatetime, good, tz))
		require.NoError(t, err)
		require.Equal(t, "Europe/Paris", tm.Location().String())
		require.Equal(t, `{"$datetime":"2024-01-02T03:04:05+01:00[Europe/Paris]"}`, jsonOf(t, newReduce(gDatetime, good, tz)))
	}
	// ZoneInfo.no_cache(key) decodes alike; the JSON view keeps from_cache=0 in its $object form.
	noCache := newReduce(gDatetime, good, newReduce(gZoneInfoUnpickle, "Europe/Paris", int64(0)))
	tm, err := datetimeFrom(noCache)
	require.NoError(t, err)
	require.Equal(t, "Europe/Paris", tm.Location().String())
	require.Contains(t, jsonOf(t, noCache), `"$object"`)
	// pytz zones.
	st := []byte{0x07, 0xe8, 7, 1, 12, 0, 0, 0, 0, 0}
	tm, err = datetimeFrom(newReduce(gDatetime, st, newReduce(gPytzP, "Europe/Paris", int64(7200), int64(3600), "CEST")))
	require.NoError(t, err)
	require.True(t, tm.Equal(time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)))
	require.Equal(t, "Europe/Paris", tm.Location().String())
	tm, err = datetimeFrom(newReduce(gDatetime, st, newReduce(gPytzUTC)))
	require.NoError(t, err)
	require.Equal(t, time.UTC, tm.Location())
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		args [3]int64
	}{
		{0, [3]int64{0, 0, 0}},
		{time.Microsecond, [3]int64{0, 0, 1}},
		{-time.Microsecond, [3]int64{-1, 86399, 999999}},
		{25*time.Hour + 1500*time.Millisecond, [3]int64{1, 3601, 500000}},
		{1999 * time.Nanosecond, [3]int64{0, 0, 1}},
		{-1999 * time.Nanosecond, [3]int64{-1, 86399, 999999}},
		{time.Duration(1<<63 - 1), [3]int64{106751, 85636, 854775}},
		{time.Duration(-1 << 63), [3]int64{-106752, 763, 145225}},
	} {
		m := durationModel(tc.d)
		require.Equal(t, Tuple{tc.args[0], tc.args[1], tc.args[2]}, m.Args, "%v", tc.d)
		back, err := durationFrom(m)
		require.NoError(t, err)
		require.Equal(t, tc.d.Truncate(time.Microsecond), back)
	}
	for _, args := range [][]any{{int64(106752), int64(0), int64(0)}, {int64(-106753), int64(0), int64(0)}, {int64(999999999), int64(0), int64(0)}} {
		_, err := durationFrom(newReduce(gTimedelta, args...))
		require.ErrorIs(t, err, errDurationRange)
	}
	// timedelta(seconds=90) pickled unnormalised by hand still works.
	d, err := durationFrom(newReduce(gTimedelta, int64(0), int64(90)))
	require.NoError(t, err)
	require.Equal(t, 90*time.Second, d)
	// Seconds as numbers.
	var v struct{ Timeout time.Duration }
	require.NoError(t, Convert(dictOf("Timeout", 1.5), &v))
	require.Equal(t, 1500*time.Millisecond, v.Timeout)
	require.NoError(t, Convert(dictOf("Timeout", int64(2)), &v))
	require.Equal(t, 2*time.Second, v.Timeout)
	require.Error(t, Convert(dictOf("Timeout", 1e300), &v))
}

func TestDateAndTimeOfDay(t *testing.T) {
	m, err := dateModel(Date{2024, 2, 29})
	require.NoError(t, err)
	require.Equal(t, `{"$date":"2024-02-29"}`, jsonOf(t, m))
	d, err := dateFrom(m)
	require.NoError(t, err)
	require.Equal(t, Date{2024, 2, 29}, d)
	_, err = dateModel(Date{2023, 2, 29})
	require.Error(t, err)
	var tm time.Time
	require.NoError(t, Convert(m, &tm))
	require.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, Naive), tm)
	// A datetime into a Date keeps the date.
	dm, _ := timeModel(time.Date(2024, 5, 6, 23, 0, 0, 0, time.UTC), 4, ZoneInfo)
	require.NoError(t, Convert(dm, &d))
	require.Equal(t, Date{2024, 5, 6}, d)

	paris := mustLoad(t, "Europe/Paris")
	for _, tc := range []struct {
		tod  TimeOfDay
		json string
	}{
		{TimeOfDay{Hour: 3, Minute: 4, Second: 5, Microsecond: 6}, `{"$time":"03:04:05.000006"}`},
		{TimeOfDay{Hour: 23, Minute: 59, Second: 59, Zone: time.UTC}, `{"$time":"23:59:59+00:00"}`},
		{TimeOfDay{Hour: 1, Zone: time.FixedZone("UTC-02:30", -9000)}, `{"$time":"01:00:00-02:30"}`},
		{TimeOfDay{Hour: 1, Zone: paris}, `{"$time":"01:00:00+01:00[Europe/Paris]"}`},
	} {
		m, err := timeOfDayModel(tc.tod, 4, ZoneInfo)
		require.NoError(t, err)
		require.Equal(t, tc.json, jsonOf(t, m))
		back, err := timeOfDayFrom(m)
		require.NoError(t, err)
		require.Equal(t, tc.tod.String(), back.String())
		if tc.tod.Zone != nil {
			require.Equal(t, tc.tod.Zone.String(), back.Zone.String())
		} else {
			require.Nil(t, back.Zone)
		}
	}
	m, err = timeOfDayModel(TimeOfDay{Hour: 2, Fold: true}, 4, ZoneInfo)
	require.NoError(t, err)
	back, err := timeOfDayFrom(m)
	require.NoError(t, err)
	require.True(t, back.Fold)
	_, err = timeOfDayModel(TimeOfDay{Hour: 24}, 4, ZoneInfo)
	require.Error(t, err)
	_, err = timeOfDayModel(TimeOfDay{Hour: 1, Zone: time.Local}, 4, ZoneInfo)
	require.Error(t, err)
}

func TestDecimalSyntax(t *testing.T) {
	for _, s := range []string{"0", "-0", "+1.5", "1.", ".5", "1e5", "1E-5", "1_000.000_1", "Infinity", "-inf", "NaN", "nan123", "-sNaN", "1.10", "12345678901234567890123456789"} {
		require.True(t, Decimal(s).IsValid(), s)
	}
	for _, s := range []string{"", ".", "e5", "1e", "1__0", "_1", "1_", "1.5.5", " 1", "0x10", "NaNa", "--1", "in"} {
		require.False(t, Decimal(s).IsValid(), s)
	}
}

func TestUUID(t *testing.T) {
	u, err := ParseUUID("12345678-1234-5678-1234-567812345678")
	require.NoError(t, err)
	require.Equal(t, "12345678-1234-5678-1234-567812345678", u.String())
	for _, s := range []string{"{12345678123456781234567812345678}", "urn:uuid:12345678-1234-5678-1234-567812345678", "12345678123456781234567812345678"} {
		v, err := ParseUUID(s)
		require.NoError(t, err, s)
		require.Equal(t, u, v)
	}
	for _, s := range []string{"", "1234", "g2345678123456781234567812345678"} {
		_, err := ParseUUID(s)
		require.Error(t, err, s)
	}
	m := uuidModel(u, 4)
	require.Equal(t, `{"$uuid":"12345678-1234-5678-1234-567812345678"}`, jsonOf(t, m))
	back, err := uuidFrom(m)
	require.NoError(t, err)
	require.Equal(t, u, back)
	back, err = uuidFrom(uuidModel(u, 0))
	require.NoError(t, err)
	require.Equal(t, u, back)
	var v UUID
	require.NoError(t, Convert(u.String(), &v))
	require.Equal(t, u, v)
	require.NoError(t, Convert(u[:], &v))
	require.Equal(t, u, v)
	// Small ints fit in int64 and still give 16 bytes.
	require.NoError(t, Convert(newInstance(gUUID, dictOf("int", int64(1), "is_safe", int64(-1)), 4), &v))
	require.Equal(t, UUID{15: 1}, v)
}

func TestPyTZName(t *testing.T) {
	require.Equal(t, "UTC", pyTZName(0))
	require.Equal(t, "UTC+05:30", pyTZName(19800))
	require.Equal(t, "UTC-00:00:30", pyTZName(-30))
	require.Equal(t, "UTC-23:59:59", pyTZName(-86399))
}

// pyCase is one conversion checked against real Python in both
// directions: (a) CPython pickles the expression at protocols 0–5 and Go
// decodes each pickle into the Go value's type, which must give the Go
// value (and, unless inexact, Go's own pickle of the Go value must be
// CPython's bytes); (b) Go pickles the Go value at protocols 0–5 and
// CPython loads it, which must give an object of the same type, repr and
// value as CPython's own pickle round trip of the expression.
type pyCase struct {
	name     string
	py       string // the Python value, an expression
	gov      any    // the Go value
	minMinor int    // needs Python 3.minMinor or later (zoneinfo: 9)
	oneWay   bool   // Python → Go only: the Go value encodes as something else
	inexact  bool   // Go's bytes may differ from CPython's
	foldOnly bool   // the value has fold=1, which pickles below protocol 4 drop
	minProto int    // CPython cannot pickle the value below this protocol
}

// pySetup runs once in each Python helper.
const pySetup = `
import pickle, datetime, decimal, uuid, sys, types, enum, collections, json
try:
    import zoneinfo
except ImportError:
    zoneinfo = None
from datetime import datetime as dt, date, time as tod, timedelta as td, timezone as tz
Paris = zoneinfo.ZoneInfo('Europe/Paris') if zoneinfo else None

def py_pickles(exp, min_proto=0):
    return [b64(pickle.dumps(exp, p)).decode() if p >= min_proto else None for p in range(6)]

def py_check(exp, datas):
    # For each protocol: does Go's pickle load as CPython's own pickle of exp does?
    # datas is a JSON list of base64 pickles (null: not checked).
    datas = json.loads(datas)
    out = []
    for p, d in enumerate(datas):
        if d is None:
            out.append('')
            continue
        try:
            v = pickle.loads(unb64(d))
        except Exception as e:
            out.append('%s: %s' % (type(e).__name__, e))
            continue
        w = pickle.loads(pickle.dumps(exp, p))
        if type(v) is not type(w) or repr(v) != repr(w):
            out.append('got %s %r, want %s %r' % (type(v).__name__, v, type(w).__name__, w))
        else:
            out.append('')
    return out
`

// checkPyCases runs cases against the helper h, converting with r (the
// package-level Unmarshal and Dumps, which use DefaultRegistry, when r is
// nil).
func checkPyCases(t *testing.T, h *pytest.Helper, r *Registry, cases []pyCase) {
	unmarshal, dumps := Unmarshal, Dumps
	if r != nil {
		unmarshal = r.Unmarshal
		dumps = func(v any, p int) ([]byte, error) {
			m, err := r.ModelOf(v, p)
			if err != nil {
				return nil, err
			}
			return Dumps(m, p)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if h.Py.Minor < c.minMinor {
				t.Skipf("needs Python 3.%d", c.minMinor)
			}
			typ := reflect.TypeOf(c.gov)
			var pickles []*string
			require.NoError(t, json.Unmarshal(h.MustExec(t, fmt.Sprintf("result = py_pickles(%s, %d)", c.py, c.minProto)), &pickles))
			goPickles := make([]*string, len(pickles))
			for p, b64 := range pickles {
				if b64 == nil {
					continue
				}
				data, err := base64.StdEncoding.DecodeString(*b64)
				require.NoError(t, err)
				got := reflect.New(typ)
				require.NoError(t, unmarshal(data, got.Interface()), "protocol %d", p)
				if !c.foldOnly || p >= 4 {
					requireSameGo(t, c.gov, got.Elem().Interface(), "protocol %d", p)
				}
				enc, err := dumps(c.gov, p)
				require.NoError(t, err, "protocol %d", p)
				if !c.inexact && !c.oneWay {
					require.Equal(t, data, enc, "protocol %d: Go's pickle differs from CPython's", p)
				}
				s := base64.StdEncoding.EncodeToString(enc)
				goPickles[p] = &s
			}
			if c.oneWay {
				return
			}
			lit, err := pyJSONArg(goPickles)
			require.NoError(t, err)
			var problems []string
			require.NoError(t, json.Unmarshal(h.MustExec(t, "result = py_check("+c.py+", "+string(lit)+")"), &problems))
			for p, msg := range problems {
				require.Empty(t, msg, "protocol %d: Python loaded Go's pickle differently", p)
			}
		})
	}
}

// pyJSONArg renders v as a Python str literal holding its JSON.
func pyJSONArg(v any) (string, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	lit, err := json.Marshal(string(js)) // a JSON string is a Python str literal
	return string(lit), err
}

// requireSameGo compares Go values, times by instant, offset, zone name
// and naivety.
func requireSameGo(t *testing.T, want, got any, msgAndArgs ...any) {
	t.Helper()
	switch w := want.(type) {
	case time.Time:
		g := got.(time.Time)
		require.True(t, w.Equal(g), "%v != %v %v", w, g, msgAndArgs)
		wn, wo := w.Zone()
		gn, goff := g.Zone()
		require.Equal(t, wo, goff, msgAndArgs...)
		require.Equal(t, wn, gn, msgAndArgs...)
		require.Equal(t, w.Location().String(), g.Location().String(), msgAndArgs...)
		require.Equal(t, IsNaive(w), IsNaive(g), msgAndArgs...)
	case TimeOfDay:
		g := got.(TimeOfDay)
		wz, gz := w.Zone, g.Zone
		w.Zone, g.Zone = nil, nil
		require.Equal(t, w, g, msgAndArgs...)
		require.Equal(t, wz == nil, gz == nil, msgAndArgs...)
		if wz != nil {
			require.Equal(t, wz.String(), gz.String(), msgAndArgs...)
		}
	default:
		require.Equal(t, want, got, msgAndArgs...)
	}
}

// pyTypeCases are the datetime, decimal, uuid and complex conversions.
func pyTypeCases(t *testing.T) []pyCase {
	paris := mustLoad(t, "Europe/Paris")
	ny := mustLoad(t, "America/New_York")
	u := UUID{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}
	return []pyCase{
		{name: "naive", py: "dt(2024,1,2,3,4,5,678901)", gov: time.Date(2024, 1, 2, 3, 4, 5, 678901000, Naive)},
		{name: "naive min", py: "dt.min", gov: time.Date(1, 1, 1, 0, 0, 0, 0, Naive)},
		{name: "naive max", py: "dt.max", gov: time.Date(9999, 12, 31, 23, 59, 59, 999999000, Naive)},
		{name: "utc", py: "dt(2024,1,2,3,4,5,tzinfo=tz.utc)", gov: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "fixed offset", py: "dt(2024,1,2,3,4,5,tzinfo=tz(td(hours=5,minutes=30)))", gov: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+05:30", 19800))},
		{name: "negative offset with seconds", py: "dt(1999,12,31,23,59,59,tzinfo=tz(-td(hours=3,seconds=30)))", gov: time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("UTC-03:00:30", -10830))},
		{name: "named fixed offset", py: "dt(2024,1,2,3,4,5,tzinfo=tz(td(hours=5,minutes=30),'IST'))", gov: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 19800))},
		{name: "zoneinfo", minMinor: 9, py: "dt(2024,7,1,12,0,tzinfo=Paris)", gov: time.Date(2024, 7, 1, 12, 0, 0, 0, paris)},
		{name: "zoneinfo new york", minMinor: 9, py: "dt(2024,1,1,9,30,0,1,tzinfo=zoneinfo.ZoneInfo('America/New_York'))", gov: time.Date(2024, 1, 1, 9, 30, 0, 1000, ny)},
		{name: "zoneinfo fold 0", minMinor: 9, py: "dt(2024,10,27,2,30,tzinfo=Paris)", gov: time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC).In(paris)},
		{name: "zoneinfo fold 1", minMinor: 9, foldOnly: true, py: "dt(2024,10,27,2,30,tzinfo=Paris,fold=1)", gov: time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC).In(paris)},
		{name: "zoneinfo gap", minMinor: 9, oneWay: true, py: "dt(2024,3,31,2,30,tzinfo=Paris)", gov: time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC).In(paris)},
		{name: "date", py: "date(2024,2,29)", gov: Date{2024, 2, 29}},
		{name: "date min", py: "date.min", gov: Date{1, 1, 1}},
		{name: "date max", py: "date.max", gov: Date{9999, 12, 31}},
		{name: "date as time.Time", oneWay: true, py: "date(2024,2,29)", gov: time.Date(2024, 2, 29, 0, 0, 0, 0, Naive)},
		{name: "datetime as Date", oneWay: true, py: "dt(2024,2,29,23,59)", gov: Date{2024, 2, 29}},
		{name: "time", py: "tod(3,4,5,6)", gov: TimeOfDay{Hour: 3, Minute: 4, Second: 5, Microsecond: 6}},
		{name: "time utc", py: "tod(23,59,59,999999,tzinfo=tz.utc)", gov: TimeOfDay{Hour: 23, Minute: 59, Second: 59, Microsecond: 999999, Zone: time.UTC}},
		{name: "time offset", py: "tod(1,tzinfo=tz(-td(hours=2,minutes=30)))", gov: TimeOfDay{Hour: 1, Zone: time.FixedZone("UTC-02:30", -9000)}},
		{name: "time fold", foldOnly: true, py: "tod(2,30,fold=1)", gov: TimeOfDay{Hour: 2, Minute: 30, Fold: true}},
		{name: "time zoneinfo", minMinor: 9, py: "tod(8,tzinfo=Paris)", gov: TimeOfDay{Hour: 8, Zone: paris}},
		{name: "timedelta zero", py: "td()", gov: time.Duration(0)},
		{name: "timedelta", py: "td(days=-1,seconds=5,microseconds=7)", gov: -24*time.Hour + 5*time.Second + 7*time.Microsecond},
		{name: "timedelta micro", py: "td(microseconds=-1)", gov: -time.Microsecond},
		{name: "timedelta long", py: "td(days=106751,seconds=85636,microseconds=854775)", gov: time.Duration(1<<63 - 1).Truncate(time.Microsecond)},
		{name: "decimal", py: "decimal.Decimal('1.50')", gov: Decimal("1.50")},
		{name: "decimal exp", py: "decimal.Decimal('-1.5E+300')", gov: Decimal("-1.5E+300")},
		{name: "decimal nan", py: "decimal.Decimal('-sNaN12')", gov: Decimal("-sNaN12")},
		{name: "decimal inf", py: "decimal.Decimal('-Infinity')", gov: Decimal("-Infinity")},
		{name: "decimal long", py: "decimal.Decimal('123456789012345678901234567890.000000000000001')", gov: Decimal("123456789012345678901234567890.000000000000001")},
		{name: "uuid", py: "uuid.UUID('12345678-1234-5678-1234-567812345678')", gov: u},
		{name: "uuid small", py: "uuid.UUID(int=1)", gov: UUID{15: 1}},
		{name: "uuid max", py: "uuid.UUID(int=2**128-1)", gov: UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{name: "uuid is_safe", inexact: true, py: "uuid.UUID('12345678-1234-5678-1234-567812345678', is_safe=uuid.SafeUUID.safe)", gov: u},
		{name: "complex", py: "complex(1.5,-2)", gov: complex(1.5, -2)},
		{name: "complex64", py: "complex(0.5,0)", gov: complex64(0.5)},
	}
}

func TestPythonMapping(t *testing.T) {
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		h := pytest.NewHelper(t, py)
		h.MustExec(t, pySetup)
		t.Run("types", func(t *testing.T) { checkPyCases(t, h, nil, pyTypeCases(t)) })
		t.Run("containers", func(t *testing.T) { checkPyCases(t, h, nil, pyContainerCases()) })
		t.Run("classes", func(t *testing.T) { checkPyClasses(t, h) })
		t.Run("json view", func(t *testing.T) { checkJSONView(t, h) })
		t.Run("zoneinfo needs 3.9", func(t *testing.T) { checkZoneInfoOn38(t, h) })
	})
}

// checkZoneInfoOn38 shows what a Python 3.8 peer does with a time in a
// named zone: it cannot load zoneinfo; ZoneFixed or FixedOffset make a
// pickle it loads.
func checkZoneInfoOn38(t *testing.T, h *pytest.Helper) {
	paris := mustLoad(t, "Europe/Paris")
	tm := time.Date(2024, 7, 1, 12, 0, 0, 0, paris)
	named, err := Marshal(tm)
	require.NoError(t, err)
	r := NewRegistry()
	r.SetZonePolicy(ZoneFixed)
	fixed, err := r.Marshal(tm)
	require.NoError(t, err)
	fixed2, err := Marshal(FixedOffset(tm))
	require.NoError(t, err)
	require.Equal(t, fixed, fixed2)
	var reps []string
	lit, _ := json.Marshal([]string{base64.StdEncoding.EncodeToString(named), base64.StdEncoding.EncodeToString(fixed)})
	require.NoError(t, json.Unmarshal(h.MustExec(t, `
out = []
for d in `+string(lit)+`:
    try:
        out.append(repr(pickle.loads(unb64(d))))
    except Exception as e:
        out.append('%s: %s' % (type(e).__name__, e))
result = out`), &reps))
	if h.Py.Minor < 9 {
		require.Equal(t, "ModuleNotFoundError: No module named 'zoneinfo'", reps[0])
	} else {
		require.Equal(t, "datetime.datetime(2024, 7, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))", reps[0])
	}
	require.Equal(t, "datetime.datetime(2024, 7, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=7200)))", reps[1])
}
