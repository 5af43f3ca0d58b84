package conversation

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json")

// base is the time offset 0 of every scenario.
var base = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// step is one line of a scenario: a T-Library event or a directive.
type step struct {
	at  time.Duration
	msg *tlib.Message
	dir []string // "%" directive words
}

// loadScenario reads a .trace scenario: tlib trace text (ParseTrace) with
// "@+<offset>" lines, plus directive lines starting with '%' (the media
// side and the link, which T-Library does not carry):
//
//	% leg <recordID> <callUUID> <dn>     Engine.LegArrived ("-" = empty)
//	% audio <recordID> <callUUID> <dn>   Engine.AudioArrived
//	% ack | % error <text>               ServiceResult of the oldest unanswered PrivateService
//	% linkdown | % linkup                Engine.LinkDown / LinkUp
//	% keep <callUUID> <dn> yes|no        Engine.Keep
//	% tick                               Engine.Tick
//
// An "@+" line directly before a directive gives the directive's offset.
// Every step happens at or after the previous one.
func loadScenario(path string) ([]step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		steps []step
		buf   []string
		atIdx = -1
		last  time.Duration
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		entries, err := tlib.ParseTrace(strings.NewReader(strings.Join(buf, "\n")))
		if err != nil {
			return err
		}
		for _, en := range entries {
			if en.At > last {
				last = en.At
			}
			steps = append(steps, step{at: last, msg: en.Msg})
		}
		buf = nil
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ln := sc.Text()
		t := strings.TrimSpace(ln)
		switch {
		case strings.HasPrefix(t, "%"):
			at := last
			if atIdx >= 0 {
				d, err := time.ParseDuration(strings.TrimPrefix(strings.TrimSpace(buf[atIdx]), "@+"))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				buf = append(buf[:atIdx], buf[atIdx+1:]...)
				atIdx = -1
				if d > at {
					at = d
				}
			}
			if err := flush(); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if at > last {
				last = at
			}
			steps = append(steps, step{at: last, dir: strings.Fields(strings.TrimPrefix(t, "%"))})
			continue
		case strings.HasPrefix(t, "@+"):
			atIdx = len(buf)
		case strings.HasPrefix(t, "message "):
			atIdx = -1
		}
		buf = append(buf, ln)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return steps, nil
}

const testServer = "sip1"

// scenarioConfig is the engine configuration of every golden scenario.
func scenarioConfig(t testing.TB) Config {
	t.Helper()
	data, err := ccdata.LoadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseCharset("cp1250")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Filter:   dnfilter.MustParse("5001-5099", ""),
		Config:   ccdata.NewCache(data),
		Switches: map[string]string{testServer: "SIP_Switch"},
		Keys: Keys{
			User:      []KeyMap{{From: "Customer", To: "CustomerName"}, {From: "Wrapup"}, {From: "IVR_Language"}},
			Extension: []KeyMap{{From: "BusinessID"}},
		},
		Record: RecordConfig{
			Geo:  GeoSource,
			Dest: "sip:recorder@10.0.0.5:5070",
			Rule: func(c *Call, dn string) Decision { return Decision{Record: dn == "5002"} },
		},
		Charset: cs,
	}
}

// runner plays a scenario and records what comes out.
type runner struct {
	e       *Engine
	actions []map[string]any
	pending []PrivateService
	calls   map[string]*Call
}

func off(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Sub(base).String()
}

func (r *runner) record(at time.Time, acts []Action) {
	for _, a := range acts {
		m := map[string]any{"at": off(at)}
		switch a := a.(type) {
		case PrivateService:
			r.pending = append(r.pending, a)
			m["action"] = "PrivateService"
			m["dn"], m["conn_id"], m["msg_id"], m["op"], m["call_uuid"], m["record_id"] = a.DN, a.ConnID.String(), a.MsgID, a.Op, a.CallUUID, a.RecordID
			m["ext"] = kvMap(a.Ext)
		case UpdateUserData:
			m["action"] = "UpdateUserData"
			m["dn"], m["conn_id"], m["call_uuid"] = a.DN, a.ConnID.String(), a.CallUUID
			m["data"] = kvMap(a.Data)
		case Alert:
			m["action"] = "Alert"
			m["kind"], m["call_uuid"], m["record_id"], m["dn"], m["detail"] = a.Kind, a.CallUUID, a.RecordID, a.DN, a.Detail
		case Finished:
			m["action"] = "Finished"
			m["call_uuid"] = a.Call.CallUUID
			r.calls[a.Call.CallUUID] = a.Call
		}
		r.actions = append(r.actions, m)
	}
}

