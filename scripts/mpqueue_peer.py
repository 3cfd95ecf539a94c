"""Python side of the mpqueue interop tests (standard library only).

Imported by the long-lived test helper (scripts/pyhelper.py) as
``import mpqueue_peer as P``, or run as a worker process:

    python mpqueue_peer.py produce HANDLES_JSON ID N SIZE
    python mpqueue_peer.py consume HANDLES_JSON
    python mpqueue_peer.py contend HANDLES_JSON COUNTER_FILE ITERS [GATE_NAME]
    python mpqueue_peer.py bench-put HANDLES_JSON N SIZE
    python mpqueue_peer.py bench-get HANDLES_JSON N

Objects travel between Go and Python as *handles*: JSON dicts holding the
semaphore names and pipe descriptors that CPython pickles for a spawned
child (multiprocessing.synchronize / multiprocessing.queues state):

    {"type": "Lock"|"RLock"|"Semaphore"|"BoundedSemaphore", "name": "/mp-..", "maxvalue": int}
    {"type": "Condition", "lock": LOCK, "sleeping": name, "woken": name, "wait": name}
    {"type": "Event", "cond": CONDITION, "flag": name}
    {"type": "Queue", "maxsize": int, "reader": fd, "writer": fd, "rlock": name, "wlock": name, "sem": name}
    {"type": "JoinableQueue", ... Queue keys ..., "cond": CONDITION, "unfinished": name}
    {"type": "SimpleQueue", "reader": fd, "writer": fd, "rlock": name, "wlock": name}

build() turns a handle into the real multiprocessing object, exactly as
unpickling in a spawned child does (SemLock._rebuild by name, Connection on
the fd); handles() goes the other way for objects created here with the
spawn context. A descriptor number belongs to process "pid" when given:
it is then opened through /proc/PID/fd/N (a new description of the same
pipe), so a long-lived helper can use pipes created after it started.
"""
import json
import os
import struct
import sys
import time

import multiprocessing
import _multiprocessing
from multiprocessing import connection, queues, synchronize

ctx = multiprocessing.get_context("spawn")
SEM_VALUE_MAX = synchronize.SEM_VALUE_MAX
KINDS = {
    "Lock": (synchronize.Lock, synchronize.SEMAPHORE),
    "RLock": (synchronize.RLock, synchronize.RECURSIVE_MUTEX),
    "Semaphore": (synchronize.Semaphore, synchronize.SEMAPHORE),
    "BoundedSemaphore": (synchronize.BoundedSemaphore, synchronize.SEMAPHORE),
}

objs = {}  # objects kept alive between helper calls, by key


def set_prefix(prefix):
    """Name semaphores created here prefix-xxxxxxxx (tests: a per-run prefix)."""
    multiprocessing.current_process()._config["semprefix"] = prefix


def _new(cls, state):
    obj = cls.__new__(cls)
    obj.__setstate__(state)
    return obj


def _fd(fd, pid, flags):
    if pid is None or pid == os.getpid():
        return fd
    return os.open("/proc/%d/fd/%d" % (pid, fd), flags)


def build(h, pid=None):
    """Rebuild the multiprocessing object described by handle h."""
    t = h["type"]
    if t in KINDS:
        cls, kind = KINDS[t]
        maxvalue = h.get("maxvalue", 1 if t in ("Lock", "RLock") else SEM_VALUE_MAX)
        return _new(cls, (0, kind, maxvalue, h["name"]))
    if t == "Condition":
        sem = lambda n: build({"type": "Semaphore", "name": n})
        return _new(synchronize.Condition, (build(h["lock"]), sem(h["sleeping"]), sem(h["woken"]), sem(h["wait"])))
    if t == "Event":
        ev = synchronize.Event.__new__(synchronize.Event)
        ev.__dict__.update({"_cond": build(h["cond"]), "_flag": build({"type": "Semaphore", "name": h["flag"]})})
        return ev
    reader = connection.Connection(_fd(h["reader"], pid, os.O_RDONLY), writable=False)
    writer = connection.Connection(_fd(h["writer"], pid, os.O_WRONLY), readable=False)
    rlock = build({"type": "Lock", "name": h["rlock"]})
    wlock = build({"type": "Lock", "name": h["wlock"]})
    if t == "SimpleQueue":
        return _new(queues.SimpleQueue, (reader, writer, rlock, wlock))
    sem = build({"type": "BoundedSemaphore", "name": h["sem"], "maxvalue": h["maxsize"]})
    state = (False, h["maxsize"], reader, writer, rlock, wlock, sem, os.getpid())
    if t == "Queue":
        return _new(queues.Queue, state)
    if t == "JoinableQueue":
        cond = build(h["cond"])
        unfinished = build({"type": "Semaphore", "name": h["unfinished"]})
        return _new(queues.JoinableQueue, state + (cond, unfinished))
    raise ValueError("unknown handle type %r" % t)


