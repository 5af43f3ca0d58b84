package rm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakePinger answers each address as told: a status, no answer (blocks
// until the ping's timeout), or an error at once.
type fakePinger struct {
	mu     sync.Mutex
	answer map[string]int // status; 0: no answer (wait for the timeout); -1: error at once
	pings  map[string]int
}

func newPinger(answers map[string]int) *fakePinger {
	return &fakePinger{answer: answers, pings: make(map[string]int)}
}

func (p *fakePinger) set(addr string, status int) {
	p.mu.Lock()
	p.answer[addr] = status
	p.mu.Unlock()
}

func (p *fakePinger) count(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pings[addr]
}

func (p *fakePinger) Ping(ctx context.Context, addr string) (int, error) {
	p.mu.Lock()
	st := p.answer[addr]
	p.pings[addr]++
	p.mu.Unlock()
	switch st {
	case 0:
		<-ctx.Done()
		return 0, ctx.Err()
	case -1:
		return 0, errors.New("connection refused")
	}
	return st, nil
}

func newGroup(t *testing.T, cfg Config) *Group {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// acquire takes n leases and returns how many each member got.
func acquire(t *testing.T, g *Group, n int) (map[string]int, []*Lease) {
	t.Helper()
	got := make(map[string]int)
	var leases []*Lease
	for range n {
		l, err := g.Acquire(context.Background(), nil)
		if err != nil {
			t.Fatalf("acquire after %v: %v", got, err)
		}
		got[l.Addr()]++
		leases = append(leases, l)
	}
	return got, leases
}

func TestLoadBalancing(t *testing.T) {
	for _, tc := range []struct {
		name       string
		policy     Policy
		members    []string
		capacity   int
		capacities map[string]int
		n          int
		release    bool // release each lease before the next
		want       map[string]int
	}{
		{name: "round-robin spreads evenly", policy: RoundRobin, members: []string{"a", "b"}, n: 10,
			want: map[string]int{"a": 5, "b": 5}},
		{name: "round-robin in turn even when sessions end", policy: RoundRobin, members: []string{"a", "b", "c"}, n: 9, release: true,
			want: map[string]int{"a": 3, "b": 3, "c": 3}},
		{name: "round-robin skips a member at capacity", policy: RoundRobin, members: []string{"a", "b"},
			capacities: map[string]int{"a": 2}, n: 10, want: map[string]int{"a": 2, "b": 8}},
		{name: "least-used follows capacity", policy: LeastUsed, members: []string{"a", "b"},
			capacities: map[string]int{"a": 2, "b": 6}, n: 8, want: map[string]int{"a": 2, "b": 6}},
		{name: "least-used by share in use", policy: LeastUsed, members: []string{"a", "b"},
			capacities: map[string]int{"a": 10, "b": 30}, n: 8, want: map[string]int{"a": 2, "b": 6}},
		{name: "least-used without capacities evens the counts", policy: LeastUsed, members: []string{"a", "b", "c"},
			n: 7, want: map[string]int{"a": 3, "b": 2, "c": 2}},
		{name: "least-used with sessions ending goes in turn", policy: LeastUsed, members: []string{"a", "b"},
			n: 6, release: true, want: map[string]int{"a": 3, "b": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroup(t, Config{Members: tc.members, Policy: tc.policy, Capacity: tc.capacity, Capacities: tc.capacities})
			got := make(map[string]int)
			for range tc.n {
				l, err := g.Acquire(context.Background(), nil)
				if err != nil {
					t.Fatalf("acquire after %v: %v", got, err)
				}
				got[l.Addr()]++
				if tc.release {
					l.Release()
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			var placed uint64
			for _, st := range g.Stats() {
				placed += st.Placed
				if want := tc.want[st.Addr]; int(st.Placed) != want {
					t.Errorf("%s: placed %d, want %d", st.Addr, st.Placed, want)
				}
			}
			if placed != uint64(tc.n) {
				t.Errorf("placed %d in all", placed)
			}
		})
	}
}

func TestAtCapacityAndSkip(t *testing.T) {
	g := newGroup(t, Config{Members: []string{"a", "b"}, Capacity: 1})
	la, err := g.Acquire(context.Background(), nil)
	if err != nil || la.Addr() != "a" {
		t.Fatalf("first: %v %v", la, err)
	}
	// The members already tried for a session are skipped.
	if _, err := g.Acquire(context.Background(), []string{"b"}); !errors.Is(err, ErrNoRecorder) {
		t.Fatalf("a full and b skipped: %v, want ErrNoRecorder", err)
	}
	lb, err := g.Acquire(context.Background(), nil)
	if err != nil || lb.Addr() != "b" {
		t.Fatalf("second: %v %v", lb, err)
	}
	if _, err := g.Acquire(context.Background(), nil); !errors.Is(err, ErrNoRecorder) {
		t.Fatalf("all full: %v, want ErrNoRecorder", err)
	}
	la.Release()
	la.Release() // idempotent
	if l, err := g.Acquire(context.Background(), nil); err != nil || l.Addr() != "a" {
		t.Fatalf("after a release: %v %v", l, err)
	}
	if st := g.Stats(); st[0].Active != 1 || st[1].Active != 1 || st[0].Placed != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Policy: "random"},
		{Capacity: -1},
		{Capacities: map[string]int{"a": -2}},
		{Failures: -1},
		{Timeout: -time.Second},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
	}
}

// The health of the members as the pings find it, in a bubble: the
// timings are the configured ones.
func TestHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPinger(map[string]int{"a": 200, "b": 200})
		g := newGroup(t, Config{Members: []string{"a", "b"}, Pinger: p, Interval: time.Second, Timeout: 300 * time.Millisecond, Failures: 2})
		t0 := time.Now()
		// Acquire waits for the first ping of a member not checked yet.
		got, leases := acquire(t, g, 4)
		if got["a"] != 2 || got["b"] != 2 {
			t.Fatalf("spread %v", got)
		}
		onA := leases[0]
		if onA.Addr() != "a" {
			t.Fatalf("first lease on %s", onA.Addr())
		}

		// a answers 503 (admission full, draining): out at the next ping,
		// its sessions go on, new ones go to b.
		p.set("a", 503)
		time.Sleep(time.Second + time.Millisecond) // bubble time: one interval
		synctest.Wait()
		if st := g.Stats()[0]; st.State != Out || st.LastStatus != 503 {
			t.Fatalf("a after 503: %+v", st)
		}
		select {
		case <-onA.Lost():
			t.Fatal("a session was lost on a 503")
		default:
		}
		if got, _ := acquire(t, g, 3); got["b"] != 3 {
			t.Fatalf("while a is out: %v", got)
		}

		// a answers 200 again: up at the next ping.
		p.set("a", 200)
		time.Sleep(time.Second) // fake time in the synctest bubble: one ping interval
		synctest.Wait()
		if st := g.Stats()[0]; st.State != Up {
			t.Fatalf("a after 200: %+v", st)
		}

		// a dies: the first ping without an answer takes it out, the
		// Failures-th makes it down and loses its sessions.
		p.set("a", 0)
		died := time.Now()
		time.Sleep(time.Second + 300*time.Millisecond + time.Millisecond) // fake time: a ping interval plus its timeout
		synctest.Wait()
		if st := g.Stats()[0]; st.State != Out || st.PingsFailed != 1 {
			t.Fatalf("a after one silent ping: %+v", st)
		}
		select {
		case <-onA.Lost():
			t.Fatal("lost after one failed ping (Failures is 2)")
		default:
		}
		<-onA.Lost()
		if d := time.Since(died); d > 2*time.Second+300*time.Millisecond+time.Millisecond {
			t.Errorf("down %v after it died, want within two intervals and a timeout", d)
		}
		st := g.Stats()[0]
		if st.State != Down || st.Lost != 2 || st.Active != 2 {
			t.Errorf("a down: %+v", st)
		}
		for _, l := range leases[1:] {
			select {
			case <-l.Lost():
				if l.Addr() == "b" {
					t.Error("a lease on b lost")
				}
			default:
				if l.Addr() == "a" {
					t.Error("a lease on a not lost")
				}
			}
		}
		// Leases on a are released by their sessions; a new lease never
		// goes to a dead member.
		for _, l := range leases {
			l.Release()
		}
		if got, _ := acquire(t, g, 2); got["b"] != 2 {
			t.Fatalf("while a is down: %v", got)
		}
		// Back: up at the next answered ping, and its new leases are not lost.
		p.set("a", 200)
		time.Sleep(time.Second) // fake time in the synctest bubble: one ping interval
		synctest.Wait()
		if st := g.Stats()[0]; st.State != Up || st.Since.Sub(t0) <= 0 {
			t.Fatalf("a back: %+v", st)
		}
		l, err := g.Acquire(context.Background(), []string{"b"})
		if err != nil || l.Addr() != "a" {
			t.Fatalf("after a came back: %v %v", l, err)
		}
		select {
		case <-l.Lost():
			t.Error("a fresh lease is lost")
		default:
		}
	})
}