func kvMap(l tlib.KVList) map[string]string {
	out := map[string]string{}
	for _, kv := range l {
		out[kv.Key] = kv.Text()
	}
	return out
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func (r *runner) play(t *testing.T, steps []step) {
	t.Helper()
	var last time.Time
	for _, s := range steps {
		at := base.Add(s.at)
		r.record(at, r.e.Tick(at))
		last = at
		if s.msg != nil {
			r.record(at, r.e.Handle(testServer, s.msg, at))
			continue
		}
		arg := func(i int) string {
			if i < len(s.dir) {
				return dash(s.dir[i])
			}
			return ""
		}
		switch s.dir[0] {
		case "leg":
			r.record(at, r.e.LegArrived(arg(1), arg(2), arg(3), at))
		case "audio":
			r.record(at, r.e.AudioArrived(arg(1), arg(2), arg(3), at))
		case "ack", "error":
			if len(r.pending) == 0 {
				t.Fatalf("%s at %v: no pending PrivateService", s.dir[0], s.at)
			}
			ps := r.pending[0]
			r.pending = r.pending[1:]
			var err error
			if s.dir[0] == "error" {
				err = errors.New(strings.Join(s.dir[1:], " "))
			}
			r.record(at, r.e.ServiceResult(ps, err, at))
		case "linkdown":
			r.e.LinkDown(testServer, at)
		case "linkup":
			r.e.LinkUp(testServer, at)
		case "keep":
			acts, err := r.e.Keep(arg(1), arg(2), arg(3) == "yes", at)
			if err != nil {
				t.Fatal(err)
			}
			r.record(at, acts)
		case "tick":
		default:
			t.Fatalf("unknown directive %q", s.dir)
		}
	}
	// let every deadline, detection timeout and wrap-up period pass
	for _, d := range []time.Duration{5 * time.Second, 15 * time.Second, 2 * time.Minute} {
		at := last.Add(d)
		r.record(at, r.e.Tick(at))
	}
	for _, c := range r.e.Calls() {
		r.calls[c.CallUUID] = c
	}
}

type goldenCouple struct {
	Start        string            `json:"start"`
	End          string            `json:"end"`
	EndUncertain bool              `json:"end_uncertain,omitempty"`
	ThisDN       string            `json:"this_dn"`
	OtherDN      string            `json:"other_dn"`
	ConnID       string            `json:"conn_id"`
	Reason       string            `json:"reason"`
	Members      []string          `json:"members,omitempty"`
	Events       []string          `json:"events,omitempty"`
	ExternalData map[string]string `json:"external_data"`
}

type goldenRecording struct {
	ID      string   `json:"id,omitempty"`
	DN      string   `json:"dn"`
	Source  Source   `json:"source"`
	State   RecState `json:"state"`
	Legs    int      `json:"legs"`
	Audio   string   `json:"audio,omitempty"`
	Failure Failure  `json:"failure,omitempty"`
	Error   string   `json:"error,omitempty"`
}

type goldenCall struct {
	CallUUID     string            `json:"call_uuid"`
	Type         string            `json:"type"`
	ConnIDs      []string          `json:"conn_ids"`
	Released     string            `json:"released"`
	Recorded     bool              `json:"recorded"`
	Notification string            `json:"notification,omitempty"`
	Errors       []string          `json:"errors,omitempty"`
	Recordings   []goldenRecording `json:"recordings,omitempty"`
	Couples      []goldenCouple    `json:"couples"`
}

type golden struct {
	Calls    []goldenCall     `json:"calls"`
	Actions  []map[string]any `json:"actions"`
	Orphans  []string         `json:"orphans,omitempty"`
	Counters Counters         `json:"counters"`
}

func toGolden(r *runner) golden {
	var g golden
	var ids []string
	for id := range r.calls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := r.calls[id]
		gc := goldenCall{CallUUID: c.CallUUID, Type: callTypeName(c.Type), Released: off(c.Released),
			Recorded: c.Recorded, Notification: c.Notification, Errors: c.Errors}
		for _, cid := range c.ConnIDs {
			gc.ConnIDs = append(gc.ConnIDs, cid.String())
		}
		for _, rec := range c.Recordings {
			gc.Recordings = append(gc.Recordings, goldenRecording{ID: rec.ID, DN: rec.DN, Source: rec.Source,
				State: rec.State, Legs: len(rec.Legs), Audio: off(rec.Audio), Failure: rec.Failure, Error: rec.Error})
		}
		for _, cp := range c.Couples {
			gcp := goldenCouple{Start: off(cp.Start), End: off(cp.End), EndUncertain: cp.EndUncertain, ThisDN: cp.ThisDN,
				OtherDN: cp.OtherDN, ConnID: cp.ConnID.String(), Reason: cp.Reason, Members: cp.Members, ExternalData: cp.ExternalData}
			for _, ev := range cp.Events {
				gcp.Events = append(gcp.Events, off(ev.At)+" "+ev.Kind+" "+ev.DN)
			}
			gc.Couples = append(gc.Couples, gcp)
		}
		g.Calls = append(g.Calls, gc)
	}
	g.Actions = r.actions
	for _, o := range r.e.Orphans() {
		g.Orphans = append(g.Orphans, fmt.Sprintf("%s record=%s calluuid=%s dn=%s reported=%v", off(o.At), o.RecordID, o.CallUUID, o.DN, o.Reported))
	}
	g.Counters = r.e.Counters()
	return g
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.trace")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("want the 8 scenarios of issue 3, found %d", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".trace")
		t.Run(name, func(t *testing.T) {
			steps, err := loadScenario(file)
			if err != nil {
				t.Fatal(err)
			}
			r := &runner{e: New(scenarioConfig(t)), calls: map[string]*Call{}}
			r.play(t, steps)
			got, err := json.MarshalIndent(toGolden(r), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gf := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(gf, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", name, gf, got)
			}
		})
	}
}
