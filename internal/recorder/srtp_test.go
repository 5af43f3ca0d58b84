package recorder

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/rtp"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

func srtpKey(seed byte) []byte {
	k := make([]byte, 30)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func srtpInvite(t *testing.T, callID, dn string, port int, key []byte) *sipsrv.Invite {
	t.Helper()
	body := fmt.Sprintf("v=0\r\no=MCP 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:%s\r\na=sendonly\r\n",
		port, base64.StdEncoding.EncodeToString(key))
	s, err := sdpoa.ParseOffer([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &sipsrv.Invite{
		CallID: callID, Kind: sipsrv.KindMSR, SDP: s, LocalIP: netip.MustParseAddr("127.0.0.1"),
		MSR: sipsrv.MSRParams{RecordID: "r1", CallUUID: "UUID1", DN: dn, RecordDN: "5001"},
	}
}

// sendSRTP sends n µ-law packets protected with key.
func (s *sender) sendSRTP(t *testing.T, n int, key []byte) {
	t.Helper()
	ctx, err := rtpin.NewSRTPContext(&rtpin.SRTP{Suite: rtpin.SuiteAES128CMSHA1_80, MasterKey: key[:16], MasterSalt: key[16:]})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc},
			Payload: make([]byte, 160)}).Marshal()
		enc, err := ctx.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.c.WriteToUDP(enc, s.to); err != nil {
			t.Fatal(err)
		}
		s.seq++
		s.ts += 160
	}
}

// One MSR leg decrypts, the other's sender uses a key it never offered:
// the answer carries our own key with the offered tag, the failing leg
// raises srtp-auth-failed while the call runs, and the recording ends
// partial with the reason, not completed.
func TestSRTPOneLegWrongKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keyA, keyB := srtpKey(1), srtpKey(100)
	ansA, err := f.invite(ctx, srtpInvite(t, "a", "5001", 40000, keyA))
	if err != nil {
		t.Fatal(err)
	}
	ansB, err := f.invite(ctx, srtpInvite(t, "b", "+15550100", 40002, keyB))
	if err != nil {
		t.Fatal(err)
	}
	for _, ans := range [][]byte{ansA, ansB} {
		a, err := sdpoa.ParseOffer(ans)
		if err != nil {
			t.Fatal(err)
		}
		m := a.Media[0]
		c, ok := m.SelectCrypto()
		if m.Proto != "RTP/SAVP" || !ok || c.Tag != 7 || c.Suite != sdpoa.SuiteAES128CMSHA1_80 || string(c.Key) == string(keyA) || string(c.Key) == string(keyB) {
			t.Fatalf("answer %s: want RTP/SAVP and our own key with tag 7", ans)
		}
	}
	good, bad := newSender(t, answerPort(t, ansA), 11), newSender(t, answerPort(t, ansB), 22)
	good.sendSRTP(t, 50, keyA)
	bad.sendSRTP(t, 50, srtpKey(200))
	waitPackets(t, f.r, 50)
	// The wrong key shows while the call runs, once.
	for range 2 {
		f.clk.Add(f.r.cfg.FlushInterval)
		f.r.Tick(f.clk.Now())
	}
	if st := f.r.Stats(); st.SRTPFailedStreams != 1 {
		t.Fatalf("failed streams %d while the call runs, want 1", st.SRTPFailedStreams)
	}
	f.r.Bye("a", "bye")
	f.r.Bye("b", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusPartial || !strings.Contains(rec.StatusReason, "SRTP authentication failed on channel [1]: 50 packets") {
		t.Fatalf("recording %s %q", rec.Status, rec.StatusReason)
	}
	events := map[string][]int{}
	for _, e := range rec.Events {
		events[e.Type] = append(events[e.Type], e.Channel)
	}
	if fmt.Sprint(events["srtp-auth-failed"]) != "[1]" || len(events["srtp"]) != 2 {
		t.Errorf("events %v", events)
	}
	if st := f.r.Stats(); st.SRTPFailedStreams != 1 || st.SRTPAuthFailures != 50 {
		t.Errorf("stats %+v", st)
	}
}

// The recorder refuses SRTP it cannot decrypt even when no SIP server
// checked the offer first.
func TestSRTPWithoutUsableKeyRefused(t *testing.T) {
	f := newFixture(t)
	inv := srtpInvite(t, "x", "5001", 40000, srtpKey(1)[:20])
	_, err := f.invite(context.Background(), inv)
	var se *sipsrv.StatusError
	if !errors.As(err, &se) || se.Code != 488 {
		t.Fatalf("Invite: %v, want 488", err)
	}
	if f.r.cfg.Ports.InUse() != 0 {
		t.Errorf("%d ports still in use", f.r.cfg.Ports.InUse())
	}
}

