package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Traffic generates random, realistic inbound calls: each arrives at the
// routing point from a random ANI with attached data, is routed to a free
// agent, rings, is answered, may be held, transferred or consulted, is
// released, and gets wrap-up data after release.
type Traffic struct {
	Rate     float64  `yaml:"rate"`     // new calls per second (required)
	Count    int      `yaml:"count"`    // stop after this many calls
	Duration Duration `yaml:"duration"` // stop placing calls after this long
	// UntilStopped places calls until the context ends (openrec demo):
	// neither Count nor Duration is needed then.
	UntilStopped bool     `yaml:"until_stopped"`
	TalkMin      Duration `yaml:"talk_min"` // default 5s
	TalkMax      Duration `yaml:"talk_max"` // default 20s
	Ring         Duration `yaml:"ring"`     // ringing time (default 1s)
	// Agents are the agent DNs (default: the Extension and ACDPosition
	// DNs of the switch); RoutingPoint the DN calls arrive at (default:
	// the first RoutingPoint DN of the switch; none: straight to the agent).
	Agents       []string `yaml:"agents"`
	RoutingPoint string   `yaml:"routing_point"`
	// Probabilities of the optional parts of a call.
	Hold     float64 `yaml:"hold"`     // default 0.2
	Transfer float64 `yaml:"transfer"` // single-step transfer, default 0.1
	Consult  float64 `yaml:"consult"`  // consult + two-step transfer, default 0.1
	Seed     uint64  `yaml:"seed"`     // 0: the Sim's random source
}

func (t *Traffic) validate() error {
	if t.Rate <= 0 || t.Rate > 1000 {
		return fmt.Errorf("%w: traffic rate %v (calls per second, 0 < rate <= 1000)", ErrConfig, t.Rate)
	}
	if t.Count <= 0 && t.Duration <= 0 && !t.UntilStopped {
		return fmt.Errorf("%w: traffic needs count or duration (bounded), or until_stopped", ErrConfig)
	}
	if t.TalkMax < t.TalkMin {
		return fmt.Errorf("%w: traffic talk_max < talk_min", ErrConfig)
	}
	for _, p := range []float64{t.Hold, t.Transfer, t.Consult} {
		if p < 0 || p > 1 {
			return fmt.Errorf("%w: traffic probability %v", ErrConfig, p)
		}
	}
	return nil
}

// Traffic places random calls until Count calls were placed or Duration
// has passed (or ctx is done), then waits for the calls in progress to end.
// When ctx ends, the calls in progress are released at once.
func (s *Sim) Traffic(ctx context.Context, t Traffic) error {
	if err := t.validate(); err != nil {
		return err
	}
	if t.TalkMin == 0 && t.TalkMax == 0 {
		t.TalkMin, t.TalkMax = Duration(5*time.Second), Duration(20*time.Second)
	}
	if t.Ring == 0 {
		t.Ring = Duration(time.Second)
	}
	if t.Hold == 0 && t.Transfer == 0 && t.Consult == 0 {
		t.Hold, t.Transfer, t.Consult = 0.2, 0.1, 0.1
	}
	s.mu.Lock()
	if len(t.Agents) == 0 || t.RoutingPoint == "" {
		for _, d := range s.data.DNs {
			if d.Switch != s.cfg.Switch {
				continue
			}
			switch dnTypes[strings.ToLower(d.Type)] {
			case DNTypeExtension, DNTypeACDPosition:
				if len(t.Agents) == 0 || !contains(t.Agents, d.Number) {
					t.Agents = append(t.Agents, d.Number)
				}
			case DNTypeRoutingPoint:
				if t.RoutingPoint == "" {
					t.RoutingPoint = d.Number
				}
			}
		}
	}
	seed := t.Seed
	if seed == 0 {
		seed = s.rng.Uint64()
	}
	// Log agents in (login codes from the configuration, in order).
	var codes []string
	for _, p := range s.data.Persons {
		if p.IsAgent {
			for _, l := range p.Logins {
				codes = append(codes, l.LoginCode)
			}
		}
	}
	for i, dn := range t.Agents {
		if s.agents[dn] == "" {
			code := "A" + dn
			if i < len(codes) {
				code = codes[i]
			}
			if err := s.login(dn, code, false); err != nil {
				s.mu.Unlock()
				return err
			}
		}
	}
	s.mu.Unlock()
	if len(t.Agents) == 0 {
		return fmt.Errorf("%w: traffic has no agent DN", ErrConfig)
	}

	g := &trafficGen{s: s, t: t, rng: rand.New(rand.NewPCG(seed, seed>>1|1)), busy: map[string]bool{}}
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(float64(time.Second) / t.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var err error
	for n := 0; t.Count <= 0 || n < t.Count; n++ {
		if t.Duration > 0 && time.Since(start) >= time.Duration(t.Duration) {
			break
		}
		if n > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				err = ctx.Err()
			}
			if err != nil {
				break
			}
		}
		plan, ok := g.plan(n)
		if !ok {
			s.log.Debug("traffic: every agent is busy; call not placed")
			continue
		}
		wg.Go(func() { g.play(ctx, plan) })
	}
	wg.Wait()
	return err
}

