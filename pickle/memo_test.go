package pickle

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestMemoTable(t *testing.T) {
	var m memoTable
	vals := make([]int, 5000)
	key := func(i int) memoKey { return memoKey{p: unsafe.Pointer(&vals[i]), kind: keyPtr} }
	for round := range 3 {
		for i := range vals {
			require.Equal(t, -1, m.get(key(i)), "round %d", round)
			if i%2 == 0 {
				m.put(key(i), i)
			} else {
				slot, idx := m.find(key(i))
				require.Equal(t, -1, idx)
				m.set(slot, key(i), i)
			}
		}
		for i := range vals {
			require.Equal(t, i, m.get(key(i)))
			_, idx := m.find(key(i))
			require.Equal(t, i, idx)
		}
		m.reset()
	}
	// Keys that differ only in length or kind are distinct.
	s := "abcdef"
	k3 := strKey(s[:3])
	k4 := strKey(s[:4])
	m.put(k3, 1)
	require.Equal(t, -1, m.get(k4))
	require.Equal(t, -1, m.get(memoKey{p: k3.p, n: 3, kind: keyBytes}))
}
