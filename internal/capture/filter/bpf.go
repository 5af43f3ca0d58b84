package filter

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// ErrTooComplex is returned by KernelProgram for an expression whose
// program would need jumps longer than classic BPF has.
var ErrTooComplex = errors.New("filter too complex for a kernel program")

// snapAccept is what an accepting program returns (bytes kept per frame).
const snapAccept = 1 << 18

// KernelProgram compiles expr into a classic BPF program for an AF_PACKET
// socket on an Ethernet interface, so the kernel drops what the filter
// refuses before it reaches the ring. It is a superset of the filter:
// frames it cannot judge as the decoded filter would — tunnels (GRE,
// ERSPAN, VXLAN, Geneve, GTP-U, IP in IP), IP fragments, IPv6 extension
// headers, QinQ — are accepted and judged after decoding. Frames that
// are not IP and IP packets neither UDP nor TCP are dropped (openrec
// never records them). An empty expression gives nil.
func KernelProgram(expr string) ([]bpf.RawInstruction, error) {
	n, err := parse(expr)
	if err != nil || n == nil {
		return nil, err
	}
	g := &gen{}
	// Dispatch on the EtherType, once more behind one 802.1Q tag (when
	// the NIC left it in the frame).
	g.emit(bpf.LoadAbsolute{Off: 12, Size: 2})
	g.ifEq(0x8100, "vlan")
	g.ifEq(0x88a8, "accept")
	g.ifEq(0x0800, "v4_14")
	g.ifEq(0x86dd, "v6_14")
	g.jump("reject")
	g.label("vlan")
	g.emit(bpf.LoadAbsolute{Off: 16, Size: 2})
	g.ifEq(0x0800, "v4_18")
	g.ifEq(0x86dd, "v6_18")
	g.ifEq(0x8100, "accept")
	g.jump("reject")
	for _, l := range []uint32{14, 18} {
		g.ipv4(n, l)
		g.ipv6(n, l)
	}
	g.label("accept")
	g.emit(bpf.RetConstant{Val: snapAccept})
	g.label("reject")
	g.emit(bpf.RetConstant{Val: 0})
	return g.assemble()
}

// gen emits instructions with symbolic jump targets; every jump goes
// forward.
type gen struct {
	ins    []bpf.Instruction
	fix    []fixup
	labels map[string]int
	n      int // unique labels
}

type fixup struct {
	at        int
	t, f      string // conditional jump targets ("" = next)
	always    string // unconditional jump target
	condition bool
}

func (g *gen) emit(i bpf.Instruction) { g.ins = append(g.ins, i) }

func (g *gen) label(name string) {
	if g.labels == nil {
		g.labels = map[string]int{}
	}
	g.labels[name] = len(g.ins)
}

