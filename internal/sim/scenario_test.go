package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/testtool"
)

// TestScenarioGolden plays the scenarios under testdata/ and compares the
// events (in T-Library trace form) with testdata/<name>.golden.
func TestScenarioGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no scenario")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			media := &fakeMedia{}
			s, err := New(Config{Switch: testSwitch, Config: testData(), Seed: 42, Now: fixedClock(),
				Recorders: []string{"rec:5060"}, Media: media,
				OnEvent: func(m *tlib.Message) { buf.WriteString(m.Trace()) }})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Run(ctx, sc); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				must(t, os.WriteFile(golden, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("events differ from %s (run with -update and review)", golden)
			}
			// The golden trace parses back (contract-test input format).
			entries, err := tlib.ParseTrace(bytes.NewReader(want))
			if err != nil || len(entries) == 0 {
				t.Fatalf("golden trace does not parse: %v", err)
			}
		})
	}
}

func TestParseScenarioErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"empty", "name: x\n", "neither steps nor traffic"},
		{"unknown action", "steps: [{action: dance}]", "unknown action"},
		{"missing field", "steps: [{action: answer}]", "call is required"},
		{"inbound without target", "steps: [{action: inbound, call: c}]", "rp or to"},
		{"out of order", "steps: [{at: 2s, action: wait}, {at: 1s, action: wait}]", "before the previous"},
		{"unknown field", "steps: [{action: wait, colour: red}]", "colour"},
		{"bad duration", "steps: [{at: soon, action: wait}]", "duration"},
		{"unbounded traffic", "traffic: {rate: 1}", "count or duration"},
		{"bad rate", "traffic: {rate: 0, count: 1}", "rate"},
		{"attach without data", "steps: [{action: attach, call: c, dn: '1'}]", "data is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.yaml))
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	sc, err := ParseScenario([]byte("steps: [{at: 1.5, action: wait}, {at: 2s, action: wait}]"))
	if err != nil || time.Duration(sc.Steps[0].At) != 1500*time.Millisecond {
		t.Fatalf("%v %+v", err, sc)
	}
}

func FuzzParseScenario(f *testing.F) {
	seed, _ := os.ReadFile("testdata/inbound-consult.yaml")
	f.Add(seed)
	f.Add([]byte("traffic: {rate: 2, count: 3, talk_min: 1s, talk_max: 2s}"))
	f.Add([]byte("steps: [{at: 1, action: inbound, call: c, to: '5001', data: {a: {b: 1}}}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := ParseScenario(b)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error does not wrap ErrConfig: %v", err)
			}
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("parsed scenario does not validate: %v", err)
		}
		for _, st := range sc.Steps {
			if _, err := kvData(st.Data); err != nil && !errors.Is(err, ErrConfig) {
				t.Fatal(err)
			}
		}
	})
}

