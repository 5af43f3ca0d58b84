package sdpoa

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/media"
)

var update = flag.Bool("update", false, "rewrite the golden answer files in testdata/golden")

// decodableG711 stands in for the mixer's decoders in golden answers.
func decodableG711(name string) bool {
	return name == media.PCMU || name == media.PCMA || name == "G722"
}

// answerParams answers offer the way the recorder does: every recordable
// audio m-line gets a port, the first decodable codec (else the first
// offered), telephone-event and CN at its clock rate when offered, the RFC 3264 direction and
// rtcp-mux when offered; everything else is rejected.
func answerParams(offer *Session) AnswerParams {
	p := AnswerParams{
		Addr:      netip.MustParseAddr("192.0.2.10"),
		SessionID: 4242,
		Version:   1,
		Username:  "openrec",
		Media:     make([]AnswerMedia, len(offer.Media)),
	}
	for i, m := range offer.Media {
		if !m.Recordable() {
			continue
		}
		c, _ := ChooseCodec(m, decodableG711)
		te, cn := m.EventsFor(c)
		p.Media[i] = AnswerMedia{
			Port:           30000 + 2*i,
			Codec:          c,
			TelephoneEvent: te,
			ComfortNoise:   cn,
			Direction:      AnswerDirection(m.Direction, m.Hold),
			RTCPMux:        m.RTCPMux,
		}
		if offered, ok := m.SelectCrypto(); ok && m.Secure() {
			// A fixed "random" key keeps the golden files stable.
			ac, err := AnswerCrypto(offered, bytes.NewReader(bytes.Repeat([]byte{byte(0xA0 + i)}, 64)))
			if err != nil {
				panic(err)
			}
			p.Media[i].Crypto = &ac
		}
	}
	return p
}

// goldenOffers maps each offer file to its answer file.
func goldenOffers(t *testing.T) map[string]string {
	t.Helper()
	pairs := make(map[string]string)
	own, err := filepath.Glob("testdata/golden/*.offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range own {
		pairs[f] = strings.TrimSuffix(f, ".offer.sdp") + ".answer.sdp"
	}
	vendors, err := filepath.Glob("testdata/vendors/*.sdp")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range vendors {
		pairs[f] = filepath.Join("testdata/golden", "vendor-"+strings.TrimSuffix(filepath.Base(f), ".sdp")+".answer.sdp")
	}
	if len(own) < 10 || len(vendors) < 10 {
		t.Fatalf("golden offers missing: %d own, %d vendor", len(own), len(vendors))
	}
	return pairs
}

func TestGoldenAnswers(t *testing.T) {
	for offerFile, answerFile := range goldenOffers(t) {
		t.Run(filepath.Base(offerFile), func(t *testing.T) {
			body, err := os.ReadFile(offerFile)
			if err != nil {
				t.Fatal(err)
			}
			offer, err := ParseOffer(body)
			if err != nil {
				t.Fatalf("ParseOffer: %v", err)
			}
			got, err := BuildAnswer(offer, answerParams(offer))
			if err != nil {
				t.Fatalf("BuildAnswer: %v", err)
			}
			checkAnswer(t, offer, got)
			if *update {
				if err := os.WriteFile(answerFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(answerFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s\n--- got\n%s--- want\n%s", answerFile, got, want)
			}
		})
	}
}

// checkAnswer verifies the RFC 3264 shape of an answer independently of the
// golden files: CRLF line ends, it parses, one m-line per offered m-line
// with the same media type and proto, port 0 where the offer had port 0,
// only offered formats, the offered label, and recvonly/inactive only.
func checkAnswer(t *testing.T, offer *Session, answer []byte) {
	t.Helper()
	if !bytes.HasSuffix(answer, []byte("\r\n")) || bytes.Count(answer, []byte("\n")) != bytes.Count(answer, []byte("\r\n")) {
		t.Fatalf("answer does not use CRLF line ends:\n%q", answer)
	}
	a, err := ParseOffer(answer)
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, answer)
	}
	if len(a.Media) != len(offer.Media) {
		t.Fatalf("answer has %d m-lines, offer %d", len(a.Media), len(offer.Media))
	}
	for i, om := range offer.Media {
		am := a.Media[i]
		if am.Type != om.Type || am.Proto != om.Proto {
			t.Errorf("m-line %d: answered %s %s for offered %s %s", i, am.Type, am.Proto, om.Type, om.Proto)
		}
		if om.Port == 0 && am.Port != 0 {
			t.Errorf("m-line %d: offered port 0 answered with %d", i, am.Port)
		}
		for _, f := range am.formats {
			if !contains(om.formats, f) {
				t.Errorf("m-line %d: answered format %q was not offered (%v)", i, f, om.formats)
			}
		}
		if am.Label != om.Label {
			t.Errorf("m-line %d: label %q, offered %q", i, am.Label, om.Label)
		}
		if am.Port != 0 && am.Direction != RecvOnly && am.Direction != Inactive {
			t.Errorf("m-line %d: recorder answered %s", i, am.Direction)
		}
		if am.Port != 0 && am.Ptime != om.Ptime {
			t.Errorf("m-line %d: ptime %d, offered %d", i, am.Ptime, om.Ptime)
		}
		if am.RTCPMux && !om.RTCPMux {
			t.Errorf("m-line %d: rtcp-mux answered but not offered", i)
		}
	}
}

