package link

import (
	"slices"
	"testing"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim"
)

// TestRefreshWithSimulator runs the client against the real SIP Server
// simulator: it registers with the server's own client identification;
// after the DN list changed, Refresh moves the registration (the
// simulator's view), learns the call already on the new DN and gets its
// events, and no longer gets the dropped DN's.
func TestRefreshWithSimulator(t *testing.T) {
	const sw = "SW1"
	dn := func(n string) ccdata.DN { return ccdata.DN{Number: n, Switch: sw, Type: ccdata.TypeExtension} }
	csim, err := sim.New(sim.Config{Switch: sw, Seed: 3, Config: &ccdata.Data{
		Tenants:  []ccdata.Tenant{{DBID: 1, Name: "Acme"}},
		Switches: []ccdata.Switch{{DBID: 11, Name: sw, TenantDBID: 1}},
		DNs:      []ccdata.DN{dn("5001"), dn("5002"), dn("5003"), dn("5004")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := csim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csim.Close() })

	dns := newDNStore()
	dns.set("sip1", "5001")
	h := &recorder{}
	hs := start(t, Config{
		ClientName: "rec-global", Password: "global-pw",
		Servers: []Server{{Name: "sip1", Switch: sw, Primary: csim.Addr(), ClientName: "rec-acme", Password: "acme-pw"}},
		DNs:     dns.get,
	}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	cl := csim.Clients()
	if len(cl) != 1 || cl[0].Name != "rec-acme" || cl[0].Password != "acme-pw" || cl[0].Switch != sw || !slices.Equal(cl[0].DNs, []string{"5001"}) {
		t.Fatalf("simulator's clients: %+v", cl)
	}

	// A call on DNs not monitored yet.
	step := func(st sim.Step) {
		t.Helper()
		if err := csim.Step(st); err != nil {
			t.Fatal(err)
		}
	}
	step(sim.Step{Action: sim.ActDial, Call: "c1", DN: "5002", To: "5003"})
	step(sim.Step{Action: sim.ActAnswer, Call: "c1", DN: "5003"})
	c1, _ := csim.Call("c1")
	h.reset()

	dns.set("sip1", "5002")
	hs.c.Refresh("sip1")
	eventually(t, "refresh", func() bool { return hs.c.Stats()[0].Refreshes == 1 })
	if cl := csim.Clients(); len(cl) != 1 || !slices.Equal(cl[0].DNs, []string{"5002"}) {
		t.Fatalf("simulator's registrations after refresh: %+v", cl)
	}
	want := []string{"sip1: EventAddressInfo 5002", "sip1: EventPartyInfo 5002 " + c1.ConnID.String()}
	eventually(t, "resync of 5002", func() bool { return len(h.entries()) >= len(want) })
	if got := h.entries(); !slices.Equal(got, want) {
		t.Fatalf("handler after refresh:\n got %q\nwant %q", got, want)
	}

	// The dropped DN's call is not delivered; the new DN's release is.
	h.reset()
	step(sim.Step{Action: sim.ActDial, Call: "c2", DN: "5001", To: "5004"})
	step(sim.Step{Action: sim.ActRelease, Call: "c1", DN: "5002"})
	marker := "sip1: EventReleased 5002 " + c1.ConnID.String()
	eventually(t, "release of c1 at 5002", func() bool { return h.count(marker) == 1 })
	// The Sim distributes in order on the connection: a 5001 event would
	// have come before the release.
	if got := h.entries(); !slices.Equal(got, []string{marker}) {
		t.Errorf("handler got %q, want only %q (5001 is no longer registered)", got, marker)
	}
	if st := hs.c.Stats()[0]; st.Registered != 1 || st.LinkLosses != 0 {
		t.Errorf("stats %+v", st)
	}
}
