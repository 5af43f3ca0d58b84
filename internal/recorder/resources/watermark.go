package resources

import (
	"fmt"
	"strconv"
	"strings"
)

// Watermark is a free-space threshold: a number of bytes, or a percentage
// of the file system's size. The zero Watermark is disabled.
type Watermark struct {
	Bytes   uint64
	Percent float64
}

// ParseWatermark reads "2GB", "200MB", "512KiB", "1000000" (bytes), "5%",
// or "0" / "" (disabled). Units are decimal (KB, MB, GB, TB) or binary
// (KiB, MiB, GiB, TiB), case-insensitive.
func ParseWatermark(s string) (Watermark, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Watermark{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v >= 100 {
			return Watermark{}, fmt.Errorf("%w: %q (want a percentage 0-99)", ErrWatermark, s)
		}
		return Watermark{Percent: v}, nil
	}
	units := []struct {
		suffix string
		mult   uint64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
	}
	num, mult := strings.ToLower(s), uint64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return Watermark{}, fmt.Errorf("%w: %q (want bytes like 2GB, 200MB, or a percentage like 5%%)", ErrWatermark, s)
	}
	return Watermark{Bytes: uint64(v * float64(mult))}, nil
}

// Bytes of the threshold on a file system of total bytes.
func (w Watermark) threshold(total uint64) uint64 {
	if w.Percent > 0 {
		return uint64(float64(total) * w.Percent / 100)
	}
	return w.Bytes
}

// Below reports whether free bytes (of total) are under the watermark.
func (w Watermark) Below(free, total uint64) bool {
	t := w.threshold(total)
	return t > 0 && free < t
}

// String is the watermark as ParseWatermark reads it.
func (w Watermark) String() string {
	switch {
	case w.Percent > 0:
		return strconv.FormatFloat(w.Percent, 'f', -1, 64) + "%"
	case w.Bytes == 0:
		return "0"
	default:
		return strconv.FormatUint(w.Bytes, 10) + "B"
	}
}
