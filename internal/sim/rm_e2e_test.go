package sim

// The Resource Manager in front of real recorders (internal/app on
// loopback): calls placed through the Sim's call model land on the
// recorders of the group by its policy, capacity and health; a recorder
// that dies mid-call loses its sessions and the recording stops or
// restarts on another recorder.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/sim/rm"
	"github.com/openrec/openrec/internal/store"
)

// rmSim starts a Sim whose Media Server (DialMedia) sends the recordings
// to recs through a Resource Manager configured by rmc. Any DN is
// internal (no DN configured), so calls need no configuration data.
func rmSim(t *testing.T, rmc rm.Config, loss string, recs ...*app.App) *Sim {
	t.Helper()
	var addrs []string
	for _, a := range recs {
		addrs = append(addrs, a.SIPAddr().String())
	}
	dm := &DialMedia{Dialer: newDialer(t)}
	t.Cleanup(func() { _ = dm.Close() })
	return newSim(t, func(c *Config) {
		c.Config = &ccdata.Data{}
		c.Recorders = addrs
		c.Media = dm
		c.ResourceManager = rmc
		c.RecorderLoss = loss
		c.ConfigListen = "127.0.0.1:0"
		c.Now = nil
		if testing.Verbose() {
			c.Logger = apptest.Logger(t)
		}
	})
}

// recordCall places outbound call i from DN 60ii and records that DN.
func recordCall(t *testing.T, s *Sim, i int) (handle, dn string) {
	t.Helper()
	handle, dn = fmt.Sprintf("c%d", i), fmt.Sprintf("60%02d", i)
	must(t, s.Step(Step{Action: ActDial, Call: handle, DN: dn, To: fmt.Sprintf("+155500%02d", i)}))
	must(t, s.Step(Step{Action: ActAnswer, Call: handle}))
	must(t, s.Step(Step{Action: ActRecordStart, Call: handle, DN: dn}))
	return handle, dn
}

func active(a *app.App) int { return a.Recorder().Stats().ActiveCalls }

