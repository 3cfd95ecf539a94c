"""Capture what CPython's spawn start method hands to a child.

Usage:  python scripts/spawn_capture.py OUTDIR

For each case below a fresh parent interpreter points
``ctx.set_executable`` at a fake executable (a shell script that records
its signal dispositions, then runs this file with ``--dump``). The fake
records argv, the open file descriptors and the exact bytes of the two
pickles read from ``pipe_handle`` (read opcode by opcode, never to EOF),
then exits 7; the parent records the exit code it saw. Resource-tracker
invocations through the fake executable are recorded too and handed to the
real interpreter, as mpbridge's Go workers do.

Output: OUTDIR/py3.X/<case>.bin (the two pickles, back to back),
<case>.json (argv, fds, signals, exit code, pickle lengths) and <case>.dis
(pickletools disassembly of both pickles). Standard library only;
regenerate with scripts/spawn_capture.sh.
"""
import io
import json
import os
import pickletools
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

FAKE_EXIT = 7

# case name -> interpreter flags for the parent
CASES = {
    "plain": [],
    "queue": [],
    "sync": [],
    "queues": [],
    "daemon_named": [],
    "default_ctx": [],
    "proxy": [],
    "unsupported": [],
    "tracker": [],
    "flags": ["-B", "-s", "-O", "-X", "faulthandler", "-W", "ignore::DeprecationWarning"],
    "module": [],
}


class Recorder:
    """A file-like object that records every byte the reader consumed."""

    def __init__(self, f):
        self.f = f
        self.data = bytearray()

    def read(self, n=-1):
        b = self.f.read(n)
        self.data += b
        return b

    def readline(self):
        b = self.f.readline()
        self.data += b
        return b


def dump(out, argv):
    """The fake executable: record the invocation, then exit FAKE_EXIT."""
    info = {"argv": argv, "pid": os.getpid(), "ppid": os.getppid()}
    sig = "%s.%d.sig" % (out, os.getpid())
    try:
        with open(sig) as f:
            info["signals"] = dict(line.strip().split(":\t") for line in f if line.strip())
        os.unlink(sig)
    except OSError:
        pass
    fds = {}
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            fds[name] = os.readlink("/proc/self/fd/" + name)
        except OSError:
            pass
    info["fds"] = fds
    prog = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else ""
    if "resource_tracker" in prog or "forkserver" in prog:
        with open(out + ".tracker.json", "w") as f:
            json.dump(info, f, indent=1)
        os.execv(sys.executable, [sys.executable] + argv[1:])
    kw = dict(item.split("=") for item in prog[prog.index("(") + 1:prog.rindex(")")].split(", "))
    fd = int(kw["pipe_handle"])
    rec = Recorder(os.fdopen(fd, "rb", closefd=False))
    lengths = []
    for _ in range(2):
        start = len(rec.data)
        for _op in pickletools.genops(rec):
            pass
        lengths.append(len(rec.data) - start)
    info["pickle_lengths"] = lengths
    with open(out + ".bin", "wb") as f:
        f.write(rec.data)
    with open(out + ".child.json", "w") as f:
        json.dump(info, f, indent=1)
    os._exit(FAKE_EXIT)


def make_fake(tmp, out):
    path = os.path.join(tmp, "fake-exe")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "while IFS= read -r l; do case \"$l\" in Sig*) echo \"$l\";; esac; done"
                " < /proc/$$/status > \"%s.$$.sig\"\n"
                "exec '%s' '%s' --dump '%s' \"$0\" \"$@\"\n" % (out, sys.executable, os.path.abspath(__file__), out))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def run_case(name, out):
    import multiprocessing
    from multiprocessing import resource_tracker
    import spawn_tasks

    ctx = multiprocessing.get_context("spawn")
    if name != "tracker":
        resource_tracker.ensure_running()
    keep = []
    kwargs = {}
    pkw = {}
    if name in ("plain", "flags", "module", "tracker"):
        args = (1, "two", 3.5, None, True, b"by", [1, 2], {"a": 1}, (1, 2), 2 ** 70, -5)
        kwargs = {"k": "v"}
    elif name == "queue":
        args = (ctx.Queue(),)
    elif name == "sync":
        args = (ctx.Lock(), ctx.RLock(), ctx.Semaphore(2), ctx.BoundedSemaphore(3), ctx.Event(), ctx.Condition())
    elif name == "queues":
        a, b = ctx.Pipe()
        c, d = ctx.Pipe(duplex=False)
        args = (ctx.SimpleQueue(), ctx.JoinableQueue(5), a, b, c, d)
    elif name == "daemon_named":
        multiprocessing.log_to_stderr(30)
        args = ("x",)
        pkw = {"daemon": True, "name": "worker-A"}
    elif name == "default_ctx":
        multiprocessing.set_start_method("spawn", force=True)
        ctx = multiprocessing
        args = (ctx.Queue(),)
    elif name == "proxy":
        m = ctx.Manager()
        keep.append(m)
        args = (m.Queue(), m.dict(), m.Lock())
    elif name == "unsupported":
        args = (ctx.Value("i", 5),)
    else:
        raise SystemExit("unknown case " + name)
    tmp = tempfile.mkdtemp(prefix="spawncap-")
    ctx.set_executable(make_fake(tmp, out))
    p = ctx.Process(target=spawn_tasks.echo, args=args, kwargs=kwargs, **pkw)
    p.start()
    p.join(60)
    exitcode = p.exitcode
    ctx.set_executable(sys.executable)
    for m in keep:
        m.shutdown()
    with open(out + ".child.json") as f:
        info = json.load(f)
    os.unlink(out + ".child.json")
    info["parent_exitcode"] = exitcode
    info["parent_flags"] = CASES[name]
    info["parent_sys_executable"] = sys.executable
    info["version"] = "%d.%d.%d" % sys.version_info[:3]
    if name == "tracker":
        # The tracker is started without waiting for it: wait for its record.
        deadline = time.time() + 10
        while not os.path.exists(out + ".tracker.json") and time.time() < deadline:
            time.sleep(0.01)
    try:
        with open(out + ".tracker.json") as f:
            info["tracker_invocation"] = json.load(f)
        os.unlink(out + ".tracker.json")
    except OSError:
        pass
    with open(out + ".bin", "rb") as f:
        data = f.read()
    text = io.StringIO()
    bio = io.BytesIO(data)
    pickletools.dis(bio, out=text)
    text.write("---- pickle 2 at offset %d ----\n" % bio.tell())
    pickletools.dis(bio, out=text)
    with open(out + ".dis", "w") as f:
        f.write(text.getvalue())
    with open(out + ".json", "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
    os.remove(os.path.join(tmp, "fake-exe"))
    os.rmdir(tmp)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--dump":
        dump(sys.argv[2], sys.argv[3:])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--case":
        run_case(sys.argv[2], sys.argv[3])
        return
    outdir = os.path.join(sys.argv[1], "py%d.%d" % sys.version_info[:2])
    os.makedirs(outdir, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=HERE)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for name, flags in CASES.items():
        out = os.path.join(os.path.abspath(outdir), name)
        if name == "module":
            cmd = [sys.executable] + flags + ["-m", "spawn_capture", "--case", name, out]
        else:
            cmd = [sys.executable] + flags + [os.path.abspath(__file__), "--case", name, out]
        subprocess.run(cmd, check=True, env=env, cwd=HERE, timeout=120)
        print("captured", out)


if __name__ == "__main__":
    main()
