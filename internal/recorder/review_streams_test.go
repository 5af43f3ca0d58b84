package recorder

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/sipsrv"
)

// answerPorts returns the ports of every m=audio line of an answer.
func answerPorts(t *testing.T, answer []byte) []int {
	t.Helper()
	var out []int
	for _, l := range strings.Split(string(answer), "\r\n") {
		if strings.HasPrefix(l, "m=audio ") {
			var p int
			_, _ = fmt.Sscanf(l, "m=audio %d", &p)
			out = append(out, p)
		}
	}
	return out
}

// A SIPREC re-INVITE that removes one stream (port 0, RFC 3264 §8.2) while
// the other keeps flowing must not end the whole session by media timeout
// on the removed stream; its receiver (and port) is released.
func TestReviewRemovedStreamDoesNotTimeOutSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s1 := newSender(t, 0, 0xD1)
	two := siprecSDP(2, s1.port(), "sendonly")
	ans, err := f.invite(ctx, &sipsrv.Invite{CallID: "rm", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, two)})
	if err != nil {
		t.Fatal(err)
	}
	ports := answerPorts(t, ans)
	if len(ports) != 2 {
		t.Fatalf("answer ports %v", ports)
	}
	s1.to.Port = ports[0]
	s1.send(t, 10, 0x40)
	waitPackets(t, f.r, 10)

	// Stream 2 removed: its m-line gets port 0.
	removed := strings.Replace(two, "m=audio "+itoa(s1.port()+2), "m=audio 0", 1)
	if _, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "rm", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, removed)}); err != nil {
		t.Fatal(err)
	}
	if n := f.r.cfg.Ports.InUse(); n != 1 {
		t.Errorf("%d port pairs in use after a stream was removed, want 1", n)
	}
	// Stream 1 keeps flowing for 40 s (longer than the 30 s media timeout).
	var sent uint64 = 10
	for i := 0; i < 4; i++ {
		f.clk.Add(10 * time.Second)
		s1.send(t, 5, 0x40)
		sent += 5
		waitPackets(t, f.r, sent)
		f.r.Tick(f.clk.Now())
	}
	if f.r.Active() != 1 {
		t.Fatal("session ended by media timeout of a stream the SRC removed")
	}
	f.hup.mu.Lock()
	defer f.hup.mu.Unlock()
	if len(f.hup.ids) != 0 {
		t.Errorf("BYE sent: %v", f.hup.ids)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

// A re-INVITE without SDP (session refresh) must be answered with an offer
// in the 200 OK (RFC 3261 §14.2, RFC 3264 §5); an UPDATE without SDP gets
// none.
func TestReviewReinviteWithoutSDPGetsOffer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ans, err := f.invite(ctx, msrInvite(t, "rf", "5001", 40600, "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	port := answerPort(t, ans)
	refresh := msrInvite(t, "rf", "5001", 40600, "sendonly")
	refresh.SDP = nil
	refresh.Method = "INVITE"
	body, err := f.r.Reinvite(ctx, refresh)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) == 0 {
		t.Fatal("200 OK to a re-INVITE without SDP carries no offer")
	}
	if got := answerPort(t, body); got != port {
		t.Errorf("offer port %d, want the leg's port %d:\n%s", got, port, body)
	}
	refresh.Method = "UPDATE"
	if body, err := f.r.Reinvite(ctx, refresh); err != nil || len(body) != 0 {
		t.Errorf("UPDATE without SDP: %q, %v; want no body", body, err)
	}
}

// origin returns the session id and version of an SDP's o= line.
func origin(t *testing.T, sdp []byte) (id, ver string) {
	t.Helper()
	for _, l := range strings.Split(string(sdp), "\r\n") {
		if strings.HasPrefix(l, "o=") {
			f := strings.Fields(l)
			return f[1], f[2]
		}
	}
	t.Fatalf("no o= line:\n%s", sdp)
	return "", ""
}

// Every later SDP of a dialog keeps the o= session id of the first and
// increments the version by one (RFC 3264 §8).
func TestReviewReinviteAnswerKeepsOrigin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ans, err := f.invite(ctx, msrInvite(t, "o", "5001", 40700, "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	id0, v0 := origin(t, ans)
	for i, want := range []string{"2", "3"} {
		body, err := f.r.Reinvite(ctx, msrInvite(t, "o", "5001", 40700, []string{"inactive", "sendonly"}[i]))
		if err != nil {
			t.Fatal(err)
		}
		id, v := origin(t, body)
		if id != id0 || v != want {
			t.Errorf("re-INVITE %d: o= %s %s, want %s %s (first answer %s %s)", i+1, id, v, id0, want, id0, v0)
		}
	}
}
