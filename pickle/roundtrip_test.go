package pickle_test

// Round trip through real Python: for every installed CPython 3.8–3.13 and
// every golden file of that version, Go decodes the file and encodes the
// value at the same protocol; Python (one long-lived helper per version)
// loads Go's bytes and compares the result with the case's original value —
// types, ==, shared references (v[0] is v[1]) and cycles — then dumps it
// again; Go decodes Python's bytes and compares them with its own value.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/mpbridge/mpbridge/pickle"
)

// roundTripBatchBytes bounds the pickle bytes sent to Python in one helper
// call.
const roundTripBatchBytes = 8 << 20

func TestRoundTripPython(t *testing.T) {
	byMinor := map[int]*goldenManifest{}
	for _, m := range loadGoldenManifests(t) {
		byMinor[m.Minor] = m
	}
	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		m := byMinor[py.Minor]
		require.NotNil(t, m, "no golden files for 3.%d: run scripts/gen_pickle_golden.sh", py.Minor)
		h := pytest.NewHelper(t, py)
		h.MustExec(t, "import json, gen_pickle_golden as G")

		items := goldenItems(t, m)
		type sent struct {
			it  *goldenItem
			v   any
			enc []byte
		}
		var batch []sent
		size := 0
		flush := func() {
			if len(batch) == 0 {
				return
			}
			req := make([][]any, len(batch))
			for i, s := range batch {
				// Go writes buffers in-band, so Python needs none.
				req[i] = []any{s.it.c.Name, s.it.f.Protocol, base64.StdEncoding.EncodeToString(s.enc), nil}
			}
			reqJSON, err := json.Marshal(req)
			require.NoError(t, err)
			lit, err := json.Marshal(string(reqJSON)) // a JSON string is a valid Python str literal
			require.NoError(t, err)
			raw := h.MustExec(t, "result = G.check_batch(json.loads("+string(lit)+"))")
			var reps []struct {
				OK      bool     `json:"ok"`
				Error   string   `json:"error"`
				Redump  []byte   `json:"redump"`
				Buffers [][]byte `json:"buffers"`
			}
			require.NoError(t, json.Unmarshal(raw, &reps))
			require.Len(t, reps, len(batch))
			for i, rep := range reps {
				s := batch[i]
				name := s.it.name()
				if rep.Error == "noload" {
					// Loading would have side effects (a manager proxy):
					// Go's encoding must then be CPython's, byte for byte.
					if !bytes.Equal(s.enc, s.it.data) {
						t.Errorf("%s: not loadable by the test, and Go's encoding differs from CPython's\n%s", name, diffPickles(s.it.data, s.enc))
					}
					continue
				}
				if !rep.OK {
					t.Errorf("%s: Python on Go's encoding: %s", name, rep.Error)
					continue
				}
				back, err := pickle.LoadsOptions(rep.Redump, goldenDecodeOptions(s.it.c, nil))
				if !assertNoErr(t, err, "%s: decoding Python's re-dump", name) {
					continue
				}
				if err := modelEqual(s.v, back, true); err != nil {
					t.Errorf("%s: Python's re-dump decodes to a different value: %v", name, err)
				}
			}
			batch, size = batch[:0], 0
		}
		for _, it := range items {
			v, err := pickle.LoadsOptions(it.data, it.decodeOptions())
			if !assertNoErr(t, err, "%s: decode", it.name()) {
				continue
			}
			enc, err := pickle.Dumps(v, it.f.Protocol)
			if !assertNoErr(t, err, "%s: encode", it.name()) {
				continue
			}
			batch = append(batch, sent{it, v, enc})
			if size += len(enc); size >= roundTripBatchBytes {
				flush()
			}
		}
		flush()
	})
}

// ---------------------------------------------------------------------------
// Structural equality of value-model values.

// modelEqual reports how b differs from a, or nil: same types, equal
// values, and the same sharing and cycles (a bijection between the
// identities of a and b). With unorderedSets, sets and frozensets compare
// as unordered collections (Python may rebuild a set in another order).
func modelEqual(a, b any, unorderedSets bool) error {
	e := &equaler{fwd: map[identity]identity{}, back: map[identity]identity{}, unordered: unorderedSets}
	return e.eq("$", a, b)
}

type equaler struct {
	fwd, back map[identity]identity
	unordered bool
}

