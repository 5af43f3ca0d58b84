// Package rm is the simulator's Resource Manager: a Logical Resource Group
// (LRG) of recorders in front of which the Genesys Resource Manager places
// recording sessions (seed 002 ch. 10, "Failover and Load Balancing").
//
// A Group holds the members (host:port of each recorder) with a port
// capacity each (the most concurrent recording sessions it is given; 0:
// no limit) and picks one per recording session (Acquire): Round-Robin
// (the next member in turn) or Least Used (the member with the smallest
// share of its capacity in use; members without a capacity compare by
// their number of sessions; ties go in turn). Both MSR INVITEs of one
// recorded DN hold one Lease, so they always land on the same recorder.
//
// Health: every Interval the Group sends each member a ping (SIP OPTIONS
// through the consumer's Pinger), all members at once. A member is
//
//	unknown  before its first answer: Acquire waits (bounded by its context)
//	         for that first ping
//	up       it answered (any final status but 503): it gets new sessions
//	out      it answered 503 (admission full, draining), its last ping got
//	         no answer, or an INVITE to it failed (Lease.Fail): no new
//	         sessions; its sessions go on
//	down     Failures pings in a row got no answer: the recorder is dead;
//	         every Lease on it is lost (Lease.Lost is closed), so the
//	         Media Server tears those sessions down
//
// and is up again as soon as a ping is answered with anything but 503. An
// INVITE that failed without an answer (Lease.Fail with no status) also
// pings the member at once (Suspect). Without a Pinger, or with a negative
// Interval, every member counts as up.
//
// The Group owns one goroutine (the ping loop, from Start to Close); time
// comes from the time package (tests run it in a testing/synctest bubble)
// and Config.Now stamps the state changes.
package rm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Policy is a load-balancing scheme.
type Policy string

// Load-balancing schemes of a Logical Resource Group.
const (
	RoundRobin Policy = "round-robin"
	LeastUsed  Policy = "least-used"
)

// Defaults of Config.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultFailures = 2
	// maxParallelPings bounds the pings in flight in one round.
	maxParallelPings = 8
)

// ErrNoRecorder is returned by Acquire when no member can take a session.
var ErrNoRecorder = errors.New("rm: no recorder of the group is available")

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("rm: invalid configuration")

// Pinger checks one recorder (the Media Server's SIP OPTIONS). It returns
// the final status, or an error when no answer came (ctx carries the
// timeout).
type Pinger interface {
	Ping(ctx context.Context, addr string) (status int, err error)
}

// Config configures a Group.
type Config struct {
	// Members are the recorders (host:port), in order.
	Members []string
	// Policy is RoundRobin (default) or LeastUsed.
	Policy Policy
	// Capacity is every member's port capacity: the most concurrent
	// sessions it is given (0: no limit).
	Capacity int
	// Capacities overrides Capacity per member (by host:port).
	Capacities map[string]int
	// Interval is the period of the pings (default DefaultInterval;
	// negative: no pings, every member is up).
	Interval time.Duration
	// Timeout bounds one ping (default DefaultTimeout).
	Timeout time.Duration
	// Failures is how many pings in a row without an answer make a member
	// down (default DefaultFailures).
	Failures int
	// Pinger pings the members (nil: no pings, every member is up).
	Pinger Pinger
	Now    func() time.Time
	Logger *slog.Logger
}

// State is a member's health.
type State int

// Member states (see the package doc).
const (
	Unknown State = iota
	Up
	Out
	Down
)

var stateNames = [...]string{"unknown", "up", "out", "down"}

func (s State) String() string { return stateNames[s] }

// MarshalText makes State a string in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MemberStats are one member's counters.
type MemberStats struct {
	Addr        string    `json:"addr"`
	State       State     `json:"state"`
	Since       time.Time `json:"since"` // of the state
	Capacity    int       `json:"capacity"`
	Active      int       `json:"active"`       // sessions held now
	Placed      uint64    `json:"placed"`       // sessions given to it (Acquire)
	Failed      uint64    `json:"failed"`       // INVITEs that failed before an answer (Lease.Fail)
	Lost        uint64    `json:"lost"`         // sessions lost when it went down
	PingsOK     uint64    `json:"pings_ok"`     // answered pings (503 included)
	PingsFailed uint64    `json:"pings_failed"` // pings without an answer
	LastStatus  int       `json:"last_status"`  // of the last answered ping
}

