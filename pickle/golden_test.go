package pickle_test

// Golden tests: the pickles CPython 3.8–3.13 wrote at protocols 0–5
// (testdata/pickle/golden/3.<minor>/, made by scripts/gen_pickle_golden.py)
// decode to the value the manifest describes — including which nodes are
// shared and where the cycles are — and plain data re-encodes to the very
// same bytes. Regenerate with scripts/gen_pickle_golden.sh.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge/pickle"
)

const goldenDir = "../testdata/pickle/golden"

// goldenManifest is testdata/pickle/golden/3.<minor>/manifest.json.
type goldenManifest struct {
	Python string       `json:"python"`
	Minor  int          `json:"minor"`
	Cases  []goldenCase `json:"cases"`
	dir    string
}

type goldenCase struct {
	Name   string               `json:"name"`
	Plain  bool                 `json:"plain"`
	Flags  []string             `json:"flags"`
	Note   string               `json:"note"`
	Repr   string               `json:"repr"`
	Expect json.RawMessage      `json:"expect"`
	Ext    map[string][2]string `json:"ext"`
	Files  []goldenFile         `json:"files"`
	expect any                  // Expect parsed, shared by the files
}

type goldenFile struct {
	Protocol        int             `json:"protocol"`
	File            string          `json:"file"`
	Size            int             `json:"size"`
	SHA256          string          `json:"sha256"`
	Expect          json.RawMessage `json:"expect"`
	Buffers         [][]byte        `json:"buffers"`
	RedumpFile      string          `json:"redump_file"`
	BuffersReadonly []bool          `json:"buffers_readonly"`
}

func (c *goldenCase) has(flag string) bool { return slices.Contains(c.Flags, flag) }

// goldenItem is one golden file with its case, ready to test.
type goldenItem struct {
	m      *goldenManifest
	c      *goldenCase
	f      *goldenFile
	data   []byte
	redump []byte // CPython's pickle.dumps(pickle.loads(data)) when it differs from data
	expect any    // parsed description
}

// sameAsCPython reports whether enc, an encoding of the value of it, is
// what CPython writes: the golden bytes, or CPython's own re-dump of them
// where CPython's loads does not keep what the pickle says (3.11/3.12 write
// an interned 'b' and the one-character singleton 'b' separately; both
// load as the singleton).
func (it *goldenItem) sameAsCPython(enc []byte) bool {
	return bytes.Equal(enc, it.data) || (it.redump != nil && bytes.Equal(enc, it.redump))
}

func (it *goldenItem) name() string {
	return fmt.Sprintf("%s/%s.p%d", it.m.Python, it.c.Name, it.f.Protocol)
}

// loadGoldenManifests reads every version's manifest (oldest first).
func loadGoldenManifests(t testing.TB) []*goldenManifest {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(goldenDir, "3.*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs, "no golden files: run scripts/gen_pickle_golden.sh")
	var out []*goldenManifest
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "manifest.json"))
		require.NoError(t, err)
		m := &goldenManifest{dir: d}
		require.NoError(t, json.Unmarshal(raw, m), d)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Minor < out[j].Minor })
	return out
}

// goldenItems returns the files of one manifest with their data and parsed
// descriptions.
func goldenItems(t testing.TB, m *goldenManifest) []*goldenItem {
	t.Helper()
	var out []*goldenItem
	for ci := range m.Cases {
		c := &m.Cases[ci]
		for fi := range c.Files {
			f := &c.Files[fi]
			data, err := os.ReadFile(filepath.Join(m.dir, f.File))
			require.NoError(t, err)
			sum := sha256.Sum256(data)
			require.Equal(t, f.SHA256, hex.EncodeToString(sum[:]), "%s: file does not match the manifest", f.File)
			var expect any
			if f.Expect != nil {
				expect = parseDesc(t, f.Expect)
			} else {
				if c.expect == nil {
					c.expect = parseDesc(t, c.Expect)
				}
				expect = c.expect
			}
			it := &goldenItem{m: m, c: c, f: f, data: data, expect: expect}
			if f.RedumpFile != "" {
				it.redump, err = os.ReadFile(filepath.Join(m.dir, f.RedumpFile))
				require.NoError(t, err)
			}
			out = append(out, it)
		}
	}
	return out
}

