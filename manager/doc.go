// Package manager is Go's multiprocessing.managers: a client and a server
// for the manager RPC protocol of CPython's BaseManager and SyncManager,
// wire-compatible with CPython 3.8 to 3.13 in both directions.
//
// # The protocol in one paragraph
//
// Every connection starts with the authkey handshake (the server delivers
// its challenge first, then answers the client's). A connection then
// carries exactly one request to a server function, a pickled tuple
// (None, funcname, args, kwds), and one reply (kind, payload), except
// accept_connection, which turns the connection into a long-lived channel
// of method calls (ident, method, args, kwds) on shared objects. Objects
// are named by idents (lower-case hex strings) and reference counted with
// incref and decref. Replies are ('#RETURN', value), ('#ERROR', exception),
// ('#TRACEBACK', text), ('#PROXY', (exposed, Token)) for methods listed in
// a typeid's method_to_typeid, and ('#UNSERIALIZABLE', text).
//
// # Client
//
// [Dial] connects to a Python (or Go) manager server. [Client.Create]
// makes a shared object of a registered typeid and returns a [Proxy];
// [Proxy.Call] invokes any exposed method. [Client.Queue] returns a
// [QueueProxy], which implements mpbridge.Queue and mpbridge.JoinableQueue.
// [Client.ProxyFor] rebuilds a proxy of an existing token, as unpickling
// one does, and [NewDictProxy], [NewQueueProxy] and the like give any
// [Proxy] a typed API.
// Calls that block on the server use one connection each, taken from a
// pool, so many goroutines can block at once.
//
// # Server
//
// [NewServer] builds a server; [Server.Register] adds a typeid backed by a
// Go [Factory] that returns an [Object] (anything that exposes methods by
// name); [Server.Serve] serves a listener. [Queue] is the server side of
// Python's queue.Queue, with the same semantics (maxsize, blocking put and
// get with timeouts, task_done/join, 3.13's shutdown).
//
// Differences from CPython's server, all deliberate: a connection that
// closes while one of its calls is blocked cancels that call (CPython's
// server thread stays blocked and a get would swallow the next item);
// items a get took but could not send back are returned to the front of
// the queue; a slow or failed handshake costs only that connection.
package manager