// member is one recorder of the group. Guarded by Group.mu.
type member struct {
	MemberStats
	fails   int           // pings in a row without an answer
	checked chan struct{} // closed at the first ping outcome (or removal)
	lost    chan struct{} // closed when it goes down; then replaced
	inGroup bool
}

// Group is a Logical Resource Group. New builds it, Start starts the
// pings, Close stops them.
type Group struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	members []*member          // in order
	byAddr  map[string]*member // also members removed while leases hold them
	next    int                // round-robin cursor
	kicked  map[string]bool    // members to ping at once
	started bool
	closed  bool

	kick   chan struct{} // cap 1
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New validates cfg and builds a Group; it starts nothing.
func New(cfg Config) (*Group, error) {
	switch cfg.Policy {
	case "":
		cfg.Policy = RoundRobin
	case RoundRobin, LeastUsed:
	default:
		return nil, fmt.Errorf("%w: load balancing %q (round-robin or least-used)", ErrConfig, cfg.Policy)
	}
	if cfg.Capacity < 0 {
		return nil, fmt.Errorf("%w: recorder capacity %d", ErrConfig, cfg.Capacity)
	}
	for a, c := range cfg.Capacities {
		if c < 0 {
			return nil, fmt.Errorf("%w: capacity %d of recorder %s", ErrConfig, c, a)
		}
	}
	if cfg.Failures < 0 {
		return nil, fmt.Errorf("%w: options failures %d", ErrConfig, cfg.Failures)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: options timeout %v", ErrConfig, cfg.Timeout)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Failures == 0 {
		cfg.Failures = DefaultFailures
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Group{cfg: cfg, log: cfg.Logger, byAddr: make(map[string]*member), kicked: make(map[string]bool),
		kick: make(chan struct{}, 1)}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.setMembers(cfg.Members)
	return g, nil
}

func (g *Group) pings() bool { return g.cfg.Pinger != nil && g.cfg.Interval > 0 }

// Policy is the group's load-balancing scheme.
func (g *Group) Policy() Policy { return g.cfg.Policy }

// Start starts the ping loop: a first round at once, then one every
// Interval. Idempotent; a no-op without pings or after Close. The first
// Acquire starts it too.
func (g *Group) Start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started || g.closed || !g.pings() {
		return
	}
	g.started = true
	g.wg.Go(g.loop)
}

// Close stops the pings and waits for them. Leases stay valid (Release
// works); Acquire fails afterwards. Idempotent.
func (g *Group) Close() error {
	g.once.Do(func() {
		g.mu.Lock()
		g.closed = true
		for _, m := range g.members {
			m.markChecked() // nobody waits for a ping any more
		}
		g.mu.Unlock()
		g.cancel()
		g.wg.Wait()
	})
	return nil
}

// SetMembers replaces the members. A member kept keeps its state and
// counters; a new one is unknown until its first ping (sent at once).
// Sessions on a removed member go on.
func (g *Group) SetMembers(addrs []string) {
	g.mu.Lock()
	g.setMembers(addrs)
	g.mu.Unlock()
	g.wake()
}

// setMembers is SetMembers with g.mu held (or before the Group is shared).
func (g *Group) setMembers(addrs []string) {
	for _, m := range g.members {
		m.inGroup = false
	}
	var list []*member
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" || slices.ContainsFunc(list, func(m *member) bool { return m.Addr == a }) {
			continue
		}
		m := g.byAddr[a]
		if m == nil {
			m = &member{checked: make(chan struct{}), lost: make(chan struct{})}
			m.Addr = a
			m.Since = g.cfg.Now()
			if !g.pings() {
				m.State = Up
				m.markChecked()
			} else {
				g.kicked[a] = true
			}
			g.byAddr[a] = m
		}
		m.Capacity = g.cfg.Capacity
		if c, ok := g.cfg.Capacities[a]; ok {
			m.Capacity = c
		}
		m.inGroup = true
		list = append(list, m)
	}
	for _, m := range g.members {
		if !m.inGroup {
			m.markChecked() // an Acquire waiting for it picks again
			if m.Active == 0 {
				delete(g.byAddr, m.Addr)
			}
		}
	}
	g.members = list
	if g.next >= len(list) {
		g.next = 0
	}
}

