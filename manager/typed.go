package manager

// Typed proxies of an existing *Proxy, for a proxy obtained some other way
// than Client.Dict, Client.List, ... (a method returning a proxy, a proxy
// rebuilt by [Client.ProxyFor], one a spawned Go child received). The
// typed proxy takes p over: closing it closes p. Each pickles as its
// Python proxy class, RebuildProxy(DictProxy, ...) and so on.

// NewDictProxy wraps a proxy of a dict (DictProxy).
func NewDictProxy(p *Proxy) *DictProxy { return &DictProxy{shared{p: p, class: "DictProxy"}} }

// NewListProxy wraps a proxy of a list (ListProxy).
func NewListProxy(p *Proxy) *ListProxy { return &ListProxy{shared{p: p, class: "ListProxy"}} }

// NewIteratorProxy wraps a proxy of an iterator (IteratorProxy).
func NewIteratorProxy(p *Proxy) *IteratorProxy {
	return &IteratorProxy{shared{p: p, class: "IteratorProxy"}}
}

// NewValueProxy wraps a proxy of a managers.Value (ValueProxy).
func NewValueProxy(p *Proxy) *ValueProxy { return &ValueProxy{shared{p: p, class: "ValueProxy"}} }

// NewArrayProxy wraps a proxy of an array.array (ArrayProxy).
func NewArrayProxy(p *Proxy) *ArrayProxy { return &ArrayProxy{shared{p: p, class: "ArrayProxy"}} }

// NewNamespaceProxy wraps a proxy of a managers.Namespace
// (NamespaceProxy).
func NewNamespaceProxy(p *Proxy) *NamespaceProxy {
	return &NamespaceProxy{shared{p: p, class: "NamespaceProxy"}}
}

// NewLockProxy wraps a proxy of a Lock, Semaphore or BoundedSemaphore
// (AcquirerProxy).
func NewLockProxy(p *Proxy) *LockProxy { return &LockProxy{shared{p: p, class: "AcquirerProxy"}} }

// NewRLockProxy wraps a proxy of an RLock (AcquirerProxy).
func NewRLockProxy(p *Proxy) *RLockProxy {
	return &RLockProxy{newOwnedLock(p, "AcquirerProxy")}
}

// NewConditionProxy wraps a proxy of a Condition (ConditionProxy).
func NewConditionProxy(p *Proxy) *ConditionProxy {
	return &ConditionProxy{newOwnedLock(p, "ConditionProxy")}
}

// NewEventProxy wraps a proxy of an Event (EventProxy).
func NewEventProxy(p *Proxy) *EventProxy { return &EventProxy{shared{p: p, class: "EventProxy"}} }

// NewBarrierProxy wraps a proxy of a Barrier (BarrierProxy).
func NewBarrierProxy(p *Proxy) *BarrierProxy {
	return &BarrierProxy{shared{p: p, class: "BarrierProxy"}}
}

func newOwnedLock(p *Proxy, class string) ownedLock {
	return ownedLock{shared: shared{p: p, class: class}, mu: make(chanMutex, 1)}
}
