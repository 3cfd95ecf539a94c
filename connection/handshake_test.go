package connection

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mpbridge/mpbridge"
)

var testKey = []byte("secret-key")

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestHandshakeVectors checks the HMACs against PROTOCOL.md §2.7.
func TestHandshakeVectors(t *testing.T) {
	m := append([]byte("{sha256}"), seq(40)...)
	require.Equal(t, "39c4ff3268da80f68b36eb46879c33a2dedb3ac28faebb6a0279ac6a912624d9", hex.EncodeToString(mac("sha256", testKey, m)))
	require.Equal(t, "6ae2b853ecc155b89b53c8a04f6fac88", hex.EncodeToString(mac("md5", testKey, m)))
	require.Equal(t, "de936bfac84704c988ab8ec2a6d6d714", hex.EncodeToString(mac("md5", testKey, seq(20))))
}

// capture is one challenge/reply pair of PROTOCOL.md §2.8 (key
// b'secret-key'), the challenge without its '#CHALLENGE#' tag.
type capture struct {
	name             string
	challenge, reply string // hex
	// goAnswers: a Go (3.12+-like) responder gives the same reply; false
	// for a legacy responder's MD5 reply to a modern challenge.
	goAnswers bool
}

var captures = []capture{
	{"3.11 client answers 3.12 listener", "7b7368613235367d d0bb6f80f7ef8224cf80192c11f519c4e4909e92c7cca72bc381ba9fbf223785d5f4cea1a53a64ec", "2407220c8011538c5556a2d9efc040bd", false},
	{"3.12 listener answers 3.11 client", "34511b64b40e6238c41f5f35e31385140d7ca643", "13414cde4577d1ccb9851f37731cdf99", true},
	{"3.12 client answers 3.11 listener", "180636c80b079063df6bb8452ad2a5dac4f44bf5", "bb820263790e3fe58cd0901d77e73252", true},
	{"3.11 listener answers 3.12 client", "7b7368613235367d d8fc6a41782073ebbe4051c990d6dd81eae10f5efa69671116cc37595f40092251d30e1fcd27336a", "1736b32f6601f81206a2095c2c725f24", false},
	{"3.12 client answers 3.12 listener", "7b7368613235367d 67de3cc4b14661b11b76387854acc1b0c4aeb2c9652a95a01ae8b27bf8fc9dde0f1ac33f12193698", "7b7368613235367d b6fcbfd745d3ee55680892ca425af4077728dc0b2a6f4163695823756f643fae", true},
	{"3.12 listener answers 3.12 client", "7b7368613235367d fb39062b24bdc654f1861fc25169842db0f08e79e35c7b9d9d59df108ebb96e5f8cad40a7248a4c7", "7b7368613235367d e79784716774ed54d169fefc46afd6653caaea92cb2765c7deddf5e8e9cffcf2", true},
}

// peer runs script against the far end of a socketpair from the Conn it
// returns; the script's error is reported by wait.
func peer(t *testing.T, script func(p *Conn) error) (c *Conn, wait func() error) {
	t.Helper()
	c, p, err := Pipe(true)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		err := script(p)
		p.Close()
		done <- err
	}()
	t.Cleanup(func() { c.Close() })
	return c, func() error {
		c.Close()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return errors.New("peer script hung")
		}
	}
}

// peerCase is a hand-made peer and the outcome expected on the Go side.
type peerCase struct {
	name   string
	script func(p *Conn) error
	refuse bool // Options.RefuseLegacy on the Go side
	kind   AuthErrorKind
	reason string
}

// runPeerCases plays each peer against side (DeliverChallenge or
// AnswerChallenge) with a 300 ms deadline.
func runPeerCases(t *testing.T, cases []peerCase, side func(context.Context, *Conn, []byte) error) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			c, wait := peer(t, tc.script)
			c.opts.RefuseLegacy = tc.refuse
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := side(ctx, c, testKey)
			checkAuth(t, err, tc.kind, tc.reason)
			if tc.kind == AuthTimeout {
				require.ErrorIs(t, err, mpbridge.ErrTimeout)
			}
			require.NoError(t, wait())
		})
	}
}

