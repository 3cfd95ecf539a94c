"""Golden pickles for mpbridge's pickle package (issue 2).

Run under each CPython 3.8-3.13 (scripts/gen_pickle_golden.sh does that):

    python3 scripts/gen_pickle_golden.py [OUTDIR]

writes OUTDIR/3.<minor>/<case>.p<protocol>.pickle (OUTDIR defaults to
testdata/pickle/golden) and OUTDIR/3.<minor>/manifest.json describing every
case. Standard library only. Set iteration order depends on the string hash,
so the script re-executes itself with PYTHONHASHSEED=0.

Each manifest file entry carries "expect", a JSON description of the value a
faithful decoder must produce from that file. It is computed by loading the
file with ModelUnpickler, a pickle._Unpickler that executes nothing: globals
become GlobalRef, REDUCE/NEWOBJ/NEWOBJ_EX/BUILD/APPENDS/SETITEMS on them
build ModelObject records, and sets keep the order of the stream. Only the
reconstructors of plain data (set, frozenset, bytearray, bytes,
_codecs.encode, complex) are applied, as the Go value model applies them.

Description format (one JSON value per Python value):
  null, true, false                  None, True, False
  123 / {"int": "123"}               int (a bare JSON integer when |x| <= 2**53,
                                     else decimal text)
  {"float": "0x1.8p+0"}              float (float.hex: "inf", "-inf", "nan" too)
  {"complex": [re, im]}              complex (each a float.hex)
  {"str": "text"}                    str (valid UTF-8)
  {"str_b64": "..."}                 str with lone surrogates (UTF-8, surrogatepass)
  {"bytes": "b64"} / {"bytearray": "b64"}
  {"bytes_sha256": hex, "len": n}    bytes longer than 4096 (bytearray_sha256 too)
  {"str_sha256": hex, "len": n}      str whose UTF-8 (surrogatepass) is longer than 4096
  {"tuple": [...]} {"list": [...]} {"set": [...]} {"frozenset": [...]}
  {"dict": [[key, value], ...]}      insertion (stream) order
  {"global": [module, name], "raw": [module, name]}   class/function reference;
                                     raw is the name in the stream (protocol < 3
                                     uses Python 2 names such as __builtin__)
  {"object": {"kind": "reduce"|"newobj"|"newobj_ex"|"inst"|"obj",
              "callable": D, "args": [D...], "kwargs": D or null,
              "state": D (present when BUILD ran), "listitems": [D...],
              "dictitems": [[D, D]...], "exception": bool}}
  {"persid": D}                      persistent id (no hook)
Containers, objects and strs that occur more than once (shared references,
cycles) carry "id": n at their first occurrence; later occurrences are
{"ref": n}. Scalars, (), '', b'' and one-character latin-1 strs (CPython
singletons) never carry an id.
"""
import base64
import collections
import copyreg
import datetime
import decimal
import enum
import functools
import hashlib
import io
import json
import math
import os
import pickle
import platform
import queue
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pickle_golden_types as T  # noqa: E402

MINOR = sys.version_info[1]
BIG = 4096  # bytes/bytearray descriptions longer than this are hashed


# ---------------------------------------------------------------------------
# Cases


class Case:
    """One golden value. make() builds the value to pickle; expect() the value
    pickle.loads gives back (differs for PickleBuffer); loads/dumps options
    for persistent ids, extension codes and out-of-band buffers."""

    def __init__(self, name, make, protocols=range(6), min_minor=8, expect=None, noload=False,
                 persid=False, ext=False, oob=False, note=""):
        self.name = name
        self.make = make
        self.protocols = list(protocols)
        self.min_minor = min_minor
        self.expect = expect or make
        self.noload = noload
        self.persid = persid
        self.ext = ext
        self.oob = oob
        self.note = note


CASES = collections.OrderedDict()


def case(name, make, **kw):
    assert name not in CASES, name
    CASES[name] = Case(name, make, **kw)


def fresh(s):
    """A new str object equal to s (never a constant shared with other code)."""
    return "".join(list(s))


# None, bool
case("none", lambda: None)
case("true", lambda: True)
case("false", lambda: False)
case("bools", lambda: [True, False, True])

# ints of every size class
for _n, _v in [
    ("int_0", 0), ("int_1", 1), ("int_m1", -1), ("int_255", 255), ("int_256", 256),
    ("int_65535", 65535), ("int_65536", 65536), ("int_2p31m1", 2**31 - 1), ("int_m2p31", -2**31),
    ("int_2p31", 2**31), ("int_m2p31m1", -2**31 - 1), ("int_2p63m1", 2**63 - 1), ("int_2p63", 2**63),
    ("int_m2p63", -2**63), ("int_m2p63m1", -2**63 - 1), ("int_2p64", 2**64), ("int_2p1000", 2**1000),
    ("int_m2p1000", -2**1000), ("int_m128", -128), ("int_m129", -129),
]:
    case(_n, (lambda v=_v: v))