def create(h):
    """Create a spawn-context object of type h["type"] (h may hold maxsize/value)."""
    t = h["type"]
    if t == "Queue":
        return ctx.Queue(h.get("maxsize", 0))
    if t == "JoinableQueue":
        return ctx.JoinableQueue(h.get("maxsize", 0))
    if t == "SimpleQueue":
        return ctx.SimpleQueue()
    if t in ("Semaphore", "BoundedSemaphore"):
        return getattr(ctx, t)(h.get("value", 1))
    if t == "Condition":
        return ctx.Condition(create(h["lock"]) if "lock" in h else None)
    return getattr(ctx, t)()


def handles(obj):
    """The handle of an object created (or built) in this process."""
    name = type(obj).__name__
    if name in KINDS:
        return {"type": name, "name": obj._semlock.name, "maxvalue": obj._semlock.maxvalue}
    if name == "Condition":
        return {"type": "Condition", "lock": handles(obj._lock), "sleeping": obj._sleeping_count._semlock.name,
                "woken": obj._woken_count._semlock.name, "wait": obj._wait_semaphore._semlock.name}
    if name == "Event":
        return {"type": "Event", "cond": handles(obj._cond), "flag": obj._flag._semlock.name}
    h = {"type": name, "reader": obj._reader.fileno(), "writer": obj._writer.fileno(),
         "rlock": obj._rlock._semlock.name, "wlock": obj._wlock._semlock.name, "pid": os.getpid()}
    if name in ("Queue", "JoinableQueue"):
        h.update(maxsize=obj._maxsize, sem=obj._sem._semlock.name)
    if name == "JoinableQueue":
        h.update(cond=handles(obj._cond), unfinished=obj._unfinished_tasks._semlock.name)
    return h


def drop(key):
    """Forget objs[key]; a queue is closed and its feeder joined first, so
    that the semaphores it created are unlinked by their finalizers now."""
    obj = objs.pop(key, None)
    if obj is not None and hasattr(obj, "join_thread"):
        obj.close()
        obj.join_thread()
    elif obj is not None and hasattr(obj, "close"):
        obj.close()
    del obj
    import gc
    gc.collect()


def value(obj):
    return obj._semlock._get_value()


# ---- worker processes -------------------------------------------------------

def _payload(size, pid, i):
    head = b"%d:%d:" % (pid, i)
    return head + b"x" * max(0, size - len(head))


def produce(q, ident, n, size):
    for i in range(n):
        q.put((ident, i, _payload(size, ident, i)))
    if hasattr(q, "join_thread"):
        q.close()
        q.join_thread()


def consume(q):
    """Get items (ident, seq, payload) until None; return {ident: [seq...]}."""
    seen = {}
    while True:
        item = q.get()
        if item is None:
            return seen
        ident, seq, payload = item
        if not payload.startswith(b"%d:%d:" % (ident, seq)):
            raise ValueError("payload mismatch for %r" % ((ident, seq),))
        seen.setdefault(str(ident), []).append(seq)


def contend(lock, counter_file, iters, gate=None):
    """Increment a shared counter iters times, each under lock, non-atomically.
    If gate (a Semaphore) is given, wait on it first so that every
    contender starts at once."""
    import mmap
    fd = os.open(counter_file, os.O_RDWR)
    m = mmap.mmap(fd, 8)
    os.close(fd)
    if gate is not None:
        gate.acquire()
    for _ in range(iters):
        lock.acquire()
        try:
            v = struct.unpack_from("<q", m, 0)[0]
            time.sleep(0)  # widen the window a missing lock would expose
            if struct.unpack_from("<q", m, 0)[0] != v:
                raise AssertionError("counter changed under the lock")
            struct.pack_into("<q", m, 0, v + 1)
        finally:
            lock.release()
    m.close()


def main(argv):
    cmd, h = argv[0], json.loads(argv[1])
    obj = build(h)
    if cmd == "produce":
        produce(obj, int(argv[2]), int(argv[3]), int(argv[4]))
        print(json.dumps({"ok": True}))
    elif cmd == "consume":
        print(json.dumps(consume(obj)))
    elif cmd == "contend":
        gate = build({"type": "Semaphore", "name": argv[4]}) if len(argv) > 4 else None
        contend(obj, argv[2], int(argv[3]), gate)
        print(json.dumps({"ok": True}))
    elif cmd == "bench-put":
        n, payload = int(argv[2]), b"x" * int(argv[3])
        t0 = time.perf_counter()
        for _ in range(n):
            obj.put(payload)
        obj.close()
        obj.join_thread()
        print(json.dumps({"seconds": time.perf_counter() - t0}))
    elif cmd == "bench-get":
        n = int(argv[2])
        obj.get()  # the clock starts at the first item: startup excluded
        t0 = time.perf_counter()
        for _ in range(n - 1):
            obj.get()
        print(json.dumps({"seconds": time.perf_counter() - t0, "n": n - 1}))
    else:
        raise SystemExit("unknown command %r" % cmd)
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
