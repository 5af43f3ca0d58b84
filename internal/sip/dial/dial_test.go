package dial

import (
	"context"
	"encoding/xml"
	"errors"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

func newTestDialer(t *testing.T, opts Options) *Dialer {
	t.Helper()
	d, err := NewDialer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond for up to 5 s (BYE handling and the last packets
// race the return of Call by a few ms on the recorder side).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testtool.Eventually(t, 5*time.Second, cond, "waiting for %s", what)
}

// returnWithin is the bound for a Call that must end on an event (BYE,
// cancel, Close) rather than by its Duration or a SIP timer (Timer B is
// 32 s): far from both, and far above any scheduling delay of a loaded
// machine, so it does not flake; the Durations below are an hour.
const returnWithin = 10 * time.Second

// callAsync runs d.Call in a goroutine; the result comes on the channel.
func callAsync(d *Dialer, ctx context.Context, spec Spec) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		res, err := d.Call(ctx, spec)
		ch <- callResult{res, err}
	}()
	return ch
}

type callResult struct {
	res *Result
	err error
}

// await waits for callAsync's result, failing the test after returnWithin.
func await(t *testing.T, ch <-chan callResult, what string) (*Result, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-time.After(returnWithin):
		t.Fatalf("Call did not return within %v after %s", returnWithin, what)
		return nil, nil
	}
}

// checkStream verifies one received stream: count, contiguous sequence
// numbers and timestamps (+160), marker only on the first, payload type.
func checkStream(t *testing.T, name string, pkts []rtp.Packet, want int, pt uint8) {
	t.Helper()
	if len(pkts) != want {
		t.Fatalf("%s: %d packets, want %d", name, len(pkts), want)
	}
	for i, p := range pkts {
		if p.PayloadType != pt {
			t.Fatalf("%s: packet %d PT %d, want %d", name, i, p.PayloadType, pt)
		}
		if len(p.Payload) != samplesPerPacket {
			t.Fatalf("%s: packet %d payload %d bytes", name, i, len(p.Payload))
		}
		if p.Marker != (i == 0) {
			t.Fatalf("%s: packet %d marker %v", name, i, p.Marker)
		}
		if i == 0 {
			continue
		}
		q := pkts[i-1]
		if p.SequenceNumber != q.SequenceNumber+1 || p.Timestamp != q.Timestamp+samplesPerPacket || p.SSRC != q.SSRC {
			t.Fatalf("%s: packet %d seq %d ts %d after seq %d ts %d", name, i, p.SequenceNumber, p.Timestamp, q.SequenceNumber, q.Timestamp)
		}
	}
}