case("ints_mixed", lambda: [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**63, -2**63 - 1, 2**1000])

# floats
for _n, _v in [("float_0", 0.0), ("float_m0", -0.0), ("float_1_5", 1.5), ("float_1e308", 1e308),
               ("float_inf", math.inf), ("float_minf", -math.inf), ("float_nan", math.nan),
               ("float_tiny", 5e-324), ("float_third", 1 / 3)]:
    case(_n, (lambda v=_v: v))

# str
case("str_empty", lambda: "")
case("str_ascii", lambda: fresh("hello, world"))
case("str_1char", lambda: "a")
case("str_1char_nonlatin", lambda: fresh("\u20ac"))
case("str_255", lambda: fresh("s" * 255))
case("str_256", lambda: fresh("s" * 256))
case("str_70000", lambda: fresh("w" * 70000))
case("str_unicode", lambda: fresh("caf\u00e9 \u65e5\u672c \U0001f600 \\ \n \r \x00 \u0080"))
case("str_emoji", lambda: fresh("\U0001f600\U0001f680"))
case("str_surrogate", lambda: fresh("a\ud800b"), note="lone surrogate: UTF-8 with surrogatepass")
case("str_1char_distinct", lambda: dict(b=chr(98)),
     note="3.11/3.12: the interned identifier 'b' is not the one-char singleton, so 'b' is written twice "
          "and CPython's own loads/dumps does not reproduce the pickle (see redump_file)")
case("str_newlines", lambda: fresh("line1\nline2\\n\r\n"))

# bytes
case("bytes_empty", lambda: b"")
case("bytes_small", lambda: bytes([0, 1, 2, 255, 10, 13, 92, 128]))
case("bytes_1", lambda: b"\x00")
case("bytes_255", lambda: bytes(range(255)))
case("bytes_256", lambda: bytes(range(256)))
case("bytes_300", lambda: bytes(i % 256 for i in range(300)))
case("bytes_70000", lambda: bytes(i % 251 for i in range(70000)))
case("bytes_1mib", lambda: bytes(range(256)) * 4096, protocols=[3, 4, 5],
     note="1 MiB only where bytes are native (protocol 3+); bytes_70000 covers framing at 0-2")
case("bytes_1_distinct", lambda: pickle.loads(b"\x80\x04](C\x010C\x010e."), protocols=[3, 4, 5],
     note="two distinct one-byte bytes (CPython's unpickler makes fresh ones; so does os.read(fd, 1)); "
          "below protocol 3 they load back as the shared singleton b'0' (codecs.encode)")
case("bytes_frames", lambda: [b"a" * 10, bytes(70000), b"b" * 10, bytes(66000), "tail"], protocols=[4, 5],
     note="large payloads are written outside frames")

# bytearray
case("bytearray_empty", lambda: bytearray())
case("bytearray_small", lambda: bytearray(b"\x00abc\xff"))
case("bytearray_300", lambda: bytearray(i % 256 for i in range(300)))
case("bytearray_70000", lambda: bytearray(i % 253 for i in range(70000)))

# tuples
case("tuple_0", lambda: ())
case("tuple_1", lambda: (1,))
case("tuple_2", lambda: (1, "two"))
case("tuple_3", lambda: (1, "two", 3.0))
case("tuple_4", lambda: (1, "two", 3.0, None))
case("tuple_5", lambda: (1, "two", 3.0, None, True))
case("tuple_nested", lambda: ((), ((),), (1, (2, (3, (4, (5,))))), ([], {}), ((1, 2), (3, 4))))
case("tuple_of_empties", lambda: ((), (), ""))

# lists (batching: APPENDS of 1000)
case("list_empty", lambda: [])
case("list_1", lambda: [1])
case("list_1000", lambda: list(range(1000)))
case("list_1001", lambda: list(range(1001)))
case("list_2500", lambda: [i * 7 - 3000 for i in range(2500)])
case("list_mixed", lambda: [None, True, 1, 1.5, fresh("s"), b"b", (), [], {}])
case("list_nested", lambda: [[], [[]], [[[]]], [1, [2, [3]]]])

# dicts (batching: SETITEMS of 1000)
case("dict_empty", lambda: {})
case("dict_1", lambda: {fresh("k"): 1})
case("dict_1000", lambda: {i: i for i in range(1000)})
case("dict_1001", lambda: {i: -i for i in range(1001)})
case("dict_2500", lambda: {"k%d" % i: i for i in range(2500)})
case("dict_keys", lambda: {
    fresh("str"): 1, 2: fresh("int"), (1, fresh("t")): 3, frozenset([1, 2]): 4, None: 5, 1.5: 6,
    b"by": 7, -2**70: 8, False: 9, (): 10,
})
case("dict_true_dedup", lambda: {1: fresh("a"), True: fresh("b"), 1.0: fresh("c"), 2: fresh("d")},
     note="1, True and 1.0 are one key: {1: 'c', 2: 'd'}")
