package mixer

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/g711"
)

// l16Decoder is a stand-in codec with a 48 kHz RTP clock whose payload is
// 8 kHz PCM16 big-endian; a payload starting 0xEE fails to decode.
type l16Decoder struct{}

func (l16Decoder) Decode(p []byte, dst []int16) ([]int16, error) {
	if len(p) > 0 && p[0] == 0xEE {
		return dst[:0], errors.New("bad")
	}
	dst = dst[:0]
	for i := 0; i+1 < len(p); i += 2 {
		dst = append(dst, int16(binary.BigEndian.Uint16(p[i:])))
	}
	return dst, nil
}

func l16Factory(c media.Codec) (Decoder, error) {
	if c.Name == "X-L16" {
		return l16Decoder{}, nil
	}
	return nil, errors.New("unsupported")
}

// l16Payload is sender samples [s, s+n) of the ramp as PCM16 big-endian.
func l16Payload(s int64, n int) []byte {
	out := make([]byte, 2*n)
	for i, b := range ramp(s, n) {
		binary.BigEndian.PutUint16(out[2*i:], uint16(g711.DecodeULaw(b)))
	}
	return out
}

func TestDecodedCodecOnA48kClock(t *testing.T) {
	x := media.Codec{PT: 111, Name: "X-L16", ClockRate: 48000}
	// 20 ms packets: 160 samples, timestamps 960 apart.
	var steps []step
	for i := range 50 {
		st := step{arr: ms(20 * i), p: &media.Packet{SSRC: 7, Seq: uint16(100 + i), Timestamp: uint32(5000 + 960*i),
			PayloadType: 111, Payload: l16Payload(int64(160*i), 160)}}
		if i == 20 {
			st.p.Payload = []byte{0xEE, 1} // undecodable: a 20 ms gap
		}
		if i == 30 {
			continue // lost
		}
		steps = append(steps, st)
	}
	m, w := newTestMixer(t, Config{Decoders: l16Factory})
	m.Track(0).SetCodecs([]media.Codec{x}, nil, nil)
	drive(t, m, steps, ms(1500))
	exp := newExpect(12000)
	for i := range 50 {
		if i != 20 && i != 30 {
			exp = exp.frame(int64(160*i), int64(160*i))
		}
	}
	if i := pcmDiff(w.bytes(), exp); i >= 0 {
		t.Fatalf("sample %d differs (decoded audio not placed by the 48 kHz clock)", i)
	}
	st := m.Stats(0)
	if st.DecodeErrors != 1 || m.NeedsTranscode() || st.Codec != "X-L16" {
		t.Errorf("stats %+v, needs transcode %v", st, m.NeedsTranscode())
	}
}

func TestUndecodableCodecStaysRaw(t *testing.T) {
	m, _ := newTestMixer(t, Config{Decoders: l16Factory})
	m.Track(0).SetCodecs([]media.Codec{{PT: 18, Name: "G729", ClockRate: 8000}}, nil, nil)
	m.Track(0).HandleRTP(&media.Packet{SSRC: 1, Seq: 1, Timestamp: 1, PayloadType: 18, Payload: make([]byte, 20), Arrival: at(0)})
	if !m.NeedsTranscode() {
		t.Error("G.729 without a decoder does not need transcoding?")
	}
}

func TestCodecChangeMidCallRealigns(t *testing.T) {
	// PCMU for 400 ms, then a re-INVITE to the 48 kHz codec on the same
	// SSRC, timestamps continuing in the new clock: the audio after the
	// change lands at its arrival time.
	x := media.Codec{PT: 111, Name: "X-L16", ClockRate: 48000}
	pcmu := media.Codec{PT: 0, Name: media.PCMU, ClockRate: 8000}
	l := leg{ssrc: 9}
	steps := l.packets(0, 20)
	for i := 20; i < 40; i++ {
		steps = append(steps, step{arr: ms(20 * i), p: &media.Packet{SSRC: 9, Seq: uint16(i), Timestamp: uint32(160*20 + 960*(i-20)),
			PayloadType: 111, Payload: l16Payload(int64(160*i), 160)}})
	}
	m, w := newTestMixer(t, Config{Decoders: l16Factory})
	m.Track(0).SetCodecs([]media.Codec{pcmu, x}, nil, nil)
	drive(t, m, steps, ms(1200))
	exp := newExpect(9600)
	for i := range 40 {
		exp = exp.frame(int64(160*i), int64(160*i))
	}
	if i := pcmDiff(w.bytes(), exp); i >= 0 {
		t.Fatalf("output differs at sample %d", i)
	}
}

// pcmDiff compares µ-law outputs by value (µ-law has two codes for zero,
// and decoded audio is re-encoded), returning the first differing sample
// or -1.
func pcmDiff(got, want []byte) int {
	if len(got) < len(want) {
		return len(got)
	}
	for i := range want {
		if g711.DecodeULaw(got[i]) != g711.DecodeULaw(want[i]) {
			return i
		}
	}
	return -1
}
