"""Python-parent side of mpbridge's spawn interop tests.

Imported inside the long-lived test helper (scripts/pyhelper.py). A Go
worker binary is installed as the spawn executable with use(); run()
starts one Process on it and reports the exit code and what the child
wrote to stderr. Standard library only.
"""
import multiprocessing
import os
import tempfile
import time

ctx = multiprocessing.get_context("spawn")


def use(executable):
    """Make executable (a Go worker, or sys.executable) the spawn executable."""
    ctx.set_executable(executable)


def start(target, args=(), kwargs=None, **pkw):
    """Start a Process with stderr redirected to a temporary file."""
    err = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(err.fileno(), 2)
    try:
        p = ctx.Process(target=target, args=args, kwargs=kwargs or {}, **pkw)
        p.start()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    p._mpb_stderr = err
    return p


def finish(p, timeout=60):
    """Join p; return (exitcode, stderr text)."""
    p.join(timeout)
    if p.exitcode is None:
        p.kill()
        p.join()
        raise AssertionError("child did not exit within %ss" % timeout)
    p._mpb_stderr.seek(0)
    text = p._mpb_stderr.read().decode("utf-8", "replace")
    p._mpb_stderr.close()
    return p.exitcode, text


def run(target, args=(), kwargs=None, timeout=60, **pkw):
    """Start, join and report one child: {'exitcode', 'stderr'}."""
    code, text = finish(start(target, args, kwargs, **pkw), timeout)
    return {"exitcode": code, "stderr": text}


def timed(target, n):
    """Start and join n children one after the other; seconds per child."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = ctx.Process(target=target)
        p.start()
        p.join()
        times.append(time.perf_counter() - t0)
        assert p.exitcode == 0, p.exitcode
    return times


_semprefix = ["/mp"]


def set_semprefix(prefix):
    """Name the semaphores this process (and its children) create prefix-xxxxxxxx."""
    multiprocessing.current_process()._config["semprefix"] = prefix
    _semprefix[0] = prefix


def shm_names():
    """This process's named semaphores currently in /dev/shm."""
    prefix = "sem." + _semprefix[0][1:] + "-"
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(prefix))


def wait_shm_clean(before, timeout=10):
    """Collect garbage until no semaphore beyond `before` is left (feeder
    threads release their queues asynchronously); return the leftovers."""
    import gc
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        left = sorted(set(shm_names()) - set(before))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)
