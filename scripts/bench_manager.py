"""Benchmark of manager servers: mpbridge serve (Go) against CPython's own.

Standard library only. For each client count N it starts a server (the Go
one via the mpbridge binary, the Python one via manager_peer.py serve with
this interpreter), starts N client processes that each put and get items
of --size pickled bytes through the shared get_queue for --seconds, and
reports the aggregate operations per second (a put and a get count as two)
and the server's CPU time per operation (from /proc/<pid>/stat) beside the
clients' own (their process_time over the timed loop, summed). With
--go-bench it also runs the Go benchmarks of the manager package in the
same run (Go client latency against bare TCP, 16 goroutines put/get) so
that every ratio in the table comes from one run.

  go build -o /tmp/mpbridge ./cmd/mpbridge
  /root/.pyenv/versions/3.12.1/bin/python3 scripts/bench_manager.py \\
      --mpbridge /tmp/mpbridge --clients 1,4,16 --seconds 3 --go-bench
"""
import argparse
import os
import statistics
import pickle
import re
import socket
import subprocess
import sys
import time
from multiprocessing.managers import BaseManager

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "6d70627269646765" * 4


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def wait_port(port, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d" % port)


def start_server(kind, args, port):
    addr = "127.0.0.1:%d" % port
    if kind == "go":
        cmd = [args.mpbridge, "serve", "--addr", addr, "--authkey-hex", KEY, "--queue", "get_queue"]
    else:
        cmd = [sys.executable, os.path.join(HERE, "manager_peer.py"), "serve", "--addr", addr,
               "--authkey-hex", KEY]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc


class QueueManager(BaseManager):
    pass


QueueManager.register("get_queue")


def client(args):
    m = QueueManager(address=("127.0.0.1", args.port), authkey=bytes.fromhex(KEY))
    m.connect()
    q = m.get_queue()
    item = "x" * (args.size - len(pickle.dumps("", 4)) - 3)
    for _ in range(50):
        q.put(item)
        q.get()
    print("ready", flush=True)
    sys.stdin.readline()
    ops = 0
    cpu0 = time.process_time()
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        for _ in range(20):
            q.put(item)
            q.get()
        ops += 40
    print(ops, time.process_time() - cpu0, flush=True)


def run(kind, n, args):
    port = free_port()
    server = start_server(kind, args, port)
    try:
        procs = [subprocess.Popen([sys.executable, __file__, "--role", "client", "--port", str(port),
                                   "--seconds", str(args.seconds), "--size", str(args.size)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(n)]
        for p in procs:
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError("client failed: %r" % line)
        cpu0 = cpu_seconds(server.pid)
        t0 = time.monotonic()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        ops, client_cpu = 0, 0.0
        for p in procs:
            n_ops, n_cpu = p.stdout.readline().split()
            ops += int(n_ops)
            client_cpu += float(n_cpu)
            p.wait()
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(server.pid) - cpu0
        return ops / elapsed, cpu / ops * 1e6, client_cpu / ops * 1e6
    finally:
        server.kill()
        server.wait()


def go_bench(args):
    """Runs the Go benchmarks; PutGet16 against an mpbridge serve process of
    its own, like the Python clients' server."""
    root = os.path.dirname(HERE)
    subprocess.run(["go", "test", "-c", "-o", "/tmp/mpbridge-manager.test", "./manager/"], cwd=root, check=True)
    cmd = ["/tmp/mpbridge-manager.test", "-test.run", "^$", "-test.benchtime", "1s",
           "-test.count", str(args.repeat * 2 - 1)]
    out = subprocess.run(cmd + ["-test.bench", "QsizeRoundTrip|BareTCPRoundTrip|BareTCPPutGet16"],
                         cwd=os.path.join(root, "manager"), capture_output=True, text=True)
    port = free_port()
    server = start_server("go", args, port)
    try:
        env = dict(os.environ, MPBRIDGE_BENCH_ADDR="127.0.0.1:%d" % port, MPBRIDGE_BENCH_AUTHKEY_HEX=KEY)
        out2 = subprocess.run(cmd + ["-test.bench", "PutGet16"], cwd=os.path.join(root, "manager"),
                              capture_output=True, text=True, env=env)
    finally:
        server.kill()
        server.wait()
    if out.returncode != 0 or out2.returncode != 0:
        print(out.stdout + out.stderr + out2.stdout + out2.stderr, file=sys.stderr)
        raise RuntimeError("go benchmarks failed")
    out.stdout += out2.stdout
    runs = {}
    for line in out.stdout.splitlines():
        m = re.match(r"Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) ops/s)?", line)
        if m:
            runs.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3) or 0)))
    return {k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v)) for k, v in runs.items()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--role", default="bench")
    p.add_argument("--mpbridge", default="")
    p.add_argument("--clients", default="1,4,16")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--go-bench", action="store_true")
    p.add_argument("--repeat", type=int, default=3,
                   help="measure each point this many times, alternating the servers, and report medians")
    args = p.parse_args()
    if args.role == "client":
        return client(args)
    if not args.mpbridge:
        p.error("--mpbridge PATH (go build -o PATH ./cmd/mpbridge) is required")
    print("Python %s clients, %d-byte items, %.0f s per point, median of %d alternating runs, %d CPUs, "
          "load average before: %.1f\n" % (sys.version.split()[0], args.size, args.seconds, args.repeat,
                                             os.cpu_count(), os.getloadavg()[0]))
    print("| clients | Python server ops/s | Go server ops/s | Go/Python | Python server CPU µs/op | Go server CPU µs/op "
          "| clients' CPU µs/op (Python server / Go server) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    py16 = None
    for n in [int(x) for x in args.clients.split(",")]:
        py, go = [], []
        for _ in range(args.repeat):
            py.append(run("python", n, args))
            go.append(run("go", n, args))
        py_ops, py_cpu, py_ccpu = (statistics.median(r[i] for r in py) for i in range(3))
        go_ops, go_cpu, go_ccpu = (statistics.median(r[i] for r in go) for i in range(3))
        if n == 16:
            py16 = py_ops
        print("| %d | %.0f | %.0f | %.2f× | %.1f | %.1f | %.1f / %.1f |" % (
            n, py_ops, go_ops, go_ops / py_ops, py_cpu, go_cpu, py_ccpu, go_ccpu), flush=True)
    if args.go_bench:
        res = go_bench(args)
        q, bare = res["QsizeRoundTrip"][0], res["BareTCPRoundTrip"][0]
        print("\nGo client → Go server, same run:\n")
        print("| measure | value |")
        print("|---|---:|")
        print("| qsize round trip | %.1f µs |" % (q / 1000))
        print("| bare TCP request/response of the same sizes | %.1f µs |" % (bare / 1000))
        print("| ratio | %.2f× |" % (q / bare))
        ops = res["PutGet16"][1]
        print("| 16 goroutines put/get, one Go process, against mpbridge serve | %.0f ops/s |" % ops)
        if py16:
            print("| … against 16 Python processes on a Python server (%.0f ops/s) | %.2f× |" % (py16, ops / py16))
        bare16 = res["BareTCPPutGet16"][1]
        print("| ceiling: 16 bare TCP connections exchanging frames of the same sizes, one process | %.0f ops/s |" % bare16)
        print("| 16 goroutines put/get against that ceiling | %.0f%% |" % (100 * ops / bare16))
        if py16:
            print("| the ceiling against 16 Python processes on a Python server | %.2f× |" % (bare16 / py16))


if __name__ == "__main__":
    sys.exit(main())
