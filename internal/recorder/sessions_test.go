package recorder

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

func parseSDP(t *testing.T, body string) *sdpoa.Session {
	t.Helper()
	s, err := sdpoa.ParseOffer([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func siprecSDP(n int, port int, dir string) string {
	var b strings.Builder
	b.WriteString("v=0\no=SBC 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=label:%d\na=%s\n", port+2*i, i+1, dir)
	}
	return b.String()
}

func TestSIPRECStreamCountSetsChannels(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t)
			ans, err := f.invite(context.Background(), &sipsrv.Invite{CallID: "s", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(n, 41000, "sendonly"))})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(string(ans), "a=recvonly"); got != n {
				t.Errorf("answer has %d recvonly streams, want %d:\n%s", got, n, ans)
			}
			f.r.Bye("s", "bye")
			rec := onlyRecording(t, f.db)
			if rec.Channels != n {
				t.Errorf("channels = %d, want %d (one per stream; 1 = mono mixed)", rec.Channels, n)
			}
			wf, err := wav.ReadFile(rec.MediaPath)
			if err != nil || wf.Channels != n {
				t.Errorf("wav channels: %v, %v", wf, err)
			}
		})
	}
}

// Metadata that cannot be parsed never refuses audio: the raw XML is kept
// and the problem flagged; a later UPDATE with metadata is merged.
func TestSIPRECMetadataInvalidThenUpdated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bad := []byte("<recording xmlns='urn:ietf:params:xml:ns:recording:1'><session session_id='S1'><participant")
	_, err := f.invite(ctx, &sipsrv.Invite{CallID: "m", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(2, 41100, "sendonly")), Metadata: bad})
	if err != nil {
		t.Fatalf("invalid metadata refused the call: %v", err)
	}
	upd := []byte(`<?xml version="1.0"?><recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>complete</datamode>
<session session_id="S1"></session>
<participant participant_id="P1"><nameID aor="sip:5001@pbx"/></participant>
<participant participant_id="P2"><nameID aor="sip:+15550100@trunk"/></participant>
<stream stream_id="T1" session_id="S1"><label>1</label></stream>
<stream stream_id="T2" session_id="S1"><label>2</label></stream>
<participantstreamassoc participant_id="P1"><send>T1</send></participantstreamassoc>
<participantstreamassoc participant_id="P2"><send>T2</send></participantstreamassoc>
</recording>`)
	if _, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "m", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(2, 41100, "sendonly")), Metadata: upd}); err != nil {
		t.Fatal(err)
	}
	f.r.Bye("m", "bye")
	rec := onlyRecording(t, f.db)
	if rec.MetadataProblem == "" {
		t.Error("invalid first metadata not flagged")
	}
	if !strings.HasPrefix(rec.Metadata, "<recording") {
		t.Errorf("first raw metadata not kept: %q", rec.Metadata)
	}
	updated := false
	for _, e := range rec.Events {
		updated = updated || e.Type == "metadata" && strings.Contains(e.Detail, "participantstreamassoc")
	}
	if !updated {
		t.Error("raw metadata update not stored as an event")
	}
	if len(rec.Parties) != 2 || rec.Parties[0].DN != "5001" || rec.Parties[1].DN != "+15550100" {
		t.Errorf("parties after update = %+v", rec.Parties)
	}
}

// A metadata-only UPDATE (no SDP) refreshes the parties from the session's
// current streams.
func TestSIPRECMetadataOnlyUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.invite(ctx, &sipsrv.Invite{CallID: "u", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(2, 41300, "sendonly"))}); err != nil {
		t.Fatal(err)
	}
	upd := []byte(`<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>partial</datamode>
<participant participant_id="P9"><nameID aor="sip:7777@pbx"/></participant>
<stream stream_id="T9" session_id="S"><label>2</label></stream>
<participantstreamassoc participant_id="P9"><send>T9</send></participantstreamassoc></recording>`)
	if _, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "u", Kind: sipsrv.KindSIPREC, Method: "UPDATE", Metadata: upd}); err != nil {
		t.Fatal(err)
	}
	f.r.Bye("u", "bye")
	rec := onlyRecording(t, f.db)
	if len(rec.Parties) != 2 || rec.Parties[1].DN != "7777" || rec.OtherDN != "7777" {
		t.Errorf("parties after metadata-only UPDATE = %+v other=%q", rec.Parties, rec.OtherDN)
	}
}

