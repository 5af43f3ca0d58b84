package load

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("4242 (openrec) S 1 4242 4242 0 -1 4194560 3141 0 0 0 250 75 0 0 20 0 12 0"))
	f.Add([]byte("7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 10 20"))
	f.Add([]byte("7 (a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseProcStat(b)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error %v does not wrap ErrParse", err)
			}
			if v != 0 {
				t.Fatalf("value %d with error", v)
			}
		}
	})
}

func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("Name:\tx\nVmRSS:\t  100 kB\n"))
	f.Add([]byte("VmRSS:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseVmRSS(b); err != nil && !errors.Is(err, ErrParse) {
			t.Fatalf("error %v does not wrap ErrParse", err)
		}
	})
}

func FuzzParseMetric(f *testing.F) {
	f.Add([]byte(exposition), "openrec_rtp_packets_received_total")
	f.Add([]byte("x{a=\"}\"} 1\nx 2\n"), "x")
	f.Add([]byte("x Inf\n"), "x")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		v, err := ParseMetric(b, name)
		switch {
		case err == nil:
			if math.IsNaN(v) {
				t.Fatalf("NaN without error")
			}
		case errors.Is(err, ErrParse), errors.Is(err, ErrMetricNotFound), errors.Is(err, ErrInvalidConfig):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzParseSNMP(f *testing.F) {
	f.Add(readTestdata(f, "proc_net_snmp"))
	f.Add([]byte(oldSNMP))
	f.Add([]byte("Udp: InErrors RcvbufErrors\nUdp: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseSNMP(b)
		if err != nil {
			if !errors.Is(err, ErrParse) || u != (UDPCounters{}) {
				t.Fatalf("%+v, %v", u, err)
			}
			return
		}
		if !strings.Contains(string(b), "Udp:") {
			t.Fatalf("counters %+v from text without Udp:", u)
		}
	})
}

func FuzzParseSNMP6(f *testing.F) {
	f.Add(readTestdata(f, "proc_net_snmp6"))
	f.Add([]byte("Udp6InErrors 12\nUdp6RcvbufErrors 10\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseSNMP6(b)
		if err != nil && (!errors.Is(err, ErrParse) || u != (UDPCounters{})) {
			t.Fatalf("%+v, %v", u, err)
		}
	})
}

func FuzzParseSoftnetStat(f *testing.F) {
	f.Add(readTestdata(f, "proc_net_softnet_stat"))
	f.Add([]byte("0 a\n0 ffffffffffffffff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseSoftnetStat(b)
		if err != nil && (!errors.Is(err, ErrParse) || v != 0) {
			t.Fatalf("%d, %v", v, err)
		}
	})
}

func FuzzRecordingsFinal(f *testing.F) {
	f.Add([]byte(`{"items":[{"status":"completed"},{"status":"recording"}],"next_cursor":null}`))
	f.Add([]byte(`{"items":[]}`))
	f.Add([]byte(`{"items":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, final, err := RecordingsFinal(b)
		switch {
		case err != nil:
			if !errors.Is(err, ErrParse) || n != 0 || final {
				t.Fatalf("%d, %v, %v", n, final, err)
			}
		case final && n == 0:
			t.Fatal("final without recordings")
		}
	})
}

func FuzzParsePortRange(f *testing.F) {
	f.Add("30000-30399")
	f.Add("1-65535")
	f.Add("-")
	f.Fuzz(func(t *testing.T, s string) {
		low, high, err := ParsePortRange(s)
		if err == nil && (low < 1 || high > 65535 || low > high) {
			t.Fatalf("%q → %d-%d", s, low, high)
		}
	})
}
