"""Times CPython's C pickle (pickle.loads / pickle.dumps) on the benchmark
corpus, for comparison with the Go benchmarks in pickle/bench_test.go.

    python3 scripts/bench_pickle.py [CORPUSDIR] [--min-time SECONDS]

Prints one JSON object: {"python": version, "items": {name: {"size": n,
"objects": objects loads creates, "loads_ns": ns/op, "dumps_ns": ns/op}}}. Each figure is the best of five
timeit runs of at least --min-time seconds (default 0.2). dumps uses the
corpus protocol (4) and is checked to reproduce the file byte for byte.
Standard library only; go run ./scripts/benchtable runs this beside the Go
benchmarks and prints the ratio table.
"""
import json
import os
import pickle
import sys
import timeit


def best_ns(fn, min_time):
    t = timeit.Timer(fn)
    number = 1
    while True:
        elapsed = t.timeit(number)
        if elapsed >= min_time:
            break
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9) * 1.1))
    runs = [elapsed] + t.repeat(repeat=4, number=number)
    return min(runs) / number * 1e9


def count_objects(root):
    """The number of objects pickle.loads creates for root: every distinct
    object except CPython's cached ones (None, bools, small ints -5..256,
    '', one-character latin-1 strs, b'', ())."""
    seen = set()
    stack = [root]
    while stack:
        x = stack.pop()
        t = type(x)
        if x is None or t is bool or (t is int and -5 <= x <= 256):
            continue
        if t in (str, bytes, tuple) and (len(x) == 0 or (t is str and len(x) == 1 and ord(x) < 256)):
            continue
        if id(x) in seen:
            continue
        seen.add(id(x))
        if t in (list, tuple):
            stack.extend(x)
        elif t is dict:
            for k, v in x.items():
                stack.append(k)
                stack.append(v)
    return len(seen)


def main():
    args = sys.argv[1:]
    min_time = 0.2
    if "--min-time" in args:
        i = args.index("--min-time")
        min_time = float(args[i + 1])
        del args[i:i + 2]
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = args[0] if args else os.path.join(here, "..", "testdata", "pickle", "corpus")
    with open(os.path.join(corpus, "index.json")) as f:
        index = json.load(f)
    items = {}
    for it in index["items"]:
        with open(os.path.join(corpus, it["file"]), "rb") as f:
            data = f.read()
        value = pickle.loads(data)
        proto = it["protocol"]
        if pickle.dumps(value, proto) != data:
            raise SystemExit("%s: pickle.dumps does not reproduce the corpus file" % it["name"])
        loads, dumps = pickle.loads, pickle.dumps
        items[it["name"]] = {
            "size": len(data),
            "objects": count_objects(value),
            "loads_ns": round(best_ns(lambda: loads(data), min_time), 1),
            "dumps_ns": round(best_ns(lambda: dumps(value, proto), min_time), 1),
        }
    json.dump({"python": sys.version.split()[0], "items": items}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
