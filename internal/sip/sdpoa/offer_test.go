package sdpoa

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/media"
)

// sdpLines joins lines with CRLF and ends the body with CRLF.
func sdpLines(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n"
}

var (
	pcmu    = media.Codec{PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 1}
	pcma    = media.Codec{PT: 8, Name: "PCMA", ClockRate: 8000, Channels: 1}
	g722    = media.Codec{PT: 9, Name: "G722", ClockRate: 8000, Channels: 1}
	g729    = media.Codec{PT: 18, Name: "G729", ClockRate: 8000, Channels: 1}
	gsm     = media.Codec{PT: 3, Name: "GSM", ClockRate: 8000, Channels: 1}
	g723    = media.Codec{PT: 4, Name: "G723", ClockRate: 8000, Channels: 1}
	cn13    = media.Codec{PT: 13, Name: "CN", ClockRate: 8000, Channels: 1}
	te101   = media.Codec{PT: 101, Name: "TELEPHONE-EVENT", ClockRate: 8000, Channels: 1}
	genesys = netip.MustParseAddr("10.10.20.31")
	sbc     = netip.MustParseAddr("198.51.100.7")
)

// withFmtp is c with its a=fmtp parameters.
func withFmtp(c media.Codec, fmtp string) media.Codec { c.Fmtp = fmtp; return c }

func ptr[T any](v T) *T { return &v }