func parseDesc(t testing.TB, raw json.RawMessage) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

// decodeOptions returns the options a golden case needs: extension codes
// from the manifest and out-of-band buffers.
func (it *goldenItem) decodeOptions() *pickle.DecodeOptions {
	return goldenDecodeOptions(it.c, it.f)
}

func goldenDecodeOptions(c *goldenCase, f *goldenFile) *pickle.DecodeOptions {
	opts := &pickle.DecodeOptions{}
	if len(c.Ext) > 0 {
		ext := c.Ext
		opts.Ext = func(code int) (pickle.Global, error) {
			g, ok := ext[strconv.Itoa(code)]
			if !ok {
				return pickle.Global{}, fmt.Errorf("unknown extension code %d", code)
			}
			return pickle.Global{Module: g[0], Name: g[1]}, nil
		}
	}
	if f != nil && f.Buffers != nil {
		setGoldenBuffers(opts, f)
	}
	return opts
}

// TestGolden decodes every golden file of every Python version, compares
// the value with the manifest's description (types, values, sharing,
// cycles), and re-encodes it at the same protocol: plain data must give the
// same bytes; everything else must re-encode stably
// (encode(decode(encode(v))) == encode(v)) to an equal value.
func TestGolden(t *testing.T) {
	var plain, objExact, objTotal int
	var notExact []string
	for _, m := range loadGoldenManifests(t) {
		t.Run(m.Python, func(t *testing.T) {
			for _, it := range goldenItems(t, m) {
				v, err := pickle.LoadsOptions(it.data, it.decodeOptions())
				if !assertNoErr(t, err, "%s: decode", it.name()) {
					continue
				}
				if err := matchDesc(it.expect, v); err != nil {
					t.Errorf("%s: decoded value differs from the manifest: %v\n  repr: %s", it.name(), err, it.c.Repr)
					continue
				}
				enc, err := pickle.Dumps(v, it.f.Protocol)
				if !assertNoErr(t, err, "%s: encode", it.name()) {
					continue
				}
				if it.c.Plain {
					plain++
					if !it.sameAsCPython(enc) {
						t.Errorf("%s: plain data re-encodes differently\n%s", it.name(), diffPickles(it.data, enc))
					}
					continue
				}
				objTotal++
				if bytes.Equal(enc, it.data) {
					objExact++
				} else {
					notExact = append(notExact, it.name())
				}
				v2, err := pickle.LoadsOptions(enc, it.decodeOptions())
				if !assertNoErr(t, err, "%s: decode of our encoding", it.name()) {
					continue
				}
				if err := modelEqual(v, v2, false); err != nil {
					t.Errorf("%s: decode(encode(v)) != v: %v", it.name(), err)
					continue
				}
				enc2, err := pickle.Dumps(v2, it.f.Protocol)
				if assertNoErr(t, err, "%s: re-encode", it.name()) && !bytes.Equal(enc, enc2) {
					t.Errorf("%s: encoding is not stable\n%s", it.name(), diffPickles(enc, enc2))
				}
			}
		})
	}
	t.Logf("plain files byte-exact: %d; other files byte-exact: %d of %d", plain, objExact, objTotal)
	if len(notExact) > 0 {
		t.Logf("not byte-exact (allowed: not plain data): %s", strings.Join(notExact, " "))
	}
}

// TestGoldenFromGo builds each plain value from its description with fresh
// Go allocations (sharing only where the description says so) and encodes
// it: a Go value must encode exactly as CPython encodes the equal Python
// value.
func TestGoldenFromGo(t *testing.T) {
	for _, m := range loadGoldenManifests(t) {
		t.Run(m.Python, func(t *testing.T) {
			for _, it := range goldenItems(t, m) {
				if !it.c.Plain {
					continue
				}
				decoded, err := pickle.LoadsOptions(it.data, it.decodeOptions())
				require.NoError(t, err, it.name())
				v, err := buildFromDesc(it.expect, decoded)
				require.NoError(t, err, it.name())
				enc, err := pickle.Dumps(v, it.f.Protocol)
				if !assertNoErr(t, err, "%s: encode", it.name()) {
					continue
				}
				if !it.sameAsCPython(enc) {
					t.Errorf("%s: Go value encodes differently from CPython\n%s", it.name(), diffPickles(it.data, enc))
				}
			}
		})
	}
}