func (m *member) markChecked() {
	select {
	case <-m.checked:
	default:
		close(m.checked)
	}
}

// Members returns the members' addresses in order.
func (g *Group) Members() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.members))
	for i, m := range g.members {
		out[i] = m.Addr
	}
	return out
}

// Stats returns every member's counters, in order.
func (g *Group) Stats() []MemberStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]MemberStats, len(g.members))
	for i, m := range g.members {
		out[i] = m.MemberStats
	}
	return out
}

// Lease is one session placed on a member; Release it when the session
// ends.
type Lease struct {
	g    *Group
	m    *member
	lost <-chan struct{}
	once sync.Once
}

// Addr is the recorder the session goes to.
func (l *Lease) Addr() string { return l.m.Addr }

// Lost is closed when the recorder went down (dead) while the lease was
// held: the session is gone with it.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release ends the lease (the session ended). Idempotent.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.g.mu.Lock()
		defer l.g.mu.Unlock()
		l.m.Active--
		if !l.m.inGroup && l.m.Active == 0 && l.g.byAddr[l.m.Addr] == l.m {
			delete(l.g.byAddr, l.m.Addr)
		}
	})
}

// Fail releases the lease of a session whose INVITE failed before any
// answer was accepted: status 503 (or another 5xx) takes the member out
// until a ping finds it up; status 0 (no answer, transport error) takes it
// out and pings it at once. Other statuses (a 4xx or 6xx refusal of this
// one session) say nothing about its health. Without pings the member
// stays up (the caller skips it for this session only).
func (l *Lease) Fail(status int, err error) {
	l.Release()
	g, m := l.g, l.m
	if (status != 0 && status < 500) || status >= 600 {
		return
	}
	g.mu.Lock()
	m.Failed++
	// Without pings nothing would put it back: its health is not tracked.
	if g.pings() && (m.State == Up || m.State == Unknown) {
		g.setState(m, Out, status, fmt.Errorf("INVITE: %w", err))
	}
	if status == 0 && g.pings() {
		g.kicked[m.Addr] = true
	}
	g.mu.Unlock()
	g.wake()
}

// Suspect pings addr at once (an in-dialog request to it failed).
func (g *Group) Suspect(addr string) {
	if !g.pings() {
		return
	}
	g.mu.Lock()
	if _, ok := g.byAddr[addr]; ok {
		g.kicked[addr] = true
	}
	g.mu.Unlock()
	g.wake()
}

func (g *Group) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Acquire picks a member for one session by the group's policy, skipping
// the members in skip (those already tried for it), the members not up and
// the members at capacity. When the pick has not been pinged yet it waits
// for that first ping (or ctx). It returns ErrNoRecorder when no member can
// take the session.
func (g *Group) Acquire(ctx context.Context, skip []string) (*Lease, error) {
	g.Start() // a Group used before Start pings on its first Acquire
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return nil, fmt.Errorf("%w: resource manager closed", ErrNoRecorder)
		}
		i := g.pick(skip)
		if i < 0 {
			why := g.describe()
			g.mu.Unlock()
			return nil, fmt.Errorf("%w (%s)", ErrNoRecorder, why)
		}
		m := g.members[i]
		if m.State == Unknown {
			ch := m.checked
			g.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		m.Active++
		m.Placed++
		g.next = (i + 1) % len(g.members) // Least Used: ties go in turn
		l := &Lease{g: g, m: m, lost: m.lost}
		g.log.Debug("recorder picked", "recorder", m.Addr, "policy", string(g.cfg.Policy), "active", m.Active, "capacity", m.Capacity)
		g.mu.Unlock()
		return l, nil
	}
}

