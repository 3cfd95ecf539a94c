"""The Python side of examples/go_worker: a BaseManager server holding a
queue of jobs and a queue of results, as a Python program would set up for
its own worker processes.

    MPB_AUTHKEY=secret python3 examples/go_worker/server.py &
    MPB_AUTHKEY=secret go run ./examples/go_worker --addr 127.0.0.1:50001

It puts JOBS numbers in get_jobs, then one None per worker to stop them,
and prints the results the workers put in get_results.
"""
import os
import queue
import sys
from multiprocessing.managers import BaseManager

jobs, results = queue.Queue(), queue.Queue()


def get_jobs():
    return jobs


def get_results():
    return results


class JobManager(BaseManager):
    pass


JobManager.register('get_jobs', callable=get_jobs)
JobManager.register('get_results', callable=get_results)

if __name__ == '__main__':
    n = int(os.environ.get('JOBS', 10))
    workers = int(os.environ.get('WORKERS', 1))
    port = int(os.environ.get('MPB_PORT', 50001))
    m = JobManager(address=('127.0.0.1', port), authkey=os.environ['MPB_AUTHKEY'].encode())
    m.start()
    print('serving at %s:%d' % m.address, flush=True)
    q, r = m.get_jobs(), m.get_results()
    for i in range(n):
        q.put({'id': i, 'x': i})
    for _ in range(workers):
        q.put(None)
    done = sorted((r.get(timeout=float(os.environ.get('TIMEOUT', 60))) for _ in range(n)), key=lambda d: d['id'])
    for d in done:
        print(d['id'], d['x'], '->', d['y'], 'by', d['worker'])
    m.shutdown()
    sys.exit(0 if len(done) == n else 1)
