"""Python side of the connection interop tests (interop/connection_test.go).

A long-lived peer, one per Python version, shared by many test cases. It
reads one JSON request per line on stdin and answers one JSON line on
stdout:

    {"id": 7, "op": "listen", ...}   ->   {"id": 7, "result": ...}
                                      or   {"id": 7, "error": {"type": "AuthenticationError",
                                                               "msg": "digest received was wrong"}}

Every request runs in its own thread, so a blocking accept() or recv() does
not hold up the others (the Go test dials while Python accepts). Listeners
and connections live in tables and are named by integer ids. Addresses are
passed as Python expressions (the Go side formats them with
Address.PythonRepr) and returned as repr() (parsed by ParsePythonAddress).
Bytes travel as base64. Standard library only; runs on CPython 3.8-3.13.

Operations:
  version                                   -> "3.12.1"
  listen    address, authkey, backlog       -> {"lid", "address"}
  accept    lid                             -> cid
  client    address, authkey                -> cid
  fromfd    fd, readable, writable          -> cid   (Connection(fd, ...))
  raw_write   cid, data                     -> null      (os.write on the fd: no framing)
  send_bytes  cid, data                     -> null
  recv_bytes  cid, maxlength                -> data
  echo_bytes  cid, count[, to][, into]      -> [sizes]   (recv_bytes, send back (or to
                                                         the connection `to`), count times;
                                                         with into=N: recv_bytes_into an
                                                         N-byte buffer, and -> count)
  send      cid, expr                       -> null      (conn.send(eval(expr)))
  recv      cid                             -> repr(obj)
  echo      cid, count                      -> [reprs]   (recv, send back, count times)
  check     cid, expr                       -> bool      (conn.recv() == eval(expr))
  poll      cid, timeout                    -> bool
  close     cid | lid                       -> null
  spawn     argv, env, duplex, sizes        -> {"rc", "stderr", "sizes"}
            (a Python parent hands a Pipe end to a child process, sends
             frames of the given sizes and checks that they come back)
"""
import ast
import base64
import json
import multiprocessing.connection as mpc
import os
import subprocess
import sys
import threading
import traceback

_out_lock = threading.Lock()
_tables_lock = threading.Lock()
_listeners = {}
_conns = {}
_next_id = [0]


def _store(table, obj):
    with _tables_lock:
        _next_id[0] += 1
        table[_next_id[0]] = obj
        return _next_id[0]


def _key(req):
    k = req.get("authkey")
    return None if k is None else base64.b64decode(k)


def _conn(req):
    return _conns[req["cid"]]


def _pattern(n, seed):
    return bytes((i ^ seed) & 0xFF for i in range(n))


def op_version(req):
    return "%d.%d.%d" % sys.version_info[:3]


def op_listen(req):
    address = ast.literal_eval(req["address"])
    listener = mpc.Listener(address, backlog=req.get("backlog", 1), authkey=_key(req))
    return {"lid": _store(_listeners, listener), "address": repr(listener.address)}


def op_accept(req):
    return _store(_conns, _listeners[req["lid"]].accept())


def op_client(req):
    return _store(_conns, mpc.Client(ast.literal_eval(req["address"]), authkey=_key(req)))


def op_fromfd(req):
    c = mpc.Connection(req["fd"], readable=req.get("readable", True), writable=req.get("writable", True))
    return _store(_conns, c)


def op_raw_write(req):
    """Write bytes to the connection's descriptor, bypassing the framing."""
    os.write(_conn(req).fileno(), base64.b64decode(req["data"]))


def op_send_bytes(req):
    _conn(req).send_bytes(base64.b64decode(req["data"]))


def op_recv_bytes(req):
    return base64.b64encode(_conn(req).recv_bytes(req.get("maxlength"))).decode()


def _echo_ends(req):
    """The connection an echo reads (cid) and the one it answers on (`to`,
    or cid itself)."""
    c = _conn(req)
    return c, (_conns[req["to"]] if req.get("to") else c)


