"""Targets of the spawn example, in Python.

The Go worker (main.go) registers Go versions under the same names, so
with ctx.set_executable(<worker>) they run in Go; without it they run here.
The parent needs this module either way: multiprocessing pickles a target
by reference (module + name), so it must be importable in the parent.
"""


def resize(q, results):
    """Halve the size of every image description from q until None."""
    while True:
        item = q.get()
        if item is None:
            break
        results.put({"name": item["name"], "w": item["w"] // 2, "h": item["h"] // 2})


def report(results):
    """Not registered in the Go worker: always runs in Python."""
    import sys
    results.put("python %d.%d" % sys.version_info[:2])
