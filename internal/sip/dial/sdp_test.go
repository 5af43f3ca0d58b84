package dial

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestParseAnswer(t *testing.T) {
	fallback := netip.MustParseAddr("192.0.2.9")
	const head = "v=0\r\no=r 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
	tests := []struct {
		name    string
		body    string
		n       int
		want    []answerStream
		wantErr error
	}{
		{
			name: "pcmu with dtmf",
			body: head + "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n",
			n:    1,
			want: []answerStream{{send: true, rtp: ap("10.0.0.1:4000"), rtcp: ap("10.0.0.1:4001"), pt: 0, codec: "PCMU", dtmfPT: 101}},
		},
		{
			name: "pcma chosen, media-level address, a=rtcp with address, no dtmf",
			body: head + "m=audio 5000 RTP/AVP 8\r\nc=IN IP4 10.0.0.2\r\na=rtcp:6001 IN IP4 10.0.0.3\r\na=rtpmap:8 PCMA/8000\r\n",
			n:    1,
			want: []answerStream{{send: true, rtp: ap("10.0.0.2:5000"), rtcp: ap("10.0.0.3:6001"), pt: 8, codec: "PCMA", dtmfPT: -1}},
		},
		{
			name: "dynamic PTs by rtpmap",
			body: head + "m=audio 5000 RTP/AVP 96 97\r\na=rtpmap:96 PCMU/8000\r\na=rtpmap:97 telephone-event/8000\r\n",
			n:    1,
			want: []answerStream{{send: true, rtp: ap("10.0.0.1:5000"), rtcp: ap("10.0.0.1:5001"), pt: 96, codec: "PCMU", dtmfPT: 97}},
		},
		{
			name: "second stream rejected, first inactive",
			body: head + "m=audio 5000 RTP/AVP 0\r\na=inactive\r\nm=audio 0 RTP/AVP 0\r\n",
			n:    2,
			want: []answerStream{{dtmfPT: -1}, {dtmfPT: -1}},
		},
		{
			name: "unspecified address uses the fallback",
			body: "v=0\r\no=r 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n",
			n:    1,
			want: []answerStream{{send: true, rtp: ap("192.0.2.9:7000"), rtcp: ap("192.0.2.9:7001"), codec: "PCMU", dtmfPT: -1}},
		},
		{name: "empty", body: "", n: 1, wantErr: ErrBadAnswer},
		{name: "garbage", body: "hello", n: 1, wantErr: ErrBadAnswer},
		{name: "too few m-lines", body: head + "m=audio 5000 RTP/AVP 0\r\n", n: 2, wantErr: ErrBadAnswer},
		{name: "no G.711", body: head + "m=audio 5000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n", n: 1, wantErr: ErrNoCodec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAnswer([]byte(tc.body), tc.n, fallback)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d streams", len(got))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("stream %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestBuildOfferRoundTrip(t *testing.T) {
	offer := buildOffer(netip.MustParseAddr("127.0.0.1"), 1, 1, []offerStream{
		{port: 4000, codec: "PCMA", label: "1"},
		{port: 4002, rtcpPort: 5000, codec: "PCMU", label: "2"},
	})
	s := string(offer)
	for _, want := range []string{"m=audio 4000 RTP/AVP 8 101\r\n", "a=rtpmap:8 PCMA/8000\r\n", "a=label:2\r\n",
		"a=rtcp:5000\r\n", "a=sendonly\r\n", "a=rtpmap:101 telephone-event/8000\r\n", "a=ptime:20\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("offer lacks %q:\n%s", want, s)
		}
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	if len(sd.MediaDescriptions) != 2 || sd.MediaDescriptions[1].MediaName.Port.Value != 4002 {
		t.Errorf("parsed offer %+v", sd.MediaDescriptions)
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte("v=0\r\no=r 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:4001 IN IP4 10.0.0.1\r\n"), 1)
	f.Add([]byte("v=0\r\nm=audio 0 RTP/AVP 8\r\n"), 2)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		n = n%3 + 1
		if n < 1 {
			n = 1
		}
		got, err := parseAnswer(body, n, netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			return
		}
		if len(got) != n {
			t.Fatalf("%d streams for %d", len(got), n)
		}
		for _, s := range got {
			if s.send && (!s.rtp.IsValid() || s.rtp.Port() == 0 || (s.codec != "PCMU" && s.codec != "PCMA")) {
				t.Fatalf("usable stream with %+v", s)
			}
		}
	})
}