// goertzelPower is the relative power of freq in samples (8 kHz).
func goertzelPower(samples []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2, total float64
	for _, v := range samples {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		total += x * x
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	if total == 0 {
		return 0
	}
	return p / (total * float64(len(samples)) / 2)
}

func decode(pkts []rtp.Packet, codec string) []int16 {
	var out []int16
	for _, p := range pkts {
		buf := make([]int16, len(p.Payload))
		if codec == media.PCMA {
			g711.DecodeALawTo(buf, p.Payload)
		} else {
			g711.DecodeULawTo(buf, p.Payload)
		}
		out = append(out, buf...)
	}
	return out
}

func TestCallMSR(t *testing.T) {
	tests := []struct {
		name, transport, codec string
		pt                     uint8
	}{
		{"udp pcmu", TransportUDP, "PCMU", 0},
		{"tcp pcma", TransportTCP, "PCMA", 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newFakeRecorder(t)
			d := newTestDialer(t, Options{})
			spec := Spec{Target: rec.target(tc.transport), Transport: tc.transport, Codec: tc.codec,
				RecordID: "rec42", CallUUID: "0123456789ABCDEFGHIJKLMNOPQRSTUV", Duration: 300 * time.Millisecond}
			res, err := d.Call(callCtx(t), spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.CallIDs) != 2 || res.Statuses[0] != 200 || res.Statuses[1] != 200 || res.CallIDs[0] == res.CallIDs[1] {
				t.Fatalf("result %+v", res)
			}
			if res.PacketsSent[0] != 15 || res.PacketsSent[1] != 15 {
				t.Fatalf("sent %v, want 15 each", res.PacketsSent)
			}
			if n := len(rec.snapshot()); n != 2 {
				t.Fatalf("%d INVITEs", n)
			}
			wantDN := []string{DefaultDN, DefaultOtherDN}
			ssrcs := map[uint32]bool{}
			for i, id := range res.CallIDs {
				inv := rec.byCallID(t, id)
				ru := inv.req.Recipient
				if ru.User != "record=rec42" {
					t.Errorf("leg %d Request-URI user %q", i, ru.User)
				}
				p := ru.UriParams
				if v, _ := p.Get("calluuid"); v != spec.CallUUID {
					t.Errorf("leg %d calluuid %q", i, v)
				}
				if v, _ := p.Get("dn"); v != wantDN[i] {
					t.Errorf("leg %d dn %q, want %q", i, v, wantDN[i])
				}
				if v, _ := p.Get("recordDN"); v != DefaultDN {
					t.Errorf("leg %d recordDN %q", i, v)
				}
				if p.Has("otherDN") {
					t.Errorf("leg %d has otherDN in a two-session call", i)
				}
				if h := inv.req.GetHeader("User-Agent"); h == nil || h.Value() != UserAgent {
					t.Errorf("leg %d User-Agent %v", i, h)
				}
				if !strings.EqualFold(inv.req.Transport(), tc.transport) {
					t.Errorf("leg %d transport %q", i, inv.req.Transport())
				}
				var offer sdp.SessionDescription
				if err := offer.UnmarshalString(string(inv.sdp)); err != nil {
					t.Fatal(err)
				}
				if len(offer.MediaDescriptions) != 1 {
					t.Fatalf("leg %d: %d m-lines", i, len(offer.MediaDescriptions))
				}
				md := offer.MediaDescriptions[0]
				if _, ok := md.Attribute("sendonly"); !ok {
					t.Errorf("leg %d offer not sendonly", i)
				}
				if got := strings.Join(md.MediaName.Formats, " "); got != map[string]string{"PCMU": "0 101", "PCMA": "8 101"}[tc.codec] {
					t.Errorf("leg %d formats %q", i, got)
				}
				if !strings.Contains(string(inv.sdp), "a=rtpmap:101 telephone-event/8000") {
					t.Errorf("leg %d: no telephone-event rtpmap", i)
				}
				if string(res.Answers[i]) != string(inv.answer) {
					t.Errorf("leg %d answer not reported", i)
				}
				waitFor(t, "BYE", func() bool { return rec.gotBye(inv.callID) })
				waitFor(t, "packets", func() bool { return len(inv.sinks[0].packets()) >= 15 })
				pkts := inv.sinks[0].packets()
				checkStream(t, "leg", pkts, 15, tc.pt)
				ssrcs[pkts[0].SSRC] = true
				// The parties are 440 Hz and 1000 Hz tones.
				pcm := decode(pkts, tc.codec)
				want, other := DefaultToneA, DefaultToneB
				if i == 1 {
					want, other = other, want
				}
				if pw, po := goertzelPower(pcm, want), goertzelPower(pcm, other); pw < 0.5 || po > 0.05 {
					t.Errorf("leg %d tone power %.2f (want) %.2f (other)", i, pw, po)
				}
			}
			if len(ssrcs) != 2 {
				t.Errorf("legs share an SSRC")
			}
		})
	}
}

func TestCallMSRSingleSession(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), SingleSession: true, DN: "7001", OtherDN: "7002",
		Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CallIDs) != 1 || len(res.PacketsSent) != 2 {
		t.Fatalf("result %+v", res)
	}
	invs := rec.snapshot()
	if len(invs) != 1 {
		t.Fatalf("%d INVITEs", len(invs))
	}
	p := invs[0].req.Recipient.UriParams
	for k, want := range map[string]string{"dn": "7001", "otherDN": "7002", "recordDN": "7001", "calluuid": res.CallUUID} {
		if v, _ := p.Get(k); v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	if len(res.CallUUID) != 32 || strings.Trim(res.CallUUID, "0123456789ABCDEFGHIJKLMNOPQRSTUV") != "" {
		t.Errorf("generated CallUUID %q", res.CallUUID)
	}
	if len(invs[0].sinks) != 2 {
		t.Fatalf("%d m-lines", len(invs[0].sinks))
	}
	for _, s := range invs[0].sinks {
		waitFor(t, "packets", func() bool { return len(s.packets()) >= 10 })
		checkStream(t, "stream", s.packets(), 10, 0)
	}
}

