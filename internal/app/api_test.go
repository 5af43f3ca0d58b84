package app_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/web/auth"
)

func init() { auth.Cost = 4 } // bcrypt's minimum: tests sign in often

// addUser creates a user directly in the store (what `openrec admin
// create-user` does); the password is "password-"+name.
func addUser(t testing.TB, a *app.App, name, role, tenant string) {
	t.Helper()
	h, err := auth.HashPassword("password-" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store().CreateUser(context.Background(), &store.User{Name: name, Role: role, Tenant: tenant, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

// apiClient calls the REST API of a running App with a bearer token.
type apiClient struct {
	t     testing.TB
	base  string
	token string
}

func signIn(t testing.TB, a *app.App, name string) *apiClient {
	t.Helper()
	c := &apiClient{t: t, base: "http://" + a.HTTPAddr()}
	var out struct{ Token string }
	if code := c.call("POST", "/api/v1/auth/token", map[string]string{"username": name, "password": "password-" + name}, &out); code != 200 {
		t.Fatalf("sign in %s: %d", name, code)
	}
	c.token = out.Token
	return c
}

func (c *apiClient) call(method, path string, body, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 400 {
		c.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

type liveList struct {
	Items []struct {
		RecordingID string `json:"recording_id"`
		RecordedDN  string `json:"recorded_dn"`
		Paused      bool   `json:"paused"`
		Tenant      string `json:"tenant"`
		Channels    []struct {
			Channel       int  `json:"channel"`
			AudioArriving bool `json:"audio_arriving"`
		} `json:"channels"`
	} `json:"items"`
	CTI []struct {
		CallUUID string `json:"call_uuid"`
		Parties  []struct {
			DN             string `json:"dn"`
			RecordingState string `json:"recording_state"`
		} `json:"parties"`
	} `json:"cti"`
}

// ctiParty reports whether /api/v1/live lists a CTI call with dn as a party.
func (c *apiClient) ctiParty(dn string) bool {
	var l liveList
	c.call("GET", "/api/v1/live", nil, &l)
	for _, call := range l.CTI {
		for _, p := range call.Parties {
			if p.DN == dn {
				return true
			}
		}
	}
	return false
}

// The REST API on a running recorder with the simulated contact center: a
// supervisor starts the recording of an unrecorded DN through the API (the
// request goes over the CTI link like a desktop's), sees the call in the
// live list with audio arriving on both channels, listens live over a
// WebSocket and hears the recorded party's audio while the call runs,
// pauses the recording, and finds the finished recording by search; an
// admin edits the rules through the API (saved to the configuration file
// and applied), and every live listen is in the audit log.
func TestAPIOnLiveContactCenter(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfgFile, []byte("# test configuration\nlog_level: info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := startContactCenter(t, func(c *config.Serve) { c.Path = cfgFile })
	addUser(t, env.a, "boss", "admin", "")
	addUser(t, env.a, "sup", "supervisor", "Acme")
	addUser(t, env.a, "other", "supervisor", "Globex")
	sup := signIn(t, env.a, "sup")

	done := make(chan struct{})
	go func() {
		defer close(done)
		step(t, env.sim, `
name: api
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000009", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 6s, action: release, call: c1, dn: "5004"}
`)
	}()
	// Start the recording through the API once the call is established.
	waitFor(t, 5*time.Second, "the call established on 5004", func() bool { return sup.ctiParty("5004") })
	var ctl struct {
		State, DN string
		CallUUID  string `json:"call_uuid"`
	}
	if code := sup.call("POST", "/api/v1/calls/control", map[string]string{"op": "start", "dn": "5004"}, &ctl); code != 202 || ctl.State != "requested" || ctl.DN != "5004" {
		t.Fatalf("control start: %d %+v", code, ctl)
	}
	if code := sup.call("POST", "/api/v1/calls/control", map[string]string{"op": "start", "dn": "9999"}, nil); code != 404 {
		t.Errorf("control start on a DN without a call: %d, want 404", code)
	}
	var recID string
	waitFor(t, 5*time.Second, "the recording listed live with audio arriving on both channels", func() bool {
		var l liveList
		sup.call("GET", "/api/v1/live", nil, &l)
		for _, it := range l.Items {
			if it.RecordedDN == "5004" && len(it.Channels) == 2 && it.Channels[0].AudioArriving && it.Channels[1].AudioArriving {
				recID = it.RecordingID
				return true
			}
		}
		return false
	})
	// Another tenant's supervisor does not see it.
	other := signIn(t, env.a, "other")
	var l2 liveList
	other.call("GET", "/api/v1/live", nil, &l2)
	if len(l2.Items) != 0 || len(l2.CTI) != 0 {
		t.Errorf("supervisor of another tenant sees live calls: %+v", l2)
	}
	// ... nor controls them, by DN or by CallUUID.
	for _, req := range []map[string]string{{"op": "stop", "dn": "5004"}, {"op": "discard", "call_uuid": ctl.CallUUID}} {
		if code := other.call("POST", "/api/v1/calls/control", req, nil); code != 404 {
			t.Errorf("supervisor of another tenant: control %v: %d, want 404", req, code)
		}
	}

	// Listen live to the recorded party.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+env.a.HTTPAddr()+"/api/v1/live/"+recID+"/listen?channel=0",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + sup.token}}})
	if err != nil {
		sup.call("GET", "/api/v1/live/"+recID+"/listen?channel=0", nil, nil) // logs the problem
		t.Fatalf("listen: %v", err)
	}
	defer ws.CloseNow()
	var pcm []int16
	opened := time.Now()
	var first time.Time
	for len(pcm) < 8000 { // one second of audio
		typ, msg, err := ws.Read(ctx)
		if first.IsZero() {
			first = time.Now()
		}
		if err != nil {
			t.Fatalf("listen read after %d samples: %v", len(pcm), err)
		}
		if typ != websocket.MessageBinary || len(msg) < 3 || msg[0] != 0 {
			t.Fatalf("listen message: type %v, %d bytes, channel %d", typ, len(msg), msg[0])
		}
		for i := 1; i+1 < len(msg); i += 2 {
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(msg[i:])))
		}
	}
	// Frames are sent as the RTP arrives (not batched): one second of audio
	// takes about one second to arrive.
	t.Logf("live listen: first frame %v after the WebSocket opened; 1 s of audio arrived over %v",
		first.Sub(opened).Round(time.Millisecond), time.Since(first).Round(time.Millisecond))
	ws.Close(websocket.StatusNormalClosure, "")
	if audiotest.Silent(pcm) {
		t.Errorf("live audio of the recorded party is silent (RMS %.0f)", audiotest.RMS(pcm))
	}

	if code := sup.call("POST", "/api/v1/calls/control", map[string]string{"op": "pause", "dn": "5004"}, nil); code != 202 {
		t.Errorf("control pause: %d", code)
	}
	waitFor(t, 5*time.Second, "the live list shows the recording paused", func() bool {
		var l liveList
		sup.call("GET", "/api/v1/live", nil, &l)
		for _, it := range l.Items {
			if it.RecordingID == recID {
				return it.Paused
			}
		}
		return false
	})
	<-done
	waitFor(t, 10*time.Second, "the recording finished and searchable", func() bool {
		var p struct {
			Items []struct {
				ID     string
				Status string
			}
		}
		sup.call("GET", "/api/v1/recordings?dn=5004", nil, &p)
		return len(p.Items) == 1 && p.Items[0].ID == recID && p.Items[0].Status != "recording"
	})
	var rec struct {
		Segments []struct{ Type string }
		Tenant   string
	}
	sup.call("GET", "/api/v1/recordings/"+recID, nil, &rec)
	paused := false
	for _, s := range rec.Segments {
		paused = paused || s.Type == "pause"
	}
	if !paused || rec.Tenant != "Acme" {
		t.Errorf("recording: tenant %q, segments %+v (want a pause)", rec.Tenant, rec.Segments)
	}

	// Rules through the API: an invalid set is refused and changes nothing,
	// a valid one is saved to the configuration file and applied.
	boss := signIn(t, env.a, "boss")
	if code := boss.call("PUT", "/api/v1/admin/rules", map[string]string{"yaml": "groups:\n  - name: G\n    rules:\n      - {name: r, action: shout, mask: '5*'}\n"}, nil); code != 422 {
		t.Errorf("invalid rules: %d, want 422", code)
	}
	if code := sup.call("PUT", "/api/v1/admin/rules", map[string]string{"yaml": "groups: []\n"}, nil); code != 403 {
		t.Errorf("supervisor changing rules: %d, want 403", code)
	}
	var doc struct {
		YAML  string
		Rules int
	}
	newRules := "groups:\n  - name: Admin\n    rules:\n      - {name: no-5004, action: do_not_record, mask: '5004'}\n"
	if code := boss.call("PUT", "/api/v1/admin/rules", map[string]string{"yaml": newRules}, &doc); code != 200 || doc.Rules != 1 || !strings.Contains(doc.YAML, "no-5004") {
		t.Fatalf("rules: %d %+v", code, doc)
	}
	saved, _ := os.ReadFile(cfgFile)
	if !strings.Contains(string(saved), "no-5004") || !strings.Contains(string(saved), "log_level: info") {
		t.Errorf("configuration file after the rules change:\n%s", saved)
	}
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		step(t, env.sim, `
name: after-rules
steps:
  - {at: 0s, action: inbound, call: c2, ani: "+15550000010", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c2, dn: "5004"}
  - {at: 3s, action: release, call: c2, dn: "5004"}
`)
	}()
	waitFor(t, 5*time.Second, "the second call established on 5004", func() bool { return sup.ctiParty("5004") })
	var refused struct{ Detail string }
	if code := sup.call("POST", "/api/v1/calls/control", map[string]string{"op": "start", "dn": "5004"}, &refused); code != 409 || !strings.Contains(refused.Detail, "no-5004") {
		t.Errorf("start against the new do-not-record rule: %d %q, want 409 naming the rule", code, refused.Detail)
	}
	<-done2

	// Tenants with the settings in force: the configuration data's tenant
	// and its switch; a supervisor sees only their own tenant.
	var tenants struct {
		Items []struct {
			Name       string
			ClientName string `json:"client_name"`
			Switches   []string
			DNExclude  []string `json:"dn_exclude"`
		}
	}
	if code := boss.call("GET", "/api/v1/admin/tenants", nil, &tenants); code != 200 || len(tenants.Items) != 1 ||
		tenants.Items[0].Name != "Acme" || strings.Join(tenants.Items[0].Switches, ",") != "SIP_Switch" ||
		tenants.Items[0].ClientName != "openrec" || strings.Join(tenants.Items[0].DNExclude, ",") != "5100" {
		t.Errorf("tenants: %d %+v", code, tenants.Items)
	}
	var none struct{ Items []any }
	if code := other.call("GET", "/api/v1/admin/tenants", nil, &none); code != 200 || len(none.Items) != 0 {
		t.Errorf("tenants seen by another tenant's supervisor: %d %+v", code, none.Items)
	}

	var audit struct {
		Items []struct{ User, Action, RecordingID string }
	}
	boss.call("GET", "/api/v1/audit?limit=1000", nil, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Items {
		seen[e.User+" "+e.Action] = true
	}
	for _, want := range []string{"sup live_listen", "sup control", "boss rules_change"} {
		if !seen[want] {
			t.Errorf("audit has no %q entry: %+v", want, audit.Items)
		}
	}
}
