package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/stretchr/testify/require"
)

// syncManagerClient is what multiprocessing.Manager() users write, pointed
// at an existing server instead of a started one.
const syncManagerClient = `
import os, queue
from multiprocessing.managers import SyncManager
m = SyncManager(address=('127.0.0.1', int(os.environ['MPB_PORT'])), authkey=b'secret')
m.connect()
d = m.dict(); d['a'] = 1; d.update(b=[2, 3])
l = m.list([3, 1, 2]); l.sort(); l.append(d['b'])
q = m.Queue(maxsize=1); q.put('x')
try:
    q.put('y', timeout=0.05)
except queue.Full:
    full = True
ev = m.Event(); ev.set()
lock = m.Lock(); got = lock.acquire(); lock.release()
ns = m.Namespace(n=5); ns.n += 1
v = m.Value('i', 7); a = m.Array('d', [1.5, 2.5])
print(sorted(d.items()), list(l), q.get(), full, ev.is_set(), got, ns.n, v.value, list(a))
`

// `mpbridge serve` with no --queue flags serves every SyncManager typeid,
// so unmodified SyncManager clients of every version use it.
func TestServeIsSyncManager(t *testing.T) {
	bin := buildMpbridge(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	serve := exec.Command(bin, "serve", "--addr", addr, "--authkey-env", "MPB_AUTHKEY")
	serve.Env = append(os.Environ(), "MPB_AUTHKEY=secret")
	pytest.Start(t, serve)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)

	pytest.ForEach(t, func(t *testing.T, py pytest.Python) {
		cmd := py.Command("-c", syncManagerClient)
		cmd.Env = append(cmd.Env, fmt.Sprintf("MPB_PORT=%d", port))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "[('a', 1), ('b', [2, 3])] [1, 2, 3, [2, 3]] x True True True 6 7 [1.5, 2.5]\n", string(out))
	})
}
