package codec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media"
)

// TestDecodeAllocs: once its output buffer has grown, decoding a G.726 or
// GSM packet allocates nothing (the mixer reuses one buffer per track).
func TestDecodeAllocs(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		size       int
	}{
		{"G726-32", "sine440.g726-32", 80},
		{"GSM", "sine440.gsm", gsmFrameBytes},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(media.Codec{Name: tc.name, ClockRate: 8000})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int16, 0, 160)
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			p := data[i*tc.size : (i+1)*tc.size]
			i = (i + 1) % (len(data) / tc.size)
			buf, _ = d.Decode(p, buf)
		})
		if allocs != 0 || len(buf) != 160 {
			t.Errorf("%s: %v allocations per packet, %d samples", tc.name, allocs, len(buf))
		}
	}
}