func TestParseOffer(t *testing.T) {
	hugeLabel := strings.Repeat("L", 5000)
	tests := []struct {
		name   string
		body   string
		origin string
		sname  string
		want   []Media // compared without the unexported fields
	}{
		{
			name: "MSR single audio from a Genesys MCP",
			body: sdpLines(
				"v=0",
				"o=GVP 1650000000 1 IN IP4 10.10.20.31",
				"s=GVP Media Server",
				"c=IN IP4 10.10.20.31",
				"t=0 0",
				"m=audio 41002 RTP/AVP 0 8 9 18 101",
				"a=rtpmap:0 PCMU/8000",
				"a=rtpmap:8 PCMA/8000",
				"a=rtpmap:9 G722/8000",
				"a=rtpmap:18 G729/8000",
				"a=fmtp:18 annexb=no",
				"a=rtpmap:101 telephone-event/8000",
				"a=fmtp:101 0-15",
				"a=ptime:20",
				"a=sendonly",
			),
			origin: "GVP 1650000000 1 IN IP4 10.10.20.31",
			sname:  "GVP Media Server",
			want: []Media{{
				Index: 0, Type: "audio", Port: 41002, Proto: "RTP/AVP", Addr: genesys,
				Direction: SendOnly, Codecs: []media.Codec{pcmu, pcma, g722, withFmtp(g729, "annexb=no")},
				TelephoneEvent: ptr(withFmtp(te101, "0-15")), Ptime: 20,
			}},
		},
		{
			name: "MSR one session with two audio m-lines",
			body: sdpLines(
				"v=0",
				"o=GVP 1650000100 1 IN IP4 10.10.20.31",
				"s=GVP Media Server",
				"c=IN IP4 10.10.20.31",
				"t=0 0",
				"m=audio 41010 RTP/AVP 8 101",
				"a=rtpmap:8 PCMA/8000",
				"a=rtpmap:101 telephone-event/8000",
				"a=sendonly",
				"m=audio 41012 RTP/AVP 8 101",
				"a=rtpmap:8 PCMA/8000",
				"a=rtpmap:101 telephone-event/8000",
				"a=sendonly",
			),
			origin: "GVP 1650000100 1 IN IP4 10.10.20.31",
			sname:  "GVP Media Server",
			want: []Media{
				{Index: 0, Type: "audio", Port: 41010, Proto: "RTP/AVP", Addr: genesys, Direction: SendOnly,
					Codecs: []media.Codec{pcma}, TelephoneEvent: &te101},
				{Index: 1, Type: "audio", Port: 41012, Proto: "RTP/AVP", Addr: genesys, Direction: SendOnly,
					Codecs: []media.Codec{pcma}, TelephoneEvent: &te101},
			},
		},
		{
			name: "SIPREC two sendonly streams, c= per media only",
			body: sdpLines(
				"v=0",
				"o=Sonus_UAC 328001 655768 IN IP4 172.16.169.181",
				"s=SIP Media Capabilities",
				"t=0 0",
				"m=audio 48932 RTP/AVP 0",
				"c=IN IP4 172.16.169.132",
				"a=label:1",
				"a=rtpmap:0 PCMU/8000",
				"a=sendonly",
				"m=audio 48926 RTP/AVP 0",
				"c=IN IP4 172.16.169.133",
				"a=label:2",
				"a=sendonly",
			),
			origin: "Sonus_UAC 328001 655768 IN IP4 172.16.169.181",
			sname:  "SIP Media Capabilities",
			want: []Media{
				{Index: 0, Type: "audio", Port: 48932, Proto: "RTP/AVP", Addr: netip.MustParseAddr("172.16.169.132"),
					Direction: SendOnly, Label: "1", Codecs: []media.Codec{pcmu}},
				{Index: 1, Type: "audio", Port: 48926, Proto: "RTP/AVP", Addr: netip.MustParseAddr("172.16.169.133"),
					Direction: SendOnly, Label: "2", Codecs: []media.Codec{pcmu}},
			},
		},
		{
			name: "m=video added by a media server",
			body: sdpLines(
				"v=0",
				"o=GVP 1650000200 2 IN IP4 10.10.20.31",
				"s=GVP Media Server",
				"c=IN IP4 10.10.20.31",
				"t=0 0",
				"m=audio 41020 RTP/AVP 0",
				"a=sendonly",
				"m=video 41022 RTP/AVP 96 34",
				"b=AS:512",
				"a=rtpmap:96 H264/90000",
				"a=sendonly",
			),
			origin: "GVP 1650000200 2 IN IP4 10.10.20.31",
			sname:  "GVP Media Server",
			want: []Media{
				{Index: 0, Type: "audio", Port: 41020, Proto: "RTP/AVP", Addr: genesys, Direction: SendOnly,
					Codecs: []media.Codec{pcmu}},
				{Index: 1, Type: "video", Port: 41022, Proto: "RTP/AVP", Addr: genesys, Direction: SendOnly,
					Codecs: []media.Codec{{PT: 96, Name: "H264", ClockRate: 90000}, {PT: 34, Name: "H263", ClockRate: 90000}}},
			},
		},
		{
			name: "inactive streams (SIPREC pause)",
			body: sdpLines(
				"v=0",
				"o=SBC 2890844526 2890844527 IN IP4 198.51.100.7",
				"s=SIPREC",
				"c=IN IP4 198.51.100.7",
				"t=0 0",
				"m=audio 52000 RTP/AVP 8 13",
				"a=label:1",
				"a=inactive",
			),
			origin: "SBC 2890844526 2890844527 IN IP4 198.51.100.7",
			sname:  "SIPREC",
			want: []Media{{Index: 0, Type: "audio", Port: 52000, Proto: "RTP/AVP", Addr: sbc, Direction: Inactive,
				Label: "1", Codecs: []media.Codec{pcma}, ComfortNoise: &cn13}},
		},
		{
			name: "old-style hold, session-level direction",
			body: sdpLines(
				"v=0",
				"o=GVP 1650000300 3 IN IP4 10.10.20.31",
				"s=GVP Media Server",
				"c=IN IP4 0.0.0.0",
				"t=0 0",
				"a=sendonly",
				"m=audio 41030 RTP/AVP 0",
				"m=audio 41032 RTP/AVP 0",
				"c=IN IP4 10.10.20.31",
				"a=recvonly",
			),
			origin: "GVP 1650000300 3 IN IP4 10.10.20.31",
			sname:  "GVP Media Server",
			want: []Media{
				{Index: 0, Type: "audio", Port: 41030, Proto: "RTP/AVP", Addr: netip.IPv4Unspecified(),
					Direction: SendOnly, Hold: true, Codecs: []media.Codec{pcmu}},
				{Index: 1, Type: "audio", Port: 41032, Proto: "RTP/AVP", Addr: genesys,
					Direction: RecvOnly, Codecs: []media.Codec{pcmu}},
			},
		},
		{
			name: "rtcp-mux, a=rtcp and IPv6",
			body: sdpLines(
				"v=0",
				"o=- 7 7 IN IP6 2001:db8::7",
				"s=-",
				"c=IN IP6 2001:db8::7",
				"t=0 0",
				"m=audio 49170 RTP/AVP 0",
				"a=rtcp:49171 IN IP6 2001:db8::7",
				"a=rtcp-mux",
			),
			origin: "- 7 7 IN IP6 2001:db8::7",
			sname:  "-",
			want: []Media{{Index: 0, Type: "audio", Port: 49170, Proto: "RTP/AVP", Addr: netip.MustParseAddr("2001:db8::7"),
				Direction: SendRecv, Codecs: []media.Codec{pcmu}, RTCPMux: true, RTCPPort: 49171}},
		},
		{
			name: "static payload types without rtpmap",
			body: sdpLines(
				"v=0",
				"o=- 1 1 IN IP4 203.0.113.5",
				"s=-",
				"c=IN IP4 203.0.113.5",
				"t=0 0",
				"m=audio 6000 RTP/AVP 18 4 3 0 8 9 13 2 96",
				"a=ptime:30",
			),
			origin: "- 1 1 IN IP4 203.0.113.5",
			sname:  "-",
			want: []Media{{Index: 0, Type: "audio", Port: 6000, Proto: "RTP/AVP", Addr: netip.MustParseAddr("203.0.113.5"),
				Direction: SendRecv, Codecs: []media.Codec{g729, g723, gsm, pcmu, pcma, g722},
				ComfortNoise: &cn13, Ptime: 30}},
		},
		{
			name: "dynamic telephone-event and CN, first of each kept",
			body: sdpLines(
				"v=0",
				"o=- 11 11 IN IP4 203.0.113.9",
				"s=-",
				"c=IN IP4 203.0.113.9",
				"t=0 0",
				"m=audio 7000 RTP/AVP 111 0 97 96 98",
				"a=rtpmap:111 opus/48000/2",
				"a=rtpmap:0 PCMU/8000",
				"a=rtpmap:97 TELEPHONE-EVENT/48000",
				"a=rtpmap:96 telephone-event/8000",
				"a=rtpmap:98 cn/8000",
				"a=sendonly",
			),
			origin: "- 11 11 IN IP4 203.0.113.9",
			sname:  "-",
			want: []Media{{Index: 0, Type: "audio", Port: 7000, Proto: "RTP/AVP", Addr: netip.MustParseAddr("203.0.113.9"),
				Direction:      SendOnly,
				Codecs:         []media.Codec{{PT: 111, Name: "OPUS", ClockRate: 48000, Channels: 2}, pcmu},
				TelephoneEvent: &media.Codec{PT: 97, Name: "TELEPHONE-EVENT", ClockRate: 48000, Channels: 1},
				ComfortNoise:   &media.Codec{PT: 98, Name: "CN", ClockRate: 8000, Channels: 1}}},
		},
		{
			name: "SRTP crypto lines kept raw",
			body: sdpLines(
				"v=0",
				"o=SBC 9 9 IN IP4 198.51.100.7",
				"s=SIPREC",
				"c=IN IP4 198.51.100.7",
				"t=0 0",
				"m=audio 52010 RTP/SAVP 0",
				"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
				"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj",
				"a=sendonly",
			),
			origin: "SBC 9 9 IN IP4 198.51.100.7",
			sname:  "SIPREC",
			want: []Media{{Index: 0, Type: "audio", Port: 52010, Proto: "RTP/SAVP", Addr: sbc, Direction: SendOnly,
				Codecs: []media.Codec{pcmu},
				Crypto: []string{
					"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
					"2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj",
				}}},
		},
		{
			name: "disabled stream and T.38 with port 0",
			body: sdpLines(
				"v=0",
				"o=SBC 5 6 IN IP4 198.51.100.7",
				"s=SIPREC",
				"c=IN IP4 198.51.100.7",
				"t=0 0",
				"m=audio 0 RTP/AVP 0",
				"a=label:2",
				"m=image 0 udptl t38",
			),
			origin: "SBC 5 6 IN IP4 198.51.100.7",
			sname:  "SIPREC",
			want: []Media{
				{Index: 0, Type: "audio", Port: 0, Proto: "RTP/AVP", Addr: sbc, Direction: SendRecv, Label: "2",
					Codecs: []media.Codec{pcmu}},
				{Index: 1, Type: "image", Port: 0, Proto: "udptl", Addr: sbc, Direction: SendRecv},
			},
		},
		{
			name: "procomm: a=direction:both and a=label:a_leg",
			body: sdpLines(
				"v=0",
				"o=sems 1022740575 691822371 IN IP4 89.185.131.7",
				"s=sems",
				"c=IN IP4 89.185.131.7",
				"t=0 0",
				"m=audio 12654 RTP/AVP 8",
				"c=IN IP4 89.185.131.7",
				"a=rtpmap:8 PCMA/8000",
				"a=direction:both",
				"a=sendonly",
				"a=label:a_leg",
			),
			origin: "sems 1022740575 691822371 IN IP4 89.185.131.7",
			sname:  "sems",
			want: []Media{{Index: 0, Type: "audio", Port: 12654, Proto: "RTP/AVP", Addr: netip.MustParseAddr("89.185.131.7"),
				Direction: SendOnly, Label: "a_leg", Codecs: []media.Codec{pcma}}},
		},
		{
			name: "tolerated oddities: LF ends, odd o=, no s=/t=, dropped lines, huge label",
			body: "\n  v=0  \n" +
				"o=Media Server 0x1F IN IP4 mcp-01.example.net\n" +
				"a=sendonly\n" +
				"y=unknown type letter\n" +
				"c=in ip4 233.252.0.1/127\n" +
				"b=AS:xyz\n" +
				"u=::not a url\n" +
				"r=7d 1h 0 25h\n" +
				"k=prompt\n" +
				"m=audio 16384/2 RTP/AVP 0 126 96\n" +
				"i=audio\n" +
				"b=XX:1\n" +
				"k=clear:secret\n" +
				"t=0 0 0\n" +
				"a=rtpmap:126 telephone-event\n" +
				"a=rtpmap:96 bad name/8000\n" +
				"a=label:" + hugeLabel + "\n" +
				"a=ptime:20.4\n" +
				"a=x-unknown\n" +
				"m=audio 16390 RTP/AVP 0\n" +
				"c=IN IP4 10.1.2.3\n" +
				"c=IN IP4 10.9.9.9\n" +
				"a=maxptime:150\n" +
				"a=ptime:abc\n" +
				"a=rtcp:xyz\n" +
				"a=label:",
			origin: "Media Server 0x1F IN IP4 mcp-01.example.net",
			want: []Media{
				{Index: 0, Type: "audio", Port: 16384, Proto: "RTP/AVP", Addr: netip.MustParseAddr("233.252.0.1"),
					Direction: SendOnly, Label: hugeLabel, Codecs: []media.Codec{pcmu},
					TelephoneEvent: &media.Codec{PT: 126, Name: "TELEPHONE-EVENT", ClockRate: 8000, Channels: 1},
					Ptime:          20},
				{Index: 1, Type: "audio", Port: 16390, Proto: "RTP/AVP", Addr: netip.MustParseAddr("10.1.2.3"),
					Direction: SendOnly, Codecs: []media.Codec{pcmu}},
			},
		},
		{
			name: "host name and X.X.X.X addresses leave Addr invalid",
			body: sdpLines(
				"v=0",
				"o=BroadWorks 170535024 1 IN IP4 X.X.X.X",
				"s=-",
				"c=IN IP4 X.X.X.X",
				"t=0 0",
				"m=audio 22294 RTP/AVP 8",
				"m=audio 22296 RTP/AVP 8",
				"c=IN IP4 media.example.com",
				"m=audio 22298 RTP/AVP 8",
				"c=IN IP4",
			),
			origin: "BroadWorks 170535024 1 IN IP4 X.X.X.X",
			sname:  "-",
			want: []Media{
				{Index: 0, Type: "audio", Port: 22294, Proto: "RTP/AVP", Direction: SendRecv, Codecs: []media.Codec{pcma}},
				{Index: 1, Type: "audio", Port: 22296, Proto: "RTP/AVP", Direction: SendRecv, Codecs: []media.Codec{pcma}},
				{Index: 2, Type: "audio", Port: 22298, Proto: "RTP/AVP", Direction: SendRecv, Codecs: []media.Codec{pcma}},
			},
		},
		{
			name:   "no media at all",
			body:   sdpLines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "a=sendonly"),
			origin: "- 1 1 IN IP4 192.0.2.1",
			sname:  "-",
			want:   []Media{},
		},
		{
			name:   "CR-only line ends",
			body:   "v=0\ro=- 1 1 IN IP4 192.0.2.1\rs=-\rt=0 0\rm=audio 4000 RTP/AVP 8\ra=label:cr",
			origin: "- 1 1 IN IP4 192.0.2.1",
			sname:  "-",
			want: []Media{{Index: 0, Type: "audio", Port: 4000, Proto: "RTP/AVP", Direction: SendRecv, Label: "cr",
				Codecs: []media.Codec{pcma}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseOffer([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseOffer: %v", err)
			}
			if s.Origin != tt.origin {
				t.Errorf("Origin = %q, want %q", s.Origin, tt.origin)
			}
			if s.Name != tt.sname {
				t.Errorf("Name = %q, want %q", s.Name, tt.sname)
			}
			if string(s.Raw) != tt.body {
				t.Errorf("Raw is not the body")
			}
			got := make([]Media, len(s.Media))
			for i, m := range s.Media {
				if len(m.formats) == 0 {
					t.Errorf("m-line %d: no formats kept", i)
				}
				m.formats, m.events, m.noises = nil, nil, nil
				got[i] = m
			}
			if !reflect.DeepEqual(got, tt.want) {
				for i := range max(len(got), len(tt.want)) {
					var g, w Media
					if i < len(got) {
						g = got[i]
					}
					if i < len(tt.want) {
						w = tt.want[i]
					}
					if !reflect.DeepEqual(g, w) {
						t.Errorf("m-line %d:\n got %+v\nwant %+v", i, g, w)
					}
				}
			}
		})
	}
}

func TestParseOfferRawIsACopy(t *testing.T) {
	body := []byte(sdpLines("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"))
	s, err := ParseOffer(body)
	if err != nil {
		t.Fatal(err)
	}
	body[0] = 'X'
	if s.Raw[0] != 'v' {
		t.Fatal("Session.Raw shares the caller's buffer")
	}
}

func TestParseOfferMalformed(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
	tests := []struct {
		name   string
		body   string
		reason string // expected in the error text
	}{
		{"absent body (delayed offer)", "", "empty body"},
		{"blank body", " \r\n\r\n\t\n", "empty body"},
		{"not SDP", "<?xml version='1.0'?><recording/>", "line 1: not a <type>=<value> line"},
		{"no v= first", "o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", "does not start with v=0"},
		{"v=1", "v=1\r\n", "does not start with v=0"},
		{"upper-case type", head + "M=audio 4000 RTP/AVP 0\r\n", "line 5: not a <type>=<value> line"},
		{"second session", head + "m=audio 4000 RTP/AVP 0\r\nv=0\r\n", "line 6: second session description"},
		{"second o=", head + "o=- 2 2 IN IP4 192.0.2.1\r\n", "line 5: second o= line"},
		{"second s=", head + "s=x\r\n", "line 5: second s= line"},
		{"second session c=", head + "c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\n", "line 6: second session c= line"},
		{"m= without formats", head + "m=audio 4000 RTP/AVP\r\n", "line 5: m= line needs media, port, proto and a format"},
		{"m= port not a number", head + "m=audio abc RTP/AVP 0\r\n", "line 5: m= port is not a number"},
		{"m= port too big", head + "m=audio 65536 RTP/AVP 0\r\n", "m= port is not a number"},
		{"m= port negative", head + "m=audio -1 RTP/AVP 0\r\n", "m= port is not a number"},
		{"m= control character", head + "m=audio 4000 RTP/AVP 0\x01\r\n", "m= line contains control characters"},
		{"c= not IN", head + "m=audio 4000 RTP/AVP 0\r\nc=ATM NSAP 47.0005\r\n", "line 6: c= line is not IN"},
		{"c= bad address type", "v=0\r\nc=IN IPX 1.2.3.4\r\n", "line 2: c= address type is not IP4 or IP6"},
		{"c= too short", "v=0\r\nc=IN\r\n", "c= line is not IN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseOffer([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseOffer = %v, %v; want ErrMalformed", s, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not contain %q", err, tt.reason)
			}
			if !isReasonPhrase(err.Error()) {
				t.Errorf("error %q is not usable as a SIP reason phrase", err)
			}
		})
	}
}

