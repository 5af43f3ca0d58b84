package recorder

import (
	"testing"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// The offer's chosen codec (first decodable, as the answer picks it)
// decides the recording's rate.
func TestWidebandOffer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		media string
		want  bool
	}{
		{"G.711 only", "m=audio 4000 RTP/AVP 0 8\r\n", false},
		{"G.722 first", "m=audio 4000 RTP/AVP 9 0\r\n", true},
		{"G.711 before G.722: the answer takes PCMU", "m=audio 4000 RTP/AVP 0 9\r\n", false},
		{"Opus on the second stream", "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", true},
		{"a disabled G.722 stream", "m=audio 0 RTP/AVP 9\r\nm=audio 4002 RTP/AVP 0\r\n", false},
		{"undecodable first, then G.722", "m=audio 4000 RTP/AVP 97 9\r\na=rtpmap:97 iLBC/8000\r\n", true},
	} {
		s, err := sdpoa.ParseOffer([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + tc.media))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := wideband(s); got != tc.want {
			t.Errorf("%s: wideband %v, want %v", tc.name, got, tc.want)
		}
	}
	if wideband(nil) {
		t.Error("no offer: wideband")
	}
}
