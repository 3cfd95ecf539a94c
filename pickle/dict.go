package pickle

import (
	"errors"
	"iter"
)

// Dict is a Python dict: insertion-ordered, with Python key semantics (see
// hash.go: 1, 1.0 and True are one key; tuple, frozenset, bytes, str, None
// and Global keys; objects by identity). Setting an existing key replaces
// its value and keeps its position and its original key, as in Python.
//
// The zero Dict is empty and ready to use. A Dict is not safe for
// concurrent use.
type Dict struct {
	t table
}

// NewDict returns an empty dict with room for capacity entries.
func NewDict(capacity int) *Dict {
	d := new(Dict)
	d.t.init(capacity)
	return d
}

var errNilContainer = errors.New("pickle: Set/Add on a nil container")

// Set maps key to value. It fails with ErrUnhashable if key is a list,
// dict, set or bytearray (or anything else Python cannot hash), and with
// ErrLimit if key is too deeply nested.
func (d *Dict) Set(key, value any) error {
	if d == nil {
		return errNilContainer
	}
	st := hstate{budget: defaultHashBudget}
	return d.t.insert(key, value, &st)
}

// Get returns the value for key. An unhashable key is simply not found.
func (d *Dict) Get(key any) (any, bool) {
	if d == nil {
		return nil, false
	}
	st := hstate{budget: defaultHashBudget}
	i, _, err := d.t.lookup(key, &st)
	if err != nil || i < 0 {
		return nil, false
	}
	return d.t.entries[i].value, true
}

// Delete removes key and reports whether it was present. The order of the
// remaining entries is kept. Deleting costs time linear in the size of
// the dict.
func (d *Dict) Delete(key any) bool {
	return d != nil && d.t.remove(key)
}

// Len returns the number of entries.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.t.entries)
}

// All iterates over the entries in insertion order. The dict must not be
// modified during the iteration.
func (d *Dict) All() iter.Seq2[any, any] {
	return func(yield func(any, any) bool) {
		if d == nil {
			return
		}
		for _, e := range d.t.entries {
			if !yield(e.key, e.value) {
				return
			}
		}
	}
}

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []any {
	if d == nil {
		return nil
	}
	return d.t.keys()
}

// Values returns the values in insertion order.
func (d *Dict) Values() []any {
	if d == nil {
		return nil
	}
	vs := make([]any, len(d.t.entries))
	for i, e := range d.t.entries {
		vs[i] = e.value
	}
	return vs
}

// Clear removes every entry.
func (d *Dict) Clear() {
	if d != nil {
		d.t = table{}
	}
}

// Set is a Python set: insertion-ordered (the encoder writes the items in
// this order, so a set decoded from CPython re-encodes in CPython's
// order), with the key semantics of Dict.
type Set struct {
	t table
}

// NewSet returns an empty set with room for capacity items.
func NewSet(capacity int) *Set {
	s := new(Set)
	s.t.init(capacity)
	return s
}

// Add adds key; adding an item already present changes nothing. It fails
// like Dict.Set for unhashable keys.
func (s *Set) Add(key any) error {
	if s == nil {
		return errNilContainer
	}
	st := hstate{budget: defaultHashBudget}
	return s.t.insert(key, nil, &st)
}

// Has reports whether key is in the set.
func (s *Set) Has(key any) bool { return s != nil && s.t.has(key) }

// Remove removes key and reports whether it was present.
func (s *Set) Remove(key any) bool { return s != nil && s.t.remove(key) }

// Len returns the number of items.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.t.entries)
}

// All iterates over the items in insertion order.
func (s *Set) All() iter.Seq[any] {
	return func(yield func(any) bool) {
		if s != nil {
			s.t.each(yield)
		}
	}
}

// Items returns the items in insertion order.
func (s *Set) Items() []any {
	if s == nil {
		return nil
	}
	return s.t.keys()
}

// FrozenSet is a Python frozenset. It has the methods of Set so that one
// can be built; once used as a key it must not be modified. Two frozensets
// with the same items are equal keys, whatever their order.
type FrozenSet struct {
	t      table
	hash   uint64
	hashOK bool
}

// NewFrozenSet returns an empty frozenset with room for capacity items.
func NewFrozenSet(capacity int) *FrozenSet {
	s := new(FrozenSet)
	s.t.init(capacity)
	return s
}

// Add adds key, like Set.Add.
func (s *FrozenSet) Add(key any) error {
	if s == nil {
		return errNilContainer
	}
	s.hashOK = false
	st := hstate{budget: defaultHashBudget}
	return s.t.insert(key, nil, &st)
}

// Has reports whether key is in the set.
func (s *FrozenSet) Has(key any) bool { return s != nil && s.t.has(key) }

// Remove removes key and reports whether it was present.
func (s *FrozenSet) Remove(key any) bool {
	if s == nil {
		return false
	}
	s.hashOK = false
	return s.t.remove(key)
}

// Len returns the number of items.
func (s *FrozenSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.t.entries)
}

// All iterates over the items in insertion order.
func (s *FrozenSet) All() iter.Seq[any] {
	return func(yield func(any) bool) {
		if s != nil {
			s.t.each(yield)
		}
	}
}

// Items returns the items in insertion order.
func (s *FrozenSet) Items() []any {
	if s == nil {
		return nil
	}
	return s.t.keys()
}