def _echo(req, recv, send, describe):
    """Receive count messages from cid and send each back (or to `to`)."""
    c, out = _echo_ends(req)
    seen = []
    for _ in range(req["count"]):
        m = getattr(c, recv)()
        getattr(out, send)(m)
        seen.append(describe(m))
    return seen


def op_echo_bytes(req):
    if req.get("into"):
        return _echo_into(req)
    return _echo(req, "recv_bytes", "send_bytes", len)


def _echo_into(req):
    """echo_bytes with recv_bytes_into a reused buffer of `into` bytes, as
    scripts/bench_conn.py's child does (for the Go-with-Python benchmark)."""
    c, out = _echo_ends(req)
    buf = bytearray(req["into"])
    for _ in range(req["count"]):
        k = c.recv_bytes_into(buf)
        out.send_bytes(buf, 0, k)
    return req["count"]


def op_send(req):
    _conn(req).send(eval(req["expr"]))


def op_recv(req):
    return repr(_conn(req).recv())


def op_echo(req):
    return _echo(req, "recv", "send", repr)


def op_check(req):
    got = _conn(req).recv()
    want = eval(req["expr"])
    if got != want or type(got) is not type(want):
        raise AssertionError("got %r, want %r" % (got, want))
    return True


def op_poll(req):
    return _conn(req).poll(req.get("timeout", 0.0))


def op_close(req):
    with _tables_lock:
        obj = _conns.pop(req["cid"]) if "cid" in req else _listeners.pop(req["lid"])
    obj.close()


def op_spawn(req):
    """Hand a pipe end to a child, exchange frames of the given sizes."""
    duplex = req.get("duplex", True)
    if duplex:
        mine, theirs = mpc.Pipe(True)
        child_fds = [theirs.fileno()]
        mode = "duplex"
        sender = receiver = mine
        keep = [theirs]
    else:
        # Two one-way pipes: the child reads the first and writes the second.
        c_r, p_w = mpc.Pipe(False)
        p_r, c_w = mpc.Pipe(False)
        child_fds = [c_r.fileno(), c_w.fileno()]
        mode = "oneway"
        sender, receiver = p_w, p_r
        keep = [c_r, c_w]
    env = dict(os.environ)
    env.update(req.get("env", {}))
    env["MPB_FDS"] = ",".join(str(fd) for fd in child_fds)
    env["MPB_MODE"] = mode
    proc = subprocess.Popen(req["argv"], pass_fds=child_fds, env=env, stderr=subprocess.PIPE)
    for c in keep:
        c.close()  # the child holds them now
    got = []
    try:
        for i, n in enumerate(req["sizes"]):
            data = _pattern(n, i)
            sender.send_bytes(data)
            back = receiver.recv_bytes()
            if back != data:
                raise AssertionError("frame %d of %d bytes came back as %d different bytes" % (i, n, len(back)))
            got.append(len(back))
        for expr in req.get("objects", []):
            obj = eval(expr)
            sender.send(obj)
            back = receiver.recv()
            if back != obj or type(back) is not type(obj):
                raise AssertionError("%r came back as %r" % (obj, back))
            got.append(repr(back))
    finally:
        sender.close()
        if receiver is not sender:
            receiver.close()
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    return {"rc": proc.returncode, "stderr": err.decode(errors="replace"), "got": got}


def _reply(obj):
    text = json.dumps(obj)
    with _out_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _run(req):
    try:
        result = globals()["op_" + req["op"]](req)
        _reply({"id": req["id"], "result": result})
    except BaseException as e:  # noqa: BLE001 - every failure goes back to Go
        _reply({"id": req["id"], "error": {"type": type(e).__name__, "msg": str(e),
                                            "traceback": traceback.format_exc()}})


def main():
    for line in sys.stdin:
        line = line.strip()
        if line:
            threading.Thread(target=_run, args=(json.loads(line),), daemon=True).start()


if __name__ == "__main__":
    main()
