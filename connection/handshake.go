package connection

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"fmt"
	"hash"
)

// The handshake's messages (multiprocessing/connection.py).
const (
	challengeTag = "#CHALLENGE#"
	welcomeMsg   = "#WELCOME#"
	failureMsg   = "#FAILURE#"

	// nonceLen is MESSAGE_LENGTH of CPython 3.12+: the random bytes after
	// the '{sha256}' prefix of a challenge.
	nonceLen = 40
	// legacyNonceLen and md5Len are _LEGACY_LENGTHS: a message of either
	// length is a legacy (≤3.11) one, answered with raw HMAC-MD5.
	legacyNonceLen = 20
	md5Len         = 16
	// maxDigestName is _MAX_DIGEST_LEN: the longest allowed digest name.
	maxDigestName = 8
	// maxHandshakeMsg is the recv_bytes(256) limit on every handshake
	// message.
	maxHandshakeMsg = 256
)

// digests are CPython's _ALLOWED_DIGESTS.
var digests = map[string]func() hash.Hash{
	"md5":      md5.New,
	"sha256":   sha256.New,
	"sha384":   sha512.New384,
	"sha3_256": func() hash.Hash { return sha3.New256() },
	"sha3_384": func() hash.Hash { return sha3.New384() },
}

// digestOf is _get_digest_name_and_payload: for a legacy-length message it
// returns "" and the message; for '{name}payload' with an allowed name it
// returns name and payload; otherwise ok is false.
func digestOf(msg []byte) (name string, payload []byte, ok bool) {
	if len(msg) == legacyNonceLen || len(msg) == md5Len {
		return "", msg, true
	}
	if len(msg) > 0 && msg[0] == '{' {
		end := min(len(msg), maxDigestName+2)
		if i := bytes.IndexByte(msg[1:end], '}'); i >= 0 {
			name := string(msg[1 : 1+i])
			if _, known := digests[name]; known {
				return name, msg[2+i:], true
			}
		}
	}
	return "", nil, false
}

func unsupportedDigest(msg []byte) string {
	return "unsupported message length, missing digest prefix, or unsupported digest: message=" + pyBytesRepr(msg)
}

func mac(name string, key, msg []byte) []byte {
	h := hmac.New(digests[name], key)
	h.Write(msg)
	return h.Sum(nil)
}

// DeliverChallenge authenticates the peer as CPython's deliver_challenge
// does: it sends '#CHALLENGE#{sha256}' and 40 random bytes, checks the
// reply (raw HMAC-MD5 from a legacy peer, or a '{digest}'-prefixed HMAC),
// and sends '#WELCOME#', or '#FAILURE#' before returning an *AuthError. A
// nil key is used as an empty one. The Conn is left open either way.
func DeliverChallenge(ctx context.Context, c *Conn, key []byte) error {
	const role = "challenger"
	var msg [len(challengeTag) + len("{sha256}") + nonceLen]byte
	copy(msg[:], challengeTag+"{sha256}")
	if _, err := rand.Read(msg[len(challengeTag)+len("{sha256}"):]); err != nil {
		return &AuthError{Kind: AuthProtocol, Role: role, Reason: "no randomness", Err: err}
	}
	if err := c.SendBytes(ctx, msg[:]); err != nil {
		return authIOError(role, "sending the challenge", err)
	}
	resp, err := c.RecvBytes(ctx, maxHandshakeMsg)
	if err != nil {
		e := authIOError(role, "the reply to the challenge", err)
		if e.Kind == AuthProtocol {
			_ = c.SendBytes(ctx, []byte(failureMsg))
		}
		return e
	}
	if e := verifyReply(key, msg[len(challengeTag):], resp, c.opts.RefuseLegacy); e != nil {
		e.Role = role
		_ = c.SendBytes(ctx, []byte(failureMsg))
		return e
	}
	if err := c.SendBytes(ctx, []byte(welcomeMsg)); err != nil {
		return authIOError(role, "sending the welcome", err)
	}
	return nil
}

// verifyReply is _verify_challenge: it checks resp against the challenge
// message msg (without the '#CHALLENGE#' tag).
func verifyReply(key, msg, resp []byte, refuseLegacy bool) *AuthError {
	name, got, ok := digestOf(resp)
	if !ok {
		return &AuthError{Kind: AuthProtocol, Reason: unsupportedDigest(resp)}
	}
	if name == "" {
		name = "md5"
	}
	if refuseLegacy && name == "md5" {
		return &AuthError{Kind: AuthProtocol, Reason: "the peer answered with MD5, refused by RefuseLegacy"}
	}
	want := mac(name, key, msg)
	if len(want) != len(got) {
		return &AuthError{Kind: AuthProtocol, Reason: fmt.Sprintf("expected '%s' of length %d got %d", name, len(want), len(got))}
	}
	if !hmac.Equal(want, got) {
		return &AuthError{Kind: AuthWrongKey, Reason: "digest received was wrong"}
	}
	return nil
}

// AnswerChallenge proves knowledge of key to the peer as CPython 3.12+'s
// answer_challenge does: it receives a challenge, replies raw HMAC-MD5 to a
// legacy (20-byte) one or the '{digest}'-prefixed HMAC to a modern one, and
// expects '#WELCOME#'. Like CPython it sends nothing when the challenge is
// unusable. A nil key is used as an empty one. The Conn is left open either
// way.
func AnswerChallenge(ctx context.Context, c *Conn, key []byte) error {
	const role = "responder"
	chal, err := c.RecvBytes(ctx, maxHandshakeMsg)
	if err != nil {
		return authIOError(role, "the challenge", err)
	}
	if !bytes.HasPrefix(chal, []byte(challengeTag)) {
		return &AuthError{Kind: AuthProtocol, Role: role, Reason: "Protocol error, expected challenge: message=" + pyBytesRepr(chal)}
	}
	msg := chal[len(challengeTag):]
	if len(msg) < legacyNonceLen {
		// The braces are literal in CPython 3.12.1 and 3.13.0 too.
		return &AuthError{Kind: AuthProtocol, Role: role, Reason: "challenge too short: {len(message)} bytes"}
	}
	name, _, ok := digestOf(msg)
	if !ok {
		return &AuthError{Kind: AuthProtocol, Role: role, Reason: unsupportedDigest(msg)}
	}
	if c.opts.RefuseLegacy && (name == "" || name == "md5") {
		return &AuthError{Kind: AuthProtocol, Role: role, Reason: "the peer asked for MD5, refused by RefuseLegacy"}
	}
	var reply []byte
	if name == "" {
		reply = mac("md5", key, msg)
	} else {
		reply = append([]byte("{"+name+"}"), mac(name, key, msg)...)
	}
	if err := c.SendBytes(ctx, reply); err != nil {
		return authIOError(role, "sending the reply", err)
	}
	resp, err := c.RecvBytes(ctx, maxHandshakeMsg)
	if err != nil {
		return authIOError(role, "the welcome", err)
	}
	if string(resp) != welcomeMsg {
		return &AuthError{Kind: AuthWrongKey, Role: role, Reason: "digest sent was rejected"}
	}
	return nil
}
