package pickle

// memoTable maps the identity of a value (a memoKey) to its memo index
// while encoding. It is an open-addressing table with linear probing,
// hashing the key's pointer with one multiplication; an Encoder reuses it
// across pickles, and reset is O(1) thanks to a generation number.
type memoTable struct {
	slots []memoSlot
	count int
	gen   uint32
	shift uint
}

type memoSlot struct {
	key memoKey
	idx int32
	gen uint32 // the slot is in use if gen == table.gen
}

const memoMinSize = 64

func (t *memoTable) reset() {
	if t.count == 0 {
		return
	}
	t.count = 0
	t.gen++
	if t.gen == 0 || len(t.slots) > 1<<16 {
		// Wrapped around, or grown large: start over with a small table.
		t.slots, t.gen = nil, 1
	}
}

func (k *memoKey) hash() uint64 {
	h := uint64(uintptr(k.p)) ^ uint64(k.n)<<32 ^ uint64(k.n) ^ uint64(k.kind)<<56
	return h * 0x9e3779b97f4a7c15
}

// get returns the memo index of k, or -1.
func (t *memoTable) get(k memoKey) int {
	if t.count == 0 {
		return -1
	}
	mask := uint64(len(t.slots) - 1)
	for i := k.hash() >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			return -1
		}
		if s.key == k {
			return int(s.idx)
		}
	}
}

// find returns the slot of k and its memo index, or, if k is absent, the
// slot where set can record it and -1. The table is grown first, so the
// slot stays valid until the next insertion.
func (t *memoTable) find(k memoKey) (int, int) {
	if 2*(t.count+1) > len(t.slots) { // also when there are no slots yet
		t.ensure()
	}
	mask := uint64(len(t.slots) - 1)
	for i := k.hash() >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			return int(i), -1
		}
		if s.key == k {
			return int(i), int(s.idx)
		}
	}
}

// set records k under idx in a slot returned by find.
func (t *memoTable) set(slot int, k memoKey, idx int) {
	t.slots[slot] = memoSlot{key: k, idx: int32(idx), gen: t.gen}
	t.count++
}

func (t *memoTable) ensure() {
	if t.slots == nil {
		t.slots, t.shift = make([]memoSlot, memoMinSize), 64-6
		if t.gen == 0 {
			t.gen = 1
		}
	}
	if 2*(t.count+1) > len(t.slots) {
		t.grow()
	}
}

// put records k under idx (k is not in the table).
func (t *memoTable) put(k memoKey, idx int) {
	if 2*(t.count+1) > len(t.slots) {
		t.ensure()
	}
	mask := uint64(len(t.slots) - 1)
	i := k.hash() >> t.shift
	for t.slots[i].gen == t.gen {
		i = (i + 1) & mask
	}
	t.slots[i] = memoSlot{key: k, idx: int32(idx), gen: t.gen}
	t.count++
}

func (t *memoTable) grow() {
	old, gen := t.slots, t.gen
	t.slots = make([]memoSlot, 2*len(old))
	t.shift--
	t.gen = 1
	t.count = 0
	for i := range old {
		if old[i].gen == gen {
			t.put(old[i].key, int(old[i].idx))
		}
	}
}