// A member never answered is skipped after its first ping's timeout, not
// later; a member refusing at once (connection refused) likewise.
func TestFirstPingDecides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPinger(map[string]int{"hole": 0, "refused": -1, "ok": 405})
		g := newGroup(t, Config{Members: []string{"hole", "refused", "ok"}, Pinger: p, Interval: 10 * time.Second, Timeout: 2 * time.Second})
		t0 := time.Now()
		l, err := g.Acquire(context.Background(), nil)
		if err != nil || l.Addr() != "ok" {
			t.Fatalf("acquire: %v %v", l, err)
		}
		if d := time.Since(t0); d != 2*time.Second {
			t.Errorf("picked after %v, want the ping timeout (2 s)", d)
		}
		st := g.Stats()
		if st[0].State != Down || st[1].State != Down || st[2].State != Up || st[2].LastStatus != 405 {
			t.Errorf("states %+v", st)
		}
		// A cancelled Acquire waiting for a first ping returns at once.
		g.SetMembers([]string{"slow"})
		p.set("slow", 0)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := g.Acquire(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("acquire with a short context: %v", err)
		}
	})
}

// An INVITE failing before an answer: 503 takes the member out until a
// ping says up; no answer takes it out and pings it at once; a 4xx/6xx
// says nothing about health.
func TestLeaseFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPinger(map[string]int{"a": 200, "b": 200})
		g := newGroup(t, Config{Members: []string{"a", "b"}, Pinger: p, Interval: 10 * time.Second, Timeout: time.Second})
		l, err := g.Acquire(context.Background(), nil)
		if err != nil || l.Addr() != "a" {
			t.Fatalf("%v %v", l, err)
		}
		l.Fail(603, errors.New("declined"))
		if st := g.Stats()[0]; st.State != Up || st.Failed != 0 || st.Active != 0 {
			t.Errorf("after a 603: %+v", st)
		}
		l, _ = g.Acquire(context.Background(), []string{"b"})
		l.Fail(503, errors.New("at capacity"))
		if st := g.Stats()[0]; st.State != Out || st.Failed != 1 {
			t.Errorf("after a 503: %+v", st)
		}
		if l, err := g.Acquire(context.Background(), nil); err != nil || l.Addr() != "b" {
			t.Errorf("after a's 503: %v %v", l, err)
		}
		// The next ping (200) puts it back.
		time.Sleep(10 * time.Second) // fake time in the synctest bubble: to the next ping
		synctest.Wait()
		if st := g.Stats()[0]; st.State != Up {
			t.Errorf("after the next ping: %+v", st)
		}
		// No answer to an INVITE: out, and a ping goes at once.
		before := p.count("a")
		l, _ = g.Acquire(context.Background(), []string{"b"})
		l.Fail(0, errors.New("timeout"))
		synctest.Wait()
		if n := p.count("a"); n != before+1 {
			t.Errorf("pings of a: %d, want one more at once", n-before)
		}
		if st := g.Stats()[0]; st.State != Up {
			t.Errorf("a answered the immediate ping: %+v", st)
		}
		// Suspect pings at once too.
		g.Suspect("b")
		synctest.Wait()
		if n := p.count("b"); n != 3 {
			t.Errorf("pings of b: %d, want 3", n)
		}
	})
}

