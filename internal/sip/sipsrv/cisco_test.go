package sipsrv

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// request parses a SIP request written with \n line ends.
func request(t *testing.T, msg string) *sip.Request {
	t.Helper()
	m, err := sip.NewParser().ParseSIP([]byte(strings.ReplaceAll(msg, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

const classifyHead = "INVITE %s SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1\nFrom: %s;tag=1\nTo: <sip:rec@10.0.0.1>\nCall-ID: c1\nCSeq: 101 INVITE\nMax-Forwards: 70\n%sContent-Length: 0\n\n"

func classifyReq(t *testing.T, ruri, from, extra string) *sip.Request {
	return request(t, fmt.Sprintf(classifyHead, ruri, from, extra))
}

// Classification (issue 12): MSR only for Genesys' Request-URI form; CUBE
// media forking and CUCM built-in-bridge INVITEs recognised by their
// headers; anything else with audio is a plain session, never an MSR leg
// waiting for a partner.
func TestClassifyKinds(t *testing.T) {
	s := &Server{cfg: Config{MaxBody: 1 << 20, AdvertiseIP: mustAddr("127.0.0.1")}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		name  string
		ruri  string
		from  string
		extra string
		kind  Kind
		check func(t *testing.T, inv *Invite)
	}{
		{name: "Genesys MSR", ruri: "sip:record=R1@10.0.0.1;calluuid=U;dn=5001;recordDN=5001", from: "<sip:ms@10.0.0.9>", kind: KindMSR},
		{name: "record= without the Genesys parameters", ruri: "sip:record=R1@10.0.0.1", from: "<sip:ms@10.0.0.9>", kind: KindPlain},
		{name: "plain INVITE", ruri: "sip:8675309@10.0.0.1", from: "<sip:1000@10.0.0.9>", kind: KindPlain,
			check: func(t *testing.T, inv *Invite) {
				if inv.MSR.RecordID != "c1" || inv.MSR.DN != "8675309" {
					t.Errorf("plain params %+v", inv.MSR)
				}
			}},
		{name: "SIPREC", ruri: "sip:srs@10.0.0.1", from: "<sip:src@10.0.0.9>", extra: "Require: siprec\n", kind: KindSIPREC},
		{name: "CUBE media forking", ruri: "sip:22222@10.0.0.1", from: "<sip:10.42.30.10>",
			extra: "X-Cisco-Recording-Participant: sip:708090@10.42.30.5;media-index=\"0\"\nX-Cisco-Recording-Participant: <sip:10000@10.42.30.32>;media-index=\"1 3\"\nCisco-Guid: 1334370502-1348997600-2396699092-3395863316\n",
			kind:  KindCiscoFork,
			check: func(t *testing.T, inv *Invite) {
				c := inv.Cisco
				if len(c.Participants) != 2 || c.Participants[0].AOR != "sip:708090@10.42.30.5" || !slices.Equal(c.Participants[1].MediaIndex, []int{1, 3}) ||
					c.GUID != "1334370502-1348997600-2396699092-3395863316" {
					t.Errorf("cisco %+v", c)
				}
				if p := c.ParticipantFor(3); p == nil || p.AOR != "sip:10000@10.42.30.32" {
					t.Errorf("ParticipantFor(3) = %+v", p)
				}
			}},
		{name: "CUCM BiB near end", ruri: "sip:8675309@10.0.0.1",
			from: "<sip:9110001@10.48.32.90;x-nearend;x-refci=38960750;x-nearenddevice=sep001795bdd16b;x-nearendaddr=9110001;x-farendrefci=38960749;x-farenddevice=sep0018195aa209;x-farendaddr=9110006>",
			kind: KindCiscoBiB,
			check: func(t *testing.T, inv *Invite) {
				c := inv.Cisco
				if !c.NearEnd || c.RefCI != "38960750" || c.NearAddr != "9110001" || c.FarAddr != "9110006" || c.NearDevice != "sep001795bdd16b" {
					t.Errorf("cisco %+v", c)
				}
			}},
		{name: "CUCM BiB far end", ruri: "sip:8675309@10.0.0.1",
			from: "<sip:9110001@10.48.32.90;x-farend;x-refci=38960750;x-nearendaddr=9110001;x-farendaddr=9110006>",
			kind: KindCiscoBiB,
			check: func(t *testing.T, inv *Invite) {
				if inv.Cisco.NearEnd || inv.Cisco.RefCI != "38960750" {
					t.Errorf("cisco %+v", inv.Cisco)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := s.classify(classifyReq(t, tt.ruri, tt.from, tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			if inv.Kind != tt.kind {
				t.Fatalf("kind %q, want %q", inv.Kind, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, inv)
			}
		})
	}
}

// FuzzRecordingParticipant: the header parser never panics and only
// returns non-negative indexes.
func FuzzRecordingParticipant(f *testing.F) {
	f.Add(`sip:708090@10.42.30.5;media-index="0"`)
	f.Add(`<sip:1777@h>;media-index="0 2“`)
	f.Add(`;media-index=`)
	f.Fuzz(func(t *testing.T, v string) {
		cp, _ := parseRecordingParticipant(v)
		for _, i := range cp.MediaIndex {
			if i < 0 {
				t.Fatalf("negative index from %q", v)
			}
		}
	})
}