// A recording stream that was sendrecv and becomes sendonly is on hold
// (RFC 3264 §8.4); back to sendrecv is a retrieve.
func TestSendonlyHold(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "h", "5001", 41400, "sendrecv")); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"sendonly", "sendrecv"} {
		f.clk.Add(time.Second)
		if _, err := f.r.Reinvite(ctx, msrInvite(t, "h", "5001", 41400, dir)); err != nil {
			t.Fatal(err)
		}
	}
	f.r.Bye("h", "bye")
	rec := onlyRecording(t, f.db)
	if !hasEvent(rec, "hold") || !hasEvent(rec, "retrieve") {
		t.Errorf("events = %+v, want hold then retrieve", rec.Events)
	}
	var hold *store.Segment
	for i := range rec.Segments {
		if rec.Segments[i].Type == "hold" {
			hold = &rec.Segments[i]
		}
	}
	if hold == nil || hold.EndMS-hold.StartMS != 1000 || hold.Channel != 0 {
		t.Errorf("segments = %+v, want a 1 s hold on channel 0", rec.Segments)
	}
}

// The two legs of an MSR call name both parties: the second leg's dn= is
// the other DN; a second leg after the window still makes it whole.
func TestTwoLegPartiesAndLateLeg(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "a", "5001", 41500, "sendonly")); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(11 * time.Second) // past the 10 s leg window
	f.r.Tick(f.clk.Now())
	if _, err := f.invite(ctx, msrInvite(t, "b", "+15550100", 41502, "sendonly")); err != nil {
		t.Fatal(err)
	}
	f.r.Bye("a", "bye")
	f.r.Bye("b", "bye")
	rec := onlyRecording(t, f.db)
	if rec.OtherDN != "+15550100" || rec.RecordedDN != "5001" || len(rec.Parties) != 2 ||
		rec.Parties[1].DN != "+15550100" || rec.Parties[0].SIPCallID != "a" || rec.Parties[1].SIPCallID != "b" {
		t.Errorf("recorded=%q other=%q parties=%+v", rec.RecordedDN, rec.OtherDN, rec.Parties)
	}
	if strings.Contains(rec.StatusReason, "one-legged") || !hasEvent(rec, "late-leg") {
		t.Errorf("late second leg: status %s (%s)", rec.Status, rec.StatusReason)
	}
}

// SIPREC pause (every stream a=inactive, RFC 7866) is a pause segment; the
// recording stays one file.
func TestSIPRECPauseResume(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.invite(ctx, &sipsrv.Invite{CallID: "p", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(2, 41200, "sendonly"))}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Second)
	ans, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "p", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(2, 41200, "inactive"))})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(ans), "a=inactive") != 2 {
		t.Errorf("answer to inactive offer:\n%s", ans)
	}
	f.clk.Add(2 * time.Minute) // paused longer than the media timeout
	f.r.Tick(f.clk.Now())
	if f.r.Active() != 1 {
		t.Fatal("paused SIPREC session timed out")
	}
	if _, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "p", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, siprecSDP(2, 41200, "sendonly"))}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Second)
	f.r.Bye("p", "bye")
	rec := onlyRecording(t, f.db)
	var pause *store.Segment
	for i := range rec.Segments {
		if rec.Segments[i].Type == "pause" {
			pause = &rec.Segments[i]
		}
	}
	if pause == nil || pause.Channel != -1 || pause.EndMS-pause.StartMS != 120000 {
		t.Errorf("segments = %+v, want one 120 s pause on all channels", rec.Segments)
	}
	if !hasEvent(rec, "pause") || !hasEvent(rec, "resume") {
		t.Errorf("events = %+v", rec.Events)
	}
}

