package mediaconv

import (
	"errors"
	"fmt"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
)

func TestPeaks(t *testing.T) {
	const n = 3*rate + 17
	loud := audiotest.Tone(440, 0.8, rate, n)
	silent := make([]int16, n)
	for _, f := range []wav.Format{wav.FormatULaw, wav.FormatALaw, wav.FormatPCM16} {
		s := openT(t, writeRecording(t, f, [][]int16{loud, silent}))
		for _, buckets := range []int{1, 7, 100, 1000} {
			t.Run(fmt.Sprintf("%v/%d", f, buckets), func(t *testing.T) {
				peaks, err := s.Peaks(buckets)
				if err != nil {
					t.Fatal(err)
				}
				if len(peaks) != 2 || len(peaks[0]) != 2*buckets || len(peaks[1]) != 2*buckets {
					t.Fatalf("got %d channels of %d and %d values, want 2 of %d", len(peaks), len(peaks[0]), len(peaks[1]), 2*buckets)
				}
				for b := range buckets {
					lo0, hi0 := peaks[0][2*b], peaks[0][2*b+1]
					lo1, hi1 := peaks[1][2*b], peaks[1][2*b+1]
					// Each bucket holds at least 3 periods of 440 Hz, so it
					// reaches the tone's peaks (0.8, less G.711 steps).
					if lo0 > -0.75 || hi0 < 0.75 || lo0 < -1 || hi0 > 1 {
						t.Fatalf("loud channel bucket %d: (%v, %v), want about (-0.8, 0.8)", b, lo0, hi0)
					}
					if lo1 < -0.001 || hi1 > 0.001 || lo1 > hi1 {
						t.Fatalf("silent channel bucket %d: (%v, %v), want about (0, 0)", b, lo1, hi1)
					}
				}
			})
		}
	}
}

func TestPeaksBuckets(t *testing.T) {
	// Three frames over five buckets: each frame lands in one bucket, in
	// order, and the buckets left empty are (0, 0).
	s := openT(t, writeRecording(t, wav.FormatPCM16, [][]int16{{16384, -32768, 8192}}))
	peaks, err := s.Peaks(5)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for b := range 5 {
		if lo, hi := peaks[0][2*b], peaks[0][2*b+1]; lo != 0 || hi != 0 {
			if lo != hi {
				t.Errorf("bucket %d holds one frame but is (%v, %v)", b, lo, hi)
			}
			got = append(got, lo)
		}
	}
	if fmt.Sprint(got) != "[0.5 -1 0.25]" {
		t.Errorf("non-empty buckets %v, want [0.5 -1 0.25]", got)
	}

	for _, buckets := range []int{0, -1, MaxBuckets + 1} {
		if _, err := s.Peaks(buckets); !errors.Is(err, ErrBuckets) {
			t.Errorf("Peaks(%d) = %v, want ErrBuckets", buckets, err)
		}
	}
	if p, err := s.Peaks(MaxBuckets); err != nil {
		t.Errorf("Peaks(MaxBuckets) = %v", err)
	} else if len(p[0]) != 2*MaxBuckets {
		t.Errorf("Peaks(MaxBuckets): %d values", len(p[0]))
	}
}
