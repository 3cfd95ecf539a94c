"""Classes pickled by scripts/gen_pickle_golden.py.

They live in this importable module (on PYTHONPATH=scripts/ in the Go
tests) so that a Python process can load the golden pickles back, and so
that their pickled global references ("pickle_golden_types.Plain") are
stable. Standard library only; importing it registers a copyreg reducer
for Reduced.
"""
import collections
import copyreg
import enum

# A module-level namedtuple: pickles as NEWOBJ(Point, (x, y)).
Point = collections.namedtuple("Point", "x y")


class Color(enum.Enum):
    """An enum whose members pickle by value (3.8-3.11) or by name."""

    RED = 1
    GREEN = 2


class Plain:
    """An instance with a __dict__: NEWOBJ + BUILD(dict) at protocol >= 2."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__.keys() == other.__dict__.keys() and all(
            (v is self and other.__dict__[k] is other) or v == other.__dict__[k]
            for k, v in self.__dict__.items()
        )

    def __repr__(self):
        return "Plain(%s)" % ", ".join("%s=%s" % (k, "<self>" if v is self else repr(v)) for k, v in self.__dict__.items())


class _Pair:
    """Equality and repr on the attributes a and b."""

    __slots__ = ()

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __eq__(self, other):
        return type(self) is type(other) and (self.a, self.b) == (other.a, other.b)

    def __repr__(self):
        return "%s(%r, %r)" % (type(self).__name__, self.a, self.b)


class Slotted(_Pair):
    """A __slots__ class: BUILD((None, {slot: value})); not picklable at protocols 0 and 1."""

    __slots__ = ("a", "b")


class Reduced(_Pair):
    """Pickled through a copyreg.pickle reducer: REDUCE(Reduced, (a, b))."""


def _reduce_reduced(r):
    return Reduced, (r.a, r.b)


copyreg.pickle(Reduced, _reduce_reduced)


class MyList(list):
    """A list subclass: NEWOBJ + BUILD + APPENDS on an object."""

    def __eq__(self, other):
        return type(self) is type(other) and list.__eq__(self, other) and self.__dict__ == other.__dict__

    __hash__ = None


class MyDict(dict):
    """A dict subclass: NEWOBJ + BUILD + SETITEMS on an object."""

    def __eq__(self, other):
        return type(self) is type(other) and dict.__eq__(self, other) and self.__dict__ == other.__dict__

    __hash__ = None


class KwOnly:
    """Uses __getnewargs_ex__, so protocol >= 4 emits NEWOBJ_EX."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        self.args = args
        self.kwargs = kwargs
        return self

    def __getnewargs_ex__(self):
        return self.args, self.kwargs

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __repr__(self):
        return "KwOnly(*%r, **%r)" % (self.args, self.kwargs)


class Handle:
    """Pickled by persistent id ("handle:N") in the persid case."""

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return type(self) is type(other) and self.n == other.n

    def __repr__(self):
        return "Handle(%d)" % self.n


class ExtA:
    """Registered as copyreg extension code 1 (EXT1) in the ext case."""


class ExtB:
    """Registered as copyreg extension code 300 (EXT2) in the ext case."""


class ExtC:
    """Registered as copyreg extension code 70000 (EXT4) in the ext case."""


EXTENSIONS = ((ExtA, 1), (ExtB, 300), (ExtC, 70000))


def register_extensions():
    """Adds the copyreg extension codes of EXTENSIONS (idempotent)."""
    for cls, code in EXTENSIONS:
        key = (cls.__module__, cls.__qualname__)
        if copyreg._extension_registry.get(key) != code:
            copyreg.add_extension(cls.__module__, cls.__qualname__, code)


def unregister_extensions():
    """Removes the extension codes added by register_extensions."""
    for cls, code in EXTENSIONS:
        key = (cls.__module__, cls.__qualname__)
        if copyreg._extension_registry.get(key) == code:
            copyreg.remove_extension(cls.__module__, cls.__qualname__, code)


class RebuildProxyLike:
    """Pickles exactly like a manager DictProxy (BaseProxy.__reduce__),
    without needing a running manager. Never loaded back (that would
    connect to the manager)."""

    def __init__(self, token):
        self.token = token

    def __reduce__(self):
        from multiprocessing.managers import DictProxy, RebuildProxy

        return RebuildProxy, (DictProxy, self.token, "pickle", {})
