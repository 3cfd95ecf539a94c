"""Benchmark of SyncManager shared objects: mpbridge serve (Go) against a
CPython SyncManager server, in the same run.

Standard library only. For each workload and client count it starts the
server (the Go one via the mpbridge binary, whose `serve` registers every
SyncManager typeid; the Python one as SyncManager().get_server() with this
interpreter), creates one shared object, forks N client processes that
hammer it for --seconds, and reports the aggregate operations per second
and the server's CPU time per operation (from /proc/<pid>/stat) beside the
clients' own (their process_time over the timed loop, summed): on two CPUs
the clients' share bounds what any server can reach.

Workloads (every operation is one round trip to the server):
  dict         d[k] = v then d[k] (two operations) on one shared dict,
               each client its own key
  lock         lock.acquire() then lock.release() (two operations), each
               client its own shared Lock
  lock-shared  the same on one Lock that every client contends for: each
               hand-over waits for the next client process to be
               scheduled, so this measures the machine more than the server

Each cell is the best of --repeat runs, the two servers alternating, so
that other load on the machine hurts both alike.

  go build -o /tmp/mpbridge ./cmd/mpbridge
  /root/.pyenv/versions/3.12.1/bin/python3 scripts/bench_syncmanager.py \\
      --mpbridge /tmp/mpbridge --clients 1,16 --seconds 3 --repeat 3
"""
import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from multiprocessing.managers import SyncManager

from bench_manager import cpu_seconds, free_port, wait_port

KEY = bytes.fromhex("6d70627269646765" * 4)
CTX = multiprocessing.get_context("fork")


def start_server(kind, mpbridge, port):
    if kind == "go":
        cmd = [mpbridge, "serve", "--addr", "127.0.0.1:%d" % port, "--authkey-hex", KEY.hex()]
    else:
        code = ("import sys\nfrom multiprocessing.managers import SyncManager\n"
                "SyncManager(address=('127.0.0.1', int(sys.argv[1])), authkey=bytes.fromhex(sys.argv[2]))"
                ".get_server().serve_forever()\n")
        cmd = [sys.executable, "-c", code, str(port), KEY.hex()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
    except RuntimeError:
        proc.kill()
        raise
    return proc


def client(workload, objs, idx, start, seconds, results):
    ops = 0
    cpu0 = None
    obj = objs[idx % len(objs)]
    if workload == "dict":
        key = "k%d" % idx
        # warm up the connection before the clock starts
        obj[key] = 0
        start.wait()
        cpu0 = time.process_time()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            obj[key] = ops
            obj[key]
            ops += 2
    else:
        obj.acquire()
        obj.release()
        start.wait()
        cpu0 = time.process_time()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            obj.acquire()
            obj.release()
            ops += 2
    results.put((ops, time.process_time() - cpu0))


def run(kind, mpbridge, workload, clients, seconds):
    port = free_port()
    proc = start_server(kind, mpbridge, port)
    try:
        m = SyncManager(address=("127.0.0.1", port), authkey=KEY)
        m.connect()
        if workload == "dict":
            objs = [m.dict()]
        elif workload == "lock":
            objs = [m.Lock() for _ in range(clients)]
        else:
            objs = [m.Lock()]
        start = CTX.Event()
        results = CTX.Queue()
        ps = [CTX.Process(target=client, args=(workload, objs, i, start, seconds, results)) for i in range(clients)]
        for p in ps:
            p.start()
        time.sleep(0.5 + 0.05 * clients)  # let every client connect and warm up
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        start.set()
        done = [results.get(timeout=seconds + 60) for _ in ps]
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        total = sum(n for n, _ in done)
        client_cpu = sum(c for _, c in done)
        for p in ps:
            p.join(10)
        return total / elapsed, cpu / total * 1e6, client_cpu / total * 1e6
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpbridge", required=True, help="the mpbridge binary (go build -o PATH ./cmd/mpbridge)")
    ap.add_argument("--clients", default="1,16")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--workloads", default="dict,lock,lock-shared")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("CPython %s, %d CPUs, best of %d runs of %.0f s per cell, load average %.1f at start" % (
        sys.version.split()[0], os.cpu_count(), args.repeat, args.seconds, os.getloadavg()[0]))
    print("| workload | clients | Go ops/s | CPython ops/s | Go / CPython | Go server CPU µs/op | CPython server CPU µs/op "
          "| clients' CPU µs/op (Go server / CPython server) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for workload in args.workloads.split(","):
        for n in [int(x) for x in args.clients.split(",")]:
            go, py = [], []
            for _ in range(args.repeat):
                go.append(run("go", args.mpbridge, workload, n, args.seconds))
                py.append(run("py", args.mpbridge, workload, n, args.seconds))
            go_rate, go_cpu, go_ccpu = max(go)
            py_rate, py_cpu, py_ccpu = max(py)
            print("| %s | %d | %.0f | %.0f | %.2f× | %.1f | %.1f | %.1f / %.1f |" % (
                workload, n, go_rate, py_rate, go_rate / py_rate, go_cpu, py_cpu, go_ccpu, py_ccpu), flush=True)


if __name__ == "__main__":
    main()