// rsRecording is the part of RFC 7865 metadata the test checks.
type rsRecording struct {
	XMLName  xml.Name `xml:"urn:ietf:params:xml:ns:recording:1 recording"`
	DataMode string   `xml:"datamode"`
	Session  struct {
		ID       string `xml:"session_id,attr"`
		CallUUID string `xml:"extensiondata>X-Genesys-CallUUID"`
	} `xml:"session"`
	Participants []struct {
		ID     string `xml:"participant_id,attr"`
		NameID struct {
			AOR string `xml:"aor,attr"`
		} `xml:"nameID"`
	} `xml:"participant"`
	Streams []struct {
		ID      string `xml:"stream_id,attr"`
		Session string `xml:"session_id,attr"`
		Label   string `xml:"label"`
	} `xml:"stream"`
	Assocs []struct {
		Participant string   `xml:"participant_id,attr"`
		Send        []string `xml:"send"`
		Recv        []string `xml:"recv"`
	} `xml:"participantstreamassoc"`
}

func TestCallSIPREC(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), Mode: ModeSIPREC, CallUUID: "00000000000000000000000000000ABC",
		Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	invs := rec.snapshot()
	if len(invs) != 1 || len(res.CallIDs) != 1 {
		t.Fatalf("%d INVITEs", len(invs))
	}
	req := invs[0].req
	if h := req.GetHeader("Require"); h == nil || h.Value() != "siprec" {
		t.Errorf("Require %v", h)
	}
	if c := req.Contact(); c == nil || !c.Params.Has("+sip.src") {
		t.Errorf("Contact %v lacks +sip.src", c)
	}
	if ct := req.ContentType(); ct == nil || !strings.HasPrefix(ct.Value(), "multipart/mixed;boundary=") {
		t.Errorf("Content-Type %v", ct)
	}
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(string(invs[0].sdp)); err != nil {
		t.Fatal(err)
	}
	if len(offer.MediaDescriptions) != 2 {
		t.Fatalf("%d m-lines", len(offer.MediaDescriptions))
	}
	for i, md := range offer.MediaDescriptions {
		l, _ := md.Attribute("label")
		_, sendonly := md.Attribute("sendonly")
		if l != []string{"1", "2"}[i] || !sendonly {
			t.Errorf("m-line %d label %q sendonly %v", i, l, sendonly)
		}
	}
	var m rsRecording
	if err := xml.Unmarshal(invs[0].meta, &m); err != nil {
		t.Fatalf("metadata: %v\n%s", err, invs[0].meta)
	}
	if m.DataMode != "complete" || m.Session.ID == "" || m.Session.CallUUID != "00000000000000000000000000000ABC" {
		t.Errorf("metadata session %+v datamode %q", m.Session, m.DataMode)
	}
	if len(m.Participants) != 2 || !strings.HasPrefix(m.Participants[0].NameID.AOR, "sip:"+DefaultDN+"@") ||
		!strings.HasPrefix(m.Participants[1].NameID.AOR, "sip:"+DefaultOtherDN+"@") {
		t.Fatalf("participants %+v", m.Participants)
	}
	if len(m.Streams) != 2 || m.Streams[0].Label != "1" || m.Streams[1].Label != "2" || m.Streams[0].Session != m.Session.ID {
		t.Fatalf("streams %+v", m.Streams)
	}
	if len(m.Assocs) != 2 {
		t.Fatalf("participantstreamassoc %+v", m.Assocs)
	}
	for i, a := range m.Assocs {
		if a.Participant != m.Participants[i].ID || len(a.Send) != 1 || a.Send[0] != m.Streams[i].ID ||
			len(a.Recv) != 1 || a.Recv[0] != m.Streams[1-i].ID {
			t.Errorf("assoc %d %+v", i, a)
		}
	}
	for _, s := range invs[0].sinks {
		waitFor(t, "packets", func() bool { return len(s.packets()) >= 10 })
		checkStream(t, "stream", s.packets(), 10, 0)
	}
	waitFor(t, "BYE", func() bool { return rec.gotBye(invs[0].callID) })
}

