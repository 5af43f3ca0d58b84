package tlib

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Trace text, in the style of Genesys T-Server logs (docs/cti-link.md,
// "Trace format"):
//
//	message EventEstablished
//		AttributeThisDN	'5001'
//		AttributeConnID	006502a8c4e1b001
//		AttributeCallType	2
//		AttributeUserData	[2]
//			'GSIP_RECORD'	'ON'
//			'Priority'	5
//
// Attribute values: 'string', decimal int, ConnID as 16 hex digits, [n]
// followed by n pair lines. Key-value values: 'String', u'Unicode',
// x'hex' Binary, decimal Int, [n] List. Quoted text escapes \\ \' \n \r \t
// and \xHH (other control bytes and bytes that are not UTF-8).
//
// Where the attribute's table kind would make a value ambiguous the value
// carries a marker: a ConnID in an attribute that is not a ConnID
// attribute is written 0x<16 hex digits>, an int in a ConnID attribute
// with an explicit sign (+5).

// TraceEntry is one message of a trace file and its time offset.
type TraceEntry struct {
	At  time.Duration // offset given by a preceding "@+1.500s" line, 0 if none
	Msg *Message
}

// Trace returns m in Genesys-log style; ParseTrace reads it back.
func (m *Message) Trace() string {
	var b strings.Builder
	m.appendTrace(&b)
	return b.String()
}

func (m *Message) appendTrace(b *strings.Builder) {
	b.WriteString("message ")
	b.WriteString(m.Type.String())
	b.WriteByte('\n')
	for i := range m.Attrs {
		a := &m.Attrs[i]
		b.WriteByte('\t')
		b.WriteString(a.ID.String())
		b.WriteByte('\t')
		known := a.ID.Kind()
		switch a.Kind {
		case KindString:
			writeQuoted(b, a.Str)
		case KindInt:
			if known == KindConnID && a.Int >= 0 {
				b.WriteByte('+')
			}
			b.WriteString(strconv.FormatInt(a.Int, 10))
		case KindConnID:
			if known != KindConnID {
				b.WriteString("0x")
			}
			b.WriteString(a.Conn.String())
		case KindList:
			writeList(b, a.List, 2)
			continue
		default:
			fmt.Fprintf(b, "<kind %d>", a.Kind)
		}
		b.WriteByte('\n')
	}
}

// writeList writes "[n]\n" and the pairs at indent tabs.
func writeList(b *strings.Builder, l KVList, indent int) {
	b.WriteByte('[')
	b.WriteString(strconv.Itoa(len(l)))
	b.WriteString("]\n")
	for i := range l {
		kv := &l[i]
		for range indent {
			b.WriteByte('\t')
		}
		writeQuoted(b, kv.Key)
		b.WriteByte('\t')
		switch kv.Type {
		case KVString:
			writeQuoted(b, kv.Str)
		case KVUnicode:
			b.WriteByte('u')
			writeQuoted(b, kv.Str)
		case KVInt:
			b.WriteString(strconv.FormatInt(int64(kv.Int), 10))
		case KVBinary:
			const hexdigits = "0123456789abcdef"
			b.WriteString("x'")
			for _, c := range kv.Bin {
				b.WriteByte(hexdigits[c>>4])
				b.WriteByte(hexdigits[c&15])
			}
			b.WriteByte('\'')
		case KVNested:
			writeList(b, kv.List, indent+1)
			continue
		default:
			fmt.Fprintf(b, "<type %d>", kv.Type)
		}
		b.WriteByte('\n')
	}
}

func writeQuoted(b *strings.Builder, s string) {
	const hexdigits = "0123456789abcdef"
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\x`)
				b.WriteByte(hexdigits[c>>4])
				b.WriteByte(hexdigits[c&15])
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\'':
			b.WriteString(`\'`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('\'')
}

