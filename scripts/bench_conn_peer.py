"""Round trips from a CPython client to scripts/conn_peer.py: the Python
side of interop's BenchmarkPipeWithPython, with the same echoing peer, so
that Go <-> Python and Python <-> Python compare like for like.

  python3 scripts/bench_conn_peer.py [--n 10000]

For each channel (a socketpair; two os.pipes) and payload (512 B, 64 KiB)
this process sends a frame with send_bytes and waits for the echo with
recv_bytes_into, as the Go benchmark does; conn_peer.py echoes from a thread
with recv_bytes_into a reused buffer. Prints microseconds per round trip.
Standard library only.
"""
import argparse
import json
import multiprocessing.connection as mpc
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(kind, size, n):
    if kind == "socketpair":
        a, b = socket.socketpair()
        send = recv = mpc.Connection(os.dup(a.fileno()))
        a.close()
        theirs = [b.detach()]
    else:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        send, recv = mpc.Connection(w1, readable=False), mpc.Connection(r2, writable=False)
        theirs = [r1, w2]
    peer = subprocess.Popen([sys.executable, os.path.join(HERE, "conn_peer.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, pass_fds=tuple(theirs), text=True)
    for fd in theirs:
        os.close(fd)
    ids = iter(range(1, 100))

    def call(op, wait=True, **kw):
        peer.stdin.write(json.dumps(dict(kw, id=next(ids), op=op)) + "\n")
        peer.stdin.flush()
        if wait:
            return json.loads(peer.stdout.readline())["result"]

    try:
        if kind == "socketpair":
            cid = call("fromfd", fd=theirs[0])
            echo = dict(cid=cid)
        else:
            cin = call("fromfd", fd=theirs[0], writable=False)
            cout = call("fromfd", fd=theirs[1], readable=False)
            echo = dict(cid=cin, to=cout)
        buf, msg = bytearray(size), bytes(size)
        call("echo_bytes", wait=False, count=n + 10, into=size, **echo)
        for _ in range(10):  # warm up
            send.send_bytes(msg)
            recv.recv_bytes_into(buf)
        t0 = time.perf_counter()
        for _ in range(n):
            send.send_bytes(msg)
            recv.recv_bytes_into(buf)
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        peer.stdin.close()
        peer.kill()
        peer.wait()
        send.close()
        if recv is not send:
            recv.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    args = ap.parse_args()
    print("CPython %s, load average %.1f" % (sys.version.split()[0], os.getloadavg()[0]))
    for kind in ("socketpair", "pipe"):
        for size in (512, 64 << 10):
            print("%-10s %6d B  %.1f us per round trip" % (kind, size, run(kind, size, args.n)), flush=True)


if __name__ == "__main__":
    main()
