"""Benchmark multiprocessing.connection.Connection, and drive the Go side.

Times CPython's Connection.send_bytes / recv_bytes_into between two
processes (a forked child and this one) over the channels of the Go
benchmarks (connection/bench_test.go), for 512-byte and 64 KiB payloads:

    pipe        two os.pipe()s, as Pipe(duplex=False) makes them
    socketpair  Pipe() (duplex), a socketpair
    unix        Listener/Client over an abstract Unix socket
    tcp         Listener/Client over 127.0.0.1

throughput: the child sends messages back to back, the parent receives them
            (MB/s of payload)
rtt:        the parent sends, the child echoes (microseconds per round trip)

Usage:
    python3 scripts/bench_conn.py                # Python figures only (JSON lines)
    python3 scripts/bench_conn.py --go [--rounds N] [--benchtime T] [--across]
                                                 # also run the Go benchmarks
                                                 # and print the markdown table;
                                                 # --across: Go between two
                                                 # processes, like the Python
                                                 # figures (else two goroutines)

Standard library only.
"""
import argparse
import json
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import re
import statistics
import subprocess
import sys
import time

SIZES = (512, 64 << 10)
CHANNELS = ("pipe", "socketpair", "unix", "tcp")


def _channel(name):
    """Return (parent_send, parent_recv, child_factory). child_factory runs
    in the child and returns (child_send, child_recv)."""
    if name == "pipe":
        r1, w1 = mpc.Pipe(False)  # parent -> child
        r2, w2 = mpc.Pipe(False)  # child -> parent
        return w1, r2, lambda: (w2, r1), [r1, w2]
    if name == "socketpair":
        a, b = mpc.Pipe(True)
        return a, a, lambda: (b, b), [b]
    if name == "unix":
        address = "\0mpb-bench-%d-%d" % (os.getpid(), time.monotonic_ns())
    else:
        address = ("127.0.0.1", 0)
    listener = mpc.Listener(address)
    address = listener.address

    def child():
        c = mpc.Client(address)
        return c, c

    return listener, None, child, []


def _child_main(name, factory, mode, size, n):
    send, recv = factory()
    buf = bytearray(size)
    msg = bytes(size)
    if mode == "throughput":
        recv.recv_bytes()  # go
        for _ in range(n):
            send.send_bytes(msg)
    else:
        for _ in range(n):
            k = recv.recv_bytes_into(buf)
            send.send_bytes(buf, 0, k)
    recv.recv_bytes()  # done


def _run(name, mode, size, n):
    ctx = mp.get_context("fork")
    psend, precv, factory, child_ends = _channel(name)
    proc = ctx.Process(target=_child_main, args=(name, factory, mode, size, n))
    proc.start()
    for c in child_ends:
        c.close()
    if precv is None:  # a listener: accept the child's connection
        listener = psend
        psend = precv = listener.accept()
        listener.close()
    buf = bytearray(size)
    msg = bytes(size)
    if mode == "throughput":
        t0 = time.perf_counter()
        psend.send_bytes(b"go")
        for _ in range(n):
            precv.recv_bytes_into(buf)
        dt = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        for _ in range(n):
            psend.send_bytes(msg)
            precv.recv_bytes_into(buf)
        dt = time.perf_counter() - t0
    psend.send_bytes(b"done")
    proc.join()
    psend.close()
    if precv is not psend:
        precv.close()
    return dt


def measure(name, mode, size, target=0.5):
    """Seconds per message (best of 3 runs sized to about `target` s)."""
    n = 200
    while True:
        dt = _run(name, mode, size, n)
        if dt > target / 4 or n > 1 << 22:
            break
        n *= 4
    n = max(100, int(n * target / max(dt, 1e-9)))
    return min(_run(name, mode, size, n) / n for _ in range(3))


def python_figures():
    out = {}
    for ch in CHANNELS:
        for size in SIZES:
            for mode in ("throughput", "rtt"):
                out[(ch, size, mode)] = measure(ch, mode, size)
                print(json.dumps({"channel": ch, "size": size, "mode": mode,
                                  "ns_per_msg": round(out[(ch, size, mode)] * 1e9)}),
                      file=sys.stderr, flush=True)
    return out


_GO_LINE = re.compile(r"^(\w+)/(\w+)/(\d+)/(throughput|rtt)/(raw|conn)-\d+\s+\d+\s+([\d.]+) ns/op")
_GO_METRIC = re.compile(r"([\d.]+) (cpu-ns/op|allocs/op)")


