//go:build spandsp && cgo

package codec

import (
	"fmt"
	"math"
	"testing"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec/spandspref"
)

// speechLike is a test signal that exercises the adaptation: a chirp with
// steps in level, a burst of noise and silence.
func speechLike(n int) []int16 {
	out := make([]int16, n)
	seed := uint32(1)
	for i := range out {
		var v float64
		switch seg := i / 2000 % 4; seg {
		case 0:
			v = 0
		case 1:
			seed = seed*1664525 + 1013904223
			v = float64(int32(seed)>>16) / 32768 * 0.3
		default: // a chirp from 200 Hz up, at 0.2 then 0.45 of full scale
			ts := float64(i%2000) / Rate
			v = 0.05 * float64(seg*seg) * math.Sin(2*math.Pi*(200*ts+800*ts*ts))
		}
		out[i] = int16(v * 32767)
	}
	return out
}

// TestG726BitExactWithSpandsp: for each rate and bit order, spandsp
// encodes a tone sweep, a loud tone and noise; our decoder's output equals
// spandsp's decoder's, sample for sample.
func TestG726BitExactWithSpandsp(t *testing.T) {
	signals := map[string][]int16{
		"440 Hz":      audiotest.Tone(440, 0.25, Rate, 2*Rate),
		"3 kHz loud":  audiotest.Tone(3000, 0.9, Rate, Rate),
		"speech-like": speechLike(4 * Rate),
	}
	for _, kbps := range []int{16, 24, 32, 40} {
		for _, pk := range []struct {
			prefix  string
			packing int
		}{{"", spandspref.PackRight}, {"AAL2-", spandspref.PackLeft}} {
			name := fmt.Sprintf("%sG726-%d", pk.prefix, kbps)
			for sig, pcm := range signals {
				t.Run(name+"/"+sig, func(t *testing.T) {
					stream := spandspref.G726Encode(kbps*1000, pk.packing, pcm)
					ref := spandspref.G726Decode(kbps*1000, pk.packing, stream)
					d, err := NewDecoder(media.Codec{Name: name, ClockRate: 8000})
					if err != nil {
						t.Fatal(err)
					}
					var ours, buf []int16
					per := kbps * 20 / 8 // 20 ms packets
					for i := 0; i < len(stream); i += per {
						buf, _ = d.Decode(stream[i:min(i+per, len(stream))], buf)
						ours = append(ours, buf...)
					}
					if len(ours) != len(ref) {
						t.Fatalf("%d samples, spandsp %d", len(ours), len(ref))
					}
					clipped := 0
					for i := range ref {
						if ours[i] == ref[i] {
							continue
						}
						// spandsp returns int16(SR<<2), which wraps past full
						// scale; we saturate instead.
						if (ours[i] == 32767 && ref[i] < 0) || (ours[i] == -32768 && ref[i] >= 0) {
							clipped++
							continue
						}
						t.Fatalf("sample %d: %d, spandsp %d", i, ours[i], ref[i])
					}
					if clipped > 0 {
						t.Logf("%d samples saturated where spandsp wraps", clipped)
					}
				})
			}
		}
	}
}

// TestGSMBitExactWithSpandsp: spandsp's GSM 06.10 (also derived from the
// TU Berlin library) encodes a loud tone and a speech-like signal; our
// decoder's output equals spandsp's decoder's.
func TestGSMBitExactWithSpandsp(t *testing.T) {
	for name, pcm := range map[string][]int16{
		"3 kHz loud":  audiotest.Tone(3000, 0.95, Rate, Rate),
		"speech-like": speechLike(4 * Rate),
	} {
		t.Run(name, func(t *testing.T) {
			stream := spandspref.GSMEncode(pcm)
			ref := spandspref.GSMDecode(stream)
			ours, err := newGSM().Decode(stream, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ours) != len(ref) {
				t.Fatalf("%d samples, spandsp %d", len(ours), len(ref))
			}
			for i := range ref {
				if ours[i] != ref[i] {
					t.Fatalf("sample %d: %d, spandsp %d", i, ours[i], ref[i])
				}
			}
		})
	}
}