// isReasonPhrase reports whether s is short printable ASCII.
func isReasonPhrase(s string) bool {
	if len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func TestMediaPredicates(t *testing.T) {
	tests := []struct {
		m                  Media
		recordable, active bool
	}{
		{Media{Type: "audio", Port: 4000, Direction: SendOnly}, true, true},
		{Media{Type: "audio", Port: 4000, Direction: SendRecv}, true, true},
		{Media{Type: "audio", Port: 4000, Direction: RecvOnly}, true, false},
		{Media{Type: "audio", Port: 4000, Direction: Inactive}, true, false},
		{Media{Type: "audio", Port: 4000, Direction: SendOnly, Hold: true}, true, false},
		{Media{Type: "audio", Port: 0, Direction: SendOnly}, false, true},
		{Media{Type: "video", Port: 4000, Direction: SendOnly}, false, true},
		{Media{Type: "image", Port: 4000, Direction: SendRecv}, false, true},
	}
	for _, tt := range tests {
		if got := tt.m.Recordable(); got != tt.recordable {
			t.Errorf("%+v Recordable() = %v", tt.m, got)
		}
		if got := tt.m.Active(); got != tt.active {
			t.Errorf("%+v Active() = %v", tt.m, got)
		}
	}
}

func TestAudioCount(t *testing.T) {
	s := &Session{Media: []Media{
		{Type: "audio", Port: 4000},
		{Type: "audio", Port: 0},
		{Type: "video", Port: 4002},
		{Type: "audio", Port: 4004, Direction: Inactive},
	}}
	if got := s.AudioCount(); got != 2 {
		t.Fatalf("AudioCount = %d, want 2", got)
	}
}

func TestAnswerDirection(t *testing.T) {
	tests := []struct {
		offered Direction
		hold    bool
		want    Direction
	}{
		{SendOnly, false, RecvOnly},
		{SendRecv, false, RecvOnly},
		{"", false, RecvOnly},
		{RecvOnly, false, Inactive},
		{Inactive, false, Inactive},
		{SendOnly, true, Inactive},
		{SendRecv, true, Inactive},
		{Direction("bogus"), false, Inactive},
	}
	for _, tt := range tests {
		if got := AnswerDirection(tt.offered, tt.hold); got != tt.want {
			t.Errorf("AnswerDirection(%q, %v) = %q, want %q", tt.offered, tt.hold, got, tt.want)
		}
	}
}

func TestChooseCodec(t *testing.T) {
	g711 := func(name string) bool { return name == "PCMU" || name == "PCMA" }
	tests := []struct {
		name      string
		codecs    []media.Codec
		decodable func(string) bool
		want      media.Codec
		ok        bool
	}{
		{"first decodable in offer order", []media.Codec{g729, pcma, pcmu}, g711, pcma, true},
		{"first offered is decodable", []media.Codec{pcmu, pcma}, g711, pcmu, true},
		{"none decodable: first offered, raw", []media.Codec{g729, gsm}, g711, g729, false},
		{"nil decodable", []media.Codec{g729, pcmu}, nil, g729, false},
		{"no codecs", nil, g711, media.Codec{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ChooseCodec(Media{Codecs: tt.codecs}, tt.decodable)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ChooseCodec = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEventsFor(t *testing.T) {
	s, err := ParseOffer([]byte(sdpLines(
		"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
		"m=audio 7000 RTP/AVP 111 9 0 97 96 100 98",
		"a=rtpmap:111 opus/48000/2",
		"a=rtpmap:97 telephone-event/48000",
		"a=rtpmap:96 telephone-event/8000",
		"a=rtpmap:100 CN/48000",
		"a=rtpmap:98 CN/8000",
		"m=audio 7002 RTP/AVP 0 101",
		"a=rtpmap:101 telephone-event/48000",
		"m=audio 7004 RTP/AVP 0",
	)))
	if err != nil {
		t.Fatal(err)
	}
	opus := s.Media[0].Codecs[0]
	te8 := media.Codec{PT: 96, Name: "TELEPHONE-EVENT", ClockRate: 8000, Channels: 1}
	te48 := media.Codec{PT: 97, Name: "TELEPHONE-EVENT", ClockRate: 48000, Channels: 1}
	cn8 := media.Codec{PT: 98, Name: "CN", ClockRate: 8000, Channels: 1}
	cn48 := media.Codec{PT: 100, Name: "CN", ClockRate: 48000, Channels: 1}
	te48b := media.Codec{PT: 101, Name: "TELEPHONE-EVENT", ClockRate: 48000, Channels: 1}
	tests := []struct {
		name   string
		m      Media
		c      media.Codec
		te, cn *media.Codec
	}{
		{"G.722 picks the 8 kHz events", s.Media[0], g722, &te8, &cn8},
		{"opus picks the 48 kHz events", s.Media[0], opus, &te48, &cn48},
		{"zero codec: the first offered", s.Media[0], media.Codec{}, &te48, &cn48},
		{"no match: the first offered", s.Media[1], pcmu, &te48b, nil},
		{"none offered", s.Media[2], pcmu, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te, cn := tt.m.EventsFor(tt.c)
			if !reflect.DeepEqual(te, tt.te) || !reflect.DeepEqual(cn, tt.cn) {
				t.Errorf("EventsFor = %+v, %+v; want %+v, %+v", te, cn, tt.te, tt.cn)
			}
		})
	}
}

// Stray lines after v=0 that are not <type>=<value> at all (a multipart
// boundary left inside the SDP part, junk) are skipped and noted, never a
// refusal (issue 12). These were errors before; the first line must still
// be v=0 and upper-case types stay errors (TestParseOfferMalformed).
func TestParseOfferSkipsStrayLines(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
	tests := []struct {
		name     string
		body     string
		problems []string
		audio    int
	}{
		{"junk line", head + "m=audio 4000 RTP/AVP 0\r\nhello world\r\n",
			[]string{"SDP line 6 skipped: not a <type>=<value> line"}, 1},
		{"stray boundary inside the part", head + "c=IN IP4 192.0.2.1\r\n--uniqueBoundary\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n--uniqueBoundary\r\nm=audio 4002 RTP/AVP 0\r\n",
			[]string{"SDP line 6 skipped: not a <type>=<value> line", "SDP line 9 skipped: not a <type>=<value> line"}, 2},
		{"header leaked into the part", head + "Content-Type: application/sdp\r\nm=audio 4000 RTP/AVP 0\r\n",
			[]string{"SDP line 5 skipped: not a <type>=<value> line"}, 1},
		{"clean", head + "m=audio 4000 RTP/AVP 0\r\n", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseOffer([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseOffer: %v", err)
			}
			if !slices.Equal(s.Problems, tt.problems) {
				t.Errorf("problems %q, want %q", s.Problems, tt.problems)
			}
			if s.AudioCount() != tt.audio {
				t.Errorf("%d audio streams, want %d", s.AudioCount(), tt.audio)
			}
		})
	}
}

// PayloadTypes lists every payload type of the m-line, in offer order —
// events, comfort noise and dynamic types without a=rtpmap included —
// so that RTP of any other type can be refused.
func TestPayloadTypes(t *testing.T) {
	s, err := ParseOffer([]byte(sdpLines(
		"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
		"m=audio 7000 RTP/AVP 8 0 18 101 13 96 97 008 t38 8",
		"a=rtpmap:101 telephone-event/8000",
		"a=rtpmap:97 telephone-event/16000",
	)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Media[0].PayloadTypes(), []uint8{8, 0, 18, 101, 13, 96, 97}; !slices.Equal(got, want) {
		t.Errorf("PayloadTypes = %v, want %v", got, want)
	}
	byHand := Media{Codecs: []media.Codec{pcma, pcmu}, TelephoneEvent: &te101, ComfortNoise: &cn13}
	if got, want := byHand.PayloadTypes(), []uint8{8, 0, 101, 13}; !slices.Equal(got, want) {
		t.Errorf("hand-built PayloadTypes = %v, want %v", got, want)
	}
}