// SetMembers keeps the state and counters of the members kept; a lease on
// a removed member stays valid.
func TestSetMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPinger(map[string]int{"a": 200, "b": 200, "c": 503})
		g := newGroup(t, Config{Members: []string{"a", "b"}, Pinger: p, Interval: time.Second, Timeout: time.Second})
		_, leases := acquire(t, g, 3)
		g.SetMembers([]string{"b", "c", "b", " "})
		synctest.Wait()
		if m := g.Members(); !slices.Equal(m, []string{"b", "c"}) {
			t.Fatalf("members %v", m)
		}
		st := g.Stats()
		if st[0].Placed != 1 || st[0].State != Up || st[1].State != Out {
			t.Errorf("stats %+v", st)
		}
		for _, l := range leases {
			l.Release()
		}
		if l, err := g.Acquire(context.Background(), nil); err != nil || l.Addr() != "b" {
			t.Errorf("%v %v", l, err)
		}
		g.SetMembers([]string{"a"})
		synctest.Wait()
		if st := g.Stats(); st[0].Placed != 0 || st[0].State != Up {
			t.Errorf("a re-added after its leases ended starts afresh: %+v", st)
		}
		_ = g.Close()
		_ = g.Close()
		if _, err := g.Acquire(context.Background(), nil); !errors.Is(err, ErrNoRecorder) {
			t.Errorf("after Close: %v", err)
		}
	})
}

func TestNoPingsEveryMemberUp(t *testing.T) {
	g := newGroup(t, Config{Members: []string{"a"}, Pinger: newPinger(nil), Interval: -1})
	if st := g.Stats(); st[0].State != Up {
		t.Errorf("%+v", st)
	}
	// Nothing would bring it back: a failed INVITE leaves it up.
	l, err := g.Acquire(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Fail(503, errors.New("busy"))
	if st := g.Stats(); st[0].State != Up || st[0].Failed != 1 || st[0].Active != 0 {
		t.Errorf("after a failed INVITE without pings: %+v", st)
	}
	g2 := newGroup(t, Config{})
	if _, err := g2.Acquire(context.Background(), nil); !errors.Is(err, ErrNoRecorder) {
		t.Errorf("empty group: %v", err)
	}
}

// A Group nobody started pings on its first Acquire (a Sim used without
// Start, a Media Server's own group).
func TestAcquireStartsThePings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPinger(map[string]int{"a": 200})
		g, err := New(Config{Members: []string{"a"}, Pinger: p, Interval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if l, err := g.Acquire(context.Background(), nil); err != nil || l.Addr() != "a" || p.count("a") != 1 {
			t.Fatalf("%v %v, %d pings", l, err, p.count("a"))
		}
	})
}