def go_figures(rounds, benchtime, bench="BenchmarkConn"):
    """Run the Go benchmarks `rounds` times. In each round the raw loop and
    the Conn of a case run back to back, so their ratio is taken per round
    (load drifts between rounds, not within a pair) and the median ratio
    is reported, with the median figures. bench is BenchmarkConn (two
    goroutines) or BenchmarkConnAcrossProcesses (a child process at the
    other end; its CPU ratio counts the parent only). Returns
    {(channel, size, mode): {"raw": s, "conn": s, "wall": ratio, "cpu": ratio, "allocs": n}}."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = ["go", "test", "-run", "^$", "-bench", "^%s$" % bench, "-benchmem",
           "-count", "1", "-benchtime", benchtime, "./connection/"]
    print("+ %s  (x%d)" % (" ".join(cmd), rounds), file=sys.stderr, flush=True)
    samples = {}
    for _ in range(rounds):
        text = subprocess.run(cmd, cwd=repo, check=True, stdout=subprocess.PIPE,
                              universal_newlines=True).stdout
        got = {}
        for line in text.splitlines():
            m = _GO_LINE.match(line)
            if not m or m.group(1) != bench:
                continue
            metrics = {unit: float(v) for v, unit in _GO_METRIC.findall(line)}
            got[(m.group(2), int(m.group(3)), m.group(4), m.group(5))] = (
                float(m.group(6)) * 1e-9, metrics.get("cpu-ns/op", float("nan")) * 1e-9,
                metrics.get("allocs/op", 0))
        for (ch, size, mode, impl), v in got.items():
            if impl != "conn" or (ch, size, mode, "raw") not in got:
                continue
            raw = got[(ch, size, mode, "raw")]
            s = samples.setdefault((ch, size, mode), {"raw": [], "conn": [], "wall": [], "cpu": [], "allocs": 0})
            s["raw"].append(raw[0])
            s["conn"].append(v[0])
            s["wall"].append(raw[0] / v[0])
            s["cpu"].append(raw[1] / v[1])
            s["allocs"] = max(s["allocs"], v[2])
    med = statistics.median
    return {k: {"raw": med(s["raw"]), "conn": med(s["conn"]), "wall": med(s["wall"]),
                "cpu": med(s["cpu"]), "allocs": s["allocs"]} for k, s in samples.items()}


def table(go, py, rounds):
    def mbps(size, sec):
        return "%.0f" % (size / sec / 1e6)

    def us(sec):
        return "%.1f" % (sec * 1e6)

    lines = []
    for mode in ("throughput", "rtt"):
        what = "MB/s of payload, one way" if mode == "throughput" else "µs per round trip"
        lines.append("")
        lines.append("**%s** (%s; medians of %d rounds)" % (mode, what, rounds))
        lines.append("")
        lines.append("| channel | payload | raw Go loop | Go Conn | Conn / raw | Conn / raw (CPU) "
                     "| allocs/msg | Python Connection |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for ch in CHANNELS:
            for size in SIZES:
                g = go.get((ch, size, mode))
                if g is None:
                    continue
                p = py.get((ch, size, mode)) if py else None
                show = (lambda sec: mbps(size, sec)) if mode == "throughput" else us
                a = g["allocs"] / 2.0 if mode == "rtt" else g["allocs"]  # two messages per round trip
                lines.append("| %s | %s | %s | %s | %.0f%% | %.0f%% | %g | %s |" % (
                    ch, "512 B" if size == 512 else "64 KiB", show(g["raw"]), show(g["conn"]),
                    100 * g["wall"], 100 * g["cpu"], a, show(p) if p else "-"))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--go", action="store_true", help="also run the Go benchmarks and print the table")
    ap.add_argument("--rounds", type=int, default=8, help="runs of the Go benchmarks")
    ap.add_argument("--benchtime", default="0.3s")
    ap.add_argument("--across", action="store_true",
                    help="Go side: BenchmarkConnAcrossProcesses (a child process at the other end, "
                         "as in the Python figures) instead of BenchmarkConn (two goroutines)")
    args = ap.parse_args()
    py = python_figures()
    if not args.go:
        return
    bench = "BenchmarkConnAcrossProcesses" if args.across else "BenchmarkConn"
    go = go_figures(args.rounds, args.benchtime, bench)
    print("%s; Python %s, %d CPUs, load average %s" % (
        bench, sys.version.split()[0], os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())))
    print(table(go, py, args.rounds))


if __name__ == "__main__":
    main()