func (e *equaler) eq(path string, a, b any) error {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return fmt.Errorf("%s: %T vs %T", path, a, b)
	}
	ia, oka := identityOf(a)
	ib, _ := identityOf(b)
	if oka {
		fa, seenA := e.fwd[ia]
		fb, seenB := e.back[ib]
		if seenA || seenB {
			if fa != ib || fb != ia {
				return fmt.Errorf("%s: sharing differs (%T)", path, a)
			}
			return nil
		}
		e.fwd[ia], e.back[ib] = ib, ia
	}
	switch x := a.(type) {
	case nil:
		return nil
	case complex128:
		if err := e.eq(path+".real", real(x), real(b.(complex128))); err != nil {
			return err
		}
		return e.eq(path+".imag", imag(x), imag(b.(complex128)))
	case bool, int64, string, pickle.Global:
		if a != b {
			return fmt.Errorf("%s: %v vs %v", path, a, b)
		}
		return nil
	case float64:
		y := b.(float64)
		if (math.IsNaN(x) && math.IsNaN(y)) || (x == y && math.Signbit(x) == math.Signbit(y)) {
			return nil
		}
		return fmt.Errorf("%s: %v vs %v", path, x, y)
	case *big.Int:
		if x.Cmp(b.(*big.Int)) != 0 {
			return fmt.Errorf("%s: %v vs %v", path, x, b)
		}
		return nil
	case []byte:
		if !bytes.Equal(x, b.([]byte)) {
			return fmt.Errorf("%s: bytes %q vs %q", path, clip(x), clip(b.([]byte)))
		}
		return nil
	case *pickle.ByteArray:
		if !bytes.Equal(*x, *b.(*pickle.ByteArray)) {
			return fmt.Errorf("%s: bytearray differs", path)
		}
		return nil
	case pickle.Tuple:
		return e.seq(path, x, b.(pickle.Tuple))
	case *pickle.List:
		return e.seq(path, *x, *b.(*pickle.List))
	case *pickle.Dict:
		return e.pairs(path, dictPairs(x), dictPairs(b.(*pickle.Dict)))
	case *pickle.Set:
		return e.set(path, x.Items(), b.(*pickle.Set).Items())
	case *pickle.FrozenSet:
		return e.set(path, x.Items(), b.(*pickle.FrozenSet).Items())
	case *pickle.Object:
		return e.object(path, x, b.(*pickle.Object))
	case *pickle.Exception:
		return e.object(path, &x.Object, &b.(*pickle.Exception).Object)
	case pickle.PersistentID:
		return e.eq(path+".persid", x.ID, b.(pickle.PersistentID).ID)
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("%s: %#v vs %#v", path, a, b)
	}
	return nil
}

func (e *equaler) seq(path string, a, b []any) error {
	if len(a) != len(b) {
		return fmt.Errorf("%s: %d vs %d items", path, len(a), len(b))
	}
	for i := range a {
		if err := e.eq(fmt.Sprintf("%s[%d]", path, i), a[i], b[i]); err != nil {
			return err
		}
	}
	return nil
}

func (e *equaler) pairs(path string, a, b []pickle.Pair) error {
	if len(a) != len(b) {
		return fmt.Errorf("%s: %d vs %d pairs", path, len(a), len(b))
	}
	for i := range a {
		if err := e.eq(fmt.Sprintf("%s.key[%d]", path, i), a[i].Key, b[i].Key); err != nil {
			return err
		}
		if err := e.eq(fmt.Sprintf("%s.value[%d]", path, i), a[i].Value, b[i].Value); err != nil {
			return err
		}
	}
	return nil
}

// set compares set items in order, or (unordered) as collections of
// hashable values, where identity carries no meaning.
func (e *equaler) set(path string, a, b []any) error {
	if !e.unordered {
		return e.seq(path, a, b)
	}
	if len(a) != len(b) {
		return fmt.Errorf("%s: %d vs %d items", path, len(a), len(b))
	}
	used := make([]bool, len(b))
	for i, x := range a {
		found := false
		for j, y := range b {
			if used[j] {
				continue
			}
			if fresh := (&equaler{fwd: map[identity]identity{}, back: map[identity]identity{}, unordered: true}); fresh.eq("", x, y) == nil {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s: item %d (%v) missing", path, i, x)
		}
	}
	return nil
}

func (e *equaler) object(path string, a, b *pickle.Object) error {
	if a.Kind != b.Kind || a.HasState != b.HasState {
		return fmt.Errorf("%s: object kind/state %v/%v vs %v/%v", path, a.Kind, a.HasState, b.Kind, b.HasState)
	}
	if err := e.eq(path+".callable", a.Callable, b.Callable); err != nil {
		return err
	}
	if err := e.seq(path+".args", a.Args, b.Args); err != nil {
		return err
	}
	if (a.Kwargs == nil) != (b.Kwargs == nil) {
		return fmt.Errorf("%s: kwargs presence differs", path)
	}
	if a.Kwargs != nil {
		if err := e.eq(path+".kwargs", a.Kwargs, b.Kwargs); err != nil {
			return err
		}
	}
	if err := e.seq(path+".listitems", a.ListItems, b.ListItems); err != nil {
		return err
	}
	if err := e.pairs(path+".dictitems", a.DictItems, b.DictItems); err != nil {
		return err
	}
	return e.eq(path+".state", a.State, b.State)
}

// A manager request as multiprocessing sends it: the bytes are CPython's
// (PROTOCOL.md §3.12, conn3), and decoding gives the value back.
func Example_managerRequest() {
	req := pickle.Tuple{nil, "create", pickle.Tuple{"get_queue"}, pickle.NewDict(0)}
	data, err := pickle.Dumps(req, pickle.DefaultProtocol)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", data)

	v, err := pickle.Loads(data)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.(pickle.Tuple)[1])
	// Output:
	// 80 04 95 1e 00 00 00 00 00 00 00 28 4e 8c 06 63 72 65 61 74 65 94 8c 09 67 65 74 5f 71 75 65 75 65 94 85 94 7d 94 74 94 2e
	// create
}

// A manager's ('#ERROR', queue.Empty()) reply, as a CPython 3.12 server
// sends it: the exception decodes to a Go error that matches
// mpbridge.ErrEmpty.
func Example_managerErrorReply() {
	data := []byte("\x80\x04\x95\x22\x00\x00\x00\x00\x00\x00\x00\x8c\x06#ERROR\x94\x8c\x06_queue\x94\x8c\x05Empty\x94\x93\x94)R\x94\x86\x94.")
	v, err := pickle.Loads(data)
	if err != nil {
		panic(err)
	}
	reply := v.(pickle.Tuple)
	remote := reply[1].(error)
	fmt.Println(reply[0], remote, errors.Is(remote, mpbridge.ErrEmpty))
	// Output:
	// #ERROR Empty() true
}
