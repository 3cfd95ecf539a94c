"""Python peer for the manager interop tests (interop/manager_test.go).

Standard library only; runs on CPython 3.8-3.13. One role per process:

  serve     a manager server: BaseManager with a shared get_queue, or a
            SyncManager (which also has get_queue and the test type Thing).
            Prints one JSON line {"address": ...} once listening.
  blocked-get
            connects, prints "ready", then blocks in q.get() with no timeout;
            the test kills it with SIGKILL.
  partial-put
            connects, opens a method-call channel, writes only part of a
            put request frame, prints "ready" and sleeps; killed by the test.
  load      THREADS threads, each with its own connection (Python proxies
            are per thread): PRODUCERS put COUNT sequence numbers each from
            BASE on, the others get until they receive the sentinel -1 (or
            nothing for IDLE seconds). Prints {"produced": true} once its
            producers are done, then one JSON line of what it consumed.

Addresses are given as HOST:PORT, /path or @name, like mpbridge's flags.
"""
import argparse
import json
import os
import queue
import socket
import sys
import threading
import time
from multiprocessing import connection
from multiprocessing.managers import BaseManager, SyncManager


def parse_address(s):
    if s.startswith("@"):
        return "\0" + s[1:]
    if s.startswith("/") or s.startswith("./"):
        return s
    host, _, port = s.rpartition(":")
    return (host.strip("[]"), int(port))


def format_address(a):
    if isinstance(a, tuple):
        return "%s:%d" % (a[0], a[1])
    if isinstance(a, bytes):
        a = a.decode()
    if a.startswith("\0"):
        return "@" + a[1:]
    return a


class QueueManager(BaseManager):
    pass


class SyncQueueManager(SyncManager):
    pass


class Thing:
    """The test object of PROTOCOL.md §3.13: a value, a child proxy, an
    unpicklable result and a method that raises."""

    def __init__(self, value=0):
        self._value = value

    def value(self):
        return self._value

    def child(self):
        return Thing(self._value + 1)

    def unpicklable(self):
        return threading.Lock()

    def boom(self):
        raise KeyError("missing-key")


def serve(args):
    authkey = bytes.fromhex(args.authkey_hex)
    shared = queue.Queue(args.maxsize)
    cls = SyncQueueManager if args.kind == "sync" else QueueManager
    cls.register("get_queue", callable=lambda: shared)
    cls.register("Thing", callable=Thing, method_to_typeid={"child": "ThingRef"})
    cls.register("ThingRef", callable=None, create_method=False)
    m = cls(address=parse_address(args.addr), authkey=authkey)
    server = m.get_server()
    print(json.dumps({"address": format_address(server.address), "pid": os.getpid()}), flush=True)
    server.serve_forever()


def connect(args, cls=None):
    cls = cls or QueueManager
    cls.register("get_queue")
    m = cls(address=parse_address(args.addr), authkey=bytes.fromhex(args.authkey_hex))
    m.connect()
    return m


def blocked_get(args):
    m = connect(args)
    q = m.get_queue()
    q.qsize()  # opens this thread's channel
    print("ready", flush=True)
    item = q.get()
    print(json.dumps({"got": item}), flush=True)


def partial_put(args):
    authkey = bytes.fromhex(args.authkey_hex)
    m = connect(args)
    q = m.get_queue()
    ident = q._token.id
    conn = connection.Client(parse_address(args.addr), authkey=authkey)
    conn.send((None, "accept_connection", ("partial-put",), {}))
    assert conn.recv() == ("#RETURN", None)
    import pickle
    payload = pickle.dumps((ident, "put", ("x" * 100000,), {}), protocol=4)
    header = len(payload).to_bytes(4, "big")
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    sock.sendall(header + payload[: len(payload) // 2])
    print("ready", flush=True)
    time.sleep(3600)


def load(args):
    m = connect(args)
    results = {}
    errors = []

    def producer(tid, start, count):
        try:
            q = m.get_queue()
            for i in range(start, start + count):
                q.put(i)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def consumer(tid):
        got = []
        try:
            q = m.get_queue()
            while True:
                try:
                    v = q.get(timeout=args.idle)
                except queue.Empty:
                    break
                if v == -1:
                    break
                got.append(v)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        results[tid] = got

    producers, consumers = [], []
    for t in range(args.threads):
        if t < args.producers:
            start = args.base + t * args.count
            producers.append(threading.Thread(target=producer, args=(t, start, args.count)))
        else:
            consumers.append(threading.Thread(target=consumer, args=(t,)))
    for th in producers + consumers:
        th.start()
    for th in producers:
        th.join()
    print(json.dumps({"produced": True}), flush=True)
    for th in consumers:
        th.join()
    got = [v for vs in results.values() for v in vs]
    print(json.dumps({"got": got, "errors": errors}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role")
    p.add_argument("--addr", default="127.0.0.1:0")
    p.add_argument("--authkey-hex", default="")
    p.add_argument("--kind", default="base")
    p.add_argument("--maxsize", type=int, default=0)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--producers", type=int, default=4)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--base", type=int, default=0)
    p.add_argument("--idle", type=float, default=5.0)
    args = p.parse_args()
    {"serve": serve, "blocked-get": blocked_get, "partial-put": partial_put, "load": load}[args.role](args)


if __name__ == "__main__":
    sys.exit(main())
