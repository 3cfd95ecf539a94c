package pickle

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDictPythonKeySemantics(t *testing.T) {
	d := NewDict(0)
	require.NoError(t, d.Set(int64(1), "int"))
	// 1.0, True, big 1, complex(1, 0) and every Go int kind are the same key.
	for _, k := range []any{1.0, true, big.NewInt(1), complex(1, 0), 1, uint8(1), int32(1), float32(1)} {
		v, ok := d.Get(k)
		require.True(t, ok, "%T", k)
		require.Equal(t, "int", v)
	}
	require.NoError(t, d.Set(1.0, "float"))
	require.Equal(t, 1, d.Len())
	require.Equal(t, []any{int64(1)}, d.Keys(), "the first key is kept")
	require.Equal(t, []any{"float"}, d.Values())

	// Distinct: str vs bytes, 1 vs 1.5, 0 vs None.
	require.NoError(t, d.Set("1", 1))
	require.NoError(t, d.Set([]byte("1"), 2))
	require.NoError(t, d.Set(1.5, 3))
	require.NoError(t, d.Set(nil, 4))
	require.NoError(t, d.Set(int64(0), 5))
	require.Equal(t, 6, d.Len())

	// Huge ints and floats that are integers.
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	require.NoError(t, d.Set(two64, "2**64"))
	v, ok := d.Get(math.Pow(2, 64))
	require.True(t, ok)
	require.Equal(t, "2**64", v)
	v, ok = d.Get(uint64(1 << 63))
	require.False(t, ok)
	require.Nil(t, v)
	_, ok = d.Get(float64(1<<53) + 1) // not an exact float of 2**53+1
	require.False(t, ok)

	// Tuples and frozensets by value.
	require.NoError(t, d.Set(Tuple{int64(1), "a"}, "tuple"))
	v, ok = d.Get(Tuple{1.0, "a"})
	require.True(t, ok)
	require.Equal(t, "tuple", v)
	fs1, fs2 := NewFrozenSet(0), NewFrozenSet(0)
	require.NoError(t, fs1.Add(int64(1)))
	require.NoError(t, fs1.Add("x"))
	require.NoError(t, fs2.Add("x"))
	require.NoError(t, fs2.Add(1.0))
	require.NoError(t, d.Set(fs1, "fs"))
	v, ok = d.Get(fs2)
	require.True(t, ok)
	require.Equal(t, "fs", v)

	// Globals by value, objects by identity.
	require.NoError(t, d.Set(Global{"m", "n"}, "g"))
	_, ok = d.Get(Global{"m", "n"})
	require.True(t, ok)
	o1, o2 := &Object{}, &Object{}
	require.NoError(t, d.Set(o1, "o1"))
	_, ok = d.Get(o2)
	require.False(t, ok)
	_, ok = d.Get(o1)
	require.True(t, ok)

	// Unhashable keys.
	for _, k := range []any{&List{}, &Dict{}, &Set{}, &ByteArray{}, []any{}, Tuple{&List{}}, struct{}{}} {
		require.ErrorIs(t, d.Set(k, 0), ErrUnhashable, "%T", k)
		_, ok := d.Get(k)
		require.False(t, ok)
	}
}

func TestDictNaN(t *testing.T) {
	d := NewDict(0)
	nan := math.NaN()
	for range 100 {
		require.NoError(t, d.Set(nan, 1))
	}
	require.Equal(t, 100, d.Len())
	_, ok := d.Get(nan)
	require.False(t, ok)
	require.False(t, d.Delete(nan))
}

func TestDictOrderAndDelete(t *testing.T) {
	var d Dict // the zero value is usable
	for i := range 50 {
		require.NoError(t, d.Set(i, i*i))
	}
	require.True(t, d.Delete(10))
	require.False(t, d.Delete(10))
	require.True(t, d.Delete(int64(0)))
	require.Equal(t, 48, d.Len())
	keys := d.Keys()
	require.Equal(t, 1, keys[0])
	require.Equal(t, 11, keys[9])
	for i := range 50 {
		v, ok := d.Get(i)
		require.Equal(t, i != 10 && i != 0, ok, "key %d", i)
		if ok {
			require.Equal(t, i*i, v)
		}
	}
	n := 0
	for k, v := range d.All() {
		require.Equal(t, k.(int)*k.(int), v)
		n++
		if n == 5 {
			break
		}
	}
	require.NoError(t, d.Set(10, "back"))
	require.Equal(t, 10, d.Keys()[48])
	d.Clear()
	require.Equal(t, 0, d.Len())
	var nilDict *Dict
	require.Equal(t, 0, nilDict.Len())
	_, ok := nilDict.Get(1)
	require.False(t, ok)
	require.Error(t, nilDict.Set(1, 1))
}

func TestSets(t *testing.T) {
	s := NewSet(2)
	for _, k := range []any{int64(3), 3.0, true, "a", int64(1)} {
		require.NoError(t, s.Add(k))
	}
	require.Equal(t, []any{int64(3), true, "a"}, s.Items())
	require.True(t, s.Has(1))
	require.True(t, s.Remove(true))
	require.False(t, s.Has(1))
	require.Equal(t, 2, s.Len())
	var items []any
	for k := range s.All() {
		items = append(items, k)
	}
	require.Equal(t, []any{int64(3), "a"}, items)
	require.ErrorIs(t, s.Add(&List{}), ErrUnhashable)

	fs := NewFrozenSet(0)
	require.NoError(t, fs.Add(Tuple{1, 2}))
	require.True(t, fs.Has(Tuple{int64(1), 2.0}))
	require.True(t, fs.Remove(Tuple{1, 2}))
	require.Equal(t, 0, fs.Len())
}

func TestHashBounded(t *testing.T) {
	// A tuple that contains itself (only Go code can build one).
	tup := Tuple{nil}
	tup[0] = tup
	d := NewDict(0)
	require.ErrorIs(t, d.Set(tup, 1), ErrLimit)

	// Shared halves: 2**60 leaves from 60 tuples.
	k := Tuple{int64(1)}
	for range 60 {
		k = Tuple{k, k}
	}
	require.ErrorIs(t, d.Set(k, 1), ErrLimit)
}
