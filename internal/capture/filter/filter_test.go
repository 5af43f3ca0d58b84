package filter

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/openrec/openrec/internal/capture/decode"
)

func dg(proto decode.Proto, src, dst string) *decode.Datagram {
	return &decode.Datagram{Proto: proto, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst)}
}

func TestCompile(t *testing.T) {
	sip := dg(decode.UDP, "10.0.0.1:5060", "10.0.0.2:5060")
	rtp := dg(decode.UDP, "10.0.0.1:20000", "10.0.0.2:30000")
	tcp := dg(decode.TCP, "10.0.0.1:40000", "10.0.0.2:5061")
	v6 := dg(decode.UDP, "[2001:db8::1]:5060", "[2001:db8::2]:5060")
	for _, tc := range []struct {
		expr string
		want [4]bool // sip rtp tcp v6
	}{
		{"udp", [4]bool{true, true, false, true}},
		{"tcp", [4]bool{false, false, true, false}},
		{"port 5060", [4]bool{true, false, false, true}},
		{"udp and port 5060 and ip", [4]bool{true, false, false, false}},
		{"ip6 || tcp", [4]bool{false, false, true, true}},
		{"not port 5060", [4]bool{false, true, true, false}},
		{"!(udp)", [4]bool{false, false, true, false}},
		{"src portrange 19000-21000 or dst port 5061", [4]bool{false, true, true, false}},
		{"dst host 10.0.0.2 and not portrange 5060-5061", [4]bool{false, true, false, false}},
		{"net 2001:db8::/32", [4]bool{false, false, false, true}},
		{"src net 10.0.0.0/8&&(udp)", [4]bool{true, true, false, false}},
		{"HOST 10.0.0.1 AND UDP", [4]bool{true, true, false, false}},
	} {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		for i, d := range []*decode.Datagram{sip, rtp, tcp, v6} {
			if got := f(d); got != tc.want[i] {
				t.Errorf("%q on %v→%v/%v: %v, want %v", tc.expr, d.Src, d.Dst, d.Proto, got, tc.want[i])
			}
		}
	}
	if f, err := Compile("  "); f != nil || err != nil {
		t.Errorf("empty: %v %v", f, err)
	}
	for _, bad := range []string{"udp and", "(udp", "udp)", "port", "port x", "portrange 9-1", "host 999.1.1.1", "net 10.0.0.1",
		"udp tcp", "vlan 42", "src", "src udp", "not"} {
		if _, err := Compile(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: err %v, want ErrSyntax", bad, err)
		}
	}
}

// FuzzCompile: no expression panics the compiler or the filter.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"udp and (port 5060 or portrange 10000-20000)", "not src host 10.0.0.1", "((((", "!!!udp", "net ::/0"} {
		f.Add(s)
	}
	d := dg(decode.UDP, "10.0.0.1:5060", "10.0.0.2:5060")
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Compile(s)
		if err == nil && flt != nil {
			_ = flt(d)
		}
	})
}
