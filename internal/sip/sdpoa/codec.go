package sdpoa

import "github.com/openrec/openrec/internal/media"

// staticPayloadTypes are the static RTP payload types of RFC 3551 §6
// (tables 4 and 5), used when an offer lists one without a=rtpmap.
// Channels is 1 for audio and 0 for video.
var staticPayloadTypes = map[uint8]media.Codec{
	0:  {PT: 0, Name: media.PCMU, ClockRate: 8000, Channels: 1},
	3:  {PT: 3, Name: "GSM", ClockRate: 8000, Channels: 1},
	4:  {PT: 4, Name: "G723", ClockRate: 8000, Channels: 1},
	5:  {PT: 5, Name: "DVI4", ClockRate: 8000, Channels: 1},
	6:  {PT: 6, Name: "DVI4", ClockRate: 16000, Channels: 1},
	7:  {PT: 7, Name: "LPC", ClockRate: 8000, Channels: 1},
	8:  {PT: 8, Name: media.PCMA, ClockRate: 8000, Channels: 1},
	9:  {PT: 9, Name: "G722", ClockRate: 8000, Channels: 1}, // RTP clock 8000 although sampled at 16 kHz (§4.5.2)
	10: {PT: 10, Name: "L16", ClockRate: 44100, Channels: 2},
	11: {PT: 11, Name: "L16", ClockRate: 44100, Channels: 1},
	12: {PT: 12, Name: "QCELP", ClockRate: 8000, Channels: 1},
	13: {PT: 13, Name: media.CN, ClockRate: 8000, Channels: 1},
	14: {PT: 14, Name: "MPA", ClockRate: 90000, Channels: 1},
	15: {PT: 15, Name: "G728", ClockRate: 8000, Channels: 1},
	16: {PT: 16, Name: "DVI4", ClockRate: 11025, Channels: 1},
	17: {PT: 17, Name: "DVI4", ClockRate: 22050, Channels: 1},
	18: {PT: 18, Name: "G729", ClockRate: 8000, Channels: 1},
	25: {PT: 25, Name: "CELB", ClockRate: 90000},
	26: {PT: 26, Name: "JPEG", ClockRate: 90000},
	28: {PT: 28, Name: "NV", ClockRate: 90000},
	31: {PT: 31, Name: "H261", ClockRate: 90000},
	32: {PT: 32, Name: "MPV", ClockRate: 90000},
	33: {PT: 33, Name: "MP2T", ClockRate: 90000},
	34: {PT: 34, Name: "H263", ClockRate: 90000},
}

// staticCodec returns the RFC 3551 codec of a static payload type.
func staticCodec(pt uint8) (media.Codec, bool) {
	c, ok := staticPayloadTypes[pt]
	return c, ok
}

// ChooseCodec returns the first codec of m, in offer order, whose name
// decodable accepts, with ok true. If none is decodable it returns the first
// offered codec with ok false: the caller still records that one raw, since
// a call is never refused for its codec. With no codec offered at all it
// returns the zero Codec and false.
func ChooseCodec(m Media, decodable func(name string) bool) (codec media.Codec, ok bool) {
	for _, c := range m.Codecs {
		if decodable != nil && decodable(c.Name) {
			return c, true
		}
	}
	if len(m.Codecs) > 0 {
		return m.Codecs[0], false
	}
	return media.Codec{}, false
}