func answerKey(t *testing.T, ans []byte) string {
	t.Helper()
	a, err := sdpoa.ParseOffer(ans)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := a.Media[0].SelectCrypto()
	if !ok {
		return ""
	}
	return string(c.Key)
}

// Re-INVITEs: the same key keeps our answer key and the decryption state;
// a new key switches both; plain RTP/AVP turns decryption off.
func TestSRTPReinviteKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k1, k2 := srtpKey(1), srtpKey(50)
	inv := srtpInvite(t, "a", "5001", 40000, k1)
	ans, err := f.invite(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	ours := answerKey(t, ans)
	s := newSender(t, answerPort(t, ans), 9)
	s.sendSRTP(t, 20, k1)
	waitPackets(t, f.r, 20)

	same, err := f.r.Reinvite(ctx, srtpInvite(t, "a", "5001", 40000, k1))
	if err != nil || answerKey(t, same) != ours {
		t.Fatalf("re-INVITE with the same key: %v, our key changed: %v", err, answerKey(t, same) != ours)
	}
	s.sendSRTP(t, 20, k1)
	waitPackets(t, f.r, 40)

	next, err := f.r.Reinvite(ctx, srtpInvite(t, "a", "5001", 40000, k2))
	if err != nil || answerKey(t, next) == ours || answerKey(t, next) == "" {
		t.Fatalf("re-INVITE with a new key: %v, answer:\n%s", err, next)
	}
	s.sendSRTP(t, 20, k2)
	waitPackets(t, f.r, 60)

	plain, err := f.r.Reinvite(ctx, msrInvite(t, "a", "5001", 40000, "sendonly"))
	if err != nil || strings.Contains(string(plain), "a=crypto") {
		t.Fatalf("re-INVITE to plain RTP: %v, answer:\n%s", err, plain)
	}
	s.send(t, 20, 0xff)
	waitPackets(t, f.r, 80)

	f.r.Bye("a", "bye")
	rec := onlyRecording(t, f.db)
	events := map[string]int{}
	for _, e := range rec.Events {
		events[e.Type]++
	}
	if events["srtp"] != 1 || events["srtp-rekey"] != 1 || events["srtp-off"] != 1 || events["srtp-auth-failed"] != 0 {
		t.Errorf("events %v", events)
	}
	if st := f.r.Stats(); st.SRTPAuthFailures != 0 || st.PacketsReceived != 80 {
		t.Errorf("stats %+v", st)
	}
}

// A sender whose key changes in the middle of the call without a
// re-INVITE (its packets decrypt, then fail): the audio after the change
// is lost, and the recording says so (reason and an srtp-auth-failed event
// with the count) instead of a plain "completed".
func TestSRTPKeyLostMidCallIsNoted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keyA, keyB := srtpKey(1), srtpKey(100)
	ansA, err := f.invite(ctx, srtpInvite(t, "a", "5001", 40000, keyA))
	if err != nil {
		t.Fatal(err)
	}
	ansB, err := f.invite(ctx, srtpInvite(t, "b", "+15550100", 40002, keyB))
	if err != nil {
		t.Fatal(err)
	}
	a, b := newSender(t, answerPort(t, ansA), 11), newSender(t, answerPort(t, ansB), 22)
	a.sendSRTP(t, 60, keyA)
	b.sendSRTP(t, 30, keyB)
	b.sendSRTP(t, 30, srtpKey(200))
	waitPackets(t, f.r, 90)
	f.r.Bye("a", "bye")
	f.r.Bye("b", "bye")
	rec := onlyRecording(t, f.db)
	if !strings.Contains(rec.StatusReason, "30 SRTP packets failed authentication on channel [1]") {
		t.Errorf("recording %s %q: want the lost SRTP packets in the reason", rec.Status, rec.StatusReason)
	}
	var noted []int
	for _, e := range rec.Events {
		if e.Type == "srtp-auth-failed" {
			noted = append(noted, e.Channel)
		}
	}
	if fmt.Sprint(noted) != "[1]" {
		t.Errorf("srtp-auth-failed events on channels %v, want [1]", noted)
	}
	if st := f.r.Stats(); st.SRTPAuthFailures != 30 || st.SRTPFailedStreams != 0 {
		t.Errorf("stats %+v", st)
	}
}
