package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/dial"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
		ok     bool
	}{
		{"empty", nil, 50, 0, false},
		{"p zero", []float64{1}, 0, 0, false},
		{"p over 100", []float64{1}, 101, 0, false},
		{"p NaN", []float64{1}, math.NaN(), 0, false},
		{"single", []float64{7}, 99, 7, true},
		{"median odd unsorted", []float64{5, 1, 3}, 50, 3, true},
		{"median even", []float64{4, 1, 3, 2}, 50, 2, true},
		{"p99 of 100", seq(100), 99, 99, true},
		{"p99 of 6", seq(6), 99, 6, true},
		{"p100 is max", []float64{3, 9, 1}, 100, 9, true},
		{"p1 is min", seq(10), 1, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.values...)
			got, ok := Percentile(tt.values, tt.p)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Percentile(%v, %v) = %v, %v; want %v, %v", tt.values, tt.p, got, ok, tt.want, tt.ok)
			}
			for i := range in {
				if in[i] != tt.values[i] {
					t.Fatalf("input modified: %v", tt.values)
				}
			}
		})
	}
}

func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(n - i) // descending: Percentile must sort
	}
	return s
}

const exposition = `# HELP openrec_rtp_packets_received_total RTP packets accepted by the receivers.
# TYPE openrec_rtp_packets_received_total counter
openrec_rtp_packets_received_total 12345
openrec_rtp_packets_received_total_extra 99
# TYPE openrec_recordings_finished_total counter
openrec_recordings_finished_total{status="completed"} 3
openrec_recordings_finished_total{status="failed"} 1
openrec_recordings_finished_total{status="weird}"} 2
openrec_big 1.5e+06 1700000000000
`

