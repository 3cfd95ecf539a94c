package semlock

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// DefaultPrefix is CPython's semprefix: SemLock names are "/mp-" followed
// by eight random characters.
const DefaultPrefix = "/mp"

// nameChars are the characters of tempfile._RandomNameSequence, which
// CPython uses for the random part of a SemLock name.
const nameChars = "abcdefghijklmnopqrstuvwxyz0123456789_"

// maxNameLen keeps "sem." + name within NAME_MAX (255).
const maxNameLen = 251

// NewName returns prefix + "-" + eight random characters, the form of
// CPython's SemLock._make_name. An empty prefix means DefaultPrefix.
func NewName(prefix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	var b strings.Builder
	b.Grow(len(prefix) + 9)
	b.WriteString(prefix)
	b.WriteByte('-')
	for range 8 {
		b.WriteByte(nameChars[rand.IntN(len(nameChars))])
	}
	return b.String()
}

// CheckName reports whether name can name a semaphore: an optional leading
// "/", then 1 to 251 bytes with no "/", NUL, newline or ":" (the last two
// would break the resource tracker's line protocol), and not "." or "..".
func CheckName(name string) error {
	n := trimSlash(name)
	switch {
	case n == "" || n == "." || n == "..":
		return fmt.Errorf("semlock: invalid semaphore name %q", name)
	case len(n) > maxNameLen:
		return fmt.Errorf("semlock: semaphore name too long (%d bytes)", len(n))
	case strings.ContainsAny(n, "/\x00\n:"):
		return fmt.Errorf("semlock: invalid character in semaphore name %q", name)
	}
	return nil
}

func trimSlash(name string) string { return strings.TrimLeft(name, "/") }
