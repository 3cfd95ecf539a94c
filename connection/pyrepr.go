package connection

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pyBytesRepr formats b as Python's repr(bytes) does, e.g. b'#WELCOME#' or
// b'\x00\xff'. CPython's handshake errors embed such reprs.
func pyBytesRepr(b []byte) string {
	return "b" + pyQuote(b, false)
}

// pyStrRepr formats an ASCII-or-UTF-8 string as Python's repr(str) does for
// the characters addresses use (printable text, NUL and control bytes).
func pyStrRepr(s string) string {
	return pyQuote([]byte(s), true)
}

func pyQuote(b []byte, str bool) string {
	q := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte(q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c >= 0x20 && c < 0x7f, str && c >= 0x80:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}

// pyLitParser parses the few Python literals addresses are written in:
// str and bytes literals, integers and tuples of them.
type pyLitParser struct {
	s string
	i int
}

func (p *pyLitParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *pyLitParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyLitParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '(':
		return p.tuple()
	case c == '\'' || c == '"':
		return p.str(false)
	case (c == 'b' || c == 'B') && p.i+1 < len(p.s) && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"'):
		p.i++
		return p.str(true)
	case c == '-' || c >= '0' && c <= '9':
		j := p.i + 1
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, p.errorf("bad integer %q", p.s[p.i:j])
		}
		p.i = j
		return n, nil
	}
	return nil, p.errorf("unexpected %q", p.s[p.i])
}

func (p *pyLitParser) tuple() (any, error) {
	p.i++ // (
	var items []any
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
			return items, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.space()
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated tuple")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ')':
		default:
			return nil, p.errorf("expected ',' or ')'")
		}
	}
}

func (p *pyLitParser) str(isBytes bool) (any, error) {
	q := p.s[p.i]
	p.i++
	var out []byte
	for {
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated string")
		}
		c := p.s[p.i]
		p.i++
		if c == q {
			break
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated escape")
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '\\', '\'', '"':
			out = append(out, e)
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'x':
			if p.i+2 > len(p.s) {
				return nil, p.errorf("short \\x escape")
			}
			n, err := strconv.ParseUint(p.s[p.i:p.i+2], 16, 8)
			if err != nil {
				return nil, p.errorf("bad \\x escape")
			}
			out = append(out, byte(n))
			p.i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := p.i - 1
			k := j
			for k < len(p.s) && k < j+3 && p.s[k] >= '0' && p.s[k] <= '7' {
				k++
			}
			n, _ := strconv.ParseUint(p.s[j:k], 8, 16)
			if n > 255 {
				return nil, errors.New("octal escape out of range")
			}
			out = append(out, byte(n))
			p.i = k
		default:
			return nil, p.errorf("unsupported escape \\%c", e)
		}
	}
	if isBytes {
		return out, nil
	}
	return string(out), nil
}