case("dict_nested", lambda: {fresh("a"): {fresh("b"): {fresh("c"): [1, {fresh("d"): ()}]}}})

# sets and frozensets
case("set_empty", lambda: set())
case("set_small", lambda: {1, 2, 3, fresh("x"), (1, 2), None})
case("set_1001", lambda: set(range(1001)))
case("set_strs", lambda: {fresh("s%d" % i) for i in range(20)})
case("frozenset_empty", lambda: frozenset())
case("frozenset_small", lambda: frozenset([1, fresh("two"), 3.0]))
case("frozenset_1001", lambda: frozenset(range(5000, 6001)))
case("sets_nested", lambda: {frozenset([1, 2]), frozenset([frozenset([3])])})


# sharing and cycles
def _shared_str():
    s = "".join(["abc"] * 3)
    return [s, s]


def _unshared_str():
    return ["abc" * 3, "".join(["abc"] * 3)]


def _shared_containers():
    t = (1, 2)
    l = [3]
    d = {fresh("k"): 4}
    b = bytes([1, 2, 3])
    s = {5}
    f = frozenset([6])
    ba = bytearray(b"ba")
    return [t, t, l, l, d, d, b, b, s, s, f, f, ba, ba, (t, l, d)]


def _recursive_list():
    l = []
    l.append(l)
    return l


def _recursive_list2():
    l = [1, 2]
    l.append(l)
    l.append([l])
    return l


def _recursive_dict():
    d = {}
    d[fresh("self")] = d
    return d


def _tuple_list_tuple():
    l = []
    t = (l,)
    l.append(t)
    return t


def _list_tuple_list():
    l = []
    t = (1, l)
    l.append(t)
    return l


def _deep_tuple_cycle():
    l = []
    t = ((1, (l,)), 2)
    l.append(t)
    return [t, l]


case("shared_str", _shared_str)
case("unshared_str", _unshared_str)
case("shared_containers", _shared_containers)
case("recursive_list", _recursive_list)
case("recursive_list2", _recursive_list2)
case("recursive_dict", _recursive_dict)
case("recursive_tuple_list", _tuple_list_tuple, note="tuple containing a list containing the tuple")
case("recursive_list_tuple", _list_tuple_list)
case("recursive_deep_tuple", _deep_tuple_cycle)
case("interned_keys", lambda: [{"key": 1}, {"key": 2}], note="identifier-like literals are interned: memo shared")


# manager messages (PROTOCOL.md section 3)
def _token():
    from multiprocessing.managers import Token

    return Token("ThingRef", ("127.0.0.1", 31652), "7fab019e0950")


_EXPOSED = ("empty", "full", "get", "get_nowait", "join", "put", "put_nowait", "qsize", "task_done")
case("mgr_req_dummy", lambda: (None, "dummy", (), {}))
case("mgr_req_shutdown", lambda: (None, "shutdown", (), {}))
case("mgr_req_create", lambda: (None, "create", ("get_queue",), {}))
case("mgr_req_incref", lambda: (None, "incref", ("7fe8313bdb80",), {}))
case("mgr_req_accept", lambda: (None, "accept_connection", ("MainProcess",), {}))
case("mgr_req_put", lambda: ("7fe8313bdb80", "put", ("hello",), {}))
case("mgr_req_get_timeout", lambda: ("7fe8313bdb80", "get", (), {"timeout": 0.5}))
case("mgr_req_put_payload", lambda: (None, "put", ({"id": 12345, "payload": "x" * 400, "tags": ["a", "b"], "score": 1.5},), {}))
case("mgr_rep_return_none", lambda: ("#RETURN", None))
case("mgr_rep_return_zero", lambda: ("#RETURN", 0))
case("mgr_rep_return_create", lambda: ("#RETURN", ("7fe8313bdb80", _EXPOSED)))
case("mgr_rep_error_empty", lambda: ("#ERROR", queue.Empty()))
case("mgr_rep_error_full", lambda: ("#ERROR", queue.Full()))
case("mgr_rep_error_keyerror", lambda: ("#ERROR", KeyError("missing-key")))
case("mgr_rep_traceback", lambda: ("#TRACEBACK", "Traceback (most recent call last):\n  ...\nKeyError: 'not_exposed'\n"))
case("mgr_rep_unserializable", lambda: ("#UNSERIALIZABLE", "Traceback ...\nTypeError: cannot pickle '_thread.lock' object\n"))
case("mgr_rep_proxy", lambda: ("#PROXY", (("boom", "child", "unpicklable", "value", "child"), _token())))
case("mgr_token", _token)
case("mgr_rebuild_proxy", lambda: T.RebuildProxyLike(_token()), noload=True,
     note="RebuildProxy(DictProxy, Token, 'pickle', {}); loading it would connect to a manager")


# exceptions
def _value_error_notes():
    e = ValueError("bad value", 3)
    e.add_note("a note")
    return e


