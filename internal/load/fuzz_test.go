package load

import (
	"errors"
	"math"
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
