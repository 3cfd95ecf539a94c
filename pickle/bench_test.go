package pickle_test

// Benchmarks on the corpus of testdata/pickle/corpus (scripts/gen_pickle_corpus.py):
// decode (also with DecodeOptions.AliasBytes: str and bytes share the
// input) and encode with this package, decode with gopickle, decode and
// encode with og-rek. `go run ./scripts/benchtable` runs them beside
// CPython's C pickle and prints the ratio table of docs/pickle.md.
//
//	go test ./pickle -run '^$' -bench . -benchmem

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	ogorek "github.com/kisielk/og-rek"
	gopickle "github.com/nlpodyssey/gopickle/pickle"

	"github.com/mpbridge/mpbridge/pickle"
)

const corpusDir = "../testdata/pickle/corpus"

type corpusItem struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Protocol int    `json:"protocol"`
	data     []byte
}

func loadCorpus(tb testing.TB) []corpusItem {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "index.json"))
	if err != nil {
		tb.Fatalf("corpus: %v (run scripts/gen_pickle_golden.sh)", err)
	}
	var index struct {
		Items []corpusItem `json:"items"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		tb.Fatal(err)
	}
	for i := range index.Items {
		it := &index.Items[i]
		if it.data, err = os.ReadFile(filepath.Join(corpusDir, it.File)); err != nil {
			tb.Fatal(err)
		}
	}
	return index.Items
}

func BenchmarkDecode(b *testing.B) {
	for _, it := range loadCorpus(b) {
		data := it.data
		b.Run(it.Name+"/mpbridge", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pickle.Loads(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(it.Name+"/mpbridge-alias", func(b *testing.B) {
			opts := &pickle.DecodeOptions{AliasBytes: true}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pickle.LoadsOptions(data, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(it.Name+"/gopickle", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				u := gopickle.NewUnpickler(bytes.NewReader(data))
				if _, err := u.Load(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(it.Name+"/ogrek", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ogorek.NewDecoder(bytes.NewReader(data)).Decode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, it := range loadCorpus(b) {
		data, proto := it.data, it.Protocol
		b.Run(it.Name+"/mpbridge", func(b *testing.B) {
			v, err := pickle.Loads(data)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pickle.Dumps(v, proto); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(it.Name+"/ogrek", func(b *testing.B) {
			v, err := ogorek.NewDecoder(bytes.NewReader(data)).Decode()
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			cfg := &ogorek.EncoderConfig{Protocol: proto}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := ogorek.NewEncoderWithConfig(&buf, cfg).Encode(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCorpusByteExact checks that every corpus item decodes and re-encodes
// to CPython's bytes, so the encode benchmarks measure the same output.
func TestCorpusByteExact(t *testing.T) {
	for _, it := range loadCorpus(t) {
		v, err := pickle.Loads(it.data)
		if err != nil {
			t.Fatalf("%s: %v", it.Name, err)
		}
		enc, err := pickle.Dumps(v, it.Protocol)
		if err != nil {
			t.Fatalf("%s: %v", it.Name, err)
		}
		if !bytes.Equal(enc, it.data) {
			t.Errorf("%s: re-encoding differs\n%s", it.Name, diffPickles(it.data, enc))
		}
	}
}