func TestBuildAnswer(t *testing.T) {
	offer, err := ParseOffer([]byte(sdpLines(
		"v=0",
		"o=SBC 5 6 IN IP4 198.51.100.7",
		"s=SIPREC",
		"c=IN IP4 198.51.100.7",
		"t=0 0",
		"m=audio 52000 RTP/AVP 18 0 101 13",
		"a=rtpmap:101 telephone-event/8000",
		"a=ptime:20",
		"a=rtcp-mux",
		"a=label:1",
		"a=sendonly",
		"m=audio 0 RTP/AVP 8",
		"a=label:2",
		"m=video 52004 RTP/AVP 96",
		"a=rtpmap:96 H264/90000",
		"m=audio 52006 RTP/AVP 0",
		"c=IN IP4 0.0.0.0",
	)))
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.10")
	ok := []AnswerMedia{
		{Port: 30000, Codec: pcmu, TelephoneEvent: offer.Media[0].TelephoneEvent, ComfortNoise: &cn13, RTCPMux: true},
		{Port: 30002, Codec: pcma},
		{},
		{Port: 30006},
	}
	want := sdpLines(
		"v=0",
		"o=openrec 1 2 IN IP4 192.0.2.10",
		"s=-",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 30000 RTP/AVP 0 101 13",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=rtpmap:13 CN/8000",
		"a=ptime:20",
		"a=rtcp-mux",
		"a=label:1",
		"a=recvonly",
		"m=audio 0 RTP/AVP 8",
		"a=label:2",
		"m=video 0 RTP/AVP 96",
		"m=audio 30006 RTP/AVP 0",
		"a=rtpmap:0 PCMU/8000",
		"a=inactive",
	)
	got, err := BuildAnswer(offer, AnswerParams{Addr: addr, SessionID: 1, Version: 2, Media: ok})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("answer:\n%s\nwant:\n%s", got, want)
	}
	checkAnswer(t, offer, got)

	t.Run("IPv6 and explicit direction", func(t *testing.T) {
		m := []AnswerMedia{{Port: 30000, Codec: g729, Direction: Inactive}, {}, {}, {}}
		got, err := BuildAnswer(offer, AnswerParams{Addr: netip.MustParseAddr("2001:db8::10"), Username: "rec-1", Media: m})
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"o=rec-1 0 0 IN IP6 2001:db8::10\r\n", "c=IN IP6 2001:db8::10\r\n",
			"m=audio 30000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=ptime:20\r\na=label:1\r\na=inactive\r\n"} {
			if !strings.Contains(string(got), line) {
				t.Errorf("answer lacks %q:\n%s", line, got)
			}
		}
	})

	errTests := []struct {
		name   string
		offer  *Session
		params AnswerParams
		want   error
	}{
		{"nil offer", nil, AnswerParams{Addr: addr}, ErrMismatch},
		{"too few media", offer, AnswerParams{Addr: addr, Media: ok[:3]}, ErrMismatch},
		{"too many media", offer, AnswerParams{Addr: addr, Media: append(ok[:4:4], AnswerMedia{})}, ErrMismatch},
		{"codec not offered", offer, AnswerParams{Addr: addr, Media: []AnswerMedia{{Port: 1, Codec: pcma}, {}, {}, {}}}, ErrMismatch},
		{"telephone-event not offered", offer, AnswerParams{Addr: addr, Media: []AnswerMedia{{Port: 1, Codec: pcmu,
			TelephoneEvent: &media.Codec{PT: 96, Name: "TELEPHONE-EVENT", ClockRate: 8000}}, {}, {}, {}}}, ErrMismatch},
		{"no address", offer, AnswerParams{Media: ok}, ErrInvalidParams},
		{"unspecified address", offer, AnswerParams{Addr: netip.IPv4Unspecified(), Media: ok}, ErrInvalidParams},
		{"username with a blank", offer, AnswerParams{Addr: addr, Username: "open rec", Media: ok}, ErrInvalidParams},
		{"port out of range", offer, AnswerParams{Addr: addr, Media: []AnswerMedia{{Port: 70000, Codec: pcmu}, {}, {}, {}}}, ErrInvalidParams},
		{"bad direction", offer, AnswerParams{Addr: addr, Media: []AnswerMedia{{Port: 1, Codec: pcmu, Direction: "both"}, {}, {}, {}}}, ErrInvalidParams},
		{"codec name breaking the line", offer, AnswerParams{Addr: addr, Media: []AnswerMedia{{Port: 1,
			Codec: media.Codec{PT: 0, Name: "PCMU\r\na=sendrecv", ClockRate: 8000}}, {}, {}, {}}}, ErrInvalidParams},
		{"hand-built label breaking the line", &Session{Media: []Media{{Type: "audio", Port: 1, Proto: "RTP/AVP",
			Label: "x\r\na=sendrecv", Codecs: []media.Codec{pcmu}}}},
			AnswerParams{Addr: addr, Media: []AnswerMedia{{Port: 1}}}, ErrInvalidParams},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildAnswer(tt.offer, tt.params)
			if !errors.Is(err, tt.want) {
				t.Fatalf("BuildAnswer = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestBuildAnswerHandBuiltOffer(t *testing.T) {
	// Sessions built in other packages' tests have no recorded formats;
	// their payload types stand in.
	offer := &Session{Media: []Media{
		{Type: "audio", Port: 4000, Proto: "RTP/AVP", Direction: SendOnly, Codecs: []media.Codec{pcma}, TelephoneEvent: &te101},
		{Type: "video", Port: 4002, Proto: "RTP/AVP"},
	}}
	got, err := BuildAnswer(offer, AnswerParams{
		Addr:  netip.MustParseAddr("192.0.2.10"),
		Media: []AnswerMedia{{Port: 30000, Codec: pcma, TelephoneEvent: &te101}, {}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"m=audio 30000 RTP/AVP 8 101\r\n", "a=recvonly\r\n", "m=video 0 RTP/AVP 0\r\n"} {
		if !strings.Contains(string(got), line) {
			t.Errorf("answer lacks %q:\n%s", line, got)
		}
	}
}
