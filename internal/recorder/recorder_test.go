package recorder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

// clock is an injected, manually advanced clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	r   *Recorder
	db  *sqlite.DB
	clk *clock
	hup *hangups
	// bye is who answers the BYEs of legs the recorder ends itself
	// (hup unless a test swaps it): what sipsrv's dialog does in serve.
	bye atomic.Pointer[byeTaker]
}

// byeTaker takes the BYE the recorder sends to end a leg.
type byeTaker interface {
	Hangup(ctx context.Context, callID, reason string) error
}

// invite hands inv to the recorder as sipsrv does, with the dialog's
// Hangup (to f.bye) set.
func (f *fixture) invite(ctx context.Context, inv *sipsrv.Invite) ([]byte, error) {
	if inv.Hangup == nil {
		id := inv.CallID
		inv.Hangup = func(ctx context.Context, reason string) error { return (*f.bye.Load()).Hangup(ctx, id, reason) }
	}
	return f.r.Invite(ctx, inv)
}

// setBye swaps who answers the recorder's BYEs.
func (f *fixture) setBye(b byeTaker) { f.bye.Store(&b) }

type hangups struct {
	mu  sync.Mutex
	ids []string
}

func (h *hangups) Hangup(_ context.Context, id, reason string) error {
	h.mu.Lock()
	h.ids = append(h.ids, id+": "+reason)
	h.mu.Unlock()
	return nil
}

var nextPort = 36000

func newFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	nextPort += 100
	ports, err := rtpin.NewPortAllocator(nextPort, nextPort+99, 0, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		DataDir: dir, Format: wav.FormatULaw, MaxCalls: 4, MediaTimeout: 30 * time.Second, LegWindow: 10 * time.Second,
		ReorderWindow: 100 * time.Millisecond, FlushInterval: time.Second, RTPIP: netip.MustParseAddr("127.0.0.1"),
		Ports: ports, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	r, err := New(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	h := &hangups{}
	t.Cleanup(func() { _ = r.Close() })
	f := &fixture{r: r, db: db, clk: clk, hup: h}
	f.setBye(h)
	return f
}

func offer(t *testing.T, port int, dir string) *sdpoa.Session {
	t.Helper()
	body := fmt.Sprintf("v=0\r\no=MCP 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n", port, dir)
	s, err := sdpoa.ParseOffer([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msrInvite(t *testing.T, callID, dn string, port int, dir string) *sipsrv.Invite {
	return &sipsrv.Invite{
		CallID: callID, Kind: sipsrv.KindMSR, SDP: offer(t, port, dir), LocalIP: netip.MustParseAddr("127.0.0.1"),
		MSR: sipsrv.MSRParams{RecordID: "r1", CallUUID: "UUID1", DN: dn, RecordDN: "5001"},
	}
}

// answerPort returns the RTP port of the answer's first m-line.
func answerPort(t *testing.T, answer []byte) int {
	t.Helper()
	for _, l := range strings.Split(string(answer), "\r\n") {
		if strings.HasPrefix(l, "m=audio ") {
			var p int
			fmt.Sscanf(l, "m=audio %d", &p)
			return p
		}
	}
	t.Fatalf("no m=audio in answer:\n%s", answer)
	return 0
}

// sender sends µ-law RTP from a fixed local port.
type sender struct {
	c    *net.UDPConn
	to   *net.UDPAddr
	seq  uint16
	ts   uint32
	ssrc uint32
}

func newSender(t *testing.T, toPort int, ssrc uint32) *sender {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sender{c: c, to: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: toPort}, ssrc: ssrc}
}

func (s *sender) port() int { return s.c.LocalAddr().(*net.UDPAddr).Port }

func (s *sender) send(t *testing.T, n int, payload byte) {
	t.Helper()
	for i := 0; i < n; i++ {
		p := make([]byte, 12+160)
		p[0] = 0x80
		binary.BigEndian.PutUint16(p[2:], s.seq)
		binary.BigEndian.PutUint32(p[4:], s.ts)
		binary.BigEndian.PutUint32(p[8:], s.ssrc)
		for k := 12; k < len(p); k++ {
			p[k] = payload
		}
		if _, err := s.c.WriteToUDP(p, s.to); err != nil {
			t.Fatal(err)
		}
		s.seq++
		s.ts += 160
	}
}

// waitPackets waits until the recorder has accepted n packets.
func waitPackets(t *testing.T, r *Recorder, n uint64) {
	t.Helper()
	testtool.Eventually(t, 5*time.Second, func() bool { return r.Stats().PacketsReceived >= n },
		"recorder got %d packets, want %d", r.Stats().PacketsReceived, n)
}

func onlyRecording(t *testing.T, db *sqlite.DB) store.Recording {
	t.Helper()
	recs, err := db.ListRecordings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1", len(recs))
	}
	full, err := db.GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return *full
}

// A 10-minute silent hold (re-INVITE a=inactive) stays one recording: the
// media timeout is suspended while held, and the hold is a segment.
func TestSilentHoldDoesNotTimeOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := newSender(t, 0, 0xA)
	ans, err := f.invite(ctx, msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 50, 0x10)
	waitPackets(t, f.r, 50)
	f.clk.Add(time.Second)
	f.r.Tick(f.clk.Now())

	if _, err := f.r.Reinvite(ctx, msrInvite(t, "leg-a", "5001", a.port(), "inactive")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ { // 10 minutes of silence, ticking every 30 s
		f.clk.Add(30 * time.Second)
		f.r.Tick(f.clk.Now())
	}
	if f.r.Active() != 1 {
		t.Fatalf("held call ended during a 10-minute hold")
	}
	ans, err = f.r.Reinvite(ctx, msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ans), "a=recvonly") {
		t.Errorf("answer to sendonly re-INVITE lacks a=recvonly:\n%s", ans)
	}
	a.send(t, 50, 0x10)
	waitPackets(t, f.r, 100)
	f.clk.Add(2 * time.Second)
	f.r.Bye("leg-a", "bye")

	rec := onlyRecording(t, f.db)
	var hold *store.Segment
	for i := range rec.Segments {
		if rec.Segments[i].Type == "hold" {
			hold = &rec.Segments[i]
		}
	}
	if hold == nil || hold.EndMS-hold.StartMS < 9*60*1000 {
		t.Errorf("segments = %+v, want a hold of ~10 min", rec.Segments)
	}
	if rec.DurationMS < 10*60*1000 {
		t.Errorf("duration %d ms, want the hold inside one recording (>10 min)", rec.DurationMS)
	}
}

// No RTP for MediaTimeout on an active leg ends it, finalises the
// recording, stores the reason and sends BYE.
func TestMediaTimeoutEndsLeg(t *testing.T) {
	f := newFixture(t)
	a := newSender(t, 0, 0xB)
	ans, err := f.invite(context.Background(), &sipsrv.Invite{
		CallID: "single", Kind: sipsrv.KindMSR, SDP: offer(t, a.port(), "sendonly"),
		MSR: sipsrv.MSRParams{RecordID: "r2", RecordDN: "5001", DN: "5001", OtherDN: "+1555"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 10, 0x20)
	waitPackets(t, f.r, 10)
	f.clk.Add(31 * time.Second)
	f.r.Tick(f.clk.Now())
	if f.r.Active() != 0 {
		t.Fatal("leg without RTP for 31 s still active")
	}
	rec := onlyRecording(t, f.db)
	if !strings.Contains(rec.StatusReason, "media timeout") {
		t.Errorf("status reason = %q", rec.StatusReason)
	}
	testtool.Eventually(t, 2*time.Second, func() bool {
		f.hup.mu.Lock()
		defer f.hup.mu.Unlock()
		return len(f.hup.ids) == 1
	}, "no BYE sent for the timed-out leg")
}

// Two recorded DNs of one call (two recording sessions, same CallUUID) are
// two recordings: the key is record id + recorded DN.
func TestSameCallUUIDTwoRecordedDNs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, rdn := range []string{"5001", "5002"} {
		inv := msrInvite(t, fmt.Sprintf("c%d", i), rdn, 40000+i, "sendonly")
		inv.MSR.RecordDN = rdn
		inv.MSR.RecordID = "rec-" + rdn
		if _, err := f.invite(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	if f.r.Active() != 2 {
		t.Fatalf("active = %d, want 2 recordings for two recorded DNs", f.r.Active())
	}
}

func TestCapacityAdmitsSecondLeg(t *testing.T) {
	f := newFixture(t)
	f.r.cfg.MaxCalls = 1
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "a1", "5001", 40010, "sendonly")); err != nil {
		t.Fatal(err)
	}
	other := msrInvite(t, "b1", "5009", 40011, "sendonly")
	other.MSR.RecordID = "other-call"
	_, err := f.invite(ctx, other)
	var se *sipsrv.StatusError
	if !errorsAs(err, &se) || se.Code != 503 || se.RetryAfter == 0 {
		t.Fatalf("new call at capacity: %v, want 503 with Retry-After", err)
	}
	if _, err := f.invite(ctx, msrInvite(t, "a2", "+1555", 40012, "sendonly")); err != nil {
		t.Fatalf("second leg of the admitted call refused: %v", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// sendPT sends n packets of payload type pt.
func (s *sender) sendPT(t *testing.T, n int, pt, payload byte) {
	t.Helper()
	for i := 0; i < n; i++ {
		p := make([]byte, 12+160)
		p[0], p[1] = 0x80, pt
		binary.BigEndian.PutUint16(p[2:], s.seq)
		binary.BigEndian.PutUint32(p[4:], s.ts)
		binary.BigEndian.PutUint32(p[8:], s.ssrc)
		for k := 12; k < len(p); k++ {
			p[k] = payload
		}
		if _, err := s.c.WriteToUDP(p, s.to); err != nil {
			t.Fatal(err)
		}
		s.seq++
		s.ts += 160
	}
}