func assertNoErr(t *testing.T, err error, format string, args ...any) bool {
	t.Helper()
	if err != nil {
		t.Errorf(format+": %v", append(args, err)...)
		return false
	}
	return true
}

// diffPickles shows where two pickles diverge, with both disassemblies
// around that point.
func diffPickles(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  lengths %d (want) vs %d (got); first difference at byte %d\n", len(want), len(got), i)
	for _, side := range []struct {
		name string
		data []byte
	}{{"want", want}, {"got", got}} {
		var dis bytes.Buffer
		err := disassemble(&dis, side.data)
		lines := strings.Split(dis.String(), "\n")
		fmt.Fprintf(&b, "  --- %s:\n", side.name)
		shown := 0
		for _, l := range lines {
			off, ok := disOffset(l)
			if ok && off+64 >= i && shown < 12 {
				fmt.Fprintf(&b, "    %s\n", l)
				shown++
			}
		}
		if err != nil {
			fmt.Fprintf(&b, "    (disassembly error: %v)\n", err)
		}
	}
	return b.String()
}

// disOffset parses the byte offset at the start of a disassembly line.
func disOffset(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(f[0], ":"))
	return n, err == nil
}

// ---------------------------------------------------------------------------
// Matching a decoded value against a description.

// identity is what makes two Go values the same Python object.
type identity struct {
	kind byte
	ptr  uintptr
	n    int
}

// identityOf returns the identity of a value whose identity the value model
// preserves; ok is false for scalars and CPython singletons (” , b”, ()).
func identityOf(v any) (identity, bool) {
	switch x := v.(type) {
	case string:
		if len(x) == 0 {
			return identity{}, false
		}
		return identity{'s', uintptr(unsafe.Pointer(unsafe.StringData(x))), len(x)}, true
	case []byte:
		if len(x) == 0 {
			return identity{}, false
		}
		return identity{'b', uintptr(unsafe.Pointer(unsafe.SliceData(x))), len(x)}, true
	case pickle.Tuple:
		if len(x) == 0 {
			return identity{}, false
		}
		return identity{'t', uintptr(unsafe.Pointer(unsafe.SliceData(x))), len(x)}, true
	case *pickle.List, *pickle.Dict, *pickle.Set, *pickle.FrozenSet, *pickle.ByteArray, *pickle.Object, *pickle.Exception:
		return identity{'p', reflect.ValueOf(x).Pointer(), 0}, true
	}
	return identity{}, false
}

// descIsSingleton mirrors gen_pickle_golden._singleton for descriptions:
// nodes whose identity carries no information.
func descIsSingleton(m map[string]any) bool {
	if s, ok := m["str"].(string); ok {
		r := []rune(s)
		return len(r) == 0 || (len(r) == 1 && r[0] < 256)
	}
	if s, ok := m["bytes"].(string); ok {
		return s == ""
	}
	if tup, ok := m["tuple"].([]any); ok {
		return len(tup) == 0
	}
	_, g := m["global"]
	_, c := m["complex"]
	_, p := m["persid"]
	return g || c || p
}

type matcher struct {
	ids   map[int64]identity // description id -> Go identity
	owner map[identity]int   // Go identity -> description node number
	nodes int
}

// matchDesc reports how v differs from the description d, or nil.
func matchDesc(d, v any) error {
	m := &matcher{ids: map[int64]identity{}, owner: map[identity]int{}}
	return m.match("$", d, v)
}

func (m *matcher) match(path string, d, v any) error {
	switch dd := d.(type) {
	case nil:
		if v != nil {
			return fmt.Errorf("%s: want None, got %T %v", path, v, v)
		}
		return nil
	case bool:
		if b, ok := v.(bool); !ok || b != dd {
			return fmt.Errorf("%s: want %v, got %T %v", path, dd, v, v)
		}
		return nil
	case json.Number:
		return matchInt(path, string(dd), v)
	case map[string]any:
		return m.matchMap(path, dd, v)
	}
	return fmt.Errorf("%s: bad description %T", path, d)
}

