"""The pickle benchmark corpus (issue 2, "Speed").

    python3 scripts/gen_pickle_corpus.py [OUTDIR]

writes OUTDIR/<item>.pickle (protocol 4, what multiprocessing sends) and
OUTDIR/index.json (item order and descriptions); OUTDIR defaults to
testdata/pickle/corpus. Run with CPython 3.12 (scripts/gen_pickle_golden.sh
does). Standard library only. Used by pickle/bench_test.go,
scripts/bench_pickle.py and scripts/benchtable.
"""
import json
import os
import pickle
import sys

PROTOCOL = 4


def manager_request():
    return (None, "put", ({"id": 12345, "payload": "x" * 400, "tags": ["a", "b"], "score": 1.5},), {})


def dict_512():
    # A record-like dict whose protocol-4 pickle is about 512 bytes.
    return {
        "id": 918273,
        "name": "worker-7",
        "host": "node12.cluster.example.org",
        "pid": 43210,
        "status": "running",
        "started": 1700000000.25,
        "args": ["--verbose", "--threads", "4", "--queue", "jobs"],
        "env": {"HOME": "/home/mp", "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"},
        "counts": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9],
        "ok": True,
        "ratio": 0.75,
        "note": None,
        "owner": ("mp", 1000),
        "labels": {"tier": "batch", "zone": "eu-west-1a", "team": "data"},
        "checksum": b"\x9f\x12\x00\xab" * 8,
        "retries": 0,
        "message": "processing shard 17 of 64",
    }


def ints_10000():
    return list(range(10000))


def dict_1000_str_float():
    return {"key%04d" % i: i * 0.25 + 0.1 for i in range(1000)}


def bytes_1mib():
    return bytes(range(256)) * 4096


def nested_10():
    v = "leaf"
    for depth in range(10):
        kind = depth % 3
        if kind == 0:
            v = (depth, v, "t%d" % depth)
        elif kind == 1:
            v = [depth, v, 1.5 * depth]
        else:
            v = {"depth": depth, "child": v, "name": "d%d" % depth}
    return v


ITEMS = [
    ("manager_request", manager_request, "manager request (None, 'put', ({'id', 'payload': 'x'*400, 'tags', 'score'},), {})"),
    ("dict_512", dict_512, "record-like dict, ~512-byte pickle"),
    ("ints_10000", ints_10000, "list(range(10000))"),
    ("dict_1000_str_float", dict_1000_str_float, "dict of 1,000 str -> float"),
    ("bytes_1mib", bytes_1mib, "1 MiB bytes"),
    ("nested_10", nested_10, "10-level nested tuple/list/dict"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata", "pickle", "corpus")
    os.makedirs(outdir, exist_ok=True)
    index = []
    for name, make, desc in ITEMS:
        data = pickle.dumps(make(), PROTOCOL)
        assert pickle.dumps(pickle.loads(data), PROTOCOL) == data, name
        with open(os.path.join(outdir, name + ".pickle"), "wb") as f:
            f.write(data)
        index.append({"name": name, "file": name + ".pickle", "size": len(data), "protocol": PROTOCOL,
                      "description": desc})
        print("%-22s %8d bytes" % (name, len(data)))
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump({"python": sys.version.split()[0], "items": index}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
