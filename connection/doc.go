// Package connection is Go's multiprocessing.connection: the frames, the
// channels, the Listener/Client pair and the authkey handshake of CPython's
// multiprocessing/connection.py, byte for byte, so that a Go end and an
// unmodified Python 3.8–3.13 end can talk to each other.
//
// # Frames
//
// Every message is a frame: a signed big-endian 32-bit length followed by
// the payload. A payload longer than 0x7fffffff bytes (2 GiB and more) is
// announced by the length -1 followed by an unsigned big-endian 64-bit
// length, as CPython 3.8+ does. Like CPython, a payload of up to 16384 bytes
// is written together with its header in one write and a larger one as the
// header then the payload (CPython splits there to dodge Nagle delays on
// TCP, not for atomicity). [WriteFrame], [ReadFrame] and [AppendHeader]
// expose the framing for callers that own a raw stream.
//
// A reader never trusts a length: the header is checked against a cap
// (Options.MaxFrame, [DefaultMaxFrame] by default) before anything is
// allocated, and a large payload is stored as its bytes arrive, so a peer
// announcing 2 GiB and sending nothing costs nothing. [io.EOF] is returned
// only at a clean frame boundary; a frame cut short is an error wrapping
// both mpbridge.ErrCorrupt and [io.ErrUnexpectedEOF]. Negative lengths other
// than -1 are mpbridge.ErrCorrupt (CPython silently reads them as empty
// messages).
//
// # Conns
//
// A [Conn] is one Python Connection. It carries bytes ([Conn.SendBytes],
// [Conn.RecvBytes], [Conn.RecvBytesInto]) or pickled values ([Conn.Send],
// [Conn.Recv], pickle protocol 4 like ForkingPickler), can wait for input
// ([Conn.Poll]) and be closed. Sends are serialized by one mutex and
// receives by another: one goroutine may send while another receives, and
// concurrent senders (or receivers) never interleave frames. Every blocking
// method takes a context; its deadline and cancellation are honoured.
//
// A Conn is made from a net.Conn ([NewConn], [Dial], [Listener.Accept]), from
// an inherited file descriptor ([FromFile], as multiprocessing hands pipes to
// children) or as a pair ([Pipe]: a socketpair, or an os.pipe when one-way).
// Descriptor-based Conns never change the blocking mode of the descriptor
// they are given: the flag O_NONBLOCK belongs to the open file description,
// which is shared with the Python process at the other end, and Python's
// recv_bytes fails on a non-blocking descriptor. Each read and write is
// instead made non-blocking by itself (MSG_DONTWAIT on a socket,
// RWF_NOWAIT on a pipe, Linux 4.14+; a poll(2) before a plain read or write
// elsewhere), and waits are poll(2) calls of at most 50 ms, between which
// the context and Close are checked. (Waiting in Go's poller instead, on a
// privately reopened pipe, made round trips with a Python peer twice as
// slow.) A read never consumes more than the current frame, so a descriptor
// can be handed on between messages; Conn.File and Conn.Fd give the
// original descriptor.
//
// The two ends of a [Pipe] are the exception while no other process can
// hold either descriptor (they are close-on-exec): the channel then joins
// two goroutines, and both ends are non-blocking, in Go's poller, reading
// ahead, like a Unix socket from [Dial]. The first Conn.Fd or Conn.File of
// either end switches both for good to the shared behaviour above.
//
// If a context ends, or the peer sends a frame over the limit, while a frame
// is half read (or half written), the stream cannot be resynchronised: that
// direction of the Conn fails from then on, as CPython makes a Connection
// unreadable after "bad message length".
//
// # Addresses
//
// One textual form names an endpoint everywhere ([ParseAddress]): HOST:PORT
// for TCP (IPv4, or [IPv6]:PORT between Go peers: Python's Client cannot dial
// IPv6), /path (or ./path) for a Unix socket and @name for a Linux abstract
// Unix socket. [Address.Python] and [AddressFromPython] convert to and from
// Python's forms: ('host', port), '/path' and '\0name'.
//
// # Authentication
//
// [Listen] with an authkey authenticates every connection before
// [Listener.Accept] hands it out (the listener delivers a challenge, then
// answers one); [Dial] answers, then delivers. Handshakes run off the accept
// loop, each in its own goroutine and under a deadline
// (Options.HandshakeTimeout), so a silent or misconfigured client never
// delays the others.
//
// Both generations of the handshake are spoken. Go challenges in the modern
// form (3.12+: '{sha256}' and 40 random bytes), which every CPython 3.8+
// answers; as challenger it accepts a raw 16-byte HMAC-MD5 (legacy peers) or
// a '{md5|sha256|sha384|sha3_256|sha3_384}'-prefixed digest; as responder it
// answers a 20-byte legacy challenge with raw HMAC-MD5 and a prefixed one
// with the same digest, exactly as CPython 3.12+ does. Digests are compared
// in constant time; handshake frames are capped at 256 bytes; a challenger
// always sends #FAILURE# before failing. Options.RefuseLegacy rejects MD5
// peers, which Python cannot do. Failures are [*AuthError] values wrapping
// mpbridge.ErrAuthentication, carrying CPython's reason text and saying which
// it was: a wrong key, a protocol mismatch, a peer gone or a timeout.
//
// A nil authkey means no handshake. An empty, non-nil authkey still
// authenticates, as CPython 3.13 does; CPython 3.12 and older Listeners skip
// the handshake when the key is empty, b"" (a Go Dial with an empty key to such a
// Listener fails with a timeout, where a Python Client would hang).
//
// # Differences from CPython
//
// Beyond the stricter checks above: a Go Listener accepts in the background
// and authenticates concurrently, so the kernel backlog is not the only
// queue; Options.HandshakeTimeout bounds handshakes on both sides (Python
// waits forever); the '-1' escape header is written as CPython does, in two
// writes.
package connection
