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
	n, err := parse(expr)
	if err != nil || n == nil {
		return nil, err
	}
	return n.filter(), nil
}

// parse returns the expression tree of expr (nil for an empty one).
func parse(expr string) (*node, error) {
	toks := tokenize(expr)
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errf("unexpected %q (join primitives with and/or)", p.toks[p.i])
	}
	return n, nil
}

// node is one operator or primitive of a filter expression.
type node struct {
	op   string // and, or, not, prim
	l, r *node
	p    prim
}

// prim is one primitive: kind udp, tcp, ip, ip6, host, net, port; dir
// "", src or dst.
type prim struct {
	kind   string
	dir    string
	addr   netip.Addr
	pfx    netip.Prefix
	lo, hi uint16
}

func (n *node) filter() Filter {
	switch n.op {
	case "and":
		a, b := n.l.filter(), n.r.filter()
		return func(d *decode.Datagram) bool { return a(d) && b(d) }
	case "or":
		a, b := n.l.filter(), n.r.filter()
		return func(d *decode.Datagram) bool { return a(d) || b(d) }
	case "not":
		a := n.l.filter()
		return func(d *decode.Datagram) bool { return !a(d) }
	}
	return n.p.filter()
}

func (p prim) filter() Filter {
	var match func(d *decode.Datagram, src bool) bool
	switch p.kind {
	case "udp":
		return func(d *decode.Datagram) bool { return d.Proto == decode.UDP }
	case "tcp":
		return func(d *decode.Datagram) bool { return d.Proto == decode.TCP }
	case "ip":
		return func(d *decode.Datagram) bool { return d.Src.Addr().Is4() }
	case "ip6":
		return func(d *decode.Datagram) bool { return d.Src.Addr().Is6() }
	case "host":
		a := p.addr
		match = func(d *decode.Datagram, src bool) bool {
			if src {
				return d.Src.Addr() == a
			}
			return d.Dst.Addr() == a
		}
	case "net":
		n := p.pfx
		match = func(d *decode.Datagram, src bool) bool {
			if src {
				return n.Contains(d.Src.Addr())
			}
			return n.Contains(d.Dst.Addr())
		}
	default: // port
		lo, hi := p.lo, p.hi
		match = func(d *decode.Datagram, src bool) bool {
			pt := d.Dst.Port()
			if src {
				pt = d.Src.Port()
			}
			return pt >= lo && pt <= hi
		}
	}
	switch p.dir {
	case "src":
		return func(d *decode.Datagram) bool { return match(d, true) }
	case "dst":
		return func(d *decode.Datagram) bool { return match(d, false) }
	}
	return func(d *decode.Datagram) bool { return match(d, true) || match(d, false) }
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

func (p *parser) expr(depth int) (*node, error) {
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
		l = &node{op: "or", l: l, r: r}
	}
	return l, nil
}

func (p *parser) term(depth int) (*node, error) {
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
		l = &node{op: "and", l: l, r: r}
	}
	return l, nil
}

func (p *parser) factor(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.errf("nested too deeply")
	}
	switch p.peek() {
	case "not", "!":
		p.i++
		n, err := p.factor(depth + 1)
		if err != nil {
			return nil, err
		}
		return &node{op: "not", l: n}, nil
	case "(":
		p.i++
		n, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errf("missing )")
		}
		p.i++
		return n, nil
	}
	return p.prim()
}

func (p *parser) prim() (*node, error) {
	tok, ok := p.next()
	if !ok {
		return nil, p.errf("expression ends early")
	}
	switch k := strings.ToLower(tok); k {
	case "udp", "tcp", "ip", "ip6":
		return &node{op: "prim", p: prim{kind: k}}, nil
	case "src", "dst":
		return p.qualified(k)
	case "host", "net", "port", "portrange":
		p.i--
		return p.qualified("")
	}
	return nil, p.errf("unknown primitive %q (supported: udp tcp ip ip6 host net port portrange, src/dst, and or not)", tok)
}

func (p *parser) qualified(dir string) (*node, error) {
	kind, ok := p.next()
	if !ok {
		return nil, p.errf("%s: host, net, port or portrange expected", dir)
	}
	arg, ok := p.next()
	if !ok {
		return nil, p.errf("%s needs a value", kind)
	}
	pr := prim{dir: dir, kind: strings.ToLower(kind)}
	switch pr.kind {
	case "host":
		a, err := netip.ParseAddr(arg)
		if err != nil || a.Zone() != "" {
			return nil, p.errf("host %q: not an IP address", arg)
		}
		pr.addr = a.Unmap()
	case "net":
		n, err := netip.ParsePrefix(arg)
		if err != nil {
			return nil, p.errf("net %q: not a CIDR prefix", arg)
		}
		pr.pfx = n.Masked()
	case "port", "portrange":
		lo, hi, err := ports(pr.kind, arg)
		if err != nil {
			return nil, p.errf("%v", err)
		}
		pr.kind, pr.lo, pr.hi = "port", lo, hi
	default:
		return nil, p.errf("%s: host, net, port or portrange expected, not %q", dir, kind)
	}
	return &node{op: "prim", p: pr}, nil
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
