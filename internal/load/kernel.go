package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// UDPCounters are the kernel's UDP receive error counters, as
// /proc/net/snmp ("Udp:" lines) and /proc/net/snmp6 ("Udp6..." lines)
// report them for the whole network namespace. RcvbufErrors counts
// datagrams dropped because a socket's receive buffer was full; InErrors
// counts every datagram dropped on receive (RcvbufErrors included).
type UDPCounters struct {
	InErrors, RcvbufErrors uint64
}

// KernelCounters is one reading of the kernel's drop counters.
type KernelCounters struct {
	UDP UDPCounters
	// SoftnetDropped is the second column of /proc/net/softnet_stat summed
	// over CPUs: packets dropped because a CPU's input backlog
	// (net.core.netdev_max_backlog) was full, before any socket saw them.
	SoftnetDropped uint64
}

// ParseSNMP returns the UDP counters of /proc/net/snmp: the "Udp:" header
// line names the columns, the next "Udp:" line holds the values (the
// column order is read from the header, not assumed).
func ParseSNMP(data []byte) (UDPCounters, error) {
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Udp:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if header == nil {
			header = f
			continue
		}
		if len(f) != len(header) {
			return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp: %d Udp values for %d names", ErrParse, len(f), len(header))
		}
		vals := make(map[string]uint64, len(f))
		for i, name := range header {
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp: Udp %s %q", ErrParse, name, f[i])
			}
			vals[name] = v
		}
		return udpFrom(vals, "/proc/net/snmp", "")
	}
	if err := sc.Err(); err != nil {
		return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp: %w", ErrParse, err)
	}
	return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp: no Udp values", ErrParse)
}

// ParseSNMP6 returns the Udp6 counters of /proc/net/snmp6 (one "name
// value" pair per line; UdpLite6 lines are not UDP).
func ParseSNMP6(data []byte) (UDPCounters, error) {
	vals := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "Udp6") {
			continue
		}
		if len(f) != 2 {
			return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp6: line %q", ErrParse, sc.Text())
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp6: %s %q", ErrParse, f[0], f[1])
		}
		vals[strings.TrimPrefix(f[0], "Udp6")] = v
	}
	if err := sc.Err(); err != nil {
		return UDPCounters{}, fmt.Errorf("%w: /proc/net/snmp6: %w", ErrParse, err)
	}
	return udpFrom(vals, "/proc/net/snmp6", "Udp6")
}

// udpFrom picks the counters out of name → value.
func udpFrom(vals map[string]uint64, file, prefix string) (UDPCounters, error) {
	in, ok1 := vals["InErrors"]
	rb, ok2 := vals["RcvbufErrors"]
	if !ok1 || !ok2 {
		return UDPCounters{}, fmt.Errorf("%w: %s: no %sInErrors or %sRcvbufErrors", ErrParse, file, prefix, prefix)
	}
	return UDPCounters{InErrors: in, RcvbufErrors: rb}, nil
}

// ParseSoftnetStat returns the sum over CPUs (lines) of the second column
// of /proc/net/softnet_stat (hexadecimal): packets dropped because the
// CPU's input backlog was full. The number of columns differs between
// kernels; only the first two are read.
func ParseSoftnetStat(data []byte) (uint64, error) {
	var sum uint64
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return 0, fmt.Errorf("%w: /proc/net/softnet_stat: line %q", ErrParse, sc.Text())
		}
		v, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: /proc/net/softnet_stat: dropped %q", ErrParse, f[1])
		}
		if sum > math.MaxUint64-v {
			return 0, fmt.Errorf("%w: /proc/net/softnet_stat: sum overflows", ErrParse)
		}
		sum += v
		lines++
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: /proc/net/softnet_stat: %w", ErrParse, err)
	}
	if lines == 0 {
		return 0, fmt.Errorf("%w: /proc/net/softnet_stat: no CPU lines", ErrParse)
	}
	return sum, nil
}

// Delta returns after − before per counter; ok is false when any counter
// went backwards (the counters were reset or belong to another namespace).
func (after KernelCounters) Delta(before KernelCounters) (KernelCounters, bool) {
	var d KernelCounters
	pairs := []struct{ a, b uint64 }{
		{after.UDP.InErrors, before.UDP.InErrors},
		{after.UDP.RcvbufErrors, before.UDP.RcvbufErrors},
		{after.SoftnetDropped, before.SoftnetDropped},
	}
	out := []*uint64{&d.UDP.InErrors, &d.UDP.RcvbufErrors, &d.SoftnetDropped}
	for i, p := range pairs {
		if p.a < p.b {
			return KernelCounters{}, false
		}
		*out[i] = p.a - p.b
	}
	return d, true
}

// ReadKernelCounters reads procRoot/net/snmp, snmp6 (optional: absent when
// IPv6 is off) and softnet_stat, adding the Udp6 counters to the UDP ones.
func ReadKernelCounters(procRoot string) (KernelCounters, error) {
	var k KernelCounters
	b, err := os.ReadFile(filepath.Join(procRoot, "net", "snmp"))
	if err != nil {
		return k, err
	}
	if k.UDP, err = ParseSNMP(b); err != nil {
		return k, err
	}
	b, err = os.ReadFile(filepath.Join(procRoot, "net", "snmp6"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return k, err
	default:
		u6, err := ParseSNMP6(b)
		if err != nil {
			return k, err
		}
		k.UDP.InErrors += u6.InErrors
		k.UDP.RcvbufErrors += u6.RcvbufErrors
	}
	b, err = os.ReadFile(filepath.Join(procRoot, "net", "softnet_stat"))
	if err != nil {
		return k, err
	}
	if k.SoftnetDropped, err = ParseSoftnetStat(b); err != nil {
		return k, err
	}
	return k, nil
}