func TestRTCPSenderReports(t *testing.T) {
	rec := newFakeRecorder(t)
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	d := newTestDialer(t, Options{Now: func() time.Time { return now }})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), RTCP: true, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range res.CallIDs {
		s := rec.byCallID(t, id).sinks[0]
		waitFor(t, "SR", func() bool { return len(s.reports()) >= 1 })
		srs, pkts := s.reports(), s.packets()
		if len(srs) != 1 { // 200 ms: only the one after the first packet
			t.Fatalf("leg %d: %d SRs", i, len(srs))
		}
		sr := srs[0]
		if sr.SSRC != pkts[0].SSRC || sr.PacketCount != 1 || sr.OctetCount != samplesPerPacket {
			t.Errorf("leg %d SR %+v", i, sr)
		}
		if got := media.NTPToTime(sr.NTPTime); got.Sub(now).Abs() > time.Millisecond {
			t.Errorf("leg %d NTP %v, want %v", i, got, now)
		}
		if diff := int32(sr.RTPTime - pkts[0].Timestamp); diff < 0 || diff > 160 {
			t.Errorf("leg %d SR RTP time %d, first packet %d", i, sr.RTPTime, pkts[0].Timestamp)
		}
	}
}

func TestDTMF(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), DTMF: "5", Duration: 1200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := rec.byCallID(t, res.CallIDs[0]).sinks[0]
	waitFor(t, "packets", func() bool { return len(s.packets()) == res.PacketsSent[0] })
	pkts := s.packets()
	var audio, events []rtp.Packet
	for _, p := range pkts {
		if p.PayloadType == 96 { // the recorder answered telephone-event as 96
			events = append(events, p)
		} else {
			audio = append(audio, p)
		}
	}
	if len(events) != dtmfTicks+dtmfEndRepeats-1 || len(audio) != 60-dtmfTicks {
		t.Fatalf("%d events, %d audio packets", len(events), len(audio))
	}
	wantTS := pkts[0].Timestamp + uint32(dtmfFirstTick*samplesPerPacket)
	for i, e := range events {
		dur := min(i+1, dtmfTicks) * samplesPerPacket
		end := i >= dtmfTicks-1
		p := e.Payload
		if len(p) != 4 || p[0] != 5 || (p[1]&0x80 != 0) != end || p[1]&0x3f != dtmfVolume ||
			int(p[2])<<8|int(p[3]) != dur || e.Timestamp != wantTS || e.Marker != (i == 0) {
			t.Errorf("event %d: payload %v ts %d marker %v", i, p, e.Timestamp, e.Marker)
		}
	}
	for i := 1; i < len(pkts); i++ {
		if pkts[i].SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("sequence gap at %d", i)
		}
	}
	// The other party's leg carries no DTMF.
	for _, p := range rec.byCallID(t, res.CallIDs[1]).sinks[0].packets() {
		if p.PayloadType != 0 {
			t.Fatalf("other leg PT %d", p.PayloadType)
		}
	}
}

func TestDTMFNotNegotiated(t *testing.T) {
	rec := newFakeRecorder(t, func(r *fakeRecorder) { r.noDTMF = true })
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), DTMF: "1", Duration: 1100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := rec.byCallID(t, res.CallIDs[0]).sinks[0]
	waitFor(t, "packets", func() bool { return len(s.packets()) == res.PacketsSent[0] })
	checkStream(t, "leg", s.packets(), 55, 0)
}

func TestAnswerCodecHonoured(t *testing.T) {
	rec := newFakeRecorder(t, func(r *fakeRecorder) { r.answerCodec = "PCMA" })
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), Codec: "PCMU", Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := rec.byCallID(t, res.CallIDs[0]).sinks[0]
	waitFor(t, "packets", func() bool { return len(s.packets()) == 5 })
	checkStream(t, "leg", s.packets(), 5, 8)
}