// statusOf reads GET /recorders from the Sim's HTTP server.
func statusOf(t *testing.T, s *Sim) recordersView {
	t.Helper()
	resp, err := http.Get("http://" + s.ConfigAddr() + "/recorders")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		LB        string `json:"lb"`
		Recorders []struct {
			Addr   string `json:"addr"`
			State  string `json:"state"`
			Placed uint64 `json:"placed"`
			Active int    `json:"active"`
			Lost   uint64 `json:"lost"`
		} `json:"recorders"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	out := recordersView{LB: v.LB}
	for _, r := range v.Recorders {
		st := rm.MemberStats{Addr: r.Addr, Placed: r.Placed, Active: r.Active, Lost: r.Lost}
		for i, n := range []string{"unknown", "up", "out", "down"} {
			if n == r.State {
				st.State = rm.State(i)
			}
		}
		out.Recorders = append(out.Recorders, st)
	}
	return out
}

func finishedCount(t *testing.T, a *app.App) int {
	t.Helper()
	recs, err := a.Store().ListRecordings(t.Context(), store.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Status != store.StatusRecording {
			n++
		}
	}
	return n
}

func TestResourceManagerRoundRobinSpreadsCalls(t *testing.T) {
	a, b := startRecorderApp(t, nil), startRecorderApp(t, nil)
	s := rmSim(t, rm.Config{Policy: rm.RoundRobin, Interval: 200 * time.Millisecond}, "", a, b)
	for i := range 10 {
		recordCall(t, s, i)
	}
	waitUntil(t, "5 calls at each recorder", func() bool { return active(a) == 5 && active(b) == 5 })
	v := statusOf(t, s)
	if v.LB != "round-robin" || len(v.Recorders) != 2 {
		t.Fatalf("GET /recorders: %+v", v)
	}
	for _, r := range v.Recorders {
		if r.Placed != 5 || r.Active != 5 || r.State != rm.Up {
			t.Errorf("GET /recorders: %+v", r)
		}
	}
	if n := s.HangUpAll(); n != 10 {
		t.Fatalf("hung up %d calls", n)
	}
	waitUntil(t, "10 finished recordings, 5 at each", func() bool {
		return finishedCount(t, a) == 5 && finishedCount(t, b) == 5 && active(a)+active(b) == 0
	})
	for _, st := range s.RecorderStats() {
		if st.Active != 0 {
			t.Errorf("after hang-up: %+v", st)
		}
	}
}

// Least Used by the share of each recorder's port capacity; a recorder at
// capacity is skipped; a recorder whose admission is full answers 503 and
// the INVITE goes to the next.
func TestResourceManagerLeastUsedAndCapacity(t *testing.T) {
	a, b := startRecorderApp(t, nil), startRecorderApp(t, nil)
	s := rmSim(t, rm.Config{Policy: rm.LeastUsed, Interval: 200 * time.Millisecond,
		Capacities: map[string]int{a.SIPAddr().String(): 1, b.SIPAddr().String(): 3}}, "", a, b)
	for i := range 4 {
		recordCall(t, s, i)
		// One at a time: the share in use is what each pick sees.
		waitUntil(t, "the call at a recorder", func() bool { return active(a)+active(b) == i+1 })
	}
	if active(a) != 1 || active(b) != 3 {
		t.Fatalf("a %d, b %d: want 1 and 3", active(a), active(b))
	}
	// Both at capacity: the fifth recording is not placed.
	recordCall(t, s, 4)
	time.Sleep(300 * time.Millisecond) // models time (negative check): a late INVITE would show now
	if active(a) != 1 || active(b) != 3 {
		t.Errorf("at capacity: a %d, b %d", active(a), active(b))
	}
	if st := a.Recorder().Stats(); st.CallsRejected != 0 {
		t.Errorf("a recorder at the group's capacity was sent an INVITE: %+v", st)
	}
}

func TestResourceManagerSkipsRecorderAnswering503(t *testing.T) {
	// a admits one call; the group's pings are too slow to notice it is
	// full, so the INVITE finds out (503) and the next recorder is tried.
	a := startRecorderApp(t, func(c *config.Serve) { c.MaxCalls = 1 })
	b := startRecorderApp(t, nil)
	s := rmSim(t, rm.Config{Policy: rm.RoundRobin, Interval: time.Hour}, "", a, b)
	for i := range 3 {
		recordCall(t, s, i)
		waitUntil(t, "the call at a recorder", func() bool { return active(a)+active(b) == i+1 })
	}
	if active(a) != 1 || active(b) != 2 {
		t.Fatalf("a %d, b %d: want 1 and 2", active(a), active(b))
	}
	if st := a.Recorder().Stats(); st.CallsRejected == 0 {
		t.Errorf("a %+v: the third call's INVITE should have met the 503", st)
	}
	st := s.RecorderStats()
	if st[0].Failed != 1 || st[0].State != rm.Out || st[1].Placed != 2 {
		t.Errorf("group %+v", st)
	}
}

// A recorder killed mid-call: the pings find it dead within two intervals
// and a timeout, its sessions are torn down and, with recorder_loss:
// restart, each recording is placed again on the other recorder (same
// record id); new calls go there too.
func TestResourceManagerRecorderDiesRestart(t *testing.T) {
	a, b := startRecorderApp(t, nil), startRecorderApp(t, nil)
	const interval, timeout = 200 * time.Millisecond, 200 * time.Millisecond
	s := rmSim(t, rm.Config{Interval: interval, Timeout: timeout, Failures: 2}, RecorderLossRestart, a, b)
	recordCall(t, s, 0)
	recordCall(t, s, 1)
	waitUntil(t, "one call at each recorder", func() bool { return active(a) == 1 && active(b) == 1 })
	ci, _ := s.Call("c0")

	a.Close() // no BYE: to the Media Server, the recorder just vanishes
	died := time.Now()
	waitUntil(t, "the group finding a dead", func() bool { return s.RecorderStats()[0].State == rm.Down })
	// Two intervals and a timeout, with slack for a loaded machine.
	if d := time.Since(died); d > 2*interval+timeout+2*time.Second {
		t.Errorf("a found dead after %v", d)
	}
	// Live lists a call once its first leg's file is open (a call still
	// being set up counts as active before that).
	waitUntil(t, "a's call restarted at b", func() bool { return active(b) == 2 && len(b.Recorder().Live()) == 2 })
	live := b.Recorder().Live()
	ids := map[string]bool{}
	for _, l := range live {
		ids[l.RecordID] = true
		if l.CallUUID == ci.CallUUID && l.RecordedDN != "6000" {
			t.Errorf("restarted recording %+v", l)
		}
	}
	if len(ids) != 2 {
		t.Errorf("live at b %+v: want the two record ids", live)
	}
	recordCall(t, s, 2)
	waitUntil(t, "a new call at b", func() bool { return active(b) == 3 })
	st := s.RecorderStats()
	if st[0].Lost != 1 || st[0].Active != 0 || st[1].Placed != 3 {
		t.Errorf("group %+v", st)
	}
	if v := statusOf(t, s); v.Recorders[0].State != rm.Down || v.Recorders[0].Lost != 1 {
		t.Errorf("GET /recorders %+v", v)
	}
}

// With recorder_loss: stop (the default) the SIP Server tells the desktops
// and the core GSIP_RECORD=OFF, and the core's RequestPrivateService start
// (Detect Recorder Ping) places the new pair on a live recorder.
func TestResourceManagerRecorderDiesCoreRestarts(t *testing.T) {
	a, b := startRecorderApp(t, nil), startRecorderApp(t, nil)
	s := rmSim(t, rm.Config{Interval: 200 * time.Millisecond, Timeout: 200 * time.Millisecond}, "", a, b)
	core := dialSim(t, s)
	core.register("6000")
	recordCall(t, s, 0)
	waitUntil(t, "the call at a", func() bool { return active(a) == 1 })
	ci, _ := s.Call("c0")
	gsip := func(want string) {
		t.Helper()
		for {
			ev := core.read()
			if ev.Type == tlib.EventAttachedDataChanged && ev.UserData().String(GSIPRecord) == want {
				return
			}
		}
	}
	gsip(RecordOn)
	a.Close()
	gsip(RecordOff)
	if st := s.RecorderStats()[0]; st.State != rm.Down || st.Lost != 1 {
		t.Errorf("a %+v", st)
	}
	ev := core.request(tlib.New(tlib.RequestPrivateService).SetStr(tlib.AttrThisDN, "6000").SetConn(tlib.AttrConnID, ci.ConnID).
		SetInt(tlib.AttrPrivateMsgID, PrivateRecordStart))
	for ev.Type == tlib.EventAttachedDataChanged {
		ev = core.read()
	}
	if ev.Type != tlib.EventACK {
		t.Fatalf("restart request answered\n%s", ev.Trace())
	}
	waitUntil(t, "the restarted recording at b", func() bool { return active(b) == 1 && len(b.Recorder().Live()) == 1 })
	if live := b.Recorder().Live(); len(live) != 1 || live[0].CallUUID != ci.CallUUID {
		t.Errorf("live at b: %+v", live)
	}
}

// A recorder that answered its first OPTIONS and then died, before its
// INVITE: the INVITE gets no answer, and once the pings find the recorder
// down (not after the INVITE transaction's 32 s) the recording goes to the
// other recorder.
func TestResourceManagerInviteToDyingRecorder(t *testing.T) {
	dying := dyingPeer(t)
	b := startRecorderApp(t, nil)
	dm := &DialMedia{Dialer: newDialer(t)}
	t.Cleanup(func() { _ = dm.Close() })
	s := newSim(t, func(c *Config) {
		c.Config = &ccdata.Data{}
		c.Recorders = []string{dying, b.SIPAddr().String()}
		c.Media = dm
		c.ResourceManager = rm.Config{Interval: 200 * time.Millisecond, Timeout: 200 * time.Millisecond, Failures: 2}
		c.RecorderLoss = RecorderLossRestart
		c.Now = nil
	})
	waitUntil(t, "the first ping of both", func() bool {
		st := s.RecorderStats()
		return st[0].PingsOK == 1 && st[1].State == rm.Up
	})
	t0 := time.Now()
	recordCall(t, s, 0) // round-robin: the dying one first
	waitUntil(t, "the recording at b", func() bool { return active(b) == 1 })
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("placed at b after %v", d)
	}
	if st := s.RecorderStats(); st[0].State != rm.Down || st[0].Placed != 1 || st[1].Placed != 1 {
		t.Errorf("group %+v", st)
	}
}

// dyingPeer is a SIP peer on loopback UDP that answers its first OPTIONS
// with 200 and then nothing at all (INVITEs included).
func dyingPeer(t *testing.T) string {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	var answered atomic.Bool
	srv.OnInvite(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		if answered.CompareAndSwap(false, true) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		}
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() { _ = conn.Close(); _ = ua.Close(); <-done })
	return conn.LocalAddr().String()
}
