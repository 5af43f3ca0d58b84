package mixer_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/mixer"
)

// FuzzHandleRTPWide: garbage packets of every payload type of a wideband
// call (G.722, Opus, AMR-WB where built, and narrowband G.711 doubled) to
// a 16 kHz mixer with the real decoders: no panic, and the file holds
// exactly the frames the mixer counts (6 bytes a packet: channel and
// payload type, sequence step, timestamp step, arrival step, length).
func FuzzHandleRTPWide(f *testing.F) {
	f.Add([]byte{0, 1, 0, 160, 4, 160, 2, 1, 0, 160, 4, 61})
	f.Add([]byte{0x0c, 0xff, 0x80, 0x00, 0xfc, 0xff, 0x06, 0x02, 0x7f, 0xff, 0x01, 0x20})
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		out := &frames{}
		m, err := mixer.New(mixer.Config{Channels: 2, Format: mixer.FormatPCM16, SampleRate: mixer.WideRate, Start: start,
			Decoders: func(c media.Codec) (mixer.Decoder, error) { return codec.NewDecoderRate(c, mixer.WideRate) }}, out)
		if err != nil {
			t.Fatal(err)
		}
		codecs := []media.Codec{{PT: 0, Name: media.PCMU}, {PT: 9, Name: "G722", ClockRate: 8000},
			{PT: 96, Name: "OPUS", ClockRate: 48000, Channels: 2}, {PT: 97, Name: "AMR-WB", ClockRate: 16000, Channels: 1},
			{PT: 98, Name: "AMR-WB", ClockRate: 16000, Channels: 1, Fmtp: "octet-align=1"}}
		for ch := range 2 {
			m.Track(ch).SetCodecs(codecs, &media.Codec{PT: 101, Name: media.TelephoneEvent, ClockRate: 16000}, &media.Codec{PT: 13, Name: media.CN})
		}
		pts := []uint8{0, 9, 96, 97, 98, 101, 13, 9}
		var seq [2]uint16
		var ts [2]uint32
		arr := time.Duration(0)
		data := []byte{}
		for ; len(b) >= 6; b = b[6:] {
			ch := int(b[0] & 1)
			seq[ch] += uint16(int8(b[1]))
			ts[ch] += uint32(int16(binary.BigEndian.Uint16(b[2:])))
			arr += time.Duration(int8(b[4])) * 5 * time.Millisecond
			n := int(b[5])
			for len(data) < n {
				data = append(data, byte(len(data)*31)^b[0])
			}
			p := media.Packet{SSRC: uint32(1 + ch), Seq: seq[ch], Timestamp: ts[ch], PayloadType: pts[(b[0]>>1)&7],
				Payload: data[:n], Arrival: start.Add(arr)}
			m.Track(ch).HandleRTP(&p)
			if b[0]&0x80 != 0 {
				_ = m.Flush(start.Add(arr))
			}
		}
		if err := m.Close(start.Add(arr + time.Second)); err != nil {
			t.Fatal(err)
		}
		if int64(out.n) != m.Frames()*4 {
			t.Fatalf("%d bytes for %d frames", out.n, m.Frames())
		}
	})
}
