"""Runs the same SyncManager scenarios against two manager servers and
prints both transcripts, for interop/syncmanager_test.go.

    python3 syncmanager_peer.py HOST PORT AUTHKEY_HEX [SCENARIO ...]

HOST:PORT is the server under test (mpbridge's Go server). The script
also starts a CPython SyncManager server itself (same authkey) and runs
every scenario against it: any difference between the two transcripts is
a difference in behaviour. It prints one JSON object:
{"version": "3.12.1", "results": {scenario: {"go": [...], "py": [...]}}}.

A transcript line is "label -> repr(result)" or "label !! Type: message".
Addresses are removed from reprs. Standard library only; 3.8+.
"""
import array
import datetime
import faulthandler
import gc
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import socket
import sys
import threading
import time
from decimal import Decimal
from multiprocessing.managers import RemoteError, SyncManager

CTX = multiprocessing.get_context("fork")
ADDR_RE = re.compile(r" at 0x[0-9a-f]+")
OWNER_RE = re.compile(r"owner=\d+")
SLACK = 0.05  # how late a timeout may return


_socket_client = multiprocessing.connection.SocketClient


def _nodelay_socket_client(address):
    """CPython's client writes its last handshake frame and the request
    back to back, so Nagle's algorithm holds the request until the
    server's delayed ACK (40 ms): every create, incref and decref would
    wait that long. Only the test's speed changes."""
    c = _socket_client(address)
    if isinstance(address, tuple):
        s = socket.fromfd(c.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.close()
    return c


multiprocessing.connection.SocketClient = _nodelay_socket_client


def norm(s):
    return OWNER_RE.sub("owner=?", ADDR_RE.sub("", s))


class Rec:
    def __init__(self):
        self.lines = []

    def __call__(self, label, f, typeonly=False):
        """Runs f() and records its result or exception."""
        try:
            r = f()
        except RemoteError as e:
            lines = [l for l in str(e).splitlines() if l.strip() and not l.startswith("-" * 10)]
            last = lines[-1] if lines else ""
            if typeonly:
                last = last.split(":")[0]
            self.lines.append("%s !! RemoteError: %s" % (label, norm(last)))
            return None
        except Exception as e:  # noqa: BLE001 - the exception is the result
            if typeonly:
                self.lines.append("%s !! %s" % (label, type(e).__name__))
            else:
                self.lines.append("%s !! %s: %s" % (label, type(e).__name__, norm(str(e))))
            return None
        self.lines.append("%s -> %s" % (label, norm(repr(r))))
        return r

    def note(self, label, value):
        self.lines.append("%s == %s" % (label, norm(repr(value))))


def timed(rec, label, f, seconds, want, before=None):
    """Records whether f() returned want no earlier than seconds and at most
    SLACK later (five tries, for a busy machine; before() runs ahead of
    each, off the clock)."""
    verdict = "late"
    for _ in range(5):
        if before is not None:
            before()
        start = time.monotonic()
        try:
            r = f()
        except Exception as e:  # noqa: BLE001
            r = type(e).__name__
        el = time.monotonic() - start
        if r != want:
            verdict = "returned %r" % (r,)
            break
        if el < seconds - 0.001:
            verdict = "early (%.3f)" % el
            break
        if el <= seconds + SLACK:
            verdict = "ok"
            break
    rec.note(label, verdict)


# ---------------------------------------------------------------- scenarios


def sc_dict(m, rec):
    d = m.dict({"a": 1}, b=2)
    rec("repr", lambda: str(d))
    rec("len", lambda: len(d))
    rec("getitem", lambda: d["a"])
    rec("getitem missing", lambda: d["zz"])
    rec("getitem unhashable", lambda: d[[1]])
    rec("getitem tuple with list", lambda: d[(1, [2])])
    rec("setitem int", lambda: d.__setitem__(1, "one"))
    rec("setitem float alias", lambda: d.__setitem__(1.0, "uno"))
    rec("getitem True", lambda: d[True])
    rec("contains", lambda: ("b" in d, "q" in d))
    rec("contains unhashable", lambda: [] in d)
    rec("delitem missing", lambda: d.__delitem__("nope"))
    rec("delitem", lambda: d.__delitem__(1))
    rec("get", lambda: (d.get("a"), d.get("x"), d.get("x", 5)))
    rec("get no args", lambda: d.get(), typeonly=True)
    rec("setdefault", lambda: (d.setdefault("a", 9), d.setdefault("n"), d.setdefault("m", [1])))
    rec("pop", lambda: d.pop("n"))
    rec("pop missing", lambda: d.pop("n"))
    rec("pop default", lambda: d.pop("n", "dflt"))
    rec("popitem", lambda: d.popitem())
    rec("keys values items", lambda: (d.keys(), d.values(), d.items()))
    rec("types of views", lambda: (type(d.keys()).__name__, type(d.items()).__name__))
    rec("copy", lambda: (d.copy(), type(d.copy()).__name__))
    rec("update seq", lambda: d.update([("x", 1), ["y", 2], "zw"]))
    rec("update kwargs", lambda: d.update({"x": 10}, q=5))
    rec("update bad len", lambda: d.update([(1, 2, 3)]))
    rec("update not seq", lambda: d.update([1]))
    rec("update not iterable", lambda: d.update(1))
    rec("update two args", lambda: d.update({}, {}))
    rec("after updates", lambda: d.copy())
    values = [None, True, -5, 2 ** 70, -(2 ** 100), 1.5, float("inf"), 1e-300, 3 + 4j, "é\x00\u2028🙂",
              b"\x00\xff", bytearray(b"ba"), (1, (2, "x")), [1, [2]], {"k": {1: 2}}, {1, 2}, frozenset({3}),
              datetime.datetime(2024, 1, 2, 3, 4, 5, 6), datetime.date(2020, 2, 29), Decimal("1.10"),
              array.array("i", [1, 2]), slice(1, 2), range(3), ValueError("boom", 1), int, len]
    for i, v in enumerate(values):
        rec("store %d %s" % (i, type(v).__name__), lambda: (d.__setitem__(("v", i), v), d[("v", i)] == v, type(d[("v", i)]).__name__))
    rec("nan is stored", lambda: (d.__setitem__("nan", float("nan")), repr(d["nan"])))
    rec("keys unusual", lambda: (d.__setitem__(frozenset({1}), 1), d.__setitem__((None, b"k"), 2),
                                  d[frozenset([1])], d[(None, b"k")]))
    rec("clear", lambda: (d.clear(), len(d)))
    rec("popitem empty", lambda: d.popitem())
    rec("getvalue", lambda: d._getvalue())


def sc_dict_iter(m, rec):
    d = m.dict(a=1, b=2, c=3)
    rec("for", lambda: [k for k in d])
    rec("list", lambda: list(d))
    rec("sorted", lambda: sorted(d))
    it = iter(d)
    rec("next", lambda: next(it))
    rec("send", lambda: it.send(None))
    rec("throw", lambda: it.throw(ValueError))
    rec("close", lambda: it.close())
    rec("next 2", lambda: next(it))
    rec("next 3", lambda: next(it))
    rec("next 4", lambda: next(it))
    rec("next 5", lambda: next(it))
    it = iter(d)
    rec("next", lambda: next(it))
    rec("grow", lambda: d.__setitem__("d", 4))
    rec("next after grow", lambda: next(it))
    rec("next again", lambda: next(it))
    rec("empty", lambda: list(m.dict()))


def sc_list(m, rec):
    big = 10 ** 30
    l = m.list([1, 2, 3])
    rec("repr", lambda: str(l))
    rec("len", lambda: len(l))
    for label, f in [
        ("getitem -1", lambda: l[-1]), ("getitem 7", lambda: l[7]), ("getitem str", lambda: l["a"]),
        ("getitem float", lambda: l[1.0]), ("getitem big", lambda: l[big]), ("getitem True", lambda: l[True]),
        ("slice 1:", lambda: l[1:]), ("slice ::-1", lambda: l[::-1]), ("slice big", lambda: l[big:]),
        ("slice step 0", lambda: l[::0]), ("slice str", lambda: l["a":]), ("slice type", lambda: type(l[:]).__name__),
        ("index", lambda: l.index(2.0)), ("index missing", lambda: l.index(5)), ("index str", lambda: l.index("a")),
        ("index start", lambda: l.index(1, 1)), ("index start str", lambda: l.index(1, "a")),
        ("index start big", lambda: l.index(1, big)), ("index neg", lambda: l.index(3, -1, 10)),
        ("remove missing", lambda: l.remove(5)), ("pop 7", lambda: l.pop(7)), ("pop str", lambda: l.pop("a")),
        ("pop big", lambda: l.pop(big)), ("count", lambda: (l.count(1), l.count(True), l.count("x"))),
        ("extend int", lambda: l.extend(1)), ("mul str", lambda: l * "a"), ("mul big", lambda: l * big),
        ("mul", lambda: l * 2), ("rmul", lambda: 2 * l), ("mul neg", lambda: l * -1),
        ("add tuple", lambda: l + (1,)), ("add list", lambda: l + ["x"]), ("add type", lambda: type(l + []).__name__),
        ("setitem 7", lambda: l.__setitem__(7, 1)), ("delitem 7", lambda: l.__delitem__(7)),
        ("delitem str", lambda: l.__delitem__("a")),
        ("setitem ext slice size", lambda: l.__setitem__(slice(0, 3, 2), [1])),
        ("contains", lambda: (3 in l, 9 in l, 3.0 in l)),
        ("reversed", lambda: list(reversed(l))),
        ("sort positional", lambda: l.sort(1)),
        ("iter", lambda: list(l)), ("in for", lambda: [x for x in l]),
    ]:
        rec(label, f)
    rec("append", lambda: (l.append(3), l.extend("ab"), l.extend(b"\x01\x02"), l[:]))
    rec("insert", lambda: (l.insert(-100, None), l.insert(100, 1.5), l[:]))
    rec("pop", lambda: (l.pop(), l.pop(0), l[:]))
    rec("remove", lambda: (l.remove(True), l[:]))
    rec("reverse", lambda: (l.reverse(), l[:]))
    rec("del ext", lambda: (l.__delitem__(slice(None, None, 2)), l[:]))
    rec("set slice", lambda: (l.__setitem__(slice(1, 1), (7, 8)), l[:]))
    rec("set ext neg", lambda: (l.__setitem__(slice(None, None, -2), ["x", "y"]), l[:]))
    rec("set slice str", lambda: (l.__setitem__(slice(0, 1), "pq"), l[:]))
    rec("iadd", lambda: l.__iadd__([0]) is l)
    rec("after iadd", lambda: l[:])
    rec("imul", lambda: l.__imul__(2) is l)
    rec("after imul", lambda: l[:])
    rec("del all", lambda: (l.__delitem__(slice(None, None, -1)), l[:]))
    rec("pop empty", lambda: l.pop())
    for items in ([3, 1.5, True, -2], ["b", "a", "c"], [(1, "b"), (1, "a"), (0, "z")], [1, "a"], ["a", 1, 2],
                  [None, None], [(1, "a"), (1, 2)], [1, {}], [b"b", "a"], [(), []], [[2], [1, 5]],
                  [2 ** 70, 1e20, 5], [{1}, {2}], [b"b", bytearray(b"a")], list(range(100, 0, -7)) * 3):
        def srt(items=items, rev=False):
            x = m.list(items)
            x.sort(reverse=rev)
            return x[:]
        rec("sort %r" % (items[:6],), srt)
        rec("sort reverse %r" % (items[:6],), lambda: srt(rev=True))
    # list.sort(key=...) with the builtin keys the Go server runs
    import operator
    for label, items, key, rev in [
        ("len", ["ccc", "a", "bb", "", "dd"], len, False),
        ("len reverse", ["ccc", "a", "bb", "", "dd"], len, True),
        ("abs", [-3, 2.5, -1, True, 2 ** 70, -(2 ** 70)], abs, False),
        ("str.lower", ["b", "A", "c", "B"], str.lower, False),
        ("str.upper reverse", ["b", "A", "c", "B"], str.upper, True),
        ("itemgetter", [(1, "b"), (2, "a"), (0, "b")], operator.itemgetter(1), False),
        ("itemgetter two", [(1, "b"), (2, "a"), (0, "b")], operator.itemgetter(1, 0), False),
        ("itemgetter neg", [[1, "b"], [2, "a"]], operator.itemgetter(-1), False),
        ("itemgetter dict", [{"k": 2}, {"k": 1}], operator.itemgetter("k"), False),
        ("itemgetter str", ["ba", "ab"], operator.itemgetter(1), False),
        ("itemgetter missing", [{"k": 2}, {}], operator.itemgetter("k"), False),
        ("itemgetter range", [(1,), (1, 2)], operator.itemgetter(1), False),
        ("itemgetter int", [(1,), 5], operator.itemgetter(0), False),
        ("len error", [1, "a"], len, False),
        ("abs error", ["a", 1], abs, False),
        ("lower error", ["a", 1], str.lower, False),
        ("incomparable keys", [(1, "a"), (2, 3)], operator.itemgetter(1), False),
    ]:
        def srtk(items=items, key=key, rev=rev):
            x = m.list(items)
            try:
                x.sort(key=key, reverse=rev)
            except Exception as e:
                return repr(e), sorted(map(repr, x[:]))
            return x[:]
        rec("sort key %s" % label, srtk)
    rec("getvalue", lambda: m.list([1, [2]])._getvalue())


def sc_value_array_namespace(m, rec):
    v = m.Value("i", 5)
    rec("value", lambda: (v.value, v.get()))
    rec("set", lambda: (v.set("x"), v.value))
    rec("prop", lambda: (setattr(v, "value", [1]), v.value))
    rec("repr", lambda: str(v))
    rec("getvalue", lambda: v._getvalue())
    rec("value missing arg", lambda: m.Value("i"), typeonly=True)
    for code, init in [("i", [1, -2]), ("d", [1, 2.5]), ("f", [0.1, 1e300]), ("b", [True]), ("h", b"\x01\x00"),
                       ("Q", [2 ** 64 - 1]), ("L", [0]), ("q", [-(2 ** 63)]), ("B", [255]), ("H", [65535]), ("I", [2 ** 32 - 1]),
                       ("u", "ab"), ("i", array.array("i", [2])),
                       ("x", []), ("ab", []), ("b", [200]), ("b", [-200]), ("B", [-1]), ("h", [2 ** 20]), ("H", [2 ** 20]),
                       ("i", [2 ** 40]), ("I", [2 ** 40]), ("I", [-1]), ("l", [2 ** 70]), ("L", [-1]), ("L", [2 ** 70]),
                       ("q", [2 ** 70]), ("Q", [-1]), ("Q", [2 ** 70]), ("h", [2 ** 70]), ("d", ["a"]), ("d", [None]),
                       ("u", [1]), ("u", ["ab"]), ("i", "abc"), ("i", b"abc"), ("i", None), ("i", 5)]:
        if code == "x":  # 3.13 lists typecode w in the message
            rec("Array %r" % ((code, init),), lambda: m.Array(code, init), typeonly=True)
            continue
        rec("Array %r" % ((code, init),), lambda: m.Array(code, init)[:])
    # 3.8 and 3.9 word it "integer argument expected, got float"
    rec("Array ('i', [1.5])", lambda: m.Array("i", [1.5]), typeonly=True)
    a = m.Array("h", [1, 2, 3])
    for label, f in [
        ("len", lambda: len(a)), ("get -1", lambda: a[-1]), ("get 5", lambda: a[5]), ("get str", lambda: a["x"]),
        ("get slice", lambda: a[::2]), ("set 5", lambda: a.__setitem__(5, 1)), ("set big", lambda: a.__setitem__(0, 2 ** 20)),
        ("set", lambda: (a.__setitem__(0, -7), a[:])), ("set slice list", lambda: a.__setitem__(slice(0, 1), [1])),
        ("set slice other code", lambda: a.__setitem__(slice(0, 1), array.array("i", [1]))),
        ("set ext size", lambda: a.__setitem__(slice(0, 3, 2), array.array("h", [1]))),
        ("set slice grow", lambda: (a.__setitem__(slice(0, 1), array.array("h", [9, 8])), a[:])),
        ("set ext neg", lambda: (a.__setitem__(slice(None, None, -2), array.array("h", [1, 2])), a[:])),
        ("list", lambda: list(a)), ("getvalue", lambda: a._getvalue()),
    ]:
        rec(label, f)
    ns = m.Namespace(b=2, a="x", _h=0)
    rec("ns get", lambda: (ns.a, ns.b))
    rec("ns missing", lambda: ns.z)
    rec("ns set", lambda: (setattr(ns, "z", []), ns.z))
    rec("ns del", lambda: (delattr(ns, "a"), str(ns)))
    rec("ns del missing", lambda: delattr(ns, "a"), typeonly=True)
    rec("ns private", lambda: ns._h, typeonly=True)
    rec("ns __dict__", lambda: ns._callmethod("__getattribute__", ("__dict__",)))
    rec("ns getvalue", lambda: ns._getvalue())
    rec("ns repr", lambda: str(ns))


def sc_locks(m, rec):
    for name in ("Lock", "RLock"):
        l = getattr(m, name)()
        rec(name + " release unlocked", lambda: l.release())
        rec(name + " acquire", lambda: l.acquire())
        rec(name + " acquire nonblocking", lambda: l.acquire(False))
        rec(name + " timeout nonblocking", lambda: l.acquire(False, 1))
        rec(name + " negative timeout", lambda: l.acquire(True, -2), typeonly=True)
        rec(name + " timeout 0", lambda: l.acquire(True, 0))
        rec(name + " release", lambda: l.release())
        rec(name + " with", lambda: l.__enter__())
        rec(name + " exit", lambda: l.__exit__(None, None, None))
        rec(name + " getvalue", lambda: l._getvalue(), typeonly=True)
    l = m.Lock()
    l.acquire()
    timed(rec, "Lock timeout", lambda: l.acquire(True, 0.1), 0.1, False)
    rl = m.RLock()
    rec("RLock reentrant", lambda: (rl.acquire(), rl.acquire(), rl.release(), rl.release()))
    rec("RLock over-release", lambda: rl.release())
    s = m.Semaphore(2)
    rec("Semaphore", lambda: (s.acquire(), s.acquire(), s.acquire(False)))
    rec("Semaphore timeout nonblocking", lambda: s.acquire(False, 1))
    timed(rec, "Semaphore timeout", lambda: s.acquire(True, 0.08), 0.08, False)
    rec("Semaphore release", lambda: (s.release(), s.release(), s.release(), s.acquire(False)))
    rec("Semaphore negative", lambda: m.Semaphore(-1), typeonly=True)
    b = m.BoundedSemaphore(1)
    rec("Bounded over-release", lambda: b.release())
    rec("Bounded", lambda: (b.acquire(), b.release()))
    e = m.Event()
    rec("Event", lambda: (e.is_set(), e.wait(0), e.wait(-1)))
    timed(rec, "Event timeout", lambda: e.wait(0.08), 0.08, False)
    rec("Event set", lambda: (e.set(), e.is_set(), e.wait(), e.wait(0), e.clear(), e.is_set()))
    c = m.Condition()
    rec("Condition wait unowned", lambda: c.wait(0))
    rec("Condition notify unowned", lambda: c.notify())
    rec("Condition notify_all unowned", lambda: c.notify_all())
    rec("Condition release unowned", lambda: c.release())
    rec("Condition acquire", lambda: (c.acquire(), c.acquire()))
    rec("Condition wait 0", lambda: c.wait(0))
    timed(rec, "Condition timeout", lambda: c.wait(0.07), 0.07, False)
    rec("Condition notify", lambda: (c.notify(), c.notify(3), c.notify_all()))
    rec("Condition wait_for", lambda: c.wait_for(lambda: True))
    rec("Condition wait_for timeout", lambda: c.wait_for(lambda: False, 0.02))
    rec("Condition release", lambda: (c.release(), c.release()))
    rec("Condition over-release", lambda: c.release())
    lk = m.Lock()
    c2 = m.Condition(lk)
    rec("Condition(Lock)", lambda: (c2.acquire(), lk.acquire(False), c2.wait(0.01), c2.notify(), c2.release(), lk.acquire(False)))
    rec("Condition(Lock) release", lambda: (lk.release(), c2.acquire(False)))
    br = m.Barrier(1)
    rec("Barrier 1", lambda: (br.wait(), br.parties, br.n_waiting, br.broken))
    br = m.Barrier(2, timeout=0.05)
    rec("Barrier default timeout", lambda: br.wait())
    rec("Barrier broken", lambda: (br.broken, br.n_waiting))
    rec("Barrier broken wait", lambda: br.wait())
    rec("Barrier reset", lambda: (br.reset(), br.broken))
    rec("Barrier abort", lambda: (br.abort(), br.broken))
    rec("Barrier getattribute", lambda: br._callmethod("__getattribute__", ("x",)))
    br = m.Barrier(2)
    # the timeout breaks the barrier: each try starts from a reset one
    timed(rec, "Barrier timeout", lambda: br.wait(0.06), 0.06, "BrokenBarrierError", before=br.reset)


def sc_nested(m, rec):
    n0 = m._number_of_objects()
    d = m.dict()
    l = m.list([1])
    d["l"] = l
    rec("nested type", lambda: type(d["l"]).__name__)
    rec("nested same id", lambda: d["l"]._token.id == l._token.id)
    del l
    gc.collect()
    rec("nested still alive", lambda: d["l"][:])
    rec("nested mutate", lambda: (d["l"].append(2), d["l"][:]))
    outer = m.list([m.dict(x=1), m.dict(y=2)])
    rec("list of dicts", lambda: [type(x).__name__ for x in outer])
    rec("list of dicts values", lambda: [x.copy() for x in outer])
    rec("list of dicts mutate", lambda: (outer[0].__setitem__("z", 3), outer[0].copy()))
    del d, outer
    gc.collect()
    time.sleep(0.05)
    rec("objects back", lambda: m._number_of_objects() - n0)


def sc_refcount(m, rec):
    n0 = m._number_of_objects()
    objs = [m.dict(), m.list(), m.Lock(), m.RLock(), m.Event(), m.Condition(), m.Semaphore(), m.Barrier(2),
            m.Value("i", 1), m.Array("i", [1]), m.Namespace(), m.Queue(), m.JoinableQueue()]
    rec("created", lambda: m._number_of_objects() - n0)
    it = iter(objs[0])
    rec("with iterator", lambda: m._number_of_objects() - n0)
    del it
    gc.collect()
    rec("iterator gone", lambda: m._number_of_objects() - n0)
    del objs
    gc.collect()
    rec("all gone", lambda: m._number_of_objects() - n0)


# ------------------------------------------------------- multi-process ones

N = 4


def _child_watchdog():
    """A worker that hangs dumps its stack and exits instead."""
    faulthandler.dump_traceback_later(60, exit=True)


def _lock_worker(lock, d, rounds):
    _child_watchdog()
    for _ in range(rounds):
        with lock:
            d["n"] = d["n"] + 1


def _sem_worker(sem, d, lock, rounds):
    _child_watchdog()
    for _ in range(rounds):
        with sem:
            with lock:
                d["in"] += 1
                d["max"] = max(d["max"], d["in"])
            time.sleep(0.002)
            with lock:
                d["in"] -= 1


def _event_worker(ev, q):
    _child_watchdog()
    q.put(ev.wait(10))


def _cond_consumer(cond, d, q, items):
    _child_watchdog()
    got = 0
    while got < items:
        with cond:
            while d["avail"] == 0:
                cond.wait(0.02)
            d["avail"] -= 1
        got += 1
    q.put(got)


def _barrier_worker(b, q, rounds):
    _child_watchdog()
    out = []
    for _ in range(rounds):
        out.append(b.wait(10))
    q.put(out)


def _rlock_worker(rl, d, rounds):
    _child_watchdog()
    for _ in range(rounds):
        rl.acquire()
        rl.acquire()
        d["n"] = d["n"] + 1
        rl.release()
        rl.release()


def _timeout_worker(lock, ev, cond, q):
    """Timeouts honoured in a process of its own while others wait too."""
    _child_watchdog()
    verdicts = []
    # The condition's acquire and release are off the clock: what is timed
    # is the wait's own timeout, not queueing for the lock behind the
    # other processes.
    for name, f, want, pre, post in (("lock", lambda: lock.acquire(True, 0.1), False, None, None),
                                     ("event", lambda: ev.wait(0.1), False, None, None),
                                     ("cond", lambda: cond.wait(0.1), False, cond.acquire, cond.release)):
        verdict = "late"
        for _ in range(5):
            if pre is not None:
                pre()
            start = time.monotonic()
            r = f()
            el = time.monotonic() - start
            if post is not None:
                post()
            if r != want or el < 0.099:
                verdict = "wrong %r %.3f" % (r, el)
                break
            if el <= 0.1 + SLACK:
                verdict = "ok"
                break
        verdicts.append("%s %s" % (name, verdict))
    q.put(verdicts)


def _join(ps):
    for p in ps:
        p.join(30)
    return [p.exitcode for p in ps]


def sc_concurrent(m, rec):
    # Lock: a counter incremented by N processes.
    lock, d = m.Lock(), m.dict(n=0)
    ps = [CTX.Process(target=_lock_worker, args=(lock, d, 50)) for _ in range(N)]
    [p.start() for p in ps]
    rec("lock exitcodes", lambda: _join(ps))
    rec("lock counter", lambda: d["n"])
    rl, d2 = m.RLock(), m.dict(n=0)
    ps = [CTX.Process(target=_rlock_worker, args=(rl, d2, 30)) for _ in range(N)]
    [p.start() for p in ps]
    rec("rlock exitcodes", lambda: _join(ps))
    rec("rlock counter", lambda: d2["n"])
    # Semaphore(2): never more than two inside.
    sem, d3, l3 = m.Semaphore(2), m.dict({"in": 0, "max": 0}), m.Lock()
    ps = [CTX.Process(target=_sem_worker, args=(sem, d3, l3, 10)) for _ in range(N)]
    [p.start() for p in ps]
    rec("sem exitcodes", lambda: _join(ps))
    rec("sem max inside", lambda: (d3["max"], d3["in"]))
    # Event: one set wakes every waiter.
    ev, q = m.Event(), m.Queue()
    ps = [CTX.Process(target=_event_worker, args=(ev, q)) for _ in range(N)]
    [p.start() for p in ps]
    time.sleep(0.2)
    ev.set()
    rec("event exitcodes", lambda: _join(ps))
    rec("event waiters", lambda: sorted(q.get(timeout=5) for _ in range(N)))
    # Condition: producer here, consumers there; every item consumed.
    cond, d4, q4 = m.Condition(), m.dict(avail=0), m.Queue()
    per = 25
    ps = [CTX.Process(target=_cond_consumer, args=(cond, d4, q4, per)) for _ in range(N)]
    [p.start() for p in ps]
    for _ in range(N * per):
        with cond:
            d4["avail"] += 1
            cond.notify()
    rec("cond exitcodes", lambda: _join(ps))
    rec("cond consumed", lambda: (sorted(q4.get(timeout=5) for _ in range(N)), d4["avail"]))
    # Barrier: N processes, three rounds, each round hands out 0..N-1.
    b, q5 = m.Barrier(N), m.Queue()
    ps = [CTX.Process(target=_barrier_worker, args=(b, q5, 3)) for _ in range(N)]
    [p.start() for p in ps]
    rec("barrier exitcodes", lambda: _join(ps))
    outs = [q5.get(timeout=5) for _ in range(N)]
    rec("barrier indices", lambda: [sorted(o[r] for o in outs) for r in range(3)])
    rec("barrier after", lambda: (b.n_waiting, b.broken))
    # Timeouts: N processes time out on a held Lock, an unset Event and a
    # Condition nobody notifies, all at once.
    lk, ev6, c6, q6 = m.Lock(), m.Event(), m.Condition(), m.Queue()
    lk.acquire()
    ps = [CTX.Process(target=_timeout_worker, args=(lk, ev6, c6, q6)) for _ in range(N)]
    [p.start() for p in ps]
    rec("timeout exitcodes", lambda: _join(ps))
    rec("timeouts", lambda: sorted(tuple(q6.get(timeout=5)) for _ in range(N)))
    lk.release()


SCENARIOS = {
    "dict": sc_dict, "dict_iter": sc_dict_iter, "list": sc_list, "value_array_namespace": sc_value_array_namespace,
    "locks": sc_locks, "nested": sc_nested, "refcount": sc_refcount, "concurrent": sc_concurrent,
}


def connect(addr, key):
    multiprocessing.current_process().authkey = key  # nested proxies unpickle with it
    m = SyncManager(address=addr, authkey=key)
    m.connect()
    return m


def run(addr, key, name):
    m = connect(addr, key)
    rec = Rec()
    try:
        SCENARIOS[name](m, rec)
    except Exception as e:  # noqa: BLE001 - a crash is a difference too
        rec.lines.append("CRASH %s: %s" % (type(e).__name__, e))
    gc.collect()
    return rec.lines


def main():
    host, port, keyhex = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    names = sys.argv[4:] or list(SCENARIOS)
    key = bytes.fromhex(keyhex)
    # The server process inherits it: proxies it unpickles (a Condition's
    # lock) connect back with it.
    multiprocessing.current_process().authkey = key
    pym = SyncManager(address=("127.0.0.1", 0), authkey=key, ctx=CTX)
    pym.start()
    try:
        results = {}
        for name in names:
            t0 = time.monotonic()
            results[name] = {"go": run((host, port), key, name)}
            t1 = time.monotonic()
            results[name]["py"] = run(pym.address, key, name)
            sys.stderr.write("%s: go %.2fs, py %.2fs\n" % (name, t1 - t0, time.monotonic() - t1))
    finally:
        pym.shutdown()
    json.dump({"version": "%d.%d.%d" % sys.version_info[:3], "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