def _exc_with_attr():
    e = RuntimeError("boom")
    e.extra = [1, 2]
    return e


case("exc_keyerror", lambda: KeyError("k"))
case("exc_empty", lambda: queue.Empty())
case("exc_full", lambda: queue.Full())
case("exc_oserror", lambda: OSError(2, "No such file", "f.txt"))
case("exc_noargs", lambda: ValueError())
case("exc_attr", _exc_with_attr)
case("exc_notes", _value_error_notes, min_minor=11)

# objects
case("datetime_naive", lambda: datetime.datetime(2024, 1, 2, 3, 4, 5, 678901))
case("datetime_utc", lambda: datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc))
case("datetime_offset", lambda: datetime.datetime(2024, 6, 30, 23, 59, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))))
case("datetime_named_offset", lambda: datetime.datetime(1999, 12, 31, tzinfo=datetime.timezone(-datetime.timedelta(hours=3), "BRT")))
case("datetime_fold", lambda: datetime.datetime(2024, 11, 3, 1, 30, fold=1))


def _zoneinfo():
    import zoneinfo

    return datetime.datetime(2024, 3, 31, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))


case("datetime_zoneinfo", _zoneinfo, min_minor=9)
case("date", lambda: datetime.date(2024, 2, 29))
case("time", lambda: datetime.time(12, 34, 56, 789))
case("time_tz", lambda: datetime.time(1, 2, 3, tzinfo=datetime.timezone.utc))
case("timedelta", lambda: datetime.timedelta(days=1, seconds=2, microseconds=3))
case("timedelta_neg", lambda: datetime.timedelta(days=-3, hours=1))
case("decimal", lambda: decimal.Decimal("3.14159"))
case("decimal_specials", lambda: [decimal.Decimal("-0"), decimal.Decimal("1E+100"), decimal.Decimal("-Infinity")])
case("uuid", lambda: uuid.UUID("12345678-1234-5678-1234-567812345678"))
case("complex", lambda: complex(1.5, -2.0))
case("complex_list", lambda: [1j, complex(-0.0, math.inf)])
case("ordereddict", lambda: collections.OrderedDict([("b", 1), ("a", 2)]))
case("namedtuple", lambda: T.Point(1, fresh("y")))
case("plain_instance", lambda: T.Plain(x=1, name=fresh("n"), items=[1, 2]))
case("plain_recursive", lambda: (lambda p: (p.__dict__.update(me=p), p)[1])(T.Plain(a=1)))
case("slotted", lambda: T.Slotted(1, fresh("b")))
case("copyreg_reduced", lambda: T.Reduced(1, [2]))
case("list_subclass", lambda: (lambda l: (l.__dict__.update(tag=1), l)[1])(T.MyList([1, 2, 3])))
case("dict_subclass", lambda: (lambda d: (d.update({"a": 1}), d)[1])(T.MyDict()))
case("newobj_ex", lambda: T.KwOnly(1, 2, key=fresh("v")))
case("partial", lambda: functools.partial(max, 1))
case("partial_kw", lambda: functools.partial(sorted, key=len))
case("global_refs", lambda: [int, len, T.Plain, collections.OrderedDict])
case("global_int", lambda: int)
case("range", lambda: range(5))
case("range_step", lambda: range(10, -10, -3))
case("slice", lambda: slice(1, 2))
case("enum_member", lambda: T.Color.RED)
case("enum_members", lambda: [T.Color.RED, T.Color.GREEN, T.Color.RED])
case("objects_shared", lambda: (lambda d: [d, d, (d,)])(datetime.date(2020, 1, 1)))
case("type_none", lambda: type(None), note="REDUCE(builtins.type, (None,))")

# protocol 5
case("picklebuffer_ro", lambda: pickle.PickleBuffer(b"readonly"), protocols=[5], expect=lambda: b"readonly")
case("picklebuffer_rw", lambda: pickle.PickleBuffer(bytearray(b"writable")), protocols=[5],
     expect=lambda: bytearray(b"writable"))
case("oob_buffers", lambda: [pickle.PickleBuffer(b"ro-oob"), pickle.PickleBuffer(bytearray(b"rw-oob"))],
     protocols=[5], oob=True, expect=lambda: [b"ro-oob", bytearray(b"rw-oob")],
     note="out-of-band: NEXT_BUFFER, READONLY_BUFFER; manifest 'buffers' lists them in order")

# hooks
case("persid", lambda: [fresh("a"), T.Handle(1), {fresh("h"): T.Handle(2)}], persid=True,
     note="Handle(n) pickled as persistent id 'handle:n' (PERSID at 0, BINPERSID above)")
case("ext_codes", lambda: [T.ExtA, T.ExtB, T.ExtC, T.ExtA], protocols=[2, 3, 4, 5], ext=True,
     note="copyreg extension codes 1 (EXT1), 300 (EXT2), 70000 (EXT4)")