func TestImpairments(t *testing.T) {
	run := func(t *testing.T, spec Spec) (*Result, [][]rtp.Packet) {
		rec := newFakeRecorder(t)
		d := newTestDialer(t, Options{})
		spec.Target, spec.Mode, spec.Duration = rec.target("udp"), ModeSIPREC, time.Second
		res, err := d.Call(callCtx(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]rtp.Packet
		for i, s := range rec.snapshot()[0].sinks {
			waitFor(t, "packets", func() bool { return len(s.packets()) == res.PacketsSent[i] })
			out = append(out, s.packets())
		}
		return res, out
	}

	t.Run("loss", func(t *testing.T) {
		res, streams := run(t, Spec{Loss: 0.2, Seed: 7})
		for i, pkts := range streams {
			if res.PacketsSent[i]+res.PacketsDropped[i] != 50 {
				t.Errorf("stream %d: sent %d + dropped %d != 50", i, res.PacketsSent[i], res.PacketsDropped[i])
			}
			if res.PacketsDropped[i] < 3 || res.PacketsDropped[i] > 20 {
				t.Errorf("stream %d: dropped %d of 50 at 20%%", i, res.PacketsDropped[i])
			}
			// The gaps in the sequence numbers are exactly the drops.
			gaps := 0
			for j := 1; j < len(pkts); j++ {
				gaps += int(pkts[j].SequenceNumber-pkts[j-1].SequenceNumber) - 1
			}
			// (drops before the first or after the last received packet
			// leave no gap)
			if gaps > res.PacketsDropped[i] || gaps < res.PacketsDropped[i]-5 {
				t.Errorf("stream %d: %d sequence gaps for %d drops", i, gaps, res.PacketsDropped[i])
			}
		}
		again, _ := run(t, Spec{Loss: 0.2, Seed: 7})
		if again.PacketsDropped[0] != res.PacketsDropped[0] || again.PacketsDropped[1] != res.PacketsDropped[1] {
			t.Errorf("same seed, different losses: %v vs %v", res.PacketsDropped, again.PacketsDropped)
		}
	})

	t.Run("reorder", func(t *testing.T) {
		res, streams := run(t, Spec{Reorder: 0.2, Seed: 3})
		for i, pkts := range streams {
			if res.PacketsSent[i] != 50 || len(pkts) != 50 {
				t.Fatalf("stream %d: sent %d received %d", i, res.PacketsSent[i], len(pkts))
			}
			swapped, seen := 0, map[uint16]bool{}
			for j, p := range pkts {
				seen[p.SequenceNumber] = true
				if j > 0 && int16(p.SequenceNumber-pkts[j-1].SequenceNumber) < 0 {
					swapped++
				}
			}
			if len(seen) != 50 || swapped < 2 || swapped > 20 {
				t.Errorf("stream %d: %d distinct, %d out of order", i, len(seen), swapped)
			}
		}
	})

	t.Run("jitter", func(t *testing.T) {
		_, streams := run(t, Spec{Jitter: 60 * time.Millisecond, Seed: 1})
		for i, pkts := range streams {
			late := 0
			for j := 1; j < len(pkts); j++ {
				if int16(pkts[j].SequenceNumber-pkts[j-1].SequenceNumber) < 0 {
					late++
				}
			}
			if len(pkts) != 50 || late == 0 {
				t.Errorf("stream %d: %d packets, %d overtaken (jitter 60 ms > 20 ms spacing should reorder some)", i, len(pkts), late)
			}
		}
	})
}

func TestRejected(t *testing.T) {
	for _, code := range []int{486, 503} {
		t.Run(itoa3(code), func(t *testing.T) {
			rec := newFakeRecorder(t, func(r *fakeRecorder) { r.status = code })
			d := newTestDialer(t, Options{})
			res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), Duration: time.Second})
			var se StatusError
			if !errors.As(err, &se) || se.Code != code {
				t.Fatalf("err %v, want StatusError %d", err, code)
			}
			var sp *StatusError
			if !errors.As(err, &sp) || sp.Code != code {
				t.Fatalf("errors.As(**StatusError) failed for %v", err)
			}
			if !strings.Contains(err.Error(), "SIP "+itoa3(code)) {
				t.Errorf("message %q lacks the status", err)
			}
			if res == nil || !slices.Contains(res.Statuses, code) {
				t.Fatalf("result %+v", res)
			}
			if res.PacketsSent[0]+res.PacketsSent[1] != 0 {
				t.Errorf("sent %v after rejection", res.PacketsSent)
			}
		})
	}
}

