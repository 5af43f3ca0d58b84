package app_test

import (
	"testing"
	"time"
)

// The live list names people, not channel numbers: the agent logged in on
// the recorded DN (login from the CTI call, name from the configuration
// data), the customer's number, and each channel's role.
func TestLiveNamesAgentAndCustomer(t *testing.T) {
	env := startContactCenter(t)
	addUser(t, env.a, "sup", "supervisor", "Acme")
	sup := signIn(t, env.a, "sup")
	done := make(chan struct{})
	go func() {
		defer close(done)
		step(t, env.sim, `
name: names
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000077", dnis: "8005550100", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 4s, action: release, call: c1, dn: "5001"}
`)
	}()
	defer func() { <-done }()
	type channel struct {
		Channel    int
		DN         string
		Role, Name string
	}
	type item struct {
		RecordedDN string `json:"recorded_dn"`
		AgentID    string `json:"agent_id"`
		AgentName  string `json:"agent_name"`
		ANI        string `json:"ani"`
		DNIS       string `json:"dnis"`
		Channels   []channel
	}
	var got item
	waitFor(t, 5*time.Second, "the call listed live with its agent and customer", func() bool {
		var l struct{ Items []item }
		sup.call("GET", "/api/v1/live", nil, &l)
		for _, it := range l.Items {
			if it.RecordedDN == "5001" && len(it.Channels) == 2 && it.AgentName != "" {
				got = it
				return true
			}
		}
		return false
	})
	if got.AgentID != "1001" || got.AgentName != "Ann Lee" || got.ANI != "+15550000077" || got.DNIS != "8005550100" {
		t.Errorf("live call = %+v, want agent 1001 Ann Lee, ANI +15550000077, DNIS 8005550100", got)
	}
	roles := map[string]string{}
	for _, c := range got.Channels {
		roles[c.Role] = c.Name
	}
	if roles["agent"] != "Ann Lee" || roles["customer"] != "+15550000077" {
		t.Errorf("channels = %+v, want the agent Ann Lee and the customer +15550000077", got.Channels)
	}
}