func (s *FrozenSet) hashValue(st *hstate, depth int) (uint64, error) {
	if !s.hashOK {
		// Element hashes are already in the entries; combine them in an
		// order-independent way.
		h := uint64(tagFset) + uint64(len(s.t.entries))
		for _, e := range s.t.entries {
			h += mix(e.hash)
		}
		s.hash, s.hashOK = h, true
	}
	return s.hash, nil
}

// table is the ordered hash table behind Dict, Set and FrozenSet: a
// compact slice of entries in insertion order, plus an open-addressing
// index of entry positions once there are more than smallTable entries
// (below that a linear scan comparing hashes is faster).
type table struct {
	entries []entry
	index   []int32 // entry position + 1, 0 = empty; len is a power of 2
}

type entry struct {
	key, value any
	hash       uint64
}

const smallTable = 8

func (t *table) init(capacity int) {
	if capacity > 0 {
		t.entries = make([]entry, 0, capacity)
		if capacity > smallTable {
			t.index = make([]int32, indexSize(capacity))
		}
	}
}

func indexSize(n int) int {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return size
}

func (t *table) keys() []any {
	ks := make([]any, len(t.entries))
	for i, e := range t.entries {
		ks[i] = e.key
	}
	return ks
}

func (t *table) each(yield func(any) bool) {
	for _, e := range t.entries {
		if !yield(e.key) {
			return
		}
	}
}

func (t *table) has(key any) bool {
	st := hstate{budget: defaultHashBudget}
	i, _, err := t.lookup(key, &st)
	return err == nil && i >= 0
}

// lookup returns the position of key (-1 if absent) and its hash.
func (t *table) lookup(key any, st *hstate) (int, uint64, error) {
	st.nan = 0
	h, err := hashKey(key, st, 0)
	if err != nil {
		return -1, 0, err
	}
	if st.nan != 0 {
		// A NaN never equals anything: give it a hash of its own (its
		// position; after a deletion two may share one, which costs a
		// probe, nothing more).
		return -1, mix(h + uint64(len(t.entries))), nil
	}
	if t.index == nil {
		for i := range t.entries {
			e := &t.entries[i]
			if e.hash != h {
				continue
			}
			eq, err := keysEqual(e.key, key, st, 0)
			if err != nil {
				return -1, 0, err
			}
			if eq {
				return i, h, nil
			}
		}
		return -1, h, nil
	}
	mask := uint64(len(t.index) - 1)
	for slot := h & mask; ; slot = (slot + 1) & mask {
		p := t.index[slot]
		if p == 0 {
			return -1, h, nil
		}
		e := &t.entries[p-1]
		if e.hash != h {
			continue
		}
		eq, err := keysEqual(e.key, key, st, 0)
		if err != nil {
			return -1, 0, err
		}
		if eq {
			return int(p - 1), h, nil
		}
	}
}

func (t *table) insert(key, value any, st *hstate) error {
	i, h, err := t.lookup(key, st)
	if err != nil {
		return err
	}
	if i >= 0 {
		t.entries[i].value = value
		return nil
	}
	t.entries = append(t.entries, entry{key: key, value: value, hash: h})
	n := len(t.entries)
	switch {
	case t.index == nil && n <= smallTable:
	case t.index == nil || 2*n > len(t.index):
		t.rebuild()
	default:
		t.place(n-1, h)
	}
	return nil
}

func (t *table) place(i int, h uint64) {
	mask := uint64(len(t.index) - 1)
	slot := h & mask
	for t.index[slot] != 0 {
		slot = (slot + 1) & mask
	}
	t.index[slot] = int32(i + 1)
}

func (t *table) rebuild() {
	n := len(t.entries)
	if n <= smallTable {
		t.index = nil
		return
	}
	size := indexSize(n)
	if len(t.index) == size {
		clear(t.index)
	} else {
		t.index = make([]int32, size)
	}
	for i := range t.entries {
		t.place(i, t.entries[i].hash)
	}
}

func (t *table) remove(key any) bool {
	st := hstate{budget: defaultHashBudget}
	i, _, err := t.lookup(key, &st)
	if err != nil || i < 0 {
		return false
	}
	copy(t.entries[i:], t.entries[i+1:])
	t.entries[len(t.entries)-1] = entry{}
	t.entries = t.entries[:len(t.entries)-1]
	if t.index != nil {
		t.rebuild()
	}
	return true
}

// sameKeys reports whether two tables hold equal keys (frozenset equality).
func (t *table) sameKeys(u *table, st *hstate, depth int) (bool, error) {
	if len(t.entries) != len(u.entries) {
		return false, nil
	}
	for _, e := range t.entries {
		if err := st.spend(depth); err != nil {
			return false, err
		}
		found := false
		// Compare through u's structure without re-hashing e.key.
		if u.index == nil {
			for j := range u.entries {
				if u.entries[j].hash == e.hash {
					eq, err := keysEqual(u.entries[j].key, e.key, st, depth)
					if err != nil {
						return false, err
					}
					if eq {
						found = true
						break
					}
				}
			}
		} else {
			mask := uint64(len(u.index) - 1)
			for slot := e.hash & mask; u.index[slot] != 0; slot = (slot + 1) & mask {
				f := &u.entries[u.index[slot]-1]
				if f.hash == e.hash {
					eq, err := keysEqual(f.key, e.key, st, depth)
					if err != nil {
						return false, err
					}
					if eq {
						found = true
						break
					}
				}
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}
