package sim

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/testtool"
)

// TestClients: Clients lists the registered clients with the identification
// of their RequestRegisterClient and the DNs they registered, and follows
// unregistration and disconnection.
func TestClients(t *testing.T) {
	s := newSim(t, nil)
	acme := dialSim(t, s)
	ev := acme.request(tlib.New(tlib.RequestRegisterClient).SetStr(tlib.AttrApplicationName, "rec-acme").
		SetList(tlib.AttrExtensions, tlib.KVList(nil).Set("password", "acme-pw")))
	if ev.Type != tlib.EventServerConnected {
		t.Fatalf("register client: %s", ev.Type)
	}
	for _, dn := range []string{"5002", "5001"} {
		if ev := acme.request(tlib.New(tlib.RequestRegisterAddress).SetStr(tlib.AttrThisDN, dn)); ev.Type != tlib.EventRegistered {
			t.Fatalf("register %s: %s", dn, ev.Type)
		}
	}
	beta := dialSim(t, s)
	beta.register("5003")
	dialSim(t, s) // connected, never registered: not listed
	pending := dialSim(t, s)
	pending.register()

	got := s.Clients()
	want := []ClientInfo{
		{Name: "rec-acme", Password: "acme-pw", Switch: testSwitch, Remote: acme.conn.LocalAddr().String(), DNs: []string{"5001", "5002"}},
		{Name: "test", Switch: testSwitch, Remote: beta.conn.LocalAddr().String(), DNs: []string{"5003"}},
		{Name: "test", Switch: testSwitch, Remote: pending.conn.LocalAddr().String()},
	}
	slices.SortFunc(want[1:], func(a, b ClientInfo) int {
		if a.Remote < b.Remote {
			return -1
		}
		return 1
	})
	if !slices.EqualFunc(got, want, func(a, b ClientInfo) bool {
		return a.Name == b.Name && a.Password == b.Password && a.Switch == b.Switch && a.Remote == b.Remote && slices.Equal(a.DNs, b.DNs)
	}) {
		t.Fatalf("Clients:\n got %+v\nwant %+v", got, want)
	}

	if ev := acme.request(tlib.New(tlib.RequestUnregisterAddress).SetStr(tlib.AttrThisDN, "5002")); ev.Type != tlib.EventUnregistered {
		t.Fatalf("unregister: %s", ev.Type)
	}
	if got := s.Clients()[0]; got.Name != "rec-acme" || !slices.Equal(got.DNs, []string{"5001"}) {
		t.Errorf("after unregistering 5002: %+v", got)
	}

	_ = beta.conn.Close()
	_ = pending.conn.Close()
	testtool.Poll(t, 5*time.Second, func() (bool, string) {
		c := s.Clients()
		return len(c) == 1, fmt.Sprintf("%+v", c)
	}, "closed clients gone from the list")
}
