"""A stock Python client of a queue served by `mpbridge serve`.

    export MPB_AUTHKEY=$(head -c 32 /dev/urandom | base64)
    go run ./cmd/mpbridge serve --addr 127.0.0.1:50000 --authkey-env MPB_AUTHKEY --queue get_queue &
    python3 examples/serve_queue/client.py

Nothing to install: this is exactly the client of a Python BaseManager
server. The key comes from the same environment variable.
"""
import os
from multiprocessing.managers import BaseManager

class QueueManager(BaseManager): pass
QueueManager.register('get_queue')
m = QueueManager(address=('127.0.0.1', int(os.environ.get('MPB_PORT', 50000))), authkey=os.environ['MPB_AUTHKEY'].encode())
m.connect()
q = m.get_queue(); q.put({'hello': 'from Python'}); print(q.get(timeout=1))