// Delayed offer: INVITE without SDP gets our offer; the ACK carries the answer.
func TestDelayedOffer(t *testing.T) {
	f := newFixture(t)
	a := newSender(t, 0, 0xD)
	inv := &sipsrv.Invite{CallID: "d", Kind: sipsrv.KindMSR, MSR: sipsrv.MSRParams{RecordID: "d1", DN: "5001", RecordDN: "5001"}}
	off, err := f.invite(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(off), "a=recvonly") || !strings.Contains(string(off), "PCMA/8000") {
		t.Errorf("offer:\n%s", off)
	}
	if parsed, err := sdpoa.ParseOffer(off); err != nil || parsed.AudioCount() != 1 || len(parsed.Media[0].Codecs) != 2 || parsed.Media[0].TelephoneEvent == nil {
		t.Errorf("our offer does not parse as one audio stream with PCMU, PCMA, telephone-event: %v\n%s", err, off)
	}
	a.to.Port = answerPort(t, off)
	if err := f.r.Ack("d", offer(t, a.port(), "sendonly")); err != nil {
		t.Fatal(err)
	}
	a.send(t, 25, 0x30)
	waitPackets(t, f.r, 25)
	f.clk.Add(time.Second)
	f.r.Bye("d", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Status == store.StatusFailed {
		t.Errorf("delayed-offer call failed: %s", rec.StatusReason)
	}
}

// A codec we cannot decode yet is answered and recorded raw; with dtmf:
// mask the status says the raw payload was not masked (nothing can find a
// key tone in audio it cannot decode).
func TestUndecodableCodecRecordedRaw(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.DTMF = func(string) mixer.DTMFMode { return mixer.DTMFMask } })
	a := newSender(t, 0, 0xE)
	sdp := parseSDP(t, fmt.Sprintf("v=0\no=MCP 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 18\na=rtpmap:18 G729/8000\na=sendonly\n", a.port()))
	ans, err := f.invite(context.Background(), &sipsrv.Invite{CallID: "g", Kind: sipsrv.KindMSR, SDP: sdp, MSR: sipsrv.MSRParams{RecordID: "g1", DN: "5001", RecordDN: "5001"}})
	if err != nil {
		t.Fatalf("G.729 call refused: %v", err)
	}
	if !strings.Contains(string(ans), "G729") {
		t.Errorf("answer does not accept G.729:\n%s", ans)
	}
	a.to.Port = answerPort(t, ans)
	for i := 0; i < 10; i++ {
		p := make([]byte, 12+20)
		p[0], p[1] = 0x80, 18
		binary.BigEndian.PutUint16(p[2:], uint16(i))
		binary.BigEndian.PutUint32(p[4:], uint32(i*160))
		binary.BigEndian.PutUint32(p[8:], 0xE)
		if _, err := a.c.WriteToUDP(p, a.to); err != nil {
			t.Fatal(err)
		}
	}
	waitPackets(t, f.r, 10)
	f.clk.Add(time.Second)
	f.r.Tick(f.clk.Now())
	f.r.Bye("g", "bye")
	rec := onlyRecording(t, f.db)
	if !rec.NeedsTranscode || len(rec.Codecs) == 0 || rec.Codecs[0] != "G729" {
		t.Errorf("needs_transcode=%v codecs=%v", rec.NeedsTranscode, rec.Codecs)
	}
	if !strings.Contains(rec.StatusReason, "raw payload kept (key tones in it not masked)") {
		t.Errorf("status reason %q does not say the raw payload is unmasked", rec.StatusReason)
	}
	raw := strings.TrimSuffix(rec.MediaPath, ".wav") + ".ch0.rtpraw"
	if st, err := os.Stat(raw); err != nil || st.Size() < 10*20 {
		t.Errorf("raw sidecar %s: %v", raw, err)
	}
}

func hasEvent(r store.Recording, typ string) bool {
	for _, e := range r.Events {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// Stopping the recorder (SIGINT) in the middle of a call finalises a
// playable file, marked partial: it is not the whole call.
func TestCloseMidCallIsPartial(t *testing.T) {
	f := newFixture(t)
	a := newSender(t, 0, 0xF)
	ans, err := f.invite(context.Background(), msrInvite(t, "x", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 25, 0x40)
	waitPackets(t, f.r, 25)
	f.clk.Add(time.Second)
	if err := f.r.Close(); err != nil {
		t.Fatal(err)
	}
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusPartial || !strings.Contains(rec.StatusReason, "cut short") {
		t.Errorf("status %s (%s), want partial/cut short", rec.Status, rec.StatusReason)
	}
	if wf, err := wav.ReadFile(rec.MediaPath); err != nil || wf.Frames == 0 {
		t.Errorf("file after Close: %v", err)
	}
}