// pick returns the index of the member to use, or -1. Called with g.mu held.
func (g *Group) pick(skip []string) int {
	n := len(g.members)
	best := -1
	for k := range n {
		i := (g.next + k) % n
		m := g.members[i]
		if (m.State != Up && m.State != Unknown) || slices.Contains(skip, m.Addr) ||
			(m.Capacity > 0 && m.Active >= m.Capacity) {
			continue
		}
		if g.cfg.Policy == RoundRobin {
			return i
		}
		if best < 0 || less(m, g.members[best]) {
			best = i
		}
	}
	return best
}

// less: a's share of its capacity in use is below b's (Least Used).
func less(a, b *member) bool {
	if a.Capacity > 0 && b.Capacity > 0 {
		return a.Active*b.Capacity < b.Active*a.Capacity
	}
	return a.Active < b.Active
}

// describe says why no member can be used. Called with g.mu held.
func (g *Group) describe() string {
	if len(g.members) == 0 {
		return "no recorders configured"
	}
	parts := make([]string, len(g.members))
	for i, m := range g.members {
		parts[i] = fmt.Sprintf("%s %s %d/%d", m.Addr, m.State, m.Active, m.Capacity)
	}
	return strings.Join(parts, ", ")
}

// setState moves m to st and logs the change. Going down loses its
// leases. Called with g.mu held.
func (g *Group) setState(m *member, st State, status int, err error) {
	if m.State == st {
		return
	}
	from := m.State
	m.State, m.Since = st, g.cfg.Now()
	lvl := slog.LevelInfo
	if st != Up {
		lvl = slog.LevelWarn
	}
	args := []any{"recorder", m.Addr, "state", st.String(), "was", from.String(), "status", status, "active", m.Active}
	if err != nil {
		args = append(args, "error", err)
	}
	if st == Down {
		m.Lost += uint64(m.Active)
		close(m.lost)
		m.lost = make(chan struct{})
		args = append(args, "sessions_lost", m.Active)
	}
	g.log.Log(context.Background(), lvl, "recorder state", args...)
}

// loop pings the members: a first round at once, then every Interval, and
// the members kicked (new, suspected) as soon as they are.
func (g *Group) loop() {
	t := time.NewTicker(g.cfg.Interval)
	defer t.Stop()
	g.round(nil)
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
			g.round(nil)
		case <-g.kick:
			g.mu.Lock()
			var only []string
			for a := range g.kicked {
				only = append(only, a)
			}
			clear(g.kicked)
			g.mu.Unlock()
			if len(only) > 0 {
				g.round(only)
			}
		}
	}
}

// round pings only (nil: every member) concurrently and waits for them.
func (g *Group) round(only []string) {
	g.mu.Lock()
	var targets []string
	for _, m := range g.members {
		if only == nil || slices.Contains(only, m.Addr) {
			targets = append(targets, m.Addr)
			delete(g.kicked, m.Addr)
		}
	}
	g.mu.Unlock()
	sem := make(chan struct{}, maxParallelPings)
	var wg sync.WaitGroup
	for _, a := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			g.ping(a)
		})
	}
	wg.Wait()
}

// ping pings one member and records the outcome.
func (g *Group) ping(addr string) {
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.Timeout)
	defer cancel()
	status, err := g.cfg.Pinger.Ping(ctx, addr)
	if g.ctx.Err() != nil {
		return // closing: the outcome means nothing
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.byAddr[addr]
	if m == nil || !m.inGroup {
		return
	}
	defer m.markChecked()
	if err == nil && status > 0 {
		m.PingsOK++
		m.LastStatus = status
		m.fails = 0
		if status == 503 {
			g.setState(m, Out, status, nil)
		} else {
			g.setState(m, Up, status, nil)
		}
		return
	}
	if err == nil {
		err = errors.New("no status")
	}
	m.PingsFailed++
	m.fails++
	switch {
	case m.fails >= g.cfg.Failures || m.State == Unknown:
		g.setState(m, Down, 0, fmt.Errorf("%d OPTIONS without an answer: %w", m.fails, err))
	default:
		g.setState(m, Out, 0, fmt.Errorf("OPTIONS without an answer: %w", err))
	}
}
