package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/manager"
	"github.com/mpbridge/mpbridge/pickle"
	"github.com/mpbridge/mpbridge/spawn"
)

func init() {
	spawn.Register("spawn_tasks.proxy_work", proxyWork)
	spawn.Register("spawn_tasks.proxy_typed", proxyTyped)
}

// syncProxyClasses are the proxy classes SyncManager registers its
// typeids with; a rebuilt *manager.Proxy knows only its typeid.
var syncProxyClasses = map[string]string{
	"dict": "DictProxy", "list": "ListProxy", "Iterator": "IteratorProxy",
	"Value": "ValueProxy", "Array": "ArrayProxy", "Namespace": "NamespaceProxy",
	"Lock": "AcquirerProxy", "RLock": "AcquirerProxy", "Semaphore": "AcquirerProxy",
	"BoundedSemaphore": "AcquirerProxy", "Condition": "ConditionProxy",
	"Event": "EventProxy", "Barrier": "BarrierProxy", "Pool": "PoolProxy",
}

// proxyClass names the Python class of a SyncManager proxy of typeid.
func proxyClass(typeid string) string {
	if c, ok := syncProxyClasses[typeid]; ok {
		return c
	}
	return "AutoProxy[" + typeid + "]"
}

// proxyWork is spawn_tasks.proxy_work: get an int from args[0], store its
// double in the dict args[2] under "result", put "done" on args[1].
func proxyWork(ctx context.Context, args []any, _ map[string]any) error {
	inq, ok1 := args[0].(mpbridge.Queue)
	outq, ok2 := args[1].(mpbridge.Queue)
	d, ok3 := args[2].(*manager.Proxy)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("proxy_work: want two queue proxies and a proxy, got %T, %T, %T", args[0], args[1], args[2])
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	item, err := inq.Get(tctx)
	if err != nil {
		return err
	}
	n, ok := item.(int64)
	if !ok {
		return fmt.Errorf("proxy_work: got %T", item)
	}
	if err := manager.NewDictProxy(d).Set(ctx, "result", 2*n); err != nil {
		return err
	}
	return outq.Put(ctx, "done")
}

// proxyTyped is a Go-only target (the Python parent defines a stand-in
// named spawn_tasks.proxy_typed to pickle): it takes an int from the
// queue proxy args[0], stores its double in the dict proxy args[1] under
// "n", then walks the dict with iter() (a method returning a proxy) and
// puts (sorted keys, the iterator's typeid, whether the iterator proxy
// owns a reference, whether the rebuilt proxies do) on the queue.
func proxyTyped(ctx context.Context, args []any, _ map[string]any) error {
	q, ok1 := args[0].(*manager.QueueProxy)
	p, ok2 := args[1].(*manager.Proxy)
	if !ok1 || !ok2 {
		return fmt.Errorf("proxy_typed: want a *manager.QueueProxy and a *manager.Proxy, got %T, %T", args[0], args[1])
	}
	var queue mpbridge.JoinableQueue = q
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	item, err := queue.Get(tctx)
	if err != nil {
		return err
	}
	if err := queue.TaskDone(tctx); err != nil {
		return err
	}
	n, ok := item.(int64)
	if !ok {
		return fmt.Errorf("proxy_typed: got %T", item)
	}
	d := manager.NewDictProxy(p)
	if err := d.Set(tctx, "n", 2*n); err != nil {
		return err
	}
	it, err := d.Iter(tctx)
	if err != nil {
		return err
	}
	var keys []string
	for {
		k, ok, err := it.Next(tctx)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		keys = append(keys, fmt.Sprint(k))
	}
	typeid := it.Proxy().Token().Typeid
	owned := it.Proxy().Owned()
	if err := it.Close(); err != nil { // the iterator's reference is the child's
		return err
	}
	sort.Strings(keys)
	l := make(pickle.List, len(keys))
	for i, k := range keys {
		l[i] = k
	}
	return queue.Put(tctx, pickle.Tuple{&l, typeid, owned, q.Owned() || p.Owned()})
}
