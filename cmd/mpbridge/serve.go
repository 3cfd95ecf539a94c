package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/mpbridge/mpbridge/connection"
	"github.com/mpbridge/mpbridge/manager"
)

func init() {
	register("serve", runServe, `serve --addr ADDR [--authkey-env NAME | --authkey-file PATH | --authkey-hex HEX] [--queue NAME[=MAXSIZE]]... [--refuse-shutdown] [--verbose]
Serve shared queues to Python multiprocessing manager clients, as a
BaseManager server process does: a Python client registers the typeid
(QueueManager.register('get_queue')), connects with the same address and
authkey and calls m.get_queue(). ADDR is HOST:PORT, /path.sock or @name.
With no authkey flag a random 32-byte key is generated and printed once,
as hex, on stderr. Stops on SIGINT/SIGTERM or a client's shutdown request.`)
}

// serveDefaults register the typeids that `mpbridge serve` offers besides
// the --queue names. The SyncManager typeids (Queue, dict, list, Lock, ...)
// plug in here, so that the server is a drop-in for the one
// multiprocessing.Manager() starts.
var serveDefaults []func(*manager.Server) error

// keyFlags are the address and authkey flags every manager command takes.
type keyFlags struct {
	addr       string
	authkeyEnv string
	authkeyFil string
	authkeyHex string
}

func (k *keyFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&k.addr, "addr", "", "server address: HOST:PORT, /path.sock or @name (required)")
	fs.StringVar(&k.authkeyEnv, "authkey-env", "", "read the authkey from environment variable `NAME` (raw bytes)")
	fs.StringVar(&k.authkeyFil, "authkey-file", "", "read the authkey from file `PATH` (raw bytes, a trailing newline is kept)")
	fs.StringVar(&k.authkeyHex, "authkey-hex", "", "the authkey as `HEX`")
}

// authkey returns the key the flags name, or nil if none was given.
func (k *keyFlags) authkey() ([]byte, error) {
	n := 0
	for _, s := range []string{k.authkeyEnv, k.authkeyFil, k.authkeyHex} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, usageErrorf("give at most one of --authkey-env, --authkey-file and --authkey-hex")
	}
	switch {
	case k.authkeyEnv != "":
		v, ok := os.LookupEnv(k.authkeyEnv)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", k.authkeyEnv)
		}
		return []byte(v), nil
	case k.authkeyFil != "":
		b, err := os.ReadFile(k.authkeyFil)
		if err != nil {
			return nil, err
		}
		return b, nil
	case k.authkeyHex != "":
		b, err := hex.DecodeString(strings.TrimSpace(k.authkeyHex))
		if err != nil {
			return nil, usageErrorf("--authkey-hex: %v", err)
		}
		return b, nil
	}
	return nil, nil
}

func (k *keyFlags) check() error {
	if k.addr == "" {
		return usageErrorf("--addr is required")
	}
	if _, err := connection.ParseAddress(k.addr); err != nil {
		return usageErrorf("--addr: %v", err)
	}
	return nil
}

// queueFlag collects repeated --queue NAME[=MAXSIZE].
type queueFlag []queueSpec

type queueSpec struct {
	name    string
	maxsize int
}

func (q *queueFlag) String() string { return "" }

func (q *queueFlag) Set(s string) error {
	name, size, hasSize := strings.Cut(s, "=")
	if name == "" {
		return errors.New("empty queue name")
	}
	spec := queueSpec{name: name}
	if hasSize {
		n, err := strconv.Atoi(size)
		if err != nil {
			return fmt.Errorf("maxsize %q: %v", size, err)
		}
		spec.maxsize = n
	}
	*q = append(*q, spec)
	return nil
}

func runServe(ctx context.Context, args []string) error {
	s := ioFrom(ctx)
	fs := newFlagSet(ctx, "serve")
	var k keyFlags
	k.add(fs)
	var queues queueFlag
	fs.Var(&queues, "queue", "serve a shared queue.Queue as typeid `NAME[=MAXSIZE]` (repeatable; maxsize 0 = unbounded)")
	refuse := fs.Bool("refuse-shutdown", false, "refuse clients' shutdown requests")
	verbose := fs.Bool("verbose", false, "log every connection event")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `FILE` until the server stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if err := k.check(); err != nil {
		return err
	}
	key, err := k.authkey()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		fmt.Fprintf(s.err, "mpbridge serve: authkey (hex): %s\n", hex.EncodeToString(key))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	srv := manager.NewServer(&manager.ServerOptions{Authkey: key, RefuseShutdown: *refuse, Logger: log})
	for _, reg := range serveDefaults {
		if err := reg(srv); err != nil {
			return err
		}
	}
	for _, q := range queues {
		srv.RegisterQueue(q.name, manager.NewQueue(q.maxsize))
	}
	l, err := manager.Listen(ctx, k.addr)
	if err != nil {
		return err
	}
	names := make([]string, len(queues))
	for i, q := range queues {
		names[i] = q.name
	}
	log.Info("mpbridge serve: listening", "addr", l.Addr().String(), "python", l.Addr().PythonRepr(), "queues", strings.Join(names, ","))
	err = srv.Serve(ctx, l)
	switch {
	case srv.ShutdownRequested():
		log.Info("mpbridge serve: stopped by a shutdown request")
		return nil
	case errors.Is(err, context.Canceled) || err == nil:
		log.Info("mpbridge serve: stopped")
		return nil
	}
	return err
}
