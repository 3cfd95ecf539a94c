"""A stock-Python parent whose spawn children are Go processes.

Usage:
    go build -o /tmp/spawn-worker ./examples/spawn_worker
    python3 examples/spawn_worker/parent.py /tmp/spawn-worker
"""
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tasks  # noqa: E402


def main():
    ctx = multiprocessing.get_context("spawn")
    ctx.set_executable(sys.argv[1])  # a Go binary built with mpbridge's spawn package
    q, results = ctx.Queue(), ctx.Queue()
    workers = [ctx.Process(target=tasks.resize, args=(q, results)) for _ in range(2)]
    for p in workers:
        p.start()
    images = [{"name": "img%d" % i, "w": 640 + i, "h": 480 + i} for i in range(10)]
    for img in images:
        q.put(img)
    for _ in workers:
        q.put(None)
    got = sorted((results.get(timeout=30) for _ in images), key=lambda r: r["name"])
    for p in workers:
        p.join()
    print("resized:", got[0], "...", len(got), "items")
    print("exit codes:", [p.exitcode for p in workers])
    # A target the Go worker does not register is handed to Python.
    p = ctx.Process(target=tasks.report, args=(results,))
    p.start()
    print("report target ran in:", results.get(timeout=30))
    p.join()
    print("exit code:", p.exitcode)


if __name__ == "__main__":
    main()