func matchInt(path, text string, v any) error {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		if x, ok := v.(int64); ok && x == n {
			return nil
		}
		return fmt.Errorf("%s: want int64 %d, got %T %v", path, n, v, v)
	}
	want, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return fmt.Errorf("%s: bad int %q", path, text)
	}
	switch x := v.(type) {
	case int64:
		if want.IsInt64() && want.Int64() == x {
			return nil
		}
	case *big.Int:
		if want.IsInt64() {
			return fmt.Errorf("%s: want int64 %s, got *big.Int", path, text)
		}
		if x.Cmp(want) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%s: want int %s, got %T %v", path, text, v, v)
}

func matchFloat(path, hexText string, v any) error {
	want, err := strconv.ParseFloat(hexText, 64)
	if err != nil {
		return fmt.Errorf("%s: bad float %q", path, hexText)
	}
	f, ok := v.(float64)
	if !ok {
		return fmt.Errorf("%s: want float %v, got %T %v", path, want, v, v)
	}
	if math.IsNaN(want) && math.IsNaN(f) {
		return nil
	}
	if f != want || math.Signbit(f) != math.Signbit(want) {
		return fmt.Errorf("%s: want float %v, got %v", path, want, f)
	}
	return nil
}

func (m *matcher) matchMap(path string, d map[string]any, v any) error {
	if ref, ok := d["ref"]; ok {
		n, _ := ref.(json.Number).Int64()
		id, ok := identityOf(v)
		if !ok || id != m.ids[n] {
			return fmt.Errorf("%s: want a reference to shared object #%d, got a distinct %T", path, n, v)
		}
		return nil
	}
	if !descIsSingleton(d) && !isScalarDesc(d) {
		id, ok := identityOf(v)
		if ok {
			m.nodes++
			if prev, dup := m.owner[id]; dup {
				return fmt.Errorf("%s: %T is shared in Go (with node %d) but not in Python", path, v, prev)
			}
			m.owner[id] = m.nodes
			if n, ok := d["id"]; ok {
				k, _ := n.(json.Number).Int64()
				m.ids[k] = id
			}
		}
	}
	switch {
	case d["int"] != nil:
		return matchInt(path, d["int"].(string), v)
	case d["float"] != nil:
		return matchFloat(path, d["float"].(string), v)
	case d["complex"] != nil:
		parts := d["complex"].([]any)
		c, ok := v.(complex128)
		if !ok {
			return fmt.Errorf("%s: want complex, got %T %v", path, v, v)
		}
		if err := matchFloat(path+".real", parts[0].(string), real(c)); err != nil {
			return err
		}
		return matchFloat(path+".imag", parts[1].(string), imag(c))
	case d["str"] != nil || d["str_b64"] != nil || d["str_sha256"] != nil:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want str, got %T %v", path, v, v)
		}
		return matchBlob(path, d, "str", []byte(s))
	case d["bytes"] != nil || d["bytes_sha256"] != nil:
		b, ok := v.([]byte)
		if !ok {
			return fmt.Errorf("%s: want bytes, got %T %v", path, v, v)
		}
		return matchBlob(path, d, "bytes", b)
	case d["bytearray"] != nil || d["bytearray_sha256"] != nil:
		b, ok := v.(*pickle.ByteArray)
		if !ok {
			return fmt.Errorf("%s: want bytearray, got %T %v", path, v, v)
		}
		return matchBlob(path, d, "bytearray", *b)
	case d["tuple"] != nil:
		tup, ok := v.(pickle.Tuple)
		if !ok {
			return fmt.Errorf("%s: want tuple, got %T", path, v)
		}
		return m.matchSeq(path, d["tuple"].([]any), tup)
	case d["list"] != nil:
		l, ok := v.(*pickle.List)
		if !ok {
			return fmt.Errorf("%s: want list, got %T", path, v)
		}
		return m.matchSeq(path, d["list"].([]any), *l)
	case d["set"] != nil:
		s, ok := v.(*pickle.Set)
		if !ok {
			return fmt.Errorf("%s: want set, got %T", path, v)
		}
		return m.matchSeq(path, d["set"].([]any), s.Items())
	case d["frozenset"] != nil:
		s, ok := v.(*pickle.FrozenSet)
		if !ok {
			return fmt.Errorf("%s: want frozenset, got %T", path, v)
		}
		return m.matchSeq(path, d["frozenset"].([]any), s.Items())
	case d["dict"] != nil:
		dict, ok := v.(*pickle.Dict)
		if !ok {
			return fmt.Errorf("%s: want dict, got %T", path, v)
		}
		return m.matchPairs(path, d["dict"].([]any), dictPairs(dict))
	case d["global"] != nil:
		g, ok := v.(pickle.Global)
		if !ok {
			return fmt.Errorf("%s: want global %v, got %T %v", path, d["global"], v, v)
		}
		want, raw := d["global"].([]any), d["raw"].([]any)
		if (g.Module == want[0] && g.Name == want[1]) || (g.Module == raw[0] && g.Name == raw[1]) {
			return nil
		}
		return fmt.Errorf("%s: want global %s.%s, got %s", path, want[0], want[1], g)
	case d["object"] != nil:
		return m.matchObject(path, d["object"].(map[string]any), v)
	case d["persid"] != nil:
		p, ok := v.(pickle.PersistentID)
		if !ok {
			return fmt.Errorf("%s: want a persistent id, got %T", path, v)
		}
		return m.match(path+".persid", d["persid"], p.ID)
	}
	return fmt.Errorf("%s: unknown description %v", path, d)
}