func itoa3(c int) string {
	return string([]byte{byte('0' + c/100), byte('0' + c/10%10), byte('0' + c%10)})
}

func TestRecorderHangsUp(t *testing.T) {
	rec := newFakeRecorder(t, func(r *fakeRecorder) { r.hangupAfter = 100 * time.Millisecond })
	d := newTestDialer(t, Options{})
	// An hour-long call: only the recorder's BYE can end it in time.
	res, err := await(t, callAsync(d, context.Background(), Spec{Target: rec.target("udp"), Duration: time.Hour}), "the recorder's BYE")
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range res.CallIDs {
		if !res.RemoteBye[i] {
			t.Errorf("leg %d: RemoteBye false", i)
		}
		if rec.gotBye(id) {
			t.Errorf("leg %d: dialer sent BYE after the recorder's", i)
		}
		if res.PacketsSent[i] == 0 {
			t.Errorf("leg %d sent no packets", i)
		}
	}
}

func TestCancel(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := callAsync(d, ctx, Spec{Target: rec.target("udp"), Duration: time.Hour})
	// Cancel once both legs stream.
	waitFor(t, "3 packets on both legs", func() bool {
		invs := rec.snapshot()
		if len(invs) != 2 {
			return false
		}
		for _, inv := range invs {
			if sinks := rec.sinksOf(inv); len(sinks) != 1 || len(sinks[0].packets()) < 3 {
				return false
			}
		}
		return true
	})
	cancel()
	res, err := await(t, done, "cancel")
	if err != nil {
		t.Fatalf("cancel while streaming: %v", err)
	}
	for i, id := range res.CallIDs {
		if !rec.gotBye(id) {
			t.Errorf("leg %d: no BYE after cancel", i)
		}
		if res.PacketsSent[i] < 3 {
			t.Errorf("leg %d sent %d packets, want >= 3 (the recorder had 3)", i, res.PacketsSent[i])
		}
	}
}

func TestCancelDuringSetup(t *testing.T) {
	t.Run("after 100 Trying: CANCEL", func(t *testing.T) {
		rec := newFakeRecorder(t, func(r *fakeRecorder) { r.stall = true })
		d := newTestDialer(t, Options{})
		// The timeout models a caller that gives up after 400 ms.
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		res, err := await(t, callAsync(d, ctx, Spec{Target: rec.target("udp")}), "its context ended")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want deadline exceeded", err)
		}
		// sipgo's server transaction sends 100 Trying after 200 ms, so
		// the dialer can CANCEL and the INVITE ends with 487.
		if res.Statuses[0] != 487 || res.Statuses[1] != 487 {
			t.Errorf("statuses %v, want 487 after CANCEL", res.Statuses)
		}
	})
	t.Run("no response at all", func(t *testing.T) {
		hole, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer hole.Close()
		d := newTestDialer(t, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = await(t, callAsync(d, ctx, Spec{Target: hole.LocalAddr().String()}), "its context ended")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want deadline exceeded", err)
		}
		// No provisional response: no CANCEL allowed; wait cancelGrace
		// (a lower bound: a loaded machine only makes it longer), then
		// give up rather than wait for Timer B (await's bound).
		if el := time.Since(start); el < cancelGrace {
			t.Errorf("Call returned after %v, before cancelGrace (%v)", el, cancelGrace)
		}
	})
}

func TestStartSkew(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), StartSkew: 150 * time.Millisecond, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// A lower bound (scheduling only delays the second INVITE); the
	// upper one says the skew is the one asked for, not a Duration or a
	// SIP timer, with room for a loaded machine.
	if skew := rec.byCallID(t, res.CallIDs[1]).at.Sub(rec.byCallID(t, res.CallIDs[0]).at); skew < 140*time.Millisecond || skew > 5*time.Second {
		t.Errorf("second INVITE %v after the first, want 150 ms", skew)
	}
}