# ---------------------------------------------------------------------------
# Pickling with the per-case hooks


class _PersPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, T.Handle):
            return "handle:%d" % obj.n
        return None


def dumps_case(c, value, protocol):
    """pickle.dumps(value, protocol) with the case's hooks; returns (data, buffers)."""
    buffers = []
    f = io.BytesIO()
    kw = {}
    if c.oob:
        kw["buffer_callback"] = lambda b: buffers.append(b.raw().tobytes() if b.raw().readonly else bytearray(b.raw()))
    if c.ext:
        T.register_extensions()
    try:
        p = (_PersPickler if c.persid else pickle.Pickler)(f, protocol, **kw)
        p.dump(value)
    finally:
        if c.ext:
            T.unregister_extensions()
    return f.getvalue(), buffers


class _PersUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        kind, _, n = pid.partition(":")
        if kind != "handle":
            raise pickle.UnpicklingError("unknown persistent id %r" % (pid,))
        return T.Handle(int(n))


def loads_case(c, data, buffers=None):
    """pickle.loads with the case's hooks."""
    if c.ext:
        T.register_extensions()
    try:
        u = (_PersUnpickler if c.persid else pickle.Unpickler)(io.BytesIO(data), buffers=buffers)
        return u.load()
    finally:
        if c.ext:
            T.unregister_extensions()


# ---------------------------------------------------------------------------
# ModelUnpickler: loads a pickle into the generic value model


class GlobalRef:
    """A global reference (module, name) as named in the stream (raw) and
    after the protocol < 3 name mapping."""

    def __init__(self, module, name, raw):
        self.module, self.name, self.raw = module, name, raw

    def __eq__(self, other):
        return isinstance(other, GlobalRef) and (self.module, self.name) == (other.module, other.name)

    def __hash__(self):
        return hash((self.module, self.name))

    def __call__(self, *args):
        return ModelObject("reduce", self, args)


class ModelObject:
    """A generic object: callable + args (+ kwargs), state, appended items."""

    def __init__(self, kind, callable_, args, kwargs=None):
        self.kind, self.callable, self.args, self.kwargs = kind, callable_, tuple(args), kwargs
        self.state, self.has_state = None, False
        self.listitems, self.dictitems = [], []

    def __call__(self, *args):
        return ModelObject("reduce", self, args)

    def append(self, item):
        self.listitems.append(item)

    def extend(self, items):
        self.listitems.extend(items)

    def __setitem__(self, k, v):
        self.dictitems.append((k, v))

    def __setstate__(self, state):
        self.state, self.has_state = state, True


class PersRef:
    def __init__(self, pid):
        self.pid = pid


class BytesModel(bytes):
    """A bytes value in the model: always a new object, as CPython's C
    unpickler makes them (PyBytes_FromStringAndSize(NULL, n) then readinto),
    whereas io.BytesIO.read(1) in pickle._Unpickler returns the shared
    one-byte singleton."""


class SetModel(list):
    """A set in stream order."""

    def add(self, item):
        self.append(item)


class FrozenSetModel(tuple):
    """A frozenset in stream order."""


def _codecs_encode(s, encoding):
    import codecs

    return BytesModel(codecs.encode(s, encoding))


def _bytes(*args):
    return BytesModel(bytes(*args))


_REAL = {
    ("builtins", "set"): SetModel,
    ("builtins", "frozenset"): FrozenSetModel,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "bytes"): _bytes,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "complex"): complex,
}


class ModelUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        raw = (module, name)
        if self.proto < 3:
            import _compat_pickle

            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        real = _REAL.get((module, name))
        if real is not None:
            return real
        return GlobalRef(module, name, raw)

    def persistent_load(self, pid):
        return PersRef(pid)

    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if (func == GlobalRef("builtins", "getattr", None) and len(args) == 2 and isinstance(args[0], GlobalRef)
                and type(args[1]) is str and args[1] and "." not in args[1] and "\n" not in args[1]):
            # getattr(Outer, 'Inner'): how protocols below 4 name a nested
            # global; the value model folds it into Outer.Inner
            parent, name = args
            self.stack[-1] = GlobalRef(parent.module, parent.name + "." + name,
                                       (parent.raw[0], parent.raw[1] + "." + name))
        elif isinstance(func, (GlobalRef, ModelObject)):
            self.stack[-1] = ModelObject("reduce", func, args)
        else:
            self.stack[-1] = func(*args)

    dispatch[pickle.REDUCE[0]] = load_reduce

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(ModelObject("newobj", cls, args))

    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(ModelObject("newobj_ex", cls, args, kwargs))

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def load_inst(self):
        module = self.readline()[:-1].decode("ascii")
        name = self.readline()[:-1].decode("ascii")
        obj = ModelObject("inst", self.find_class(module, name), self.pop_mark())
        self.append(obj)  # after pop_mark, which rebinds self.append

    dispatch[pickle.INST[0]] = load_inst

    def load_obj(self):
        args = self.pop_mark()
        cls = args.pop(0)
        self.append(ModelObject("obj", cls, args))

    dispatch[pickle.OBJ[0]] = load_obj

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if not isinstance(inst, ModelObject):
            raise pickle.UnpicklingError("BUILD on %s" % type(inst).__name__)
        inst.__setstate__(state)

    dispatch[pickle.BUILD[0]] = load_build

    def _fresh_bytes(self):
        self.stack[-1] = BytesModel(self.stack[-1])

    def load_binbytes(self):
        pickle._Unpickler.load_binbytes(self)
        self._fresh_bytes()

    dispatch[pickle.BINBYTES[0]] = load_binbytes

    def load_short_binbytes(self):
        pickle._Unpickler.load_short_binbytes(self)
        self._fresh_bytes()

    dispatch[pickle.SHORT_BINBYTES[0]] = load_short_binbytes

    def load_binbytes8(self):
        pickle._Unpickler.load_binbytes8(self)
        self._fresh_bytes()

    dispatch[pickle.BINBYTES8[0]] = load_binbytes8

    def load_empty_set(self):
        self.append(SetModel())

    dispatch[pickle.EMPTY_SET[0]] = load_empty_set

    def load_frozenset(self):
        obj = FrozenSetModel(self.pop_mark())
        self.append(obj)  # after pop_mark, which rebinds self.append

    dispatch[pickle.FROZENSET[0]] = load_frozenset


