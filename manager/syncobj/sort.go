package syncobj

// sortValues sorts items in place with Python's "<" (Less), stably, the
// way CPython's list.sort does for lists of up to 64 items: a natural run
// is found, reversed when strictly descending, and the rest is inserted
// with binary insertion, so the comparisons made, the exception raised
// for incomparable items and the order of equal items are CPython's.
// Longer lists are cut into such runs and merged, which gives CPython's
// result whenever the items are consistently ordered. When a comparison
// fails the items are left in some permutation, as in CPython.
func sortValues(items []any, reverse bool) error { return sortBy(items, reverse, Less) }

// sortBy sorts items with lessFn, reversed as CPython reverses: the list
// is reversed before and after a stable sort, so equal items keep their
// order.
func sortBy(items []any, reverse bool, lessFn lessFunc) error {
	if len(items) < 2 {
		return nil
	}
	if reverse {
		reverseValues(items)
	}
	err := timsort(items, lessFn)
	if reverse {
		reverseValues(items)
	}
	return err
}

func reverseValues(a []any) {
	for i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
	}
}

// minRun is CPython's merge_compute_minrun.
func minRun(n int) int {
	r := 0
	for n >= 64 {
		r |= n & 1
		n >>= 1
	}
	return n + r
}

// lessFunc is Python's "<" on the things being sorted.
type lessFunc func(a, b any) (bool, error)

func timsort(a []any, lessFn lessFunc) error {
	n := len(a)
	minrun := minRun(n)
	var runs [][2]int // start, length
	for lo := 0; lo < n; {
		rn, desc, err := countRun(a[lo:], lessFn)
		if err != nil {
			return err
		}
		if desc {
			reverseValues(a[lo : lo+rn])
		}
		if rn < minrun {
			force := min(minrun, n-lo)
			if err := binarySort(a[lo:lo+force], rn, lessFn); err != nil {
				return err
			}
			rn = force
		}
		runs = append(runs, [2]int{lo, rn})
		lo += rn
	}
	// Merge neighbouring runs pairwise until one is left.
	var tmp []any
	for len(runs) > 1 {
		next := runs[:0:0]
		for i := 0; i < len(runs); i += 2 {
			if i+1 == len(runs) {
				next = append(next, runs[i])
				continue
			}
			s, l1, l2 := runs[i][0], runs[i][1], runs[i+1][1]
			var err error
			tmp, err = mergeRuns(a[s:s+l1+l2], l1, tmp, lessFn)
			if err != nil {
				return err
			}
			next = append(next, [2]int{s, l1 + l2})
		}
		runs = next
	}
	return nil
}

// countRun is CPython's count_run: the length of the run at the start of
// a, ascending (a[0] <= a[1] <= ...) or strictly descending.
func countRun(a []any, lessFn lessFunc) (n int, descending bool, err error) {
	if len(a) == 1 {
		return 1, false, nil
	}
	lt, err := lessFn(a[1], a[0])
	if err != nil {
		return 0, false, err
	}
	n = 2
	if lt {
		for ; n < len(a); n++ {
			lt, err := lessFn(a[n], a[n-1])
			if err != nil {
				return 0, false, err
			}
			if !lt {
				break
			}
		}
		return n, true, nil
	}
	for ; n < len(a); n++ {
		lt, err := lessFn(a[n], a[n-1])
		if err != nil {
			return 0, false, err
		}
		if lt {
			break
		}
	}
	return n, false, nil
}

// binarySort is CPython's binarysort: a[:start] is sorted; insert the
// rest one by one after the last item not greater than it.
func binarySort(a []any, start int, lessFn lessFunc) error {
	if start == 0 {
		start = 1
	}
	for ; start < len(a); start++ {
		pivot := a[start]
		l, r := 0, start
		for l < r {
			p := l + (r-l)/2
			lt, err := lessFn(pivot, a[p])
			if err != nil {
				return err
			}
			if lt {
				r = p
			} else {
				l = p + 1
			}
		}
		copy(a[l+1:start+1], a[l:start])
		a[l] = pivot
	}
	return nil
}

// mergeRuns merges the sorted a[:mid] and a[mid:] stably.
func mergeRuns(a []any, mid int, tmp []any, lessFn lessFunc) ([]any, error) {
	tmp = append(tmp[:0], a[:mid]...)
	i, j, k := 0, mid, 0
	for i < len(tmp) && j < len(a) {
		lt, err := lessFn(a[j], tmp[i])
		if err != nil {
			// Keep every item: put back what is left of the left run.
			copy(a[k:], tmp[i:])
			return tmp, err
		}
		if lt {
			a[k] = a[j]
			j++
		} else {
			a[k] = tmp[i]
			i++
		}
		k++
	}
	copy(a[k:], tmp[i:])
	return tmp, nil
}

// keyed is an item with its sort key, for list.sort(key=...).
type keyed struct{ k, v any }

func lessKeyed(a, b any) (bool, error) { return Less(a.(*keyed).k, b.(*keyed).k) }

// sortByKey is list.sort(key=key, reverse=reverse): every key is computed
// first (one that raises leaves the list as it was, as in CPython), then
// the items are sorted by their keys exactly as sortValues sorts items.
func sortByKey(items []any, key func(any) (any, error), reverse bool) error {
	pairs := make([]any, len(items))
	for i, v := range items {
		k, err := key(v)
		if err != nil {
			return err
		}
		pairs[i] = &keyed{k: k, v: v}
	}
	err := sortBy(pairs, reverse, lessKeyed)
	for i, p := range pairs {
		items[i] = p.(*keyed).v
	}
	return err
}