func TestConcurrentCalls(t *testing.T) {
	// The recorder answers no INVITE before all have come: the n calls
	// are set up at the same time for certain, not one after the other.
	hold := make(chan struct{})
	var release sync.Once
	defer release.Do(func() { close(hold) })
	rec := newFakeRecorder(t, func(r *fakeRecorder) { r.hold = hold })
	d := newTestDialer(t, Options{RTPPortLow: 31000, RTPPortHigh: 31999})
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]*Result, n)
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = d.Call(callCtx(t), Spec{Target: rec.target("udp"), Duration: 200 * time.Millisecond})
		})
	}
	waitFor(t, "all INVITEs in flight at once", func() bool { return len(rec.snapshot()) == 2*n })
	release.Do(func() { close(hold) })
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		for _, id := range ids[i].CallIDs {
			if seen[id] {
				t.Fatalf("duplicate Call-ID %s", id)
			}
			seen[id] = true
		}
	}
	invs := rec.snapshot()
	if len(invs) != 2*n {
		t.Fatalf("%d INVITEs", len(invs))
	}
	for _, inv := range invs {
		s := inv.sinks[0]
		waitFor(t, "packets", func() bool { return len(s.packets()) == 10 })
		s.mu.Lock()
		port := s.srcs[0].(*net.UDPAddr).Port
		s.mu.Unlock()
		if port < 31000 || port > 31999 {
			t.Errorf("RTP sent from port %d, outside the range", port)
		}
	}
}

func TestOptionsPing(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	for _, want := range []int{200, 503} {
		rec.optStatus.Store(int32(want))
		got, err := d.Options(callCtx(t), rec.target("udp"))
		if err != nil || got != want {
			t.Errorf("Options = %d, %v; want %d", got, err, want)
		}
	}
}

func TestClosed(t *testing.T) {
	d, err := NewDialer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Call(context.Background(), Spec{Target: "127.0.0.1:5060"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close: %v", err)
	}
	if _, err := d.Options(context.Background(), "127.0.0.1:5060"); !errors.Is(err, ErrClosed) {
		t.Errorf("Options after Close: %v", err)
	}
}

func TestCloseHangsUp(t *testing.T) {
	rec := newFakeRecorder(t)
	d, err := NewDialer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := callAsync(d, context.Background(), Spec{Target: rec.target("udp"), Duration: time.Hour})
	waitFor(t, "answer, ACKs and media", func() bool {
		invs := rec.snapshot()
		if len(invs) != 2 {
			return false
		}
		if sinks := rec.sinksOf(invs[1]); len(sinks) != 1 || len(sinks[0].packets()) == 0 {
			return false
		}
		for _, inv := range invs { // Close before an ACK went out is another test
			select {
			case <-inv.acked:
			default:
				return false
			}
		}
		return true
	})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = d.Close()
	}()
	res, _ := await(t, done, "Close")
	select {
	case <-closed:
	case <-time.After(returnWithin):
		t.Fatalf("Close did not return within %v", returnWithin)
	}
	for _, id := range res.CallIDs {
		if !rec.gotBye(id) {
			t.Errorf("no BYE for %s on Close", id)
		}
	}
}

func TestSpecValidation(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	tone := Tone(440, 0.5)
	tests := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"defaults", Spec{Target: "127.0.0.1:5060"}, true},
		{"port defaults", Spec{Target: "recorder.example"}, true},
		{"no target", Spec{}, false},
		{"bad port", Spec{Target: "h:99999"}, false},
		{"bad mode", Spec{Target: "h:1", Mode: "sipi"}, false},
		{"bad transport", Spec{Target: "h:1", Transport: "sctp"}, false},
		{"siprec single", Spec{Target: "h:1", Mode: ModeSIPREC, SingleSession: true}, false},
		{"sbc siprec", Spec{Target: "h:1", Mode: ModeSIPREC, NoGenesysIDs: true}, true},
		{"msr without ids", Spec{Target: "h:1", NoGenesysIDs: true}, false},
		{"bad codec", Spec{Target: "h:1", Codec: "G729"}, false},
		{"per-leg codec", Spec{Target: "h:1", Codecs: []string{"pcma", ""}}, true},
		{"loss > 1", Spec{Target: "h:1", Loss: 1.5}, false},
		{"negative jitter", Spec{Target: "h:1", Jitter: -time.Millisecond}, false},
		{"one source", Spec{Target: "h:1", Sources: []Source{tone}}, false},
		{"shared source", Spec{Target: "h:1", Sources: []Source{tone, tone}}, false},
		{"dtmf", Spec{Target: "h:1", DTMF: "0123456789*#abcd"}, true},
		{"bad dtmf", Spec{Target: "h:1", DTMF: "1x"}, false},
		{"bad dn", Spec{Target: "h:1", DN: "50;01"}, false},
		{"short", Spec{Target: "h:1", Duration: time.Millisecond}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPlan(tc.spec, ip)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			if err == nil && (p.RecordID == "" || len(p.CallUUID) != 32 || p.Duration == 0 || len(p.Sources) != 2) {
				t.Errorf("defaults not applied: %+v", p)
			}
		})
	}
}

