package mediaconv

import "fmt"

// MaxBuckets is the largest bucket count Peaks accepts.
const MaxBuckets = 10000

// Peaks returns, per channel, buckets pairs of (min, max) sample values
// normalised to [-1, 1] (sample/32768) over the whole recording, for a
// waveform display: peaks[c][2*b] is the minimum and peaks[c][2*b+1] the
// maximum of channel c in bucket b. Bucket b covers frames
// [b*Frames/buckets, (b+1)*Frames/buckets); a bucket with no frames (a
// recording shorter than buckets frames) is (0, 0). buckets must be in
// 1..MaxBuckets (ErrBuckets). Peaks reads the whole file.
func (s *Source) Peaks(buckets int) ([][]float32, error) {
	if buckets < 1 || buckets > MaxBuckets {
		return nil, fmt.Errorf("%w: %d (valid: 1..%d)", ErrBuckets, buckets, MaxBuckets)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ch := s.h.channels
	lo := make([]int16, buckets*ch) // [bucket*ch + c]
	hi := make([]int16, buckets*ch)
	seen := make([]bool, buckets)

	total := s.h.frames
	nb := int64(buckets)
	bf := s.blockFrames()
	src := make([]byte, bf*s.h.blockAlign)
	lin := make([]int16, bf*ch)
	b := 0
	end := total / nb // first frame after bucket b
	for frame := int64(0); frame < total; {
		n := int(min(int64(bf), total-frame))
		if err := s.readFrames(src, frame, n); err != nil {
			return nil, err
		}
		s.decodeLinear(lin, src, n)
		for i := 0; i < n; i++ {
			for frame+int64(i) >= end {
				b++
				end = (int64(b) + 1) * total / nb
			}
			row := lin[i*ch : i*ch+ch]
			l, h := lo[b*ch:b*ch+ch], hi[b*ch:b*ch+ch]
			if !seen[b] {
				seen[b] = true
				copy(l, row)
				copy(h, row)
				continue
			}
			for c, v := range row {
				l[c] = min(l[c], v)
				h[c] = max(h[c], v)
			}
		}
		frame += int64(n)
	}

	out := make([][]float32, ch)
	for c := range out {
		p := make([]float32, 2*buckets)
		for k := range buckets {
			p[2*k] = float32(lo[k*ch+c]) / 32768
			p[2*k+1] = float32(hi[k*ch+c]) / 32768
		}
		out[c] = p
	}
	return out, nil
}