func expect(p *Conn, want string) error {
	got, err := p.RecvBytes(context.Background(), 1000)
	if err != nil {
		return err
	}
	if string(got) != want {
		return errors.New("peer got " + pyBytesRepr(got) + ", want " + pyBytesRepr([]byte(want)))
	}
	return nil
}

// TestAnswerChallengeCaptures replays the challenges of real CPython
// sessions and checks that the replies are byte for byte CPython's.
func TestAnswerChallengeCaptures(t *testing.T) {
	for _, cp := range captures {
		if !cp.goAnswers {
			continue
		}
		t.Run(cp.name, func(t *testing.T) {
			c, wait := peer(t, func(p *Conn) error {
				ctx := context.Background()
				if err := p.SendBytes(ctx, append([]byte(challengeTag), unhex(t, cp.challenge)...)); err != nil {
					return err
				}
				if err := expect(p, string(unhex(t, cp.reply))); err != nil {
					return err
				}
				return p.SendBytes(ctx, []byte(welcomeMsg))
			})
			require.NoError(t, AnswerChallenge(context.Background(), c, testKey))
			require.NoError(t, wait())
		})
	}
}

// TestVerifyReplyCaptures checks the challenger's verification on the
// replies real CPython peers sent.
func TestVerifyReplyCaptures(t *testing.T) {
	for _, cp := range captures {
		require.Nil(t, verifyReply(testKey, unhex(t, cp.challenge), unhex(t, cp.reply), false), cp.name)
		require.NotNil(t, verifyReply([]byte("other"), unhex(t, cp.challenge), unhex(t, cp.reply), false), cp.name)
	}
}

func TestHandshakeGoToGo(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		keyA, keyB           []byte
		refuseA, refuseB     bool
		wantKindA, wantKindB AuthErrorKind
	}{
		{name: "same key", keyA: testKey, keyB: testKey},
		{name: "empty keys", keyA: []byte{}, keyB: nil},
		{name: "refuse legacy (Go speaks sha256)", keyA: testKey, keyB: testKey, refuseA: true, refuseB: true},
		{name: "wrong key", keyA: testKey, keyB: []byte("other"), wantKindA: AuthWrongKey, wantKindB: AuthWrongKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			a, b, err := Pipe(true)
			require.NoError(t, err)
			defer a.Close()
			defer b.Close()
			a.opts.RefuseLegacy, b.opts.RefuseLegacy = tc.refuseA, tc.refuseB
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			errB := make(chan error, 1)
			go func() { errB <- AnswerChallenge(ctx, b, tc.keyB) }()
			checkAuth(t, DeliverChallenge(ctx, a, tc.keyA), tc.wantKindA, "digest received was wrong")
			checkAuth(t, <-errB, tc.wantKindB, "digest sent was rejected")
		})
	}
}

func checkAuth(t *testing.T, err error, kind AuthErrorKind, reason string) {
	t.Helper()
	if kind == 0 {
		require.NoError(t, err)
		return
	}
	var ae *AuthError
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, mpbridge.ErrAuthentication)
	require.Equal(t, kind, ae.Kind, "%v", err)
	require.Contains(t, ae.Reason, reason)
	require.Contains(t, err.Error(), kind.String())
}