def model_load(data, buffers=None, ext=False):
    if ext:
        T.register_extensions()
    try:
        return ModelUnpickler(io.BytesIO(data), buffers=buffers).load()
    finally:
        if ext:
            T.unregister_extensions()


# ---------------------------------------------------------------------------
# describe: value model -> JSON description


def _singleton(x):
    """Values whose identity carries no information (not memoized by pickle,
    or CPython singletons)."""
    if x is None or type(x) in (bool, int, float, complex, GlobalRef):
        return True
    if type(x) is str:
        return len(x) == 0 or (len(x) == 1 and ord(x) < 256)
    if type(x) in (bytes, BytesModel, tuple):
        return len(x) == 0
    return False


def _children(x):
    t = type(x)
    if t in (tuple, list, SetModel, FrozenSetModel):
        return list(x)
    if t is dict:
        out = []
        for k, v in x.items():
            out += [k, v]
        return out
    if t is ModelObject:
        out = [x.callable] + list(x.args)
        if x.kwargs is not None:
            out.append(x.kwargs)
        if x.has_state:
            out.append(x.state)
        out += x.listitems
        for k, v in x.dictitems:
            out += [k, v]
        return out
    if t is PersRef:
        return [x.pid]
    return []


def _fhex(f):
    return float.hex(f)


def _is_exception(g):
    """Whether global g names an exception class (resolved for real)."""
    if not isinstance(g, GlobalRef):
        return False
    try:
        mod = __import__(g.module, fromlist=["_"])
        obj = mod
        for part in g.name.split("."):
            obj = getattr(obj, part)
        return isinstance(obj, type) and issubclass(obj, BaseException)
    except Exception:  # noqa: BLE001
        return False


def describe(root):
    counts = {}
    stack = [root]
    while stack:
        x = stack.pop()
        if _singleton(x):
            continue
        n = counts.get(id(x), 0)
        counts[id(x)] = n + 1
        if n == 0:
            stack.extend(_children(x))
    ids = {}

    def d(x):
        if x is None or x is True or x is False:
            return x
        t = type(x)
        if t is int:
            return x if -2**53 <= x <= 2**53 else {"int": str(x)}
        if t is float:
            return {"float": _fhex(x)}
        if t is complex:
            return {"complex": [_fhex(x.real), _fhex(x.imag)]}
        if t is GlobalRef:
            return {"global": [x.module, x.name], "raw": list(x.raw)}
        shared = not _singleton(x) and counts.get(id(x), 0) > 1
        if shared and id(x) in ids:
            return {"ref": ids[id(x)]}
        out = {}
        if shared:
            ids[id(x)] = len(ids) + 1
            out["id"] = ids[id(x)]
        if t is str:
            u = x.encode("utf-8", "surrogatepass")
            if len(u) > BIG:
                out["str_sha256"] = hashlib.sha256(u).hexdigest()
                out["len"] = len(u)
            else:
                try:
                    x.encode("utf-8")
                    out["str"] = x
                except UnicodeEncodeError:
                    out["str_b64"] = base64.b64encode(u).decode()
        elif t in (bytes, BytesModel, bytearray):
            key = "bytearray" if t is bytearray else "bytes"
            if len(x) > BIG:
                out[key + "_sha256"] = hashlib.sha256(x).hexdigest()
                out["len"] = len(x)
            else:
                out[key] = base64.b64encode(bytes(x)).decode()
        elif t is tuple:
            out["tuple"] = [d(e) for e in x]
        elif t is list:
            out["list"] = [d(e) for e in x]
        elif t is SetModel:
            out["set"] = [d(e) for e in x]
        elif t is FrozenSetModel:
            out["frozenset"] = [d(e) for e in x]
        elif t is dict:
            out["dict"] = [[d(k), d(v)] for k, v in x.items()]
        elif t is ModelObject:
            o = {"kind": x.kind, "callable": d(x.callable), "args": [d(a) for a in x.args],
                 "kwargs": None if x.kwargs is None else d(x.kwargs),
                 "listitems": [d(e) for e in x.listitems],
                 "dictitems": [[d(k), d(v)] for k, v in x.dictitems],
                 "exception": x.kind in ("reduce", "newobj") and _is_exception(x.callable)}
            if x.has_state:
                o["state"] = d(x.state)
            out["object"] = o
        elif t is PersRef:
            out["persid"] = d(x.pid)
        else:
            raise TypeError("describe: unexpected %s" % t.__name__)
        return out

    return d(root)


