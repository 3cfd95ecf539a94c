"""Targets used by mpbridge's spawn tests, captures and examples.

Each function exists twice: here, so that a Python parent can pickle it by
reference (``spawn_tasks.echo``) and a Python child can run it, and in Go,
registered under the same name in the worker binary used by the tests
(``spawn/internal/testworker``). Standard library only.
"""
import os
import sys
import time


def noop(*args, **kwargs):
    """Do nothing: the trivial target of the start-up benchmark."""


def echo(out, *args, **kwargs):
    """Put a description of the arguments on the queue `out`."""
    out.put({"args": [describe(a) for a in args],
             "kwargs": {k: describe(v) for k, v in kwargs.items()},
             "pid": os.getpid()})


def describe(v):
    """A JSON-friendly description of a value received by a child."""
    mod = type(v).__module__
    if mod.startswith("multiprocessing"):
        return "<%s.%s>" % (mod, type(v).__qualname__)
    return v


def double(inq, outq):
    """Read ints from inq until None; put their doubles on outq."""
    while True:
        item = inq.get()
        if item is None:
            break
        outq.put(item * 2)


def exit_with(code):
    """Leave with sys.exit(code)."""
    sys.exit(code)


def fail(message):
    """Raise an exception (the child exits 1 with a traceback)."""
    raise ValueError(message)


def put_forever(q):
    """Put items until killed."""
    i = 0
    while True:
        q.put(i)
        i += 1


def sleep(seconds):
    """Sleep (a child to terminate)."""
    time.sleep(seconds)


def leak_semaphore(path):
    """Create a spawn-context Lock, write its name to path, and die without cleanup."""
    import multiprocessing
    lock = multiprocessing.get_context("spawn").Lock()
    with open(path, "w") as f:
        f.write(lock._semlock.name)
    os._exit(3)


def record(path, *args, **kwargs):
    """Write the repr of every argument and facts about this child to path (JSON)."""
    import json
    import multiprocessing
    me = multiprocessing.current_process()
    parent = multiprocessing.parent_process()
    with open(path, "w") as f:
        json.dump({"args": [repr(a) for a in args],
                   "kwargs": {k: repr(v) for k, v in sorted(kwargs.items())},
                   "name": me.name,
                   "authkey": me.authkey.hex(),
                   "daemon": me.daemon,
                   "parent_pid": parent.pid if parent else None,
                   "parent_alive": parent.is_alive() if parent else None,
                   "language": "python",
                   "version": "%d.%d" % sys.version_info[:2]}, f)


def python_only(path):
    """A target the Go test worker does not register: it is handed to Python."""
    record(path, "python_only")


def panic_now():
    """Go's version panics; Python's raises."""
    raise RuntimeError("panic_now")


def wait_event(ev, out):
    """Wait for ev (30 s at most) and report whether it was set."""
    out.put(ev.wait(30))


def set_event_under_lock(lock, ev):
    """Take lock (held by the parent until it releases it), then set ev."""
    with lock:
        ev.set()


def join_worker(jq, out):
    """Move items from jq to out, marking each done, until None."""
    while True:
        item = jq.get()
        jq.task_done()
        if item is None:
            break
        out.put(item)


def conn_echo(conn):
    """Send back every object received on conn until None."""
    while True:
        obj = conn.recv()
        conn.send(obj)
        if obj is None:
            break


def proxy_work(inq, outq, d):
    """Use manager proxies: get an int from inq, store its double in d, put 'done' on outq."""
    item = inq.get(timeout=30)
    d["result"] = item * 2
    outq.put("done")
