package pickle

import (
	"encoding/binary"
	"unsafe"
)

// Containers: tuple, list, dict, set, frozenset, bytearray and complex,
// with the C pickler's batching and the reductions used where a protocol
// has no opcode.

// saveReduceTo writes callable() (no arguments) and memoizes it under k.
func (e *encodeState) saveReduceTo(g Global, k memoKey) error {
	if err := e.saveGlobal(g); err != nil {
		return err
	}
	e.saveEmptyTuple()
	e.op(opREDUCE)
	e.memoize(k)
	return nil
}

func (e *encodeState) saveEmptyTuple() {
	if e.proto >= 1 {
		e.op(opEMPTY_TUPLE)
	} else {
		e.write(opMARK, opTUPLE)
	}
}

// saveFreshTuple writes a tuple the pickler builds itself (reduce
// arguments): never shared with anything, memoized under no key.
func (e *encodeState) saveFreshTuple(items ...any) error {
	if len(items) == 0 {
		e.saveEmptyTuple()
		return nil
	}
	if len(items) <= 3 && e.proto >= 2 {
		for _, it := range items {
			if err := e.save(it); err != nil {
				return err
			}
		}
		e.op(opTUPLE1 + byte(len(items)-1))
	} else {
		e.op(opMARK)
		for _, it := range items {
			if err := e.save(it); err != nil {
				return err
			}
		}
		e.op(opTUPLE)
	}
	e.memoize(noKey)
	return nil
}

func (e *encodeState) saveTuple(t Tuple) error {
	n := len(t)
	if n == 0 {
		e.saveEmptyTuple()
		return nil
	}
	k := memoKey{p: unsafe.Pointer(unsafe.SliceData(t)), n: n, kind: keyTuple}
	if e.memoGet(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if n <= 3 && e.proto >= 2 {
		for _, it := range t {
			if err := e.save(it); err != nil {
				return err
			}
		}
		if idx := e.memo.get(k); idx >= 0 {
			// The tuple is recursive: it was memoized while saving its
			// items. Drop the items and fetch it from the memo.
			for range n {
				e.op(opPOP)
			}
			e.writeGet(idx)
			return nil
		}
		e.op(opTUPLE1 + byte(n-1))
	} else {
		e.op(opMARK)
		for _, it := range t {
			if err := e.save(it); err != nil {
				return err
			}
		}
		if idx := e.memo.get(k); idx >= 0 {
			if e.proto >= 1 {
				e.op(opPOP_MARK)
			} else {
				for range n + 1 {
					e.op(opPOP)
				}
			}
			e.writeGet(idx)
			return nil
		}
		e.op(opTUPLE)
	}
	e.memoize(k)
	return nil
}

// saveList writes a list; slot is k's slot from lookup (ignored for noKey).
func (e *encodeState) saveList(items []any, k memoKey, slot int) error {
	if err := e.openContainer(opEMPTY_LIST, opLIST, k, slot); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if len(items) == 0 {
		return nil
	}
	return e.batches(len(items), opAPPEND, opAPPENDS, batchExact, func(i int) error { return e.save(items[i]) })
}

// openContainer enters one level of nesting and writes an empty list or
// dict (EMPTY_LIST, or MARK LIST at protocol 0), memoized under k.
func (e *encodeState) openContainer(empty, fromMark byte, k memoKey, slot int) error {
	if err := e.enter(); err != nil {
		return err
	}
	if e.proto >= 1 {
		e.op(empty)
	} else {
		e.write(opMARK, fromMark)
	}
	if k == noKey {
		e.memoize(k)
	} else {
		e.memoizeAt(slot, k)
	}
	return nil
}

// appendItems writes the list items of a reduced object (the C pickler's
// generic batch_list).
func (e *encodeState) appendItems(items []any) error {
	return e.batches(len(items), opAPPEND, opAPPENDS, batchGeneric, func(i int) error { return e.save(items[i]) })
}

// How the C pickler groups the items after a list, dict or set.
const (
	// batchExact (batch_list_exact): one item alone, else batches of 1000.
	batchExact = iota
	// batchWhileFull (batch_dict_exact, save_set): one pair alone (dicts),
	// else batches for as long as the last one was full, so that an exact
	// multiple of 1000 ends with an empty batch.
	batchWhileFull
	// batchGeneric (batch_list, batch_dict, for reduced objects): batches
	// of 1000 and a lone last item alone.
	batchGeneric
)

// batches writes n items with item(i) after a MARK and closes each batch
// with many; a lone item (see the styles) is closed with one instead, and
// at protocol 0, where there are no batch opcodes, every item is.
func (e *encodeState) batches(n int, one, many byte, style int, item func(int) error) error {
	if n == 0 {
		return nil
	}
	if e.proto == 0 || (n == 1 && one != 0) {
		for i := range n {
			if err := item(i); err != nil {
				return err
			}
			e.op(one)
		}
		return nil
	}
	for start := 0; ; start += batchSize {
		end := min(start+batchSize, n)
		if style == batchGeneric && end-start == 1 {
			if err := item(start); err != nil {
				return err
			}
			e.op(one)
			return nil
		}
		e.op(opMARK)
		for i := start; i < end; i++ {
			if err := item(i); err != nil {
				return err
			}
		}
		e.op(many)
		if style == batchWhileFull && end-start < batchSize || style != batchWhileFull && end == n {
			return nil
		}
	}
}

// saveDict writes a dict; slot is k's slot from lookup (ignored for noKey).
func (e *encodeState) saveDict(d *Dict, k memoKey, slot int) error {
	if err := e.openContainer(opEMPTY_DICT, opDICT, k, slot); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	entries := d.t.entries
	return e.batches(len(entries), opSETITEM, opSETITEMS, batchWhileFull, func(i int) error {
		return e.savePair(entries[i].key, entries[i].value)
	})
}

func (e *encodeState) savePair(k, v any) error {
	if err := e.save(k); err != nil {
		return err
	}
	return e.save(v)
}

// saveMap writes a Go map[string]any as a dict with its keys sorted.
func (e *encodeState) saveMap(m map[string]any) error {
	d := NewDict(len(m))
	for _, k := range sortedKeys(m) {
		d.t.entries = append(d.t.entries, entry{key: k, value: m[k]})
	}
	return e.saveDict(d, noKey, 0)
}

// setItems is the C pickler's generic batch_dict (items of reduced
// objects): no empty trailing batch, a lone last pair with SETITEM.
func (e *encodeState) setItems(pairs []Pair) error {
	return e.batches(len(pairs), opSETITEM, opSETITEMS, batchGeneric, func(i int) error {
		return e.savePair(pairs[i].Key, pairs[i].Value)
	})
}

func (e *encodeState) saveSet(t *table, frozen bool, k memoKey) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto < 4 {
		// REDUCE(set or frozenset, ([items],))
		g := globalSet
		if frozen {
			g = globalFrozenset
		}
		if err := e.saveGlobal(g); err != nil {
			return err
		}
		if err := e.saveFreshTuple(tableList(t)); err != nil {
			return err
		}
		e.op(opREDUCE)
		if e.memoGet(k) {
			return nil
		}
		e.memoize(k)
		return nil
	}
	if frozen {
		e.op(opMARK)
		for i := range t.entries {
			if err := e.save(t.entries[i].key); err != nil {
				return err
			}
		}
		if idx := e.memo.get(k); idx >= 0 {
			e.op(opPOP_MARK)
			e.writeGet(idx)
			return nil
		}
		e.op(opFROZENSET)
		e.memoize(k)
		return nil
	}
	e.op(opEMPTY_SET)
	e.memoize(k)
	return e.batches(len(t.entries), 0, opADDITEMS, batchWhileFull, func(i int) error { return e.save(t.entries[i].key) })
}