# ---------------------------------------------------------------------------
# Flags computed from the real value

PLAIN_TYPES = (type(None), bool, int, float, str, bytes, bytearray, tuple, list, dict, set, frozenset)


def flags_of(value):
    plain, has_set, aliasing, recursive = True, False, False, False
    seen = set()
    onpath = set()

    def walk(x):
        nonlocal plain, has_set, aliasing, recursive
        t = type(x)
        if t not in PLAIN_TYPES:
            plain = False
            return
        if t in (set, frozenset):
            has_set = True
        if _singleton(x):
            return
        if id(x) in onpath:
            recursive = True
        if id(x) in seen:
            aliasing = True
            return
        seen.add(id(x))
        onpath.add(id(x))
        if t in (tuple, list, set, frozenset):
            for e in x:
                walk(e)
        elif t is dict:
            for k, v in x.items():
                walk(k)
                walk(v)
        onpath.discard(id(x))

    walk(value)
    flags = []
    if plain:
        flags.append("plain")
    if has_set:
        flags.append("set")
    if aliasing:
        flags.append("aliasing")
    if recursive:
        flags.append("recursive")
    return plain, flags


# ---------------------------------------------------------------------------
# same: deep comparison of real values (types, identity structure, cycles)

_TRACK = (str, bytes, bytearray, tuple, list, dict, set, frozenset)


def same(a, b, _fwd=None, _back=None):
    """Whether b is a faithful copy of a: same types, equal values, and the
    same sharing and cycles (a bijection between the tracked objects)."""
    if _fwd is None:
        _fwd, _back = {}, {}
    if type(a) is not type(b):
        return False
    track = (isinstance(a, _TRACK) or type(a).__module__ == T.__name__) and not _singleton(a) and not isinstance(a, type)
    if track:
        if id(a) in _fwd or id(b) in _back:
            return _fwd.get(id(a)) == id(b) and _back.get(id(b)) == id(a)
        _fwd[id(a)], _back[id(b)] = id(b), id(a)
    t = type(a)
    if t is float:
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if t is complex:
        return same(a.real, b.real) and same(a.imag, b.imag)
    if t in (list, tuple, T.MyList) or (t.__module__ == T.__name__ and issubclass(t, tuple)):
        if len(a) != len(b) or not all(same(x, y, _fwd, _back) for x, y in zip(a, b)):
            return False
        return t not in (T.MyList,) or same(a.__dict__, b.__dict__, _fwd, _back)
    if t in (dict, collections.OrderedDict, T.MyDict):
        if len(a) != len(b):
            return False
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            if not same(ka, kb, _fwd, _back) or not same(va, vb, _fwd, _back):
                return False
        return t is not T.MyDict or same(a.__dict__, b.__dict__, _fwd, _back)
    if t in (set, frozenset):
        return a == b
    if isinstance(a, BaseException):
        return same(a.args, b.args, _fwd, _back) and same(a.__dict__, b.__dict__, _fwd, _back)
    if t is decimal.Decimal:
        return str(a) == str(b)
    if t is functools.partial:
        return a.func is b.func and same(a.args, b.args, _fwd, _back) and same(a.keywords, b.keywords, _fwd, _back)
    if t.__module__ == T.__name__ and hasattr(a, "__dict__") and not isinstance(a, enum.Enum):
        return same(a.__dict__, b.__dict__, _fwd, _back)
    if t is T.Slotted:
        return same(a.a, b.a, _fwd, _back) and same(a.b, b.b, _fwd, _back)
    if t.__name__ == "Token":
        return (a.typeid, a.address, a.id) == (b.typeid, b.address, b.id)
    if isinstance(a, (type, enum.Enum)) or callable(a):
        return a is b
    return a == b


# ---------------------------------------------------------------------------
# Round trip support for the Go tests (run inside scripts/pyhelper.py)