// WriteTrace writes entries as a trace file: each message preceded by an
// "@+<offset>" line when its offset is not zero, messages separated by a
// blank line.
func WriteTrace(w io.Writer, entries []TraceEntry) error {
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.At != 0 {
			b.WriteString("@+")
			b.WriteString(e.At.String())
			b.WriteByte('\n')
		}
		e.Msg.appendTrace(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxTraceLine bounds one line of trace text (a MaxFrame binary value
// written as hex fits).
const maxTraceLine = 4 * MaxFrame

// ParseTrace reads trace text: messages as Trace writes them, "@+<duration>"
// lines giving the offset of the message that follows (time.ParseDuration
// syntax, e.g. @+1.5s), blank lines and lines starting with '#'. Leading
// whitespace of every line is ignored; list entries are counted, not
// indented. Errors wrap ErrTrace and name the line.
func ParseTrace(r io.Reader) ([]TraceEntry, error) {
	p := traceParser{sc: bufio.NewScanner(r)}
	p.sc.Buffer(make([]byte, 0, 4096), maxTraceLine)
	var (
		out     []TraceEntry
		at      time.Duration
		atLine  int
		current *Message
	)
	for {
		line, ok, err := p.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch {
		case strings.HasPrefix(line, "@"):
			if atLine != 0 {
				return nil, p.errf("offset without a message after it (line %d)", atLine)
			}
			d, err := parseOffset(line)
			if err != nil {
				return nil, p.errf("%v", err)
			}
			at, atLine = d, p.line
			current = nil
		case strings.HasPrefix(line, "message"):
			rest := line[len("message"):]
			name := strings.TrimSpace(rest)
			if !startsWithSpace(rest) || name == "" {
				return nil, p.errf("want \"message <Name>\", got %q", line)
			}
			t, ok := ParseMessageType(name)
			if !ok {
				return nil, p.errf("unknown message %q", name)
			}
			current = &Message{Type: t}
			out = append(out, TraceEntry{At: at, Msg: current})
			at, atLine = 0, 0
		default:
			if current == nil {
				return nil, p.errf("attribute line outside a message: %q", line)
			}
			a, err := p.attr(line)
			if err != nil {
				return nil, err
			}
			current.Attrs = append(current.Attrs, a)
		}
	}
	if atLine != 0 {
		return nil, p.errf("offset without a message after it (line %d)", atLine)
	}
	return out, nil
}

func startsWithSpace(s string) bool { return s != "" && (s[0] == ' ' || s[0] == '\t') }

func parseOffset(line string) (time.Duration, error) {
	s, ok := strings.CutPrefix(line, "@+")
	if !ok {
		return 0, fmt.Errorf("want \"@+<duration>\", got %q", line)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad offset %q", line)
	}
	return d, nil
}

type traceParser struct {
	sc   *bufio.Scanner
	line int
}

func (p *traceParser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrTrace, p.line, fmt.Sprintf(format, args...))
}

// next returns the next line that is not blank or a comment, with leading
// and trailing white space removed.
func (p *traceParser) next() (string, bool, error) {
	for p.sc.Scan() {
		p.line++
		s := strings.TrimSpace(p.sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		return s, true, nil
	}
	if err := p.sc.Err(); err != nil {
		return "", false, fmt.Errorf("%w: line %d: %w", ErrTrace, p.line+1, err)
	}
	return "", false, nil
}

// splitField splits "name<ws>rest".
func splitField(line string) (string, string) {
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimLeft(line[i:], " \t")
}

func (p *traceParser) attr(line string) (Attr, error) {
	name, v := splitField(line)
	id, ok := ParseAttrID(name)
	if !ok {
		return Attr{}, p.errf("unknown attribute %q", name)
	}
	a := Attr{ID: id}
	known := id.Kind()
	switch {
	case v == "":
		return a, p.errf("%s: no value", name)
	case v[0] == '\'':
		s, rest, err := unquote(v)
		if err != nil {
			return a, p.errf("%s: %v", name, err)
		}
		if rest != "" {
			return a, p.errf("%s: text after the closing quote: %q", name, rest)
		}
		a.Kind, a.Str = KindString, s
	case v[0] == '[':
		n, err := listCount(v)
		if err != nil {
			return a, p.errf("%s: %v", name, err)
		}
		a.Kind = KindList
		if a.List, err = p.list(n, 1); err != nil {
			return a, err
		}
	default:
		tok, rest := splitField(v)
		if rest != "" && rest[0] != '(' {
			return a, p.errf("%s: unexpected %q after the value", name, rest)
		}
		hexTok, hasPrefix := strings.CutPrefix(tok, "0x")
		switch {
		case hasPrefix || known == KindConnID && isHex(tok) && len(tok) <= 16:
			c, err := ParseConnID(hexTok)
			if err != nil {
				return a, p.errf("%s: %v", name, err)
			}
			a.Kind, a.Conn = KindConnID, c
		case isDecimal(tok):
			n, err := strconv.ParseInt(tok, 10, 64)
			if err != nil {
				return a, p.errf("%s: %v", name, err)
			}
			a.Kind, a.Int = KindInt, n
		case len(tok) == 16 && isHex(tok):
			c, _ := ParseConnID(tok)
			a.Kind, a.Conn = KindConnID, c
		default:
			return a, p.errf("%s: cannot read value %q", name, tok)
		}
	}
	return a, nil
}

// list reads n pair lines at nesting depth d.
func (p *traceParser) list(n, d int) (KVList, error) {
	if d > MaxDepth {
		return nil, p.errf("key-value lists nested deeper than %d", MaxDepth)
	}
	var l KVList
	for i := 0; i < n; i++ {
		line, ok, err := p.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errf("end of input, %d of %d pairs read", i, n)
		}
		if line[0] != '\'' {
			return nil, p.errf("want pair %d of %d ('key' value), got %q", i+1, n, line)
		}
		key, v, err := unquote(line)
		if err != nil {
			return nil, p.errf("key: %v", err)
		}
		v = strings.TrimLeft(v, " \t")
		kv := KV{Key: key}
		switch {
		case v == "":
			return nil, p.errf("key %q: no value", key)
		case v[0] == '\'' || strings.HasPrefix(v, "u'"):
			kv.Type = KVString
			if v[0] == 'u' {
				kv.Type, v = KVUnicode, v[1:]
			}
			s, rest, err := unquote(v)
			if err != nil {
				return nil, p.errf("key %q: %v", key, err)
			}
			if rest != "" {
				return nil, p.errf("key %q: text after the closing quote: %q", key, rest)
			}
			if kv.Type == KVUnicode && !utf8.ValidString(s) {
				return nil, p.errf("key %q: Unicode value is not UTF-8", key)
			}
			kv.Str = s
		case strings.HasPrefix(v, "x'"):
			h, ok := strings.CutSuffix(v[2:], "'")
			if !ok || len(h)%2 != 0 || h != "" && !isHex(h) {
				return nil, p.errf("key %q: bad binary value %q", key, v)
			}
			kv.Type = KVBinary
			if h != "" {
				kv.Bin = make([]byte, len(h)/2)
				for j := range kv.Bin {
					kv.Bin[j] = unhex(h[2*j])<<4 | unhex(h[2*j+1])
				}
			}
		case v[0] == '[':
			m, err := listCount(v)
			if err != nil {
				return nil, p.errf("key %q: %v", key, err)
			}
			kv.Type = KVNested
			if kv.List, err = p.list(m, d+1); err != nil {
				return nil, err
			}
		default:
			if !isDecimal(v) {
				return nil, p.errf("key %q: cannot read value %q", key, v)
			}
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, p.errf("key %q: %v", key, err)
			}
			kv.Type, kv.Int = KVInt, int32(n)
		}
		l = append(l, kv)
	}
	return l, nil
}

// listCount reads "[n]" (anything after it, such as a real log's hex dump,
// is ignored).
func listCount(v string) (int, error) {
	end := strings.IndexByte(v, ']')
	if end < 2 || !isDigits(v[1:end]) || end > 10 {
		return 0, fmt.Errorf("want [count], got %q", v)
	}
	n, _ := strconv.Atoi(v[1:end])
	return n, nil
}

// unquote reads a quoted string at the start of s and returns it and what
// follows the closing quote.
func unquote(s string) (string, string, error) {
	var b []byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			return string(b), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("unterminated escape in %q", s)
			}
			i++
			switch s[i] {
			case '\\', '\'':
				b = append(b, s[i])
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'x':
				if i+2 >= len(s) || !isHex(s[i+1:i+3]) {
					return "", "", fmt.Errorf("bad \\x escape in %q", s)
				}
				b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
				i += 2
			default:
				return "", "", fmt.Errorf("unknown escape \\%c in %q", s[i], s)
			}
		default:
			b = append(b, c)
		}
	}
	return "", "", fmt.Errorf("missing closing quote in %q", s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isDecimal(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return isDigits(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
