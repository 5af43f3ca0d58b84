package sim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// Duration is a time.Duration in YAML: "1.5s", "250ms", or a number of
// seconds.
type Duration time.Duration

// UnmarshalYAML accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%w: line %d: duration must be a scalar", ErrConfig, n.Line)
	}
	if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%w: line %d: duration %q", ErrConfig, n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Scenario is a scripted call flow (Steps, played in order at their
// offsets) and/or generated traffic (played after the steps).
type Scenario struct {
	Name string `yaml:"name"`
	// Misbehave applies to the calls the scenario creates (default:
	// Config.Misbehave).
	Misbehave *Misbehaviour `yaml:"misbehave"`
	Steps     []Step        `yaml:"steps"`
	Traffic   *Traffic      `yaml:"traffic"`
}

// Step actions.
const (
	ActLogin              = "login"               // dn, agent
	ActLogout             = "logout"              // dn
	ActInbound            = "inbound"             // call, ani, dnis, trunk, rp, to, data, record (routing strategy)
	ActRoute              = "route"               // call, to, record: route a call queued at its routing point
	ActDial               = "dial"                // call, dn, to, data: outbound (external to) or internal (internal to)
	ActOutbound           = "outbound"            // alias of dial
	ActInternal           = "internal"            // alias of dial
	ActAnswer             = "answer"              // call, dn (optional: the first ringing party, also an external far end)
	ActHold               = "hold"                // call, dn
	ActRetrieve           = "retrieve"            // call, dn
	ActTransfer           = "transfer"            // call, dn, to: single-step transfer
	ActConsult            = "consult"             // call, dn, to, consult (handle of the new consult call)
	ActCompleteTransfer   = "complete-transfer"   // call, consult
	ActCompleteConference = "complete-conference" // call, consult
	ActConference         = "conference"          // alias of complete-conference
	ActMonitor            = "monitor"             // call, dn (agent), supervisor, mode mute|coach|connect
	ActRelease            = "release"             // call, dn (optional: everybody)
	ActAttach             = "attach"              // call, dn, data: RequestAttachUserData semantics
	ActUpdate             = "update"              // call, dn, data: RequestUpdateUserData semantics
	ActDeleteData         = "delete-data"         // call, dn, data (keys; empty: all)
	ActRecordStart        = "record-start"        // call, dn, id, dest, dest2, record (geo)
	ActRecordStop         = "record-stop"         // call, dn
	ActRecordPause        = "record-pause"        // call, dn
	ActRecordResume       = "record-resume"       // call, dn
	ActScreenCapture      = "screen-capture"      // dn, call (optional), mode start|stop: EventUserEvent
	ActWait               = "wait"                // nothing; a step that only advances time
)

// Step is one scripted action. Which fields an action uses is listed at
// the Act* constants.
type Step struct {
	At     Duration `yaml:"at"` // offset from the start of Run
	Action string   `yaml:"action"`

	Call    string `yaml:"call"`    // scenario handle of the call (created by inbound/dial)
	Consult string `yaml:"consult"` // handle of the consult call
	DN      string `yaml:"dn"`
	To      string `yaml:"to"`

	ANI   string `yaml:"ani"`
	DNIS  string `yaml:"dnis"`
	Trunk string `yaml:"trunk"`
	RP    string `yaml:"rp"`

	Agent      string `yaml:"agent"`
	Supervisor string `yaml:"supervisor"`
	Mode       string `yaml:"mode"`
	Record     string `yaml:"record"` // routing strategy / geo selection
	ID         string `yaml:"id"`
	Dest       string `yaml:"dest"`
	Dest2      string `yaml:"dest2"`

	// Data is user data; keys are applied in sorted order. Values are
	// strings (an integer written as such becomes a KVInt).
	Data map[string]yaml.Node `yaml:"data"`

	Misbehave *Misbehaviour `yaml:"misbehave"` // for the call this step creates
}

// LoadScenario reads a YAML scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ParseScenario(b)
}

// ParseScenario parses and validates a YAML scenario.
func ParseScenario(b []byte) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%w: scenario: %w", ErrConfig, err)
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