// TestDeliverChallengePeers plays hand-made responders against the Go
// challenger (PROTOCOL.md §2.6).
func TestDeliverChallengePeers(t *testing.T) {
	reply := func(f func(chal []byte) []byte, outcome string) func(p *Conn) error {
		return func(p *Conn) error {
			ctx := context.Background()
			chal, err := p.RecvBytes(ctx, 256)
			if err != nil {
				return err
			}
			if !bytes.HasPrefix(chal, []byte(challengeTag+"{sha256}")) || len(chal) != 59 {
				return errors.New("not a modern challenge: " + pyBytesRepr(chal))
			}
			if err := p.SendBytes(ctx, f(chal[len(challengeTag):])); err != nil {
				return err
			}
			if outcome == "" {
				_, err := p.RecvBytes(ctx, 256)
				if err == io.EOF {
					return nil
				}
				return errors.New("expected nothing more")
			}
			return expect(p, outcome)
		}
	}
	prefixed := func(name string) func([]byte) []byte {
		return func(m []byte) []byte { return append([]byte("{"+name+"}"), mac(name, testKey, m)...) }
	}
	runPeerCases(t, []peerCase{
		{name: "sha256", script: reply(prefixed("sha256"), welcomeMsg)},
		{name: "sha384 accepted", script: reply(prefixed("sha384"), welcomeMsg)},
		{name: "sha3_256", script: reply(prefixed("sha3_256"), welcomeMsg)},
		{name: "sha3_384", script: reply(prefixed("sha3_384"), welcomeMsg)},
		{name: "prefixed md5", script: reply(prefixed("md5"), welcomeMsg)},
		{name: "raw md5 from a legacy peer", script: reply(func(m []byte) []byte { return mac("md5", testKey, m) }, welcomeMsg)},
		{name: "raw md5 refused", refuse: true, script: reply(func(m []byte) []byte { return mac("md5", testKey, m) }, failureMsg),
			kind: AuthProtocol, reason: "RefuseLegacy"},
		{name: "sha512 unsupported", script: reply(func(m []byte) []byte { return append([]byte("{sha512}"), make([]byte, 64)...) }, failureMsg),
			kind: AuthProtocol, reason: "unsupported message length, missing digest prefix, or unsupported digest: message=b'{sha512}\\x00"},
		{name: "20-byte reply", script: reply(func(m []byte) []byte { return make([]byte, 20) }, failureMsg),
			kind: AuthProtocol, reason: "expected 'md5' of length 16 got 20"},
		{name: "short sha256", script: reply(func(m []byte) []byte { return []byte("{sha256}abc") }, failureMsg),
			kind: AuthProtocol, reason: "expected 'sha256' of length 32 got 3"},
		{name: "wrong digest", script: reply(func(m []byte) []byte { return append([]byte("{sha256}"), mac("sha256", []byte("x"), m)...) }, failureMsg),
			kind: AuthWrongKey, reason: "digest received was wrong"},
		{name: "over-long digest", script: reply(func(m []byte) []byte { return append([]byte("{sha256}"), make([]byte, 300)...) }, failureMsg),
			kind: AuthProtocol, reason: "bad message length"},
		{name: "garbage", script: reply(func(m []byte) []byte { return []byte("garbage") }, failureMsg),
			kind: AuthProtocol, reason: "message=b'garbage'"},
		{name: "peer gone", script: func(p *Conn) error { _, err := p.RecvBytes(context.Background(), 256); return err },
			kind: AuthPeerGone, reason: "peer closed the connection"},
		{name: "peer gone mid-frame", script: func(p *Conn) error {
			if _, err := p.RecvBytes(context.Background(), 256); err != nil {
				return err
			}
			rawWrite(t, p, []byte{0, 0, 0, 16, 1, 2})
			return nil
		}, kind: AuthPeerGone, reason: "peer closed the connection"},
		{name: "silent peer", script: func(p *Conn) error {
			_, err := p.RecvBytes(context.Background(), 256)
			if err == nil {
				_, err = p.RecvBytes(context.Background(), 256) // until closed
				if errors.Is(err, io.EOF) {
					err = nil
				}
			}
			return err
		}, kind: AuthTimeout, reason: "timed out waiting for the reply"},
	}, DeliverChallenge)
}

