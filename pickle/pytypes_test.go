package pickle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
	for _, st := range []any{string([]rune{0x07, 0xe8, 1, 2, 3, 4, 5, 0, 0, 0}), newReduce(gCodecsEncode, string([]rune{0x07, 0xe8, 1, 2, 3, 4, 5, 0, 0, 0}), "latin1")} {
		tm, err := datetimeFrom(newReduce(gDatetime, st))
		require.NoError(t, err)
		require.Equal(t, time.Date(2024, 1, 2, 3, 4, 5, 0, Naive), tm)
	}
	// pytz zones.
	st := []byte{0x07, 0xe8, 7, 1, 12, 0, 0, 0, 0, 0}
	tm, err := datetimeFrom(newReduce(gDatetime, st, newReduce(gPytzP, "Europe/Paris", int64(7200), int64(3600), "CEST")))
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
