// Command benchtable runs the pickle benchmarks of mpbridge, gopickle and
// og-rek (go test -bench in ./pickle) and CPython's C pickle on the same
// corpus (scripts/bench_pickle.py) in one run, and prints the comparison
// as markdown tables (the ones in docs/pickle.md).
//
//	go run ./scripts/benchtable [-rounds 3] [-count 5] [-benchtime 200ms] [-python PATH]
//
// The Python timing and the Go benchmarks run alternately, -rounds times
// each, so that both sides see the same machine; every figure is the best
// of all its runs. A ratio is the other
// implementation's time divided by mpbridge's: above 1 means mpbridge is
// faster.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// result is the best figure of one benchmark.
type result struct {
	ns     float64
	allocs float64
	bytes  float64
}

type pyItem struct {
	Size    int     `json:"size"`
	Objects int     `json:"objects"`
	LoadsNs float64 `json:"loads_ns"`
	DumpsNs float64 `json:"dumps_ns"`
}

type pyReport struct {
	Python string            `json:"python"`
	Items  map[string]pyItem `json:"items"`
}

func main() {
	rounds := flag.Int("rounds", 3, "alternating rounds of the Python timing and the Go benchmarks")
	count := flag.Int("count", 5, "runs of each Go benchmark per round (the best is kept)")
	benchtime := flag.String("benchtime", "200ms", "go test -benchtime")
	python := flag.String("python", "", "CPython to time (default: pyenv's 3.12)")
	flag.Parse()
	if err := run(*rounds, *count, *benchtime, *python); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(rounds, count int, benchtime, python string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if python == "" {
		if python, err = findPython312(); err != nil {
			return err
		}
	}
	corpus := filepath.Join(root, "testdata", "pickle", "corpus")
	order, err := corpusOrder(corpus)
	if err != nil {
		return err
	}
	var py pyReport
	goRes := map[string]result{}
	for r := 1; r <= rounds; r++ {
		fmt.Fprintf(os.Stderr, "round %d/%d: timing %s on the corpus...\n", r, rounds, python)
		p, err := runPython(root, python, corpus)
		if err != nil {
			return err
		}
		py = bestPy(py, p)
		fmt.Fprintf(os.Stderr, "round %d/%d: go test -bench ./pickle ...\n", r, rounds)
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^Benchmark(Decode|Encode)$", "-benchmem",
			"-count", strconv.Itoa(count), "-benchtime", benchtime, "./pickle/")
		cmd.Dir = root
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go test -bench: %w\n%s", err, out)
		}
		if err := parseBench(out, goRes); err != nil {
			return err
		}
	}
	printTables(os.Stdout, order, py, goRes, rounds, count, benchtime)
	return nil
}

func runPython(root, python, corpus string) (pyReport, error) {
	cmd := exec.Command(python, filepath.Join(root, "scripts", "bench_pickle.py"), corpus)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return pyReport{}, fmt.Errorf("bench_pickle.py: %w", err)
	}
	var p pyReport
	if err := json.Unmarshal(out, &p); err != nil {
		return pyReport{}, fmt.Errorf("bench_pickle.py output: %w", err)
	}
	return p, nil
}

// bestPy keeps the lower time of each figure.
func bestPy(a, b pyReport) pyReport {
	if a.Items == nil {
		return b
	}
	for name, x := range b.Items {
		y, ok := a.Items[name]
		if !ok {
			a.Items[name] = x
			continue
		}
		y.LoadsNs = min(y.LoadsNs, x.LoadsNs)
		y.DumpsNs = min(y.DumpsNs, x.DumpsNs)
		a.Items[name] = y
	}
	return a
}

// repoRoot is the directory holding go.mod, found from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func findPython312() (string, error) {
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if out, err := exec.Command("pyenv", "root").Output(); err == nil {
			root = strings.TrimSpace(string(out))
		} else {
			root = filepath.Join(os.Getenv("HOME"), ".pyenv")
		}
	}
	m, _ := filepath.Glob(filepath.Join(root, "versions", "3.12.*", "bin", "python3"))
	if len(m) == 0 {
		return "", fmt.Errorf("no CPython 3.12 under %s/versions (use -python)", root)
	}
	sort.Strings(m)
	return m[len(m)-1], nil
}

func corpusOrder(dir string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var index struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, err
	}
	var names []string
	for _, it := range index.Items {
		names = append(names, it.Name)
	}
	return names, nil
}

