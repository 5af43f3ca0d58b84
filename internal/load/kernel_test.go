package load

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The testdata files are copies of /proc/net/snmp, /proc/net/snmp6 and
// /proc/net/softnet_stat of a Linux 6.18 VM (2 CPUs).
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oldSNMP is a 3.x kernel's Udp section: fewer columns, no IgnoredMulti.
const oldSNMP = `Ip: Forwarding DefaultTTL
Ip: 1 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
Udp: 100 2 31 90 30 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
UdpLite: 0 0 99 0 99 0
`

func TestParseSNMP(t *testing.T) {
	tests := []struct {
		name string
		text string
		want UDPCounters
		err  error
	}{
		{"real", string(readTestdata(t, "proc_net_snmp")), UDPCounters{InErrors: 407, RcvbufErrors: 407}, nil},
		{"old kernel, UdpLite ignored", oldSNMP, UDPCounters{InErrors: 31, RcvbufErrors: 30}, nil},
		{"columns reordered", "Udp: RcvbufErrors X InErrors\nUdp: 5 6 7\n", UDPCounters{InErrors: 7, RcvbufErrors: 5}, nil},
		{"no Udp", "Ip: a\nIp: 1\n", UDPCounters{}, ErrParse},
		{"header only", "Udp: InErrors RcvbufErrors\n", UDPCounters{}, ErrParse},
		{"value count differs", "Udp: InErrors RcvbufErrors\nUdp: 1\n", UDPCounters{}, ErrParse},
		{"negative", "Udp: InErrors RcvbufErrors\nUdp: -1 0\n", UDPCounters{}, ErrParse},
		{"no RcvbufErrors", "Udp: InErrors NoPorts\nUdp: 1 2\n", UDPCounters{}, ErrParse},
		{"empty", "", UDPCounters{}, ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSNMP([]byte(tt.text))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSNMP6(t *testing.T) {
	tests := []struct {
		name string
		text string
		want UDPCounters
		err  error
	}{
		{"real", string(readTestdata(t, "proc_net_snmp6")), UDPCounters{}, nil},
		{"drops, UdpLite6 ignored", "Ip6InReceives  9\nUdp6InErrors \t 12\nUdp6RcvbufErrors 10\nUdpLite6InErrors 77\n", UDPCounters{InErrors: 12, RcvbufErrors: 10}, nil},
		{"no Udp6", "Ip6InReceives 9\n", UDPCounters{}, ErrParse},
		{"bad value", "Udp6InErrors x\nUdp6RcvbufErrors 1\n", UDPCounters{}, ErrParse},
		{"extra field", "Udp6InErrors 1 2\nUdp6RcvbufErrors 1\n", UDPCounters{}, ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSNMP6([]byte(tt.text))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSoftnetStat(t *testing.T) {
	tests := []struct {
		name string
		text string
		want uint64
		err  error
	}{
		{"real", string(readTestdata(t, "proc_net_softnet_stat")), 0, nil},
		{"drops on two CPUs, hex", "0001 0000000a 0 0 0 0 0 0 0 0 0\n0002 000000ff 0 0 0 0 0 0 0 0 0\n", 10 + 255, nil},
		{"two columns", "1 2\n", 2, nil},
		{"one column", "0001\n", 0, ErrParse},
		{"not hex", "0001 zz\n", 0, ErrParse},
		{"overflow", "0 ffffffffffffffff\n0 1\n", 0, ErrParse},
		{"empty", "", 0, ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSoftnetStat([]byte(tt.text))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestKernelCountersDelta(t *testing.T) {
	before := KernelCounters{UDP: UDPCounters{InErrors: 10, RcvbufErrors: 8}, SoftnetDropped: 3}
	after := KernelCounters{UDP: UDPCounters{InErrors: 15, RcvbufErrors: 12}, SoftnetDropped: 3}
	d, ok := after.Delta(before)
	if want := (KernelCounters{UDP: UDPCounters{InErrors: 5, RcvbufErrors: 4}}); !ok || d != want {
		t.Errorf("Delta = %+v, %v; want %+v", d, ok, want)
	}
	if _, ok := before.Delta(after); ok {
		t.Error("a counter going backwards gave a delta")
	}
}

// writeProc lays out a fake /proc/net with the given files.
func writeProc(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(root, "net", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadKernelCounters(t *testing.T) {
	snmp := "Udp: InErrors RcvbufErrors\nUdp: 5 4\n"
	softnet := "0 2\n0 3\n"
	tests := []struct {
		name  string
		files map[string]string
		want  KernelCounters
		ok    bool
	}{
		{"v4 and v6 added", map[string]string{"snmp": snmp, "snmp6": "Udp6InErrors 2\nUdp6RcvbufErrors 1\n", "softnet_stat": softnet},
			KernelCounters{UDP: UDPCounters{InErrors: 7, RcvbufErrors: 5}, SoftnetDropped: 5}, true},
		{"no snmp6 (IPv6 off)", map[string]string{"snmp": snmp, "softnet_stat": softnet},
			KernelCounters{UDP: UDPCounters{InErrors: 5, RcvbufErrors: 4}, SoftnetDropped: 5}, true},
		{"no snmp", map[string]string{"softnet_stat": softnet}, KernelCounters{}, false},
		{"no softnet_stat", map[string]string{"snmp": snmp}, KernelCounters{}, false},
		{"bad snmp6", map[string]string{"snmp": snmp, "snmp6": "Udp6InErrors\n", "softnet_stat": softnet}, KernelCounters{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadKernelCounters(writeProc(t, tt.files))
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if tt.ok && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