// TestAnswerChallengePeers plays hand-made challengers against the Go
// responder (PROTOCOL.md §2.6).
func TestAnswerChallengePeers(t *testing.T) {
	// challenge sends msg, then expects reply(msg-after-tag) or, if reply
	// is nil, nothing at all; then sends final.
	challenge := func(msg []byte, reply func([]byte) []byte, final string) func(p *Conn) error {
		return func(p *Conn) error {
			ctx := context.Background()
			if err := p.SendBytes(ctx, msg); err != nil {
				return err
			}
			if reply == nil {
				// EOF, or a reset when the refused frame was left unread.
				if _, err := p.RecvBytes(ctx, 1000); err != nil {
					return nil
				}
				return errors.New("the responder answered an unusable challenge")
			}
			if err := expect(p, string(reply(msg[len(challengeTag):]))); err != nil {
				return err
			}
			return p.SendBytes(ctx, []byte(final))
		}
	}
	md5Of := func(m []byte) []byte { return mac("md5", testKey, m) }
	prefixed := func(name string) func([]byte) []byte {
		return func(m []byte) []byte { return append([]byte("{"+name+"}"), mac(name, testKey, m)...) }
	}
	chal := func(s string, n int) []byte { return append([]byte(challengeTag+s), seq(n)...) }
	runPeerCases(t, []peerCase{
		{name: "legacy 20-byte nonce", script: challenge(chal("", 20), md5Of, welcomeMsg)},
		{name: "modern sha256", script: challenge(chal("{sha256}", 40), prefixed("sha256"), welcomeMsg)},
		{name: "modern sha3_384", script: challenge(chal("{sha3_384}", 40), prefixed("sha3_384"), welcomeMsg)},
		{name: "modern md5", script: challenge(chal("{md5}", 40), prefixed("md5"), welcomeMsg)},
		{name: "legacy refused", refuse: true, script: challenge(chal("", 20), nil, ""),
			kind: AuthProtocol, reason: "RefuseLegacy"},
		{name: "prefixed md5 refused", refuse: true, script: challenge(chal("{md5}", 40), nil, ""),
			kind: AuthProtocol, reason: "RefuseLegacy"},
		{name: "rejected", script: challenge(chal("{sha256}", 40), prefixed("sha256"), failureMsg),
			kind: AuthWrongKey, reason: "digest sent was rejected"},
		{name: "garbage instead of a challenge", script: challenge([]byte("#WELCOME#"), nil, ""),
			kind: AuthProtocol, reason: "Protocol error, expected challenge: message=b'#WELCOME#'"},
		{name: "short challenge", script: challenge(chal("", 10), nil, ""),
			kind: AuthProtocol, reason: "challenge too short: {len(message)} bytes"},
		{name: "unknown digest", script: challenge(chal("{blake2b}", 40), nil, ""),
			kind: AuthProtocol, reason: "unsupported message length, missing digest prefix, or unsupported digest: message=b'{blake2b}\\x00\\x01"},
		{name: "no prefix", script: challenge(chal("", 30), nil, ""),
			kind: AuthProtocol, reason: "unsupported message length"},
		{name: "311-byte challenge", script: challenge(chal("", 300), nil, ""),
			kind: AuthProtocol, reason: "bad message length"},
		{name: "peer gone", script: func(p *Conn) error { return nil },
			kind: AuthPeerGone, reason: "peer closed the connection waiting for the challenge"},
		{name: "silent", script: func(p *Conn) error {
			_, err := p.RecvBytes(context.Background(), 256)
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return err
		}, kind: AuthTimeout, reason: "timed out waiting for the challenge"},
	}, AnswerChallenge)
}

func TestDigestOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		ok   bool
	}{
		{strings.Repeat("x", 16), "", true},
		{strings.Repeat("x", 20), "", true},
		{"{sha256}abc", "sha256", true},
		{"{sha3_384}", "sha3_384", true},
		{"{}" + strings.Repeat("x", 30), "", false},
		{"{sha512}abc", "", false},
		{"{toolongname}", "", false},
		{"sha256}abc", "", false},
		{"", "", false},
		{"{", "", false},
	} {
		name, _, ok := digestOf([]byte(tc.in))
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.name, name, tc.in)
	}
}

func TestPyBytesRepr(t *testing.T) {
	for in, want := range map[string]string{
		"#WELCOME#":  `b'#WELCOME#'`,
		"a'b":        `b"a'b"`,
		"a'b\"":      `b'a\'b"'`,
		"\x00\xff\n": `b'\x00\xff\n'`,
		"\\":         `b'\\'`,
	} {
		require.Equal(t, want, pyBytesRepr([]byte(in)))
	}
}