func TestNewDialerInvalidOptions(t *testing.T) {
	for _, o := range []Options{{RTPPortLow: 100, RTPPortHigh: 200}, {RTPPortLow: 3000, RTPPortHigh: 2000},
		{LocalIP: netip.IPv4Unspecified()}} {
		if _, err := NewDialer(o); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestPortAllocatorRange(t *testing.T) {
	a := portAllocator{low: 32001, high: 32005}
	ip := netip.MustParseAddr("127.0.0.1")
	var pairs []rtpPair
	defer func() {
		for _, p := range pairs {
			p.close()
		}
	}()
	for range 2 {
		p, err := a.listen(ip, true)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p)
		if p.rtpPort()%2 != 0 || p.rtcpPort() != p.rtpPort()+1 || p.rtpPort() < 32002 || p.rtcpPort() > 32005 {
			t.Fatalf("pair %d/%d", p.rtpPort(), p.rtcpPort())
		}
	}
	if _, err := a.listen(ip, true); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted range: %v", err)
	}
}

// TestMute: while Spec.Mute reports true no RTP is sent; the timestamps
// keep running (a gap) and the first packet after the gap is marked.
func TestMute(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	var n atomic.Int32
	// Mute ticks 10..19 of 30 (the function is asked once per stream per tick).
	mute := func() bool { k := n.Add(1) - 1; return k >= 20 && k < 40 }
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), SingleSession: true, Duration: 600 * time.Millisecond, Mute: mute})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacketsSent[0]+res.PacketsSent[1] != 40 {
		t.Fatalf("sent %v, want 40 packets in all (60 ticks, 20 muted)", res.PacketsSent)
	}
	s := rec.byCallID(t, res.CallIDs[0]).sinks[0]
	waitFor(t, "packets", func() bool { return len(s.packets()) == res.PacketsSent[0] })
	pkts := s.packets()
	gap := -1
	for i := 1; i < len(pkts); i++ {
		if d := pkts[i].Timestamp - pkts[i-1].Timestamp; d != samplesPerPacket {
			if gap >= 0 || d <= samplesPerPacket {
				t.Fatalf("timestamp step %d at packet %d", d, i)
			}
			gap = i
			if !pkts[i].Marker {
				t.Error("first packet after the muted stretch is not marked")
			}
		}
	}
	if gap < 0 {
		t.Fatal("no gap in the timestamps")
	}
}

// TestMuteParty: a party muted by Spec.MuteParty sends no RTP at all, the
// other party sends every packet.
func TestMuteParty(t *testing.T) {
	rec := newFakeRecorder(t)
	d := newTestDialer(t, Options{})
	res, err := d.Call(callCtx(t), Spec{Target: rec.target("udp"), Duration: 400 * time.Millisecond,
		MuteParty: func(party int) bool { return party == 1 }})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacketsSent[0] != 20 || res.PacketsSent[1] != 0 {
		t.Fatalf("sent %v, want [20 0] (party 1 muted)", res.PacketsSent)
	}
}

// An SBC's metadata carries no Genesys extension data.
func TestRSMetadataWithoutCallUUID(t *testing.T) {
	parties := []siprecParty{{aor: "sip:5004@h", name: "5004", label: "1"}, {aor: "sip:+1555@h", name: "+1555", label: "2"}}
	now := time.Unix(0, 0)
	if md := string(rsMetadata("", parties, now)); strings.Contains(md, "extensiondata") || strings.Contains(md, "X-Genesys") {
		t.Errorf("metadata without a CallUUID:\n%s", md)
	}
	if md := string(rsMetadata("U1", parties, now)); !strings.Contains(md, "<X-Genesys-CallUUID>U1</X-Genesys-CallUUID>") {
		t.Errorf("metadata with a CallUUID:\n%s", md)
	}
}