type trafficGen struct {
	s   *Sim
	t   Traffic
	mu  sync.Mutex
	rng *rand.Rand
	// busy agents (a call plans its agents up front).
	busy map[string]bool
}

type callPlan struct {
	n                    int
	ani, agent, agent2   string
	talk, ring           time.Duration
	hold, xfer, consult  bool
	segment, disposition string
}

func (g *trafficGen) free() string {
	var free []string
	for _, a := range g.t.Agents {
		if !g.busy[a] {
			free = append(free, a)
		}
	}
	if len(free) == 0 {
		return ""
	}
	a := free[g.rng.IntN(len(free))]
	g.busy[a] = true
	return a
}

func (g *trafficGen) plan(n int) (callPlan, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := callPlan{n: n, ani: fmt.Sprintf("+1555%07d", g.rng.IntN(10_000_000))}
	if p.agent = g.free(); p.agent == "" {
		return p, false
	}
	span := time.Duration(g.t.TalkMax - g.t.TalkMin)
	p.talk = time.Duration(g.t.TalkMin)
	if span > 0 {
		p.talk += time.Duration(g.rng.Int64N(int64(span)))
	}
	p.ring = time.Duration(g.t.Ring)
	p.hold = g.rng.Float64() < g.t.Hold
	r := g.rng.Float64()
	p.xfer = r < g.t.Transfer
	p.consult = !p.xfer && r < g.t.Transfer+g.t.Consult
	if p.xfer || p.consult {
		if p.agent2 = g.free(); p.agent2 == "" {
			p.xfer, p.consult = false, false
		}
	}
	p.segment = []string{"Gold", "Silver", "Bronze"}[g.rng.IntN(3)]
	p.disposition = []string{"Resolved", "Callback", "Escalated", "Sale"}[g.rng.IntN(4)]
	return p, true
}

func (g *trafficGen) done(p callPlan) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.busy, p.agent)
	if p.agent2 != "" {
		delete(g.busy, p.agent2)
	}
}

// play runs one call; a failing step ends the call (logged).
func (g *trafficGen) play(ctx context.Context, p callPlan) {
	defer g.done(p)
	s := g.s
	h := fmt.Sprintf("traffic-%d", p.n)
	hc := h + "-consult"
	defer func() {
		s.mu.Lock()
		delete(s.handles, h)
		delete(s.handles, hc)
		s.mu.Unlock()
	}()
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	data := map[string]string{"CustomerSegment": p.segment, "CallReason": "Support"}
	steps := []struct {
		wait time.Duration
		st   Step
	}{{0, Step{Action: ActInbound, Call: h, ANI: p.ani, RP: g.t.RoutingPoint, To: p.agent, Data: nodes(data)}},
		{p.ring, Step{Action: ActAnswer, Call: h, DN: p.agent}}}
	talk := p.talk / 2
	if p.hold {
		steps = append(steps, struct {
			wait time.Duration
			st   Step
		}{talk / 2, Step{Action: ActHold, Call: h, DN: p.agent}}, struct {
			wait time.Duration
			st   Step
		}{talk / 4, Step{Action: ActRetrieve, Call: h, DN: p.agent}})
	}
	last := p.agent
	type ts = struct {
		wait time.Duration
		st   Step
	}
	switch {
	case p.xfer:
		steps = append(steps, ts{talk / 2, Step{Action: ActTransfer, Call: h, DN: p.agent, To: p.agent2}},
			ts{p.ring, Step{Action: ActAnswer, Call: h, DN: p.agent2}})
		last = p.agent2
	case p.consult:
		steps = append(steps, ts{talk / 2, Step{Action: ActConsult, Call: h, DN: p.agent, To: p.agent2, Consult: hc}},
			ts{p.ring, Step{Action: ActAnswer, Call: hc, DN: p.agent2}},
			ts{talk / 4, Step{Action: ActCompleteTransfer, Call: h, Consult: hc}})
		last = p.agent2
	}
	steps = append(steps, ts{talk, Step{Action: ActRelease, Call: h, DN: last}},
		ts{time.Second, Step{Action: ActAttach, Call: h, DN: last, Data: nodes(map[string]string{"Disposition": p.disposition})}})
	for i, x := range steps {
		if x.wait > 0 && !sleep(x.wait) {
			s.mu.Lock()
			if c := s.calls[s.handles[h]]; c != nil && c.ended.IsZero() && !s.closed {
				_ = s.release(c, "")
			}
			s.mu.Unlock()
			return
		}
		if err := s.Step(x.st); err != nil {
			s.log.Warn("traffic call step failed", "call", h, "step", i+1, "action", x.st.Action, "error", err)
			s.mu.Lock()
			if c := s.calls[s.handles[h]]; c != nil && c.ended.IsZero() && !s.closed {
				_ = s.release(c, "")
			}
			s.mu.Unlock()
			return
		}
	}
}

func nodes(m map[string]string) map[string]yamlNode {
	out := make(map[string]yamlNode, len(m))
	for k, v := range m {
		out[k] = yamlNode{Kind: yamlScalar, Value: v, Tag: "!!str"}
	}
	return out
}
