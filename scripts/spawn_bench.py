"""Start-run-join time of a Go spawn child versus a Python spawn child.

Usage: python scripts/spawn_bench.py WORKER [ROUNDS]

WORKER is a Go binary built with mpbridge's spawn package that registers
spawn_tasks.noop (spawn/internal/testworker, or examples/spawn_worker).
The resource tracker is started first, so neither side pays for it. Each
round times ctx.Process(target=spawn_tasks.noop).start(); .join() once with
the Go worker as the spawn executable and once with sys.executable,
alternating, and the script prints one JSON line: medians and minimums in
milliseconds and the ratio of the medians. Standard library only.
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import multiprocessing  # noqa: E402
from multiprocessing import resource_tracker  # noqa: E402

import spawn_tasks  # noqa: E402


def once(ctx):
    t0 = time.perf_counter()
    p = ctx.Process(target=spawn_tasks.noop)
    p.start()
    p.join()
    dt = time.perf_counter() - t0
    if p.exitcode != 0:
        raise SystemExit("child exited with %s" % p.exitcode)
    return dt * 1000


def main():
    worker = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    ctx = multiprocessing.get_context("spawn")
    resource_tracker.ensure_running()
    go, py = [], []
    # One warm-up of each (page cache, first exec).
    for exe, out in ((worker, []), (sys.executable, [])):
        ctx.set_executable(exe)
        once(ctx)
    for _ in range(rounds):
        ctx.set_executable(worker)
        go.append(once(ctx))
        ctx.set_executable(sys.executable)
        py.append(once(ctx))
    res = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "rounds": rounds,
        "go_median_ms": round(statistics.median(go), 2),
        "go_min_ms": round(min(go), 2),
        "py_median_ms": round(statistics.median(py), 2),
        "py_min_ms": round(min(py), 2),
    }
    res["ratio"] = round(res["py_median_ms"] / res["go_median_ms"], 1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
