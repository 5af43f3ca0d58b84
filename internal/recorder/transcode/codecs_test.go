package transcode

import (
	"testing"
)

const offerHead = "v=0\r\no=SRC 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"

// The sidecar's m-lines are the channels when there are as many; a
// payload type a channel's m-line does not name comes from another m-line
// or the static table.
func TestChannelMaps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sidecar  string
		channels int
		want     map[int]map[uint8]string // channel → pt → codec
	}{
		{"MSR: two offers, one dynamic type meaning two codecs", offerHead + "m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 G726-32/8000\r\n" +
			offerHead + "m=audio 4002 RTP/AVP 97 101\r\na=rtpmap:97 AAL2-G726-32/8000\r\na=rtpmap:101 telephone-event/8000\r\n", 2,
			map[int]map[uint8]string{0: {97: "G726-32", 18: "G729"}, 1: {97: "AAL2-G726-32", 9: "G722"}}},
		{"SIPREC: one offer, two m-lines", offerHead + "m=audio 4000 RTP/AVP 18\r\nm=audio 4002 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n", 2,
			map[int]map[uint8]string{0: {18: "G729", 96: "OPUS"}, 1: {96: "OPUS", 3: "GSM"}}},
		{"more m-lines than channels: any m-line's types", offerHead + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 G726-16/8000\r\nm=audio 0 RTP/AVP 0\r\nm=audio 4004 RTP/AVP 0\r\n", 3,
			map[int]map[uint8]string{2: {96: "G726-16", 4: "G723"}}},
		{"no sidecar (passive): static types", "", 2, map[int]map[uint8]string{1: {18: "G729", 9: "G722", 3: "GSM"}}},
		{"garbage", "v=0\r\nm=audio x\r\n\x00\xff", 1, map[int]map[uint8]string{0: {18: "G729"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maps := channelMaps([]byte(tc.sidecar), tc.channels)
			if len(maps) != tc.channels {
				t.Fatalf("%d maps", len(maps))
			}
			for ch, pts := range tc.want {
				for pt, name := range pts {
					if c, ok := maps[ch].codecOf(pt); !ok || c.Name != name {
						t.Errorf("channel %d PT %d: %+v %v, want %s", ch, pt, c, ok, name)
					}
				}
			}
		})
	}
	if got := splitOffers([]byte(offerHead + "m=audio 1 RTP/AVP 0\r\n" + offerHead)); len(got) != 2 {
		t.Errorf("splitOffers: %d offers", len(got))
	}
}

// FuzzChannelMaps: any sidecar gives one map per channel, each payload
// type at most once, without a panic.
func FuzzChannelMaps(f *testing.F) {
	f.Add([]byte(offerHead+"m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 G726-32/8000\r\n"), uint8(2))
	f.Add([]byte("v=0\nv=0\nm=audio 1 RTP/AVP 127 128\n"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, n uint8) {
		channels := int(n%8) + 1
		maps := channelMaps(b, channels)
		if len(maps) != channels {
			t.Fatalf("%d maps for %d channels", len(maps), channels)
		}
		for _, m := range maps {
			var seen [128]bool
			for _, c := range m.codecs {
				if c.PT >= 128 || seen[c.PT] {
					t.Fatalf("payload type %d twice or out of range", c.PT)
				}
				seen[c.PT] = true
			}
		}
	})
}