func isScalarDesc(d map[string]any) bool {
	_, i := d["int"]
	_, f := d["float"]
	return i || f
}

func matchBlob(path string, d map[string]any, kind string, got []byte) error {
	if sum, ok := d[kind+"_sha256"].(string); ok {
		n, _ := d["len"].(json.Number).Int64()
		h := sha256.Sum256(got)
		if int64(len(got)) != n || hex.EncodeToString(h[:]) != sum {
			return fmt.Errorf("%s: %s of %d bytes differs from the expected %d bytes", path, kind, len(got), n)
		}
		return nil
	}
	var want []byte
	switch {
	case kind == "str" && d["str"] != nil:
		want = []byte(d["str"].(string))
	default:
		key := kind
		if kind == "str" {
			key = "str_b64"
		}
		var err error
		want, err = base64.StdEncoding.DecodeString(d[key].(string))
		if err != nil {
			return err
		}
	}
	if !bytes.Equal(want, got) {
		return fmt.Errorf("%s: want %s %q, got %q", path, kind, clip(want), clip(got))
	}
	return nil
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return append(b[:80:80], "..."...)
	}
	return b
}

func (m *matcher) matchSeq(path string, d []any, got []any) error {
	if len(d) != len(got) {
		return fmt.Errorf("%s: want %d items, got %d", path, len(d), len(got))
	}
	for i := range d {
		if err := m.match(fmt.Sprintf("%s[%d]", path, i), d[i], got[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *matcher) matchPairs(path string, d []any, got []pickle.Pair) error {
	if len(d) != len(got) {
		return fmt.Errorf("%s: want %d pairs, got %d", path, len(d), len(got))
	}
	for i := range d {
		kv := d[i].([]any)
		if err := m.match(fmt.Sprintf("%s.key[%d]", path, i), kv[0], got[i].Key); err != nil {
			return err
		}
		if err := m.match(fmt.Sprintf("%s.value[%d]", path, i), kv[1], got[i].Value); err != nil {
			return err
		}
	}
	return nil
}

func dictPairs(d *pickle.Dict) []pickle.Pair {
	var out []pickle.Pair
	for k, v := range d.All() {
		out = append(out, pickle.Pair{Key: k, Value: v})
	}
	return out
}

var kindByName = map[string]pickle.ObjectKind{
	"reduce": pickle.Reduce, "newobj": pickle.NewObj, "newobj_ex": pickle.NewObjEx,
	"inst": pickle.Inst, "obj": pickle.Obj,
}

func (m *matcher) matchObject(path string, d map[string]any, v any) error {
	var o *pickle.Object
	isExc := false
	switch x := v.(type) {
	case *pickle.Object:
		o = x
	case *pickle.Exception:
		o, isExc = &x.Object, true
	default:
		return fmt.Errorf("%s: want an object, got %T %v", path, v, v)
	}
	if wantExc := d["exception"] == true; wantExc != isExc {
		return fmt.Errorf("%s: exception=%v, got %T", path, wantExc, v)
	}
	if k := kindByName[d["kind"].(string)]; o.Kind != k {
		return fmt.Errorf("%s: want kind %v, got %v", path, k, o.Kind)
	}
	if err := m.match(path+".callable", d["callable"], o.Callable); err != nil {
		return err
	}
	if err := m.matchSeq(path+".args", d["args"].([]any), o.Args); err != nil {
		return err
	}
	if d["kwargs"] == nil {
		if o.Kwargs != nil {
			return fmt.Errorf("%s: unexpected kwargs", path)
		}
	} else if err := m.match(path+".kwargs", d["kwargs"], o.Kwargs); err != nil {
		return err
	}
	if err := m.matchSeq(path+".listitems", d["listitems"].([]any), o.ListItems); err != nil {
		return err
	}
	if err := m.matchPairs(path+".dictitems", d["dictitems"].([]any), o.DictItems); err != nil {
		return err
	}
	state, has := d["state"]
	if has != o.HasState {
		return fmt.Errorf("%s: want HasState %v, got %v", path, has, o.HasState)
	}
	if has {
		return m.match(path+".state", state, o.State)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Building a fresh Go value from a description.

// buildFromDesc returns a new value-model value for a plain-data
// description: every str, bytes and container is a new allocation, shared
// only where the description has a reference. decoded is the value decoded
// from the golden file; it supplies the content of long str and bytes,
// which the description gives as a hash (copied, never shared).
func buildFromDesc(d, decoded any) (any, error) {
	b := &builder{ids: map[int64]any{}}
	return b.build(d, decoded)
}

// at returns item i of a decoded sequence, or nil.
func at(seq []any, i int) any {
	if i < len(seq) {
		return seq[i]
	}
	return nil
}

func asSeq(v any) []any {
	switch x := v.(type) {
	case pickle.Tuple:
		return x
	case *pickle.List:
		return *x
	case *pickle.Set:
		return x.Items()
	case *pickle.FrozenSet:
		return x.Items()
	}
	return nil
}

func asPairs(v any) []pickle.Pair {
	if d, ok := v.(*pickle.Dict); ok {
		return dictPairs(d)
	}
	return nil
}

type builder struct{ ids map[int64]any }

func (b *builder) build(d, ref any) (any, error) {
	switch dd := d.(type) {
	case nil, bool:
		return dd, nil
	case json.Number:
		return parseBigOrInt(string(dd))
	case map[string]any:
		if ref, ok := dd["ref"]; ok {
			n, _ := ref.(json.Number).Int64()
			v, ok := b.ids[n]
			if !ok {
				return nil, fmt.Errorf("reference to unknown #%d", n)
			}
			return v, nil
		}
		var id int64 = -1
		if n, ok := dd["id"]; ok {
			id, _ = n.(json.Number).Int64()
		}
		return b.buildMap(dd, id, ref)
	}
	return nil, fmt.Errorf("bad description %T", d)
}

func parseBigOrInt(text string) (any, error) {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	z, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return nil, fmt.Errorf("bad int %q", text)
	}
	if z.IsInt64() {
		return z.Int64(), nil
	}
	return z, nil
}

func (b *builder) remember(id int64, v any) any {
	if id >= 0 {
		b.ids[id] = v
	}
	return v
}

func (b *builder) buildMap(d map[string]any, id int64, ref any) (any, error) {
	switch {
	case d["int"] != nil:
		return parseBigOrInt(d["int"].(string))
	case d["float"] != nil:
		if d["float"] == "nan" {
			return math.Float64frombits(0x7ff8000000000000), nil // CPython's float('nan')
		}
		return strconv.ParseFloat(d["float"].(string), 64)
	case d["str"] != nil:
		return b.remember(id, strings.Clone(d["str"].(string))), nil
	case d["str_b64"] != nil:
		raw, err := base64.StdEncoding.DecodeString(d["str_b64"].(string))
		return b.remember(id, string(raw)), err
	case d["bytes"] != nil:
		raw, err := base64.StdEncoding.DecodeString(d["bytes"].(string))
		return b.remember(id, raw), err
	case d["str_sha256"] != nil:
		s, _ := ref.(string)
		return b.remember(id, strings.Clone(s)), nil
	case d["bytes_sha256"] != nil:
		raw, _ := ref.([]byte)
		return b.remember(id, bytes.Clone(raw)), nil
	case d["bytearray_sha256"] != nil:
		var ba pickle.ByteArray
		if r, ok := ref.(*pickle.ByteArray); ok {
			ba = bytes.Clone(*r)
		}
		return b.remember(id, &ba), nil
	case d["bytearray"] != nil:
		raw, err := base64.StdEncoding.DecodeString(d["bytearray"].(string))
		ba := pickle.ByteArray(raw)
		return b.remember(id, &ba), err
	case d["tuple"] != nil:
		items := d["tuple"].([]any)
		tup := make(pickle.Tuple, len(items))
		b.remember(id, tup) // a cycle through a list sees the same backing array
		refs := asSeq(ref)
		for i, e := range items {
			v, err := b.build(e, at(refs, i))
			if err != nil {
				return nil, err
			}
			tup[i] = v
		}
		return tup, nil
	case d["list"] != nil:
		items := d["list"].([]any)
		l := make(pickle.List, 0, len(items))
		lp := &l
		b.remember(id, lp)
		refs := asSeq(ref)
		for i, e := range items {
			v, err := b.build(e, at(refs, i))
			if err != nil {
				return nil, err
			}
			*lp = append(*lp, v)
		}
		return lp, nil
	case d["dict"] != nil:
		pairs := d["dict"].([]any)
		dict := pickle.NewDict(len(pairs))
		b.remember(id, dict)
		refPairs := asPairs(ref)
		for i, p := range pairs {
			kv := p.([]any)
			var rk, rv any
			if i < len(refPairs) {
				rk, rv = refPairs[i].Key, refPairs[i].Value
			}
			k, err := b.build(kv[0], rk)
			if err != nil {
				return nil, err
			}
			v, err := b.build(kv[1], rv)
			if err != nil {
				return nil, err
			}
			if err := dict.Set(k, v); err != nil {
				return nil, err
			}
		}
		return dict, nil
	case d["set"] != nil:
		items := d["set"].([]any)
		s := pickle.NewSet(len(items))
		return s, b.fill(id, s, items, ref)
	case d["frozenset"] != nil:
		items := d["frozenset"].([]any)
		s := pickle.NewFrozenSet(len(items))
		return s, b.fill(id, s, items, ref)
	}
	return nil, fmt.Errorf("cannot build %v", d)
}

// fill builds the items of a set or frozenset s.
func (b *builder) fill(id int64, s interface{ Add(any) error }, items []any, ref any) error {
	b.remember(id, s)
	refs := asSeq(ref)
	for i, e := range items {
		v, err := b.build(e, at(refs, i))
		if err != nil {
			return err
		}
		if err := s.Add(v); err != nil {
			return err
		}
	}
	return nil
}

// setGoldenBuffers hands the manifest's out-of-band buffers to the decoder
// in order (a read-only one comes back as bytes, a writable one as
// bytearray, through READONLY_BUFFER).
func setGoldenBuffers(opts *pickle.DecodeOptions, f *goldenFile) {
	next := 0
	opts.Buffers = func() ([]byte, error) {
		if next >= len(f.Buffers) {
			return nil, fmt.Errorf("no out-of-band buffer #%d", next)
		}
		next++
		return bytes.Clone(f.Buffers[next-1]), nil
	}
}

// disassemble writes a disassembly of data to w.
func disassemble(w io.Writer, data []byte) error {
	return pickle.Disassemble(w, data, nil)
}