func TestScenarioRunIsCancellable(t *testing.T) {
	s, err := New(Config{Switch: testSwitch, Config: testData(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc, err := ParseScenario([]byte("steps: [{at: 1h, action: wait}]"))
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx, sc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	sc, err = ParseScenario([]byte("steps: [{action: answer, call: nope}]"))
	must(t, err)
	if err := s.Run(context.Background(), sc); !errors.Is(err, ErrScenario) || !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("Run: %v", err)
	}
}

func TestTraffic(t *testing.T) {
	var mu sync.Mutex
	counts := map[tlib.MessageType]int{}
	calls := map[tlib.ConnID]bool{}
	media := &fakeMedia{}
	s, err := New(Config{Switch: testSwitch, Config: testData(), Seed: 3, Recorders: []string{"rec:5060"}, Media: media,
		OnEvent: func(m *tlib.Message) {
			mu.Lock()
			defer mu.Unlock()
			counts[m.Type]++
			if m.Type == tlib.EventRinging {
				calls[m.ConnID()] = true
			}
		}})
	must(t, err)
	defer s.Close()
	tr := Traffic{Rate: 50, Count: 6, TalkMin: Duration(20 * time.Millisecond), TalkMax: Duration(60 * time.Millisecond),
		Ring: Duration(5 * time.Millisecond), Hold: 0.5, Transfer: 0.3, Consult: 0.3, Seed: 9}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, s.Traffic(ctx, tr))
	mu.Lock()
	defer mu.Unlock()
	if counts[tlib.EventAgentLogin] != 4 {
		t.Errorf("logins %d (want the 4 agent DNs)", counts[tlib.EventAgentLogin])
	}
	if counts[tlib.EventRouteRequest] == 0 || counts[tlib.EventEstablished] == 0 || counts[tlib.EventAttachedDataChanged] == 0 {
		t.Errorf("event counts %v", counts)
	}
	if counts[tlib.EventRouteRequest] > 6 {
		t.Errorf("%d calls for count 6", counts[tlib.EventRouteRequest])
	}
	s.mu.Lock()
	for _, c := range s.calls {
		if c.ended.IsZero() {
			t.Errorf("call %s still alive after Traffic returned", c.connID)
		}
	}
	s.mu.Unlock()
}

func TestConfigServer(t *testing.T) {
	src := []byte("# comment kept\n")
	s := newSim(t, func(c *Config) { c.ConfigListen = "127.0.0.1:0" })
	base := "http://" + s.ConfigAddr() + "/config"
	get := func(q string) (*http.Response, []byte) {
		t.Helper()
		res, err := http.Get(base + q)
		must(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res, body := get("")
	if res.StatusCode != 200 || res.Header.Get("X-Config-Version") != "1" {
		t.Fatalf("GET: %d %v", res.StatusCode, res.Header)
	}
	d, err := ccdata.Parse(body)
	must(t, err)
	if len(d.DNs) != len(testData().DNs) || d.DNs[2].Options["record"] != "true" || d.Persons[0].Logins[0].LoginCode != "1001" {
		t.Fatalf("round trip lost data:\n%s", body)
	}
	if res, _ := get("?format=json"); res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("json content type %q", res.Header.Get("Content-Type"))
	}
	if res, _ := get("?wait=1&timeout=20ms"); res.StatusCode != http.StatusNotModified {
		t.Errorf("long poll without change: %d", res.StatusCode)
	}
	// A long poll returns when the configuration changes.
	done := make(chan []byte)
	go func() {
		_, b := get("?wait=1&timeout=10s")
		done <- b
	}()
	// change the data while the long poll waits (not before it came)
	testtool.WaitWaiting(t, 5*time.Second, "sim.(*Sim).getConfig", "select")
	d.DNs = append(d.DNs, ccdata.DN{Number: "5004", Switch: testSwitch, Type: ccdata.TypeExtension, TenantDBID: 1})
	s.SetConfig(d, append(src, body...))
	select {
	case b := <-done:
		if !bytes.HasPrefix(b, src) {
			t.Errorf("long poll body %q", b[:min(40, len(b))])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll not woken")
	}
	// The SIP Server uses the new data: 5004 can be registered.
	dialSim(t, s).register("5004")
	// PUT replaces the data.
	req, _ := http.NewRequest(http.MethodPut, base, bytes.NewReader(body))
	r2, err := http.DefaultClient.Do(req)
	must(t, err)
	r2.Body.Close()
	if v, _ := strconv.Atoi(r2.Header.Get("X-Config-Version")); r2.StatusCode != http.StatusNoContent || v != 3 {
		t.Errorf("PUT: %d version %q", r2.StatusCode, r2.Header.Get("X-Config-Version"))
	}
	req, _ = http.NewRequest(http.MethodPut, base, strings.NewReader("dns: [{number: ''}]"))
	r3, err := http.DefaultClient.Do(req)
	must(t, err)
	r3.Body.Close()
	if r3.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT of invalid data: %d", r3.StatusCode)
	}
}

// Traffic with until_stopped runs until its context ends and then hangs
// up the calls in progress; HangUpAll ends the calls a scenario left up.
func TestTrafficUntilStoppedAndHangUpAll(t *testing.T) {
	media := &fakeMedia{}
	s := newSim(t, func(c *Config) { c.Recorders = []string{"rec:5060"}; c.Media = media })
	sc, err := ParseScenario([]byte(`steps:
  - {action: login, dn: "5001", agent: "1001"}
  - {action: inbound, call: c1, ani: "+15550001", to: "5001"}
  - {action: answer, call: c1, dn: "5001"}
`))
	must(t, err)
	must(t, s.Run(context.Background(), sc))
	if _, err := ParseScenario([]byte("traffic: {rate: 1, until_stopped: true}")); err != nil {
		t.Fatalf("until_stopped traffic refused: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Traffic(ctx, Traffic{Rate: 50, UntilStopped: true, TalkMin: Duration(time.Hour), TalkMax: Duration(time.Hour),
			Ring: Duration(time.Millisecond), Agents: []string{"5002", "5003"}})
	}()
	waitUntil(t, "traffic calls up", func() bool { return s.LiveCalls() >= 3 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Traffic after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Traffic did not return after its context ended")
	}
	if n := s.LiveCalls(); n != 1 {
		t.Errorf("%d calls up after traffic stopped, want the scenario's one", n)
	}
	if n := s.HangUpAll(); n != 1 {
		t.Errorf("HangUpAll released %d calls, want 1", n)
	}
	if n := s.LiveCalls(); n != 0 {
		t.Errorf("%d calls up after HangUpAll", n)
	}
}
