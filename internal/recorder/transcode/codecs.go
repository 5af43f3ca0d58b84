package transcode

import (
	"bytes"
	"strings"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// payloadMap is what a channel's track was told by SDP: its codecs (for
// the mixer's SetCodecs) and its telephone-event and comfort-noise types.
type payloadMap struct {
	codecs []media.Codec
	te, cn *media.Codec
}

// staticCodecs are the RFC 3551 static payload types a raw sidecar may
// hold without an rtpmap.
var staticCodecs = map[uint8]media.Codec{
	3:  {PT: 3, Name: "GSM", ClockRate: 8000, Channels: 1},
	4:  {PT: 4, Name: "G723", ClockRate: 8000, Channels: 1},
	9:  {PT: 9, Name: "G722", ClockRate: 8000, Channels: 1},
	18: {PT: 18, Name: "G729", ClockRate: 8000, Channels: 1},
}

// splitOffers cuts the SDP sidecar (the recording's offers, one after the
// other, in channel order) at each "v=" line.
func splitOffers(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i < len(b); {
		if b[i] == 'v' && i+1 < len(b) && b[i+1] == '=' {
			if start >= 0 {
				out = append(out, b[start:i])
			}
			start = i
		}
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			break
		}
		i += nl + 1
	}
	if start >= 0 {
		out = append(out, b[start:])
	}
	return out
}

// channelMaps maps each channel to the payload types its track had: the
// recordable audio m-lines of the sidecar's offers, in order, are the
// channels when there are as many of them as channels (SIPREC: one offer,
// one m-line per stream; MSR: one offer per leg). Payload types a
// channel's m-line does not name are looked up in the other m-lines and
// then among the static types, so a sidecar written before every leg
// arrived (or a passive recording's, without SDP) still names them.
func channelMaps(sidecar []byte, channels int) []payloadMap {
	var mlines []sdpoa.Media
	for _, o := range splitOffers(sidecar) {
		s, err := sdpoa.ParseOffer(o)
		if err != nil {
			continue
		}
		for _, m := range s.Media {
			if m.Recordable() {
				mlines = append(mlines, m)
			}
		}
	}
	out := make([]payloadMap, channels)
	for ch := range out {
		var own *sdpoa.Media
		if len(mlines) == channels {
			own = &mlines[ch]
		}
		var seen [128]bool
		add := func(c media.Codec) {
			if c.PT < 128 && !seen[c.PT] {
				seen[c.PT] = true
				c.Name = strings.ToUpper(c.Name)
				out[ch].codecs = append(out[ch].codecs, c)
			}
		}
		if own != nil {
			for _, c := range own.Codecs {
				add(c)
			}
			if len(own.Codecs) > 0 {
				out[ch].te, out[ch].cn = own.EventsFor(own.Codecs[0])
			}
		}
		for _, m := range mlines {
			for _, c := range m.Codecs {
				add(c)
			}
		}
		for _, c := range staticCodecs {
			add(c)
		}
	}
	return out
}

// codecOf is the codec of payload type pt in pm (ok false: unknown).
func (pm payloadMap) codecOf(pt uint8) (media.Codec, bool) {
	for _, c := range pm.codecs {
		if c.PT == pt {
			return c, true
		}
	}
	return media.Codec{}, false
}
