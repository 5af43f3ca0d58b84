package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/dial"
)

// ClockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// which Linux fixes at 100 for the /proc interface on every architecture).
const ClockTicks = 100

// Percentile returns the p-th percentile (0 < p <= 100) of values by the
// nearest-rank method; values need not be sorted and are not modified. It
// returns false for an empty slice or p out of range.
func Percentile(values []float64, p float64) (float64, bool) {
	if len(values) == 0 || !(p > 0 && p <= 100) {
		return 0, false
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1], true
}

// ParseMetric returns the value of the metric family name in a Prometheus
// text exposition: the sum of its samples over all label sets (a counter
// without labels has exactly one). Comments and other families are
// ignored.
func ParseMetric(text []byte, name string) (float64, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: empty metric name", ErrInvalidConfig)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, fmt.Errorf("%w: metric line %q: unterminated labels", ErrParse, line)
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "), strings.HasPrefix(rest, "\t"):
		default:
			continue // another family sharing the prefix
		}
		fields := strings.Fields(rest)
		if len(fields) < 1 || len(fields) > 2 {
			return 0, fmt.Errorf("%w: metric line %q", ErrParse, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || math.IsNaN(v) {
			return 0, fmt.Errorf("%w: metric line %q: value %q", ErrParse, line, fields[0])
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrParse, err)
	}
	if !found {
		return 0, fmt.Errorf("%w: %s", ErrMetricNotFound, name)
	}
	if math.IsNaN(sum) {
		return 0, fmt.Errorf("%w: %s: samples sum to NaN", ErrParse, name)
	}
	return sum, nil
}

// ParseProcStat returns utime+stime (clock ticks) from the contents of
// /proc/PID/stat. The command name (field 2) may contain spaces and
// parentheses, so fields are counted after the last ')'.
func ParseProcStat(data []byte) (uint64, error) {
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || !strings.Contains(s[:i], "(") {
		return 0, fmt.Errorf("%w: /proc stat: no command name", ErrParse)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: /proc stat: %d fields after the command", ErrParse, len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: /proc stat: utime %q stime %q", ErrParse, f[11], f[12])
	}
	if u > math.MaxUint64-st {
		return 0, fmt.Errorf("%w: /proc stat: utime+stime overflows", ErrParse)
	}
	return u + st, nil
}

// ParseVmRSS returns VmRSS in kB from the contents of /proc/PID/status.
func ParseVmRSS(data []byte) (uint64, error) {
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: /proc status: VmRSS line %q", ErrParse, line)
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: /proc status: VmRSS %q", ErrParse, f[0])
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w: /proc status: no VmRSS (kernel thread or zombie?)", ErrParse)
}

// CPUPercent converts CPU clock ticks consumed over wall time into percent
// of one core (200 means two cores busy). It returns false when wall is not
// positive or the ticks went backwards (a different process).
func CPUPercent(ticksBefore, ticksAfter uint64, wall time.Duration) (float64, bool) {
	if wall <= 0 || ticksAfter < ticksBefore {
		return 0, false
	}
	cpu := float64(ticksAfter-ticksBefore) / ClockTicks
	return cpu / wall.Seconds() * 100, true
}

// Classify names the reason a call failed, the key of
// Report.FailuresByStatus: the SIP status code ("503"), "timeout" (no
// final response, or the run's deadline), "cancelled", "bad_answer",
// "transport" or "error". A call that ended with every INVITE answered 2xx
// and no error is not a failure; use Answered.
func Classify(res *dial.Result, err error) string {
	var se dial.StatusError
	switch {
	case errors.As(err, &se):
		return strconv.Itoa(se.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, sip.ErrTransactionTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, dial.ErrBadAnswer), errors.Is(err, dial.ErrNoCodec):
		return "bad_answer"
	case errors.Is(err, dial.ErrTransport):
		return "transport"
	case err != nil:
		return "error"
	}
	if res != nil {
		for _, st := range res.Statuses {
			if st >= 300 {
				return strconv.Itoa(st)
			}
			if st < 200 {
				return "timeout"
			}
		}
	}
	return "error"
}

// Answered reports whether a call succeeded: no error and every INVITE got
// a 2xx.
func Answered(res *dial.Result, err error) bool {
	if err != nil || res == nil || len(res.Statuses) == 0 {
		return false
	}
	for _, st := range res.Statuses {
		if st < 200 || st >= 300 {
			return false
		}
	}
	return true
}

// SetupRate is calls answered per second over the set-up window (first
// INVITE sent → last call answered). It returns false when no call was
// answered or the window is not positive.
func SetupRate(answered int, window time.Duration) (float64, bool) {
	if answered <= 0 || window <= 0 {
		return 0, false
	}
	return float64(answered) / window.Seconds(), true
}

// ZeroLoss reports whether a run lost nothing: the receiver counted exactly
// the packets put on the wire (sent already excludes packets withheld on
// purpose by --loss) and no kernel drop counter moved. An unknown figure
// (nil) is not zero, so a run without metrics or /proc is never zero-loss.
func ZeroLoss(sent uint64, received *uint64, drops ...*uint64) bool {
	if received == nil || *received != sent {
		return false
	}
	for _, d := range drops {
		if d == nil || *d != 0 {
			return false
		}
	}
	return true
}

// ParsePortRange parses "LOW-HIGH" (1..65535, LOW <= HIGH).
func ParsePortRange(s string) (low, high int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if ok {
		low, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			high, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || low < 1 || high > 65535 || low > high {
		return 0, 0, fmt.Errorf("%w: port range %q (want LOW-HIGH within 1-65535)", ErrInvalidConfig, s)
	}
	return low, high, nil
}

// RecordingsFinal reads the JSON answer of GET /api/v1/recordings: how
// many recordings it lists and whether the call is searchable as ended —
// at least one recording and none still in status "recording".
func RecordingsFinal(body []byte) (n int, final bool, err error) {
	var page struct {
		Items *[]struct {
			Status *string `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, false, fmt.Errorf("%w: recordings answer: %w", ErrParse, err)
	}
	if page.Items == nil {
		return 0, false, fmt.Errorf("%w: recordings answer without items", ErrParse)
	}
	final = len(*page.Items) > 0
	for _, it := range *page.Items {
		if it.Status == nil {
			return 0, false, fmt.Errorf("%w: recording without status", ErrParse)
		}
		if *it.Status == "recording" {
			final = false
		}
	}
	return len(*page.Items), final, nil
}