func (g *gen) fresh(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

// cond emits a conditional jump on A to t or f ("" falls through).
func (g *gen) cond(c bpf.JumpTest, val uint32, t, f string) {
	g.fix = append(g.fix, fixup{at: len(g.ins), t: t, f: f, condition: true})
	g.emit(bpf.JumpIf{Cond: c, Val: val})
}

// ifEq jumps far to target when A == val (a conditional hop over an
// unconditional jump, which has a 32-bit offset).
func (g *gen) ifEq(val uint32, target string) {
	skip := g.fresh("skip")
	g.cond(bpf.JumpNotEqual, val, skip, "")
	g.jump(target)
	g.label(skip)
}

func (g *gen) jump(target string) {
	g.fix = append(g.fix, fixup{at: len(g.ins), always: target})
	g.emit(bpf.Jump{})
}

func (g *gen) assemble() ([]bpf.RawInstruction, error) {
	off := func(from int, label string) (int, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := g.labels[label]
		if !ok {
			return 0, fmt.Errorf("filter: no label %q", label)
		}
		return to - from - 1, nil
	}
	for _, fx := range g.fix {
		if !fx.condition {
			o, err := off(fx.at, fx.always)
			if err != nil {
				return nil, err
			}
			g.ins[fx.at] = bpf.Jump{Skip: uint32(o)}
			continue
		}
		t, err := off(fx.at, fx.t)
		if err != nil {
			return nil, err
		}
		f, err := off(fx.at, fx.f)
		if err != nil {
			return nil, err
		}
		if t > 255 || f > 255 || t < 0 || f < 0 {
			return nil, ErrTooComplex
		}
		j := g.ins[fx.at].(bpf.JumpIf)
		j.SkipTrue, j.SkipFalse = uint8(t), uint8(f)
		g.ins[fx.at] = j
	}
	return bpf.Assemble(g.ins)
}

// ipv4 is the path of an IPv4 packet after an L-byte link header.
func (g *gen) ipv4(n *node, l uint32) {
	name := fmt.Sprintf("v4_%d", l)
	g.label(name)
	acc, rej, expr, udp := g.fresh("acc"), g.fresh("rej"), g.fresh("expr"), g.fresh("udp")
	g.emit(bpf.LoadAbsolute{Off: l + 6, Size: 2})
	g.cond(bpf.JumpBitsSet, 0x3fff, acc, "") // a fragment: no ports in most, judged after reassembly
	g.emit(bpf.LoadAbsolute{Off: l + 9, Size: 1})
	g.cond(bpf.JumpEqual, 17, udp, "")
	g.cond(bpf.JumpEqual, 6, expr, "")
	g.cond(bpf.JumpEqual, 47, acc, "") // GRE, ERSPAN
	g.cond(bpf.JumpEqual, 4, acc, "")  // IP in IP
	g.cond(bpf.JumpEqual, 41, acc, rej)
	g.label(udp)
	g.emit(bpf.LoadMemShift{Off: l})
	g.emit(bpf.LoadIndirect{Off: l + 2, Size: 2})
	g.tunnelPorts(acc)
	g.label(expr)
	g.node(n, path{v6: false, l: l}, acc, rej)
	g.label(acc)
	g.emit(bpf.RetConstant{Val: snapAccept})
	g.label(rej)
	g.emit(bpf.RetConstant{Val: 0})
}

// ipv6 is the path of an IPv6 packet after an L-byte link header.
func (g *gen) ipv6(n *node, l uint32) {
	name := fmt.Sprintf("v6_%d", l)
	g.label(name)
	acc, rej, expr, udp := g.fresh("acc"), g.fresh("rej"), g.fresh("expr"), g.fresh("udp")
	g.emit(bpf.LoadAbsolute{Off: l + 6, Size: 1})
	g.cond(bpf.JumpEqual, 17, udp, "")
	g.cond(bpf.JumpEqual, 6, expr, "")
	for _, nh := range []uint32{0, 43, 44, 60, 47, 4, 41} { // extension headers, fragments, tunnels
		g.cond(bpf.JumpEqual, nh, acc, "")
	}
	g.jumpTo(rej)
	g.label(udp)
	g.emit(bpf.LoadAbsolute{Off: l + 40 + 2, Size: 2})
	g.tunnelPorts(acc)
	g.label(expr)
	g.node(n, path{v6: true, l: l}, acc, rej)
	g.label(acc)
	g.emit(bpf.RetConstant{Val: snapAccept})
	g.label(rej)
	g.emit(bpf.RetConstant{Val: 0})
}

func (g *gen) jumpTo(label string) { g.jump(label) }

// tunnelPorts accepts a UDP destination port (in A) of an encapsulation.
func (g *gen) tunnelPorts(acc string) {
	for _, p := range []uint32{4789, 4790, 6081, 2152} {
		g.cond(bpf.JumpEqual, p, acc, "")
	}
}

// path says where the IP header is and which family it is.
type path struct {
	v6 bool
	l  uint32
}

// node emits n as short-circuit jumps to t (true) or f (false).
func (g *gen) node(n *node, p path, t, f string) {
	switch n.op {
	case "and":
		mid := g.fresh("and")
		g.node(n.l, p, mid, f)
		g.label(mid)
		g.node(n.r, p, t, f)
	case "or":
		mid := g.fresh("or")
		g.node(n.l, p, t, mid)
		g.label(mid)
		g.node(n.r, p, t, f)
	case "not":
		g.node(n.l, p, f, t)
	default:
		g.prim(n.p, p, t, f)
	}
}

func (g *gen) prim(pr prim, p path, t, f string) {
	proto := p.l + 9
	if p.v6 {
		proto = p.l + 6
	}
	switch pr.kind {
	case "udp", "tcp":
		v := uint32(17)
		if pr.kind == "tcp" {
			v = 6
		}
		g.emit(bpf.LoadAbsolute{Off: proto, Size: 1})
		g.cond(bpf.JumpEqual, v, t, f)
		return
	case "ip":
		g.jump(map[bool]string{false: t, true: f}[p.v6])
		return
	case "ip6":
		g.jump(map[bool]string{true: t, false: f}[p.v6])
		return
	}
	// src and dst, or either
	var sides []bool // true: source
	switch pr.dir {
	case "src":
		sides = []bool{true}
	case "dst":
		sides = []bool{false}
	default:
		sides = []bool{true, false}
	}
	for i, src := range sides {
		next := f
		if i < len(sides)-1 {
			next = g.fresh("side")
		}
		switch pr.kind {
		case "host":
			g.addr(netip.PrefixFrom(pr.addr, pr.addr.BitLen()), p, src, t, next)
		case "net":
			g.addr(pr.pfx, p, src, t, next)
		default:
			g.port(pr.lo, pr.hi, p, src, t, next)
		}
		if next != f {
			g.label(next)
		}
	}
}

// addr tests the source or destination address against a prefix.
func (g *gen) addr(pfx netip.Prefix, p path, src bool, t, f string) {
	if pfx.Addr().Is6() != p.v6 {
		g.jump(f)
		return
	}
	off := p.l + 16 // IPv4 destination
	if src {
		off = p.l + 12
	}
	if p.v6 {
		off = p.l + 24
		if src {
			off = p.l + 8
		}
	}
	b := pfx.Addr().AsSlice()
	bits := pfx.Bits()
	for w := 0; w*32 < bits; w++ {
		val := uint32(b[4*w])<<24 | uint32(b[4*w+1])<<16 | uint32(b[4*w+2])<<8 | uint32(b[4*w+3])
		g.emit(bpf.LoadAbsolute{Off: off + uint32(4*w), Size: 4})
		if n := bits - w*32; n < 32 {
			mask := ^uint32(0) << (32 - n)
			g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
			val &= mask
		}
		last := (w+1)*32 >= bits
		if last {
			g.cond(bpf.JumpEqual, val, t, f)
		} else {
			g.cond(bpf.JumpEqual, val, "", f)
		}
	}
	if bits == 0 {
		g.jump(t)
	}
}

// port tests the source or destination port against lo..hi.
func (g *gen) port(lo, hi uint16, p path, src bool, t, f string) {
	off := uint32(2)
	if src {
		off = 0
	}
	if p.v6 {
		g.emit(bpf.LoadAbsolute{Off: p.l + 40 + off, Size: 2})
	} else {
		g.emit(bpf.LoadMemShift{Off: p.l})
		g.emit(bpf.LoadIndirect{Off: p.l + off, Size: 2})
	}
	if lo == hi {
		g.cond(bpf.JumpEqual, uint32(lo), t, f)
		return
	}
	g.cond(bpf.JumpGreaterOrEqual, uint32(lo), "", f)
	g.cond(bpf.JumpGreaterThan, uint32(hi), f, t)
}