def check_batch(items):
    """items: [[case, protocol, base64 pickle, [base64 buffers...] or None], ...]
    from Go. Each pickle is loaded, compared with the case's expected value
    (same()), and dumped again at the protocol. Returns, per item,
    {"ok": bool, "error": text, "redump": base64, "buffers": [base64...]}."""
    out = []
    for name, protocol, b64, bufs in items:
        c = CASES[name]
        rep = {"ok": False, "error": "", "redump": None, "buffers": None}
        out.append(rep)
        if c.noload:
            rep["error"] = "noload"
            continue
        try:
            buffers = None if bufs is None else [base64.b64decode(x) for x in bufs]
            got = loads_case(c, base64.b64decode(b64), buffers)
            # dump before comparing: same() reads exception __dict__s, which
            # creates them, and a non-NULL dict adds a BUILD to the pickle
            data, obuf = dumps_case(c, got, protocol)
            rep["redump"] = base64.b64encode(data).decode()
            rep["buffers"] = [base64.b64encode(bytes(x)).decode() for x in obuf]
            want = c.expect()
            if not same(want, got):
                rep["error"] = "loaded %r, want %r" % (_short(got), _short(want))
            else:
                rep["ok"] = True
        except Exception as e:  # noqa: BLE001
            rep["error"] = "%s: %s" % (type(e).__name__, e)
    return out


def _short(v):
    r = re.sub(r" at 0x[0-9a-f]+", "", repr(v))  # addresses would make the manifest differ per run
    return r if len(r) < 300 else r[:300] + "..."


# ---------------------------------------------------------------------------
# main


def generate(outdir):
    vdir = os.path.join(outdir, "3.%d" % MINOR)
    os.makedirs(vdir, exist_ok=True)
    for f in os.listdir(vdir):
        if f.endswith(".pickle") or f == "manifest.json":
            os.remove(os.path.join(vdir, f))
    manifest = {
        "python": platform.python_version(),
        "minor": MINOR,
        "generator": "scripts/gen_pickle_golden.py",
        "cases": [],
    }
    for c in CASES.values():
        if MINOR < c.min_minor:
            continue
        value = c.make()
        plain, flags = flags_of(c.expect())
        if c.persid or c.ext or c.oob:
            plain = False
            flags = [f for f in flags if f != "plain"]
        if c.persid:
            flags.append("persid")
        if c.ext:
            flags.append("ext")
        if c.oob:
            flags.append("oob")
        if c.noload:
            flags.append("noload")
        entry = {"name": c.name, "plain": plain, "flags": flags, "repr": _short(value), "note": c.note,
                 "files": [], "skipped": []}
        if c.ext:
            entry["ext"] = {str(code): [cls.__module__, cls.__qualname__] for cls, code in T.EXTENSIONS}
        descs = []
        for p in c.protocols:
            try:
                data, buffers = dumps_case(c, value, p)
            except Exception as e:  # noqa: BLE001
                entry["skipped"].append({"protocol": p, "reason": "%s: %s" % (type(e).__name__, e)})
                continue
            fname = "%s.p%d.pickle" % (c.name, p)
            with open(os.path.join(vdir, fname), "wb") as f:
                f.write(data)
            # the real load must give the expected value, or the case is wrong
            if not c.noload:
                got = loads_case(c, data, buffers)
                if not same(c.expect(), got):
                    raise SystemExit("case %s p%d: loads gives %r" % (c.name, p, _short(got)))
            desc = describe(model_load(data, buffers, c.ext))
            fe = {"protocol": p, "file": fname, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                  "expect": desc}
            if not c.noload:
                # CPython's own loads -> dumps; when it differs from the
                # file, the Go round trip is held to CPython's behaviour
                redump, _ = dumps_case(c, loads_case(c, data, buffers), p)
                if redump != data:
                    rname = "%s.p%d.redump.pickle" % (c.name, p)
                    with open(os.path.join(vdir, rname), "wb") as f:
                        f.write(redump)
                    fe["redump_file"] = rname
            if c.oob:
                fe["buffers"] = [base64.b64encode(bytes(b)).decode() for b in buffers]
                fe["buffers_readonly"] = [isinstance(b, bytes) for b in buffers]
            entry["files"].append(fe)
            descs.append(desc)
        # one shared description when every protocol decodes to the same value
        if descs and all(x == descs[0] for x in descs):
            entry["expect"] = descs[0]
            for fe in entry["files"]:
                del fe["expect"]
        manifest["cases"].append(entry)
    with open(os.path.join(vdir, "manifest.json"), "w") as f:
        # one line per case: small, and diffs stay readable
        cases = manifest.pop("cases")
        head = json.dumps(manifest, sort_keys=True)
        f.write(head[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(e, sort_keys=True) for e in cases))
        f.write("\n]}\n")
    n = sum(len(e["files"]) for e in cases)
    print("%s: %d cases, %d files in %s" % (platform.python_version(), len(cases), n, vdir))


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata", "pickle", "golden")
    generate(os.path.normpath(outdir))


if __name__ == "__main__":
    main()