var actionNeeds = map[string]string{
	ActLogin: "dn agent", ActLogout: "dn", ActInbound: "call", ActRoute: "call to", ActDial: "call dn to",
	ActOutbound: "call dn to", ActInternal: "call dn to", ActAnswer: "call", ActHold: "call dn",
	ActRetrieve: "call dn", ActTransfer: "call dn to", ActConsult: "call dn to consult",
	ActCompleteTransfer: "call consult", ActCompleteConference: "call consult", ActConference: "call consult",
	ActMonitor: "call dn supervisor", ActRelease: "call", ActAttach: "call dn data", ActUpdate: "call dn data",
	ActDeleteData: "call dn", ActRecordStart: "call dn", ActRecordStop: "call dn", ActRecordPause: "call dn",
	ActRecordResume: "call dn", ActScreenCapture: "dn", ActWait: "",
}

// Validate checks actions, required fields and the order of offsets.
func (sc *Scenario) Validate() error {
	var last Duration
	for i, st := range sc.Steps {
		needs, ok := actionNeeds[st.Action]
		if !ok {
			return fmt.Errorf("%w: step %d: unknown action %q", ErrConfig, i+1, st.Action)
		}
		if st.At < last {
			return fmt.Errorf("%w: step %d: at %v is before the previous step (%v)", ErrConfig, i+1, time.Duration(st.At), time.Duration(last))
		}
		last = st.At
		fields := map[string]string{"call": st.Call, "to": st.To, "dn": st.DN, "agent": st.Agent,
			"consult": st.Consult, "supervisor": st.Supervisor}
		for _, f := range splitFields(needs) {
			if f == "data" {
				if len(st.Data) == 0 {
					return fmt.Errorf("%w: step %d (%s): data is empty", ErrConfig, i+1, st.Action)
				}
				continue
			}
			if fields[f] == "" {
				return fmt.Errorf("%w: step %d (%s): %s is required", ErrConfig, i+1, st.Action, f)
			}
		}
		if st.Action == ActInbound && st.RP == "" && st.To == "" {
			return fmt.Errorf("%w: step %d (inbound): rp or to is required", ErrConfig, i+1)
		}
	}
	if sc.Traffic != nil {
		if err := sc.Traffic.validate(); err != nil {
			return err
		}
	}
	if len(sc.Steps) == 0 && sc.Traffic == nil {
		return fmt.Errorf("%w: scenario has neither steps nor traffic", ErrConfig)
	}
	return nil
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = -1
		} else if start < 0 {
			start = i
		}
	}
	return out
}

// kvData converts step data to a KVList (sorted keys; integer scalars
// become KVInt, nested maps KVNested).
func kvData(m map[string]yaml.Node) (tlib.KVList, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	l := tlib.KVList{}
	for _, k := range keys {
		n := m[k]
		switch n.Kind {
		case yaml.ScalarNode:
			if n.Tag == "!!int" {
				if v, err := strconv.ParseInt(n.Value, 10, 32); err == nil {
					l = append(l, tlib.KV{Key: k, Type: tlib.KVInt, Int: int32(v)})
					continue
				}
			}
			l = append(l, tlib.KV{Key: k, Type: tlib.KVString, Str: n.Value})
		case yaml.MappingNode:
			var sub map[string]yaml.Node
			if err := n.Decode(&sub); err != nil {
				return nil, fmt.Errorf("%w: data %s: %w", ErrConfig, k, err)
			}
			nested, err := kvData(sub)
			if err != nil {
				return nil, err
			}
			l = append(l, tlib.KV{Key: k, Type: tlib.KVNested, List: nested})
		default:
			return nil, fmt.Errorf("%w: data %s: want a scalar or a map", ErrConfig, k)
		}
	}
	return l, nil
}

// Run plays sc: the steps in order, each at its offset from the start
// (late steps run at once, so the order of events is always the order of
// the steps), then the traffic. It returns at the first failing step.
func (s *Sim) Run(ctx context.Context, sc *Scenario) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	start := time.Now()
	for i, st := range sc.Steps {
		if st.Misbehave == nil && sc.Misbehave != nil {
			st.Misbehave = sc.Misbehave
		}
		if wait := time.Until(start.Add(time.Duration(st.At))); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := s.Step(st); err != nil {
			return fmt.Errorf("%w: step %d (%s at %v): %w", ErrScenario, i+1, st.Action, time.Duration(st.At), err)
		}
	}
	if sc.Traffic != nil {
		return s.Traffic(ctx, *sc.Traffic)
	}
	return nil
}

