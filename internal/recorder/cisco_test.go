package recorder

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

// checkChannelTones asserts channel i of the recording carries tones[i].
func checkChannelTones(t *testing.T, rec store.Recording, tones []float64) {
	t.Helper()
	wf, err := wav.ReadFile(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	if wf.Channels != len(tones) {
		t.Fatalf("%d channels, want %d", wf.Channels, len(tones))
	}
	for ch, f := range tones {
		if !audiotest.HasTone(wf.Channel(ch), 8000, f, tones) {
			t.Errorf("channel %d: no %v Hz tone", ch, f)
		}
	}
}

// Cisco recording without SIPREC and plain INVITEs (issue 12): a CUCM
// built-in-bridge pair (near end, far end; delayed offers answered in the
// ACK) becomes one two-channel recording, near end on channel 0; a CUBE
// media-forking INVITE one recording with a channel per m-line named by
// X-Cisco-Recording-Participant; a plain INVITE a complete recording of
// what it offers, never a one-legged MSR recording.
func TestCiscoAndPlainSessions(t *testing.T) {
	bib := func(near bool, callID string) *sipsrv.Invite {
		return &sipsrv.Invite{CallID: callID, Kind: sipsrv.KindCiscoBiB, Cisco: sipsrv.CiscoParams{
			NearEnd: near, RefCI: "38960750", NearAddr: "9110001", FarAddr: "9110006", NearDevice: "sep001795bdd16b", GUID: "2881195520-1"}}
	}
	type leg struct {
		inv    *sipsrv.Invite
		ackSDP bool // delayed offer: our offer in the 200, the peer's SDP in the ACK
		tone   float64
	}
	tests := []struct {
		name    string
		legs    func(t *testing.T, ports []int) []leg
		mode    store.Mode
		parties string
		rdn     string
		odn     string
		tones   []float64
	}{
		{name: "CUCM built-in bridge, far end first", mode: store.ModeCisco,
			legs: func(t *testing.T, _ []int) []leg {
				return []leg{{inv: bib(false, "bib-far"), ackSDP: true, tone: 1000}, {inv: bib(true, "bib-near"), ackSDP: true, tone: 440}}
			},
			parties: "0:9110001/ 1:9110006/", rdn: "9110001", odn: "9110006", tones: []float64{440, 1000}},
		{name: "CUBE media forking", mode: store.ModeCisco,
			legs: func(t *testing.T, ports []int) []leg {
				inv := &sipsrv.Invite{CallID: "fork", Kind: sipsrv.KindCiscoFork, SDP: parseSDP(t, siprecSDP(2, ports[0], "sendonly")),
					Cisco: sipsrv.CiscoParams{Participants: []sipsrv.CiscoParticipant{
						{AOR: "sip:10000@10.42.30.32", MediaIndex: []int{1}}, {AOR: "sip:708090@10.42.30.5", MediaIndex: []int{0}}}}}
				return []leg{{inv: inv, tone: 440}}
			},
			parties: "0:708090/1 1:10000/2", rdn: "708090", odn: "10000", tones: []float64{440, 1000}},
		{name: "plain INVITE", mode: store.ModePlain,
			legs: func(t *testing.T, ports []int) []leg {
				return []leg{{inv: &sipsrv.Invite{CallID: "plain", Kind: sipsrv.KindPlain, SDP: parseSDP(t, siprecSDP(1, ports[0], "sendonly")),
					MSR: sipsrv.MSRParams{RecordID: "plain", DN: "8675309", RecordDN: "8675309"}}, tone: 440}}
			},
			parties: "0:8675309/", rdn: "8675309", tones: []float64{440}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			a, b := newSender(t, 0, 0xA1), newSender(t, 0, 0xB2)
			legs := tt.legs(t, []int{a.port()})
			senders := []*sender{a, b}
			var sendTo []func()
			for i, l := range legs {
				ans, err := f.invite(ctx, l.inv)
				if err != nil {
					t.Fatal(err)
				}
				ports := answerPorts(t, ans)
				if l.ackSDP {
					if err := f.r.Ack(l.inv.CallID, parseSDP(t, fmt.Sprintf("v=0\no=CiscoSystemsCCM-SIP 1 1 IN IP4 127.0.0.1\ns=SIP Call\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\na=sendonly\n", senders[i].port()))); err != nil {
						t.Fatal(err)
					}
				}
				if len(legs) == 1 { // one INVITE, one sender per m-line
					for k := range ports {
						s, p, tone := senders[k], ports[k], tt.tones[k]
						s.to.Port = p
						sendTo = append(sendTo, func() { s.sendTone(t, tone, 50) })
					}
					continue
				}
				s, tone := senders[i], l.tone
				s.to.Port = ports[0]
				sendTo = append(sendTo, func() { s.sendTone(t, tone, 50) })
			}
			for _, send := range sendTo {
				send()
			}
			waitPackets(t, f.r, uint64(50*len(sendTo)))
			f.clk.Add(time.Second)
			for _, l := range legs {
				f.r.Bye(l.inv.CallID, "bye")
			}
			rec := onlyRecording(t, f.db)
			if rec.Status != store.StatusCompleted || rec.Mode != tt.mode {
				t.Errorf("status %s (%q), mode %s; want completed, %s", rec.Status, rec.StatusReason, rec.Mode, tt.mode)
			}
			if got := partiesString(rec.Parties); got != tt.parties {
				t.Errorf("parties %q, want %q", got, tt.parties)
			}
			if rec.RecordedDN != tt.rdn || rec.OtherDN != tt.odn {
				t.Errorf("recorded/other %q/%q, want %q/%q", rec.RecordedDN, rec.OtherDN, tt.rdn, tt.odn)
			}
			checkChannelTones(t, rec, tt.tones)
		})
	}
}
