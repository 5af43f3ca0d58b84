// Package filter compiles the capture filter of openrec capture --bpf: a
// subset of the tcpdump (pcap-filter) language, evaluated on decoded
// datagrams, so it sees inside VLAN tags, GRE/ERSPAN and VXLAN and applies
// to reassembled IP fragments and TCP streams alike.
//
// Grammar (case-insensitive keywords):
//
//	expr    = term { ("or" | "||") term }
//	term    = factor { ("and" | "&&") factor }
//	factor  = ("not" | "!") factor | "(" expr ")" | prim
//	prim    = "udp" | "tcp" | "ip" | "ip6"
//	        | [dir] "host" ADDR | [dir] "net" CIDR
//	        | [dir] "port" N | [dir] "portrange" N "-" M
//	dir     = "src" | "dst"
//
// Juxtaposition without an operator is not accepted (tcpdump's implicit
// "and" is not guessed). The package does no I/O.
package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/openrec/openrec/internal/capture/decode"
)

// ErrSyntax is wrapped by every Compile error.
var ErrSyntax = errors.New("filter syntax")

// Filter reports whether a datagram is kept.
type Filter func(d *decode.Datagram) bool

// maxDepth bounds nesting (parentheses, not).
const maxDepth = 64

// Compile parses expr. An empty expression keeps everything (nil Filter).
func Compile(expr string) (Filter, error) {
	toks := tokenize(expr)
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{toks: toks}
	f, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errf("unexpected %q (join primitives with and/or)", p.toks[p.i])
	}
	return f, nil
}

func tokenize(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '!':
			out = append(out, "!")
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			out = append(out, s[i:i+2])
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!", rune(s[j])) && !strings.HasPrefix(s[j:], "&&") && !strings.HasPrefix(s[j:], "||") {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) errf(format string, a ...any) error {
	return fmt.Errorf("%w: %s (at token %d)", ErrSyntax, fmt.Sprintf(format, a...), p.i+1)
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return strings.ToLower(p.toks[p.i])
	}
	return ""
}

func (p *parser) next() (string, bool) {
	if p.i >= len(p.toks) {
		return "", false
	}
	p.i++
	return p.toks[p.i-1], true
}

func (p *parser) expr(depth int) (Filter, error) {
	l, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for p.peek() == "or" || p.peek() == "||" {
		p.i++
		r, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(d *decode.Datagram) bool { return a(d) || b(d) }
	}
	return l, nil
}

func (p *parser) term(depth int) (Filter, error) {
	l, err := p.factor(depth)
	if err != nil {
		return nil, err
	}
	for p.peek() == "and" || p.peek() == "&&" {
		p.i++
		r, err := p.factor(depth)
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(d *decode.Datagram) bool { return a(d) && b(d) }
	}
	return l, nil
}

func (p *parser) factor(depth int) (Filter, error) {
	if depth > maxDepth {
		return nil, p.errf("nested too deeply")
	}
	switch p.peek() {
	case "not", "!":
		p.i++
		f, err := p.factor(depth + 1)
		if err != nil {
			return nil, err
		}
		return func(d *decode.Datagram) bool { return !f(d) }, nil
	case "(":
		p.i++
		f, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errf("missing )")
		}
		p.i++
		return f, nil
	}
	return p.prim()
}

func (p *parser) prim() (Filter, error) {
	tok, ok := p.next()
	if !ok {
		return nil, p.errf("expression ends early")
	}
	switch strings.ToLower(tok) {
	case "udp":
		return func(d *decode.Datagram) bool { return d.Proto == decode.UDP }, nil
	case "tcp":
		return func(d *decode.Datagram) bool { return d.Proto == decode.TCP }, nil
	case "ip":
		return func(d *decode.Datagram) bool { return d.Src.Addr().Is4() }, nil
	case "ip6":
		return func(d *decode.Datagram) bool { return d.Src.Addr().Is6() }, nil
	case "src", "dst":
		return p.qualified(strings.ToLower(tok))
	case "host", "net", "port", "portrange":
		p.i--
		return p.qualified("")
	}
	return nil, p.errf("unknown primitive %q (supported: udp tcp ip ip6 host net port portrange, src/dst, and or not)", tok)
}

func (p *parser) qualified(dir string) (Filter, error) {
	kind, ok := p.next()
	if !ok {
		return nil, p.errf("%s: host, net, port or portrange expected", dir)
	}
	arg, ok := p.next()
	if !ok {
		return nil, p.errf("%s needs a value", kind)
	}
	var addr func(*decode.Datagram, bool) bool
	switch strings.ToLower(kind) {
	case "host":
		a, err := netip.ParseAddr(arg)
		if err != nil {
			return nil, p.errf("host %q: not an IP address", arg)
		}
		a = a.Unmap()
		addr = func(d *decode.Datagram, src bool) bool {
			if src {
				return d.Src.Addr() == a
			}
			return d.Dst.Addr() == a
		}
	case "net":
		n, err := netip.ParsePrefix(arg)
		if err != nil {
			return nil, p.errf("net %q: not a CIDR prefix", arg)
		}
		n = n.Masked()
		addr = func(d *decode.Datagram, src bool) bool {
			if src {
				return n.Contains(d.Src.Addr())
			}
			return n.Contains(d.Dst.Addr())
		}
	case "port", "portrange":
		lo, hi, err := ports(strings.ToLower(kind), arg)
		if err != nil {
			return nil, p.errf("%v", err)
		}
		addr = func(d *decode.Datagram, src bool) bool {
			pt := d.Dst.Port()
			if src {
				pt = d.Src.Port()
			}
			return pt >= lo && pt <= hi
		}
	default:
		return nil, p.errf("%s: host, net, port or portrange expected, not %q", dir, kind)
	}
	switch dir {
	case "src":
		return func(d *decode.Datagram) bool { return addr(d, true) }, nil
	case "dst":
		return func(d *decode.Datagram) bool { return addr(d, false) }, nil
	}
	return func(d *decode.Datagram) bool { return addr(d, true) || addr(d, false) }, nil
}

func ports(kind, arg string) (lo, hi uint16, err error) {
	a, b := arg, arg
	if kind == "portrange" {
		var ok bool
		if a, b, ok = strings.Cut(arg, "-"); !ok {
			return 0, 0, fmt.Errorf("portrange %q: N-M expected", arg)
		}
	}
	x, err1 := strconv.ParseUint(a, 10, 16)
	y, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil || x > y {
		return 0, 0, fmt.Errorf("%s %q: port numbers 0-65535 expected", kind, arg)
	}
	return uint16(x), uint16(y), nil
}