// HangUpAll releases every call in progress (each party gets its
// EventReleased, the Media Server its BYEs) and returns how many calls it
// released. The demo calls it on Ctrl-C so every recording ends as a
// completed call.
func (s *Sim) HangUpAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	n := 0
	for _, c := range s.calls {
		if c.ended.IsZero() && len(c.parties) > 0 {
			if err := s.release(c, ""); err == nil {
				n++
			}
		}
	}
	return n
}

// LiveCalls returns the number of calls in progress.
func (s *Sim) LiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.ended.IsZero() && len(c.parties) > 0 {
			n++
		}
	}
	return n
}

// CallInfo identifies a call created by a scenario step.
type CallInfo struct {
	ConnID   tlib.ConnID
	CallUUID string
	Released bool
	Recorded []string // recorded DNs
}

// Call returns the call a scenario handle names.
func (s *Sim) Call(handle string) (CallInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[s.handles[handle]]
	if c == nil {
		return CallInfo{}, false
	}
	ci := CallInfo{ConnID: c.connID, CallUUID: c.uuid, Released: !c.ended.IsZero()}
	for dn := range c.recs {
		ci.Recorded = append(ci.Recorded, dn)
	}
	slices.Sort(ci.Recorded)
	return ci, true
}

// Step executes one scenario step now.
func (s *Sim) Step(st Step) error {
	data, err := kvData(st.Data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var c *call
	get := func(h string) (*call, error) {
		cc := s.calls[s.handles[h]]
		if cc == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownCall, h)
		}
		return cc, nil
	}
	switch st.Action {
	case ActInbound, ActDial, ActOutbound, ActInternal, ActLogin, ActLogout, ActWait, ActScreenCapture:
	default:
		if c, err = get(st.Call); err != nil {
			return err
		}
	}
	switch st.Action {
	case ActWait:
		return nil
	case ActLogin, ActLogout:
		return s.login(st.DN, st.Agent, st.Action == ActLogout)
	case ActInbound:
		if len(data) == 0 {
			data = nil
		}
		nc, err := s.inbound(inboundArgs{ANI: st.ANI, DNIS: st.DNIS, Trunk: st.Trunk, RP: st.RP, To: st.To,
			Data: data, RouteRecord: st.Record}, st.Misbehave)
		if nc != nil && st.Call != "" {
			s.handles[st.Call] = nc.connID
		}
		return err
	case ActRoute:
		return s.route(c, st.To, st.Record, 0)
	case ActDial, ActOutbound, ActInternal:
		if len(data) == 0 {
			data = nil
		}
		nc, err := s.dial(st.DN, st.To, data, st.Misbehave)
		if nc != nil && st.Call != "" {
			s.handles[st.Call] = nc.connID
		}
		return err
	case ActAnswer:
		return s.answer(c, st.DN)
	case ActHold, ActRetrieve:
		return s.hold(c, st.DN, st.Action == ActRetrieve)
	case ActTransfer:
		return s.singleStep(c, st.DN, st.To)
	case ActConsult:
		nc, err := s.consult(c, st.DN, st.To)
		if nc != nil {
			s.handles[st.Consult] = nc.connID
		}
		return err
	case ActCompleteTransfer, ActCompleteConference, ActConference:
		c2, err := get(st.Consult)
		if err != nil {
			return err
		}
		return s.complete(c, c2, st.Action != ActCompleteTransfer)
	case ActMonitor:
		return s.monitor(c, st.DN, st.Supervisor, st.Mode)
	case ActRelease:
		return s.release(c, st.DN)
	case ActAttach, ActUpdate, ActDeleteData:
		mode := map[string]tlib.MessageType{ActAttach: tlib.RequestAttachUserData, ActUpdate: tlib.RequestUpdateUserData,
			ActDeleteData: tlib.RequestDeleteUserData}[st.Action]
		if mode == tlib.RequestDeleteUserData && len(data) == 0 {
			data = nil
		}
		s.attach(c, st.DN, mode, data, 0, nil)
		return nil
	case ActRecordStart, ActRecordStop, ActRecordPause, ActRecordResume:
		op := st.Action[len("record-"):]
		return s.control(c, st.DN, op, recordArgs{id: st.ID, dest: st.Dest, dest2: st.Dest2, geo: st.Record})
	case ActScreenCapture:
		if st.Call != "" {
			if c, err = get(st.Call); err != nil {
				return err
			}
		}
		return s.userEvent(c, st.DN, st.Mode)
	}
	return fmt.Errorf("%w: action %q", ErrConfig, st.Action)
}

type yamlNode = yaml.Node

const yamlScalar = yaml.ScalarNode