// freshList is a list the pickler builds itself (set items at protocols
// below 4); it is memoized under no key.
type freshList []any

func tableList(t *table) freshList {
	items := make(freshList, len(t.entries))
	for i := range t.entries {
		items[i] = t.entries[i].key
	}
	return items
}

func (e *encodeState) saveByteArray(b []byte, k memoKey) error {
	if e.proto < 5 {
		// REDUCE(bytearray, (bytes(b),)) or REDUCE(bytearray, ())
		if err := e.saveGlobal(globalBytearray); err != nil {
			return err
		}
		if len(b) == 0 {
			e.saveEmptyTuple()
		} else {
			// bytes(b) is a new object (one-byte bytes are CPython
			// singletons, hence keyed by value).
			fresh := append([]byte(nil), b...)
			bk := noKey
			if len(b) == 1 {
				bk = byteSingletonKey(b[0])
			}
			if err := e.saveFreshTuple(freshBytes{fresh, bk}); err != nil {
				return err
			}
		}
		e.op(opREDUCE)
		if e.memoGet(k) {
			return nil
		}
		e.memoize(k)
		return nil
	}
	var hdr [9]byte
	hdr[0] = opBYTEARRAY8
	binary.LittleEndian.PutUint64(hdr[1:], uint64(len(b)))
	e.writeData(hdr[:], unsafe.String(unsafe.SliceData(b), len(b)))
	e.memoize(k)
	return nil
}

// freshBytes is a bytes object the pickler builds itself.
type freshBytes struct {
	b []byte
	k memoKey
}

func (e *encodeState) saveComplex(c complex128) error {
	if err := e.saveGlobal(globalComplex); err != nil {
		return err
	}
	if err := e.saveFreshTuple(real(c), imag(c)); err != nil {
		return err
	}
	e.op(opREDUCE)
	e.memoize(noKey)
	return nil
}