func TestParseMetric(t *testing.T) {
	tests := []struct {
		name, text, metric string
		want               float64
		err                error
	}{
		{"counter", exposition, "openrec_rtp_packets_received_total", 12345, nil},
		{"labels summed", exposition, "openrec_recordings_finished_total", 6, nil},
		{"exponent and timestamp", exposition, "openrec_big", 1.5e6, nil},
		{"prefix only is absent", exposition, "openrec_rtp_packets", 0, ErrMetricNotFound},
		{"absent", exposition, "nope", 0, ErrMetricNotFound},
		{"empty name", exposition, "", 0, ErrInvalidConfig},
		{"empty text", "", "x", 0, ErrMetricNotFound},
		{"bad value", "x abc\n", "x", 0, ErrParse},
		{"NaN value", "x NaN\n", "x", 0, ErrParse},
		{"no value", "x{a=\"b\"}\n", "x", 0, ErrParse},
		{"unterminated labels", "x{a=\"b\" 1\n", "x", 0, ErrParse},
		{"too many fields", "x 1 2 3\n", "x", 0, ErrParse},
		{"CRLF and tabs", "x\t4\r\n", "x", 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetric([]byte(tt.text), tt.metric)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, text string
		want       uint64
		err        error
	}{
		{"real", "4242 (openrec) S 1 4242 4242 0 -1 4194560 3141 0 0 0 250 75 0 0 20 0 12 0 1000 2000000 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", 325, nil},
		{"name with spaces and parens", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0\n", 30, nil},
		{"no parens", "7 a R 1 2 3", 0, ErrParse},
		{"close only", "7 a) R 1 7 7 0 -1 0 0 0 0 0 10 20", 0, ErrParse},
		{"short", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 10", 0, ErrParse},
		{"negative utime", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 -10 20", 0, ErrParse},
		{"overflow", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 18446744073709551615 1", 0, ErrParse},
		{"empty", "", 0, ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.text))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name, text string
		want       uint64
		err        error
	}{
		{"real", "Name:\topenrec\nVmPeak:\t  900000 kB\nVmRSS:\t   52344 kB\nRssAnon:\t 40000 kB\n", 52344, nil},
		{"no VmRSS", "Name:\tkworker\nState:\tI (idle)\n", 0, ErrParse},
		{"no unit", "VmRSS:\t52344\n", 0, ErrParse},
		{"bad number", "VmRSS:\t5x kB\n", 0, ErrParse},
		{"empty", "", 0, ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmRSS([]byte(tt.text))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name          string
		before, after uint64
		wall          time.Duration
		want          float64
		ok            bool
	}{
		{"one core busy", 100, 300, 2 * time.Second, 100, true},
		{"quarter core", 0, 50, 2 * time.Second, 25, true},
		{"two cores", 0, 400, 2 * time.Second, 200, true},
		{"idle", 5, 5, time.Second, 0, true},
		{"zero wall", 0, 10, 0, 0, false},
		{"backwards", 10, 5, time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CPUPercent(tt.before, tt.after, tt.wall)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestClassifyAndAnswered(t *testing.T) {
	ok := &dial.Result{Statuses: []int{200, 200}}
	tests := []struct {
		name     string
		res      *dial.Result
		err      error
		class    string
		answered bool
	}{
		{"answered", ok, nil, "", true},
		{"503", &dial.Result{Statuses: []int{503, 0}}, fmt.Errorf("wrapped: %w", dial.StatusError{Code: 503, Reason: "Service Unavailable"}), "503", false},
		{"486 pointer target", &dial.Result{Statuses: []int{486}}, dial.StatusError{Code: 486}, "486", false},
		{"transaction timeout", &dial.Result{Statuses: []int{0}}, fmt.Errorf("%w: INVITE: %w", dial.ErrTransport, sip.ErrTransactionTimeout), "timeout", false},
		{"deadline", &dial.Result{Statuses: []int{0}}, context.DeadlineExceeded, "timeout", false},
		{"cancelled", &dial.Result{Statuses: []int{0}}, context.Canceled, "cancelled", false},
		{"bad answer", ok, fmt.Errorf("%w: no body", dial.ErrBadAnswer), "bad_answer", false},
		{"transport", &dial.Result{Statuses: []int{0}}, fmt.Errorf("%w: refused", dial.ErrTransport), "transport", false},
		{"other error", nil, errors.New("boom"), "error", false},
		{"nil result nil error", nil, nil, "error", false},
		{"no final response, no error", &dial.Result{Statuses: []int{200, 0}}, nil, "timeout", false},
		{"non-2xx, no error", &dial.Result{Statuses: []int{200, 480}}, nil, "480", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Answered(tt.res, tt.err); got != tt.answered {
				t.Errorf("Answered = %v", got)
			}
			if tt.answered {
				return
			}
			if got := Classify(tt.res, tt.err); got != tt.class {
				t.Errorf("Classify = %q, want %q", got, tt.class)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	if got, want := Deadline(6, 6, time.Second), time.Second+time.Second+Grace; got != want {
		t.Errorf("Deadline = %v, want %v", got, want)
	}
	if got, want := Deadline(100, 50, 10*time.Second), 12*time.Second+Grace; got != want {
		t.Errorf("Deadline = %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	base := Config{Target: "127.0.0.1:5060", Mode: dial.ModeMSR, Calls: 1, Rate: 1, Duration: time.Second}
	tests := []struct {
		name string
		mut  func(*Config)
		ok   bool
	}{
		{"base", func(*Config) {}, true},
		{"siprec ipv6 loopback", func(c *Config) { c.Mode, c.Target = dial.ModeSIPREC, "[::1]:5060" }, true},
		{"localhost", func(c *Config) { c.Target = "localhost:5060" }, true},
		{"remote refused", func(c *Config) { c.Target = "10.0.0.1:5060" }, false},
		{"remote allowed", func(c *Config) { c.Target, c.AllowRemote = "10.0.0.1:5060", true }, true},
		{"no port", func(c *Config) { c.Target = "127.0.0.1" }, false},
		{"zero calls", func(c *Config) { c.Calls = 0 }, false},
		{"too many calls", func(c *Config) { c.Calls = MaxCalls + 1 }, false},
		{"zero rate", func(c *Config) { c.Rate = 0 }, false},
		{"NaN rate", func(c *Config) { c.Rate = math.NaN() }, false},
		{"short duration", func(c *Config) { c.Duration = time.Millisecond }, false},
		{"long duration", func(c *Config) { c.Duration = 2 * time.Hour }, false},
		{"bad mode", func(c *Config) { c.Mode = "sip" }, false},
		{"negative pid", func(c *Config) { c.RecorderPID = -1 }, false},
		{"raw", func(c *Config) { c.Mode, c.Target, c.RawLow, c.RawHigh = ModeRaw, "127.0.0.1", 30000, 30003 }, true},
		{"raw host:port", func(c *Config) { c.Mode, c.RawLow, c.RawHigh = ModeRaw, 30000, 30003 }, true},
		{"raw remote refused", func(c *Config) { c.Mode, c.Target, c.RawLow, c.RawHigh = ModeRaw, "10.0.0.1", 30000, 30003 }, false},
		{"raw range too small", func(c *Config) { c.Mode, c.Calls, c.RawLow, c.RawHigh = ModeRaw, 2, 30000, 30006 }, false},
		{"raw range fits 2", func(c *Config) { c.Mode, c.Calls, c.RawLow, c.RawHigh = ModeRaw, 2, 30000, 30007 }, true},
		{"raw odd low", func(c *Config) { c.Mode, c.RawLow, c.RawHigh = ModeRaw, 30001, 30009 }, false},
		{"raw no range", func(c *Config) { c.Mode = ModeRaw }, false},
		{"raw with loss", func(c *Config) { c.Mode, c.RawLow, c.RawHigh, c.Loss = ModeRaw, 30000, 30003, 0.1 }, false},
		{"raw with API", func(c *Config) {
			c.Mode, c.RawLow, c.RawHigh, c.APIURL, c.APIUser, c.APIPassword = ModeRaw, 30000, 30003, "http://127.0.0.1:8080", "u", "p"
		}, false},
		{"API", func(c *Config) { c.APIURL, c.APIUser, c.APIPassword = "http://127.0.0.1:8080", "u", "p" }, true},
		{"API without password", func(c *Config) { c.APIURL, c.APIUser = "http://127.0.0.1:8080", "u" }, false},
		{"API not http", func(c *Config) { c.APIURL, c.APIUser, c.APIPassword = "127.0.0.1:8080", "u", "p" }, false},
		{"negative API concurrency", func(c *Config) { c.APIConcurrency = -1 }, false},
		{"negative API sample", func(c *Config) { c.APISample = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mut(&c)
			err := c.validate()
			if (err == nil) != tt.ok {
				t.Fatalf("validate: %v", err)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestSetupRate(t *testing.T) {
	tests := []struct {
		name     string
		answered int
		window   time.Duration
		want     float64
		ok       bool
	}{
		{"100 in 2 s", 100, 2 * time.Second, 50, true},
		{"one call", 1, 250 * time.Millisecond, 4, true},
		{"none answered", 0, time.Second, 0, false},
		{"zero window", 5, 0, 0, false},
		{"negative window", 5, -time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SetupRate(tt.answered, tt.window)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestZeroLoss(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name     string
		sent     uint64
		received *uint64
		drops    []*uint64
		want     bool
	}{
		{"all counted, no drops", 100, u(100), []*uint64{u(0), u(0), u(0)}, true},
		{"one lost", 100, u(99), []*uint64{u(0), u(0), u(0)}, false},
		{"more received than sent", 100, u(101), []*uint64{u(0)}, false},
		{"received unknown", 100, nil, []*uint64{u(0)}, false},
		{"kernel drop elsewhere", 100, u(100), []*uint64{u(0), u(3), u(0)}, false},
		{"kernel figure unknown", 100, u(100), []*uint64{u(0), nil}, false},
		{"nothing sent, nothing received", 0, u(0), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ZeroLoss(tt.sent, tt.received, tt.drops...); got != tt.want {
				t.Errorf("ZeroLoss = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in        string
		low, high int
		ok        bool
	}{
		{"30000-30399", 30000, 30399, true},
		{" 2 - 3 ", 2, 3, true},
		{"5-5", 5, 5, true},
		{"30000", 0, 0, false},
		{"30400-30000", 0, 0, false},
		{"0-10", 0, 0, false},
		{"1-65536", 0, 0, false},
		{"a-b", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			low, high, err := ParsePortRange(tt.in)
			if (err == nil) != tt.ok || low != tt.low || high != tt.high {
				t.Errorf("got %d-%d, %v", low, high, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestRawPorts(t *testing.T) {
	if got := RawPorts(30000, 0); got != [2]int{30000, 30002} {
		t.Errorf("call 0: %v", got)
	}
	if got := RawPorts(30000, 7); got != [2]int{30028, 30030} {
		t.Errorf("call 7: %v", got)
	}
}

func TestRecordingsFinal(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		n     int
		final bool
		err   error
	}{
		{"all ended", `{"items":[{"status":"completed"},{"status":"partial"}],"next_cursor":null}`, 2, true, nil},
		{"one still recording", `{"items":[{"status":"completed"},{"status":"recording"}]}`, 2, false, nil},
		{"failed counts as ended", `{"items":[{"status":"failed"}]}`, 1, true, nil},
		{"not there yet", `{"items":[],"next_cursor":null}`, 0, false, nil},
		{"no items key", `{"type":"about:blank","status":401}`, 0, false, ErrParse},
		{"item without status", `{"items":[{"id":"x"}]}`, 0, false, ErrParse},
		{"not JSON", `<html>`, 0, false, ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, final, err := RecordingsFinal([]byte(tt.body))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if n != tt.n || final != tt.final {
				t.Errorf("got %d, %v; want %d, %v", n, final, tt.n, tt.final)
			}
		})
	}
}