// benchLine matches "BenchmarkDecode/item/impl-2  N  123 ns/op ... B/op ... allocs/op".
var benchLine = regexp.MustCompile(`^Benchmark(Decode|Encode)/([^/\s]+)/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

// parseBench adds the results in out to res, keeping the best per
// "Decode/item/impl".
func parseBench(out []byte, res map[string]result) error {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ns, _ := strconv.ParseFloat(m[4], 64)
		r := result{ns: ns, allocs: metric(m[5], "allocs/op"), bytes: metric(m[5], "B/op")}
		key := m[1] + "/" + m[2] + "/" + m[3]
		if old, ok := res[key]; !ok || r.ns < old.ns {
			res[key] = r
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no benchmark results in go test output:\n%s", out)
	}
	return sc.Err()
}

func metric(rest, unit string) float64 {
	f := strings.Fields(rest)
	for i := 1; i < len(f); i++ {
		if f[i] == unit {
			v, _ := strconv.ParseFloat(f[i-1], 64)
			return v
		}
	}
	return -1
}

// dur formats nanoseconds with three significant digits.
func dur(ns float64) string {
	switch {
	case ns <= 0:
		return "–"
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return sig3(ns/1e3) + " µs"
	default:
		return sig3(ns/1e6) + " ms"
	}
}

func sig3(x float64) string {
	switch {
	case x < 10:
		return strconv.FormatFloat(x, 'f', 2, 64)
	case x < 100:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
}

// ratio is other/ours, "–" when either is missing.
func ratio(other, ours float64) string {
	if other <= 0 || ours <= 0 {
		return "–"
	}
	return strconv.FormatFloat(other/ours, 'f', 2, 64) + "×"
}

func printTables(w *os.File, order []string, py pyReport, g map[string]result, rounds, count int, benchtime string) {
	fmt.Fprintf(w, "Measured with `go run ./scripts/benchtable`: %d alternating rounds of CPython %s's C pickle (best of 5 timeit runs) and `go test -bench` (-count %d -benchtime %s), best figure of all; %s/%s, %s, %s.\n\n",
		rounds, py.Python, count, benchtime, runtime.GOOS, runtime.GOARCH, cpuModel(), runtime.Version())
	fmt.Fprintln(w, "Ratios are the other implementation's time divided by mpbridge's (above 1×: mpbridge is faster).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "**Decode** (pickle bytes → value)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| item | bytes | CPython `loads` | mpbridge | vs CPython | allocs (Python objects) | mpbridge, AliasBytes | gopickle | vs gopickle | og-rek | vs og-rek |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, name := range order {
		p := py.Items[name]
		ours, oursS := get(g, "Decode", name, "mpbridge")
		_, aliasS := get(g, "Decode", name, "mpbridge-alias")
		gp, gpS := get(g, "Decode", name, "gopickle")
		og, ogS := get(g, "Decode", name, "ogrek")
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s (%d) | %s | %s | %s | %s | %s |\n",
			name, p.Size, dur(p.LoadsNs), oursS, ratio(p.LoadsNs, ours.ns), allocs(ours), p.Objects,
			aliasS, gpS, ratio(gp.ns, ours.ns), ogS, ratio(og.ns, ours.ns))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "**Encode** (value → pickle bytes, protocol 4)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| item | CPython `dumps` | mpbridge | vs CPython | allocs | og-rek | vs og-rek |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range order {
		p := py.Items[name]
		ours, oursS := get(g, "Encode", name, "mpbridge")
		og, ogS := get(g, "Encode", name, "ogrek")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
			name, dur(p.DumpsNs), oursS, ratio(p.DumpsNs, ours.ns), allocs(ours), ogS, ratio(og.ns, ours.ns))
	}
}

// get returns one benchmark's result and its time as a cell; a benchmark
// that did not run (the decoder failed on the item) reads "fails".
func get(g map[string]result, op, item, impl string) (result, string) {
	r, ok := g[op+"/"+item+"/"+impl]
	if !ok {
		return result{allocs: -1}, "fails"
	}
	return r, dur(r.ns)
}

func allocs(r result) string {
	if r.allocs < 0 {
		return "–"
	}
	return strconv.FormatFloat(r.allocs, 'f', 0, 64)
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return fmt.Sprintf("%d CPUs", runtime.NumCPU())
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return fmt.Sprintf("%s × %d", strings.TrimSpace(v), runtime.NumCPU())
		}
	}
	return fmt.Sprintf("%d CPUs", runtime.NumCPU())
}
