"""Throughput of one multiprocessing.Queue between two processes, for every
pairing of CPython and Go producers and consumers (standard library only).

    python3 scripts/bench_mpqueue.py [--n 200000] [--size 512] [--rounds 5] [--go-peer PATH]

The queue is created here with the spawn context (named semaphores); the
producer and the consumer are separate processes that inherit the pipe's
descriptors (pass_fds) and rebuild the queue from its handles, as a spawned
child unpickles it. A third consumer, "raw pipe reader", reads the frames
with a bare loop of read(2) and no locks or unpickling: the most any
consumer of a Python producer can get. The Python side is
scripts/mpqueue_peer.py; the Go side
is the mpqueue test binary acting as a peer (built with `go test -c` unless
--go-peer names one). The consumer's clock runs from its first item to its
last, so process start-up is excluded. Each pairing runs --rounds times,
interleaved, and the median round is reported.
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mpqueue_peer  # noqa: E402


def go_peer_binary(path):
    if path:
        return path
    out = os.path.join(tempfile.mkdtemp(prefix="mpqbench-"), "mpqueue.test")
    subprocess.run(["go", "test", "-c", "-o", out, "./mpqueue/"], cwd=os.path.dirname(HERE), check=True)
    return out


def start(lang, role, h, n, size, gobin):
    fds = (h["reader"], h["writer"])
    hj = json.dumps(h)
    if lang == "raw":  # the limit: frames read by a bare loop of read(2), no locks, no unpickling
        spec = {"role": "rawget", "n": n, "R": h["reader"]}
        env = dict(os.environ, MPBRIDGE_MPQUEUE_BENCH=json.dumps(spec))
        return subprocess.Popen([gobin, "-test.run=^$"], pass_fds=fds, stdout=subprocess.PIPE, env=env)
    if lang == "py":
        args = [sys.executable, os.path.join(HERE, "mpqueue_peer.py"), "bench-" + role, hj, str(n)]
        if role == "put":
            args.append(str(size))
        return subprocess.Popen(args, pass_fds=fds, stdout=subprocess.PIPE)
    spec = {"role": role, "n": n, "size": size, "q": h}
    env = dict(os.environ, MPBRIDGE_MPQUEUE_BENCH=json.dumps(spec))
    return subprocess.Popen([gobin, "-test.run=^$"], pass_fds=fds, stdout=subprocess.PIPE, env=env)


def run_pair(producer, consumer, n, size, gobin):
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    h = mpqueue_peer.handles(q)
    cons = start(consumer, "get", h, n, size, gobin)
    prod = start(producer, "put", h, n, size, gobin)
    out, _ = cons.communicate(timeout=600)
    prod.communicate(timeout=600)
    if cons.returncode or prod.returncode:
        raise SystemExit("peer failed: consumer %s, producer %s" % (cons.returncode, prod.returncode))
    res = json.loads(out.decode().strip().splitlines()[-1])
    del q
    return res["n"] / res["seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--go-peer", default="")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = ap.parse_args()
    gobin = go_peer_binary(a.go_peer)
    pairs = [("py", "py"), ("py", "go"), ("py", "raw"), ("go", "py"), ("go", "go")]
    runs = {p: [] for p in pairs}
    for _ in range(a.rounds):
        for p in pairs:
            runs[p].append(run_pair(p[0], p[1], a.n, a.size, gobin))
    best = {p: sorted(v)[len(v) // 2] for p, v in runs.items()}
    if a.json:
        print(json.dumps({"%s->%s" % p: round(v) for p, v in best.items()}))
        return
    base = best[("py", "py")]
    print("Python %s, %d items of %d bytes, median of %d rounds" % (sys.version.split()[0], a.n, a.size, a.rounds))
    print("| producer → consumer | items/s | vs Python → Python |")
    print("|---|---:|---:|")
    names = {"py": "Python", "go": "Go", "raw": "raw pipe reader (limit)"}
    for p in pairs:
        print("| %s → %s | %d | %.2f× |" % (names[p[0]], names[p[1]], best[p], best[p] / base))


if __name__ == "__main__":
    main()
