package link

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/testtool"
)

// TestRefresh: a DN added to the list is registered and resynchronised
// (its call reaches the Handler), a DN dropped from it is unregistered; a
// refresh without a change sends nothing.
func TestRefresh(t *testing.T) {
	srv := newFakeServer(t)
	srv.calls["5003"] = []tlib.ConnID{callA}
	dns := newDNStore()
	dns.set("sip1", "5001", "5002")
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, DNs: dns.get}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	if st := hs.c.Stats()[0]; st.Registered != 2 || st.Refreshes != 0 {
		t.Fatalf("stats %+v", st)
	}
	srv.resetRequests()
	h.reset()

	hs.c.Refresh("sip1")
	eventually(t, "no-op refresh", func() bool { return hs.c.Stats()[0].Refreshes == 1 })
	if got := srv.requests(); len(got) != 0 {
		t.Fatalf("refresh without a change sent %q", got)
	}

	dns.set("sip1", "5001", "5003", "5003") // duplicates are registered once
	hs.c.Refresh("sip1")
	eventually(t, "refresh", func() bool { return hs.c.Stats()[0].Refreshes == 2 })
	wantReqs := []string{
		"RequestUnregisterAddress 5002",
		"RequestRegisterAddress 5003",
		"RequestQueryAddress 5003", "RequestQueryCall 5003 " + callA.String(),
	}
	if got := srv.requests(); !slices.Equal(got, wantReqs) {
		t.Errorf("requests:\n got %q\nwant %q", got, wantReqs)
	}
	wantEvents := []string{"sip1: EventAddressInfo 5003", "sip1: EventPartyInfo 5003 " + callA.String()}
	eventually(t, "resync answers delivered", func() bool { return len(h.entries()) == len(wantEvents) })
	if got := h.entries(); !slices.Equal(got, wantEvents) {
		t.Errorf("handler:\n got %q\nwant %q", got, wantEvents)
	}
	if st := hs.c.Stats()[0]; st.Registered != 2 || !st.Connected || st.LinkLosses != 0 {
		t.Errorf("stats %+v", st)
	}

	// RefreshAll; an unknown server is logged and ignored.
	srv.resetRequests()
	dns.set("sip1", "5003")
	hs.c.Refresh("nope")
	hs.c.RefreshAll()
	eventually(t, "refresh all", func() bool { return hs.c.Stats()[0].Refreshes == 3 })
	if got := srv.requests(); !slices.Equal(got, []string{"RequestUnregisterAddress 5001"}) {
		t.Errorf("requests %q", got)
	}
	if !strings.Contains(hs.logs.String(), `refresh of an unknown server" server=nope`) {
		t.Error("unknown server not logged")
	}
}

// TestRefreshRefusedDN: a DN the server refuses is counted, left out of
// the registered set and tried again by the next refresh.
func TestRefreshRefusedDN(t *testing.T) {
	srv := newFakeServer(t)
	srv.refuse["5009"] = true
	dns := newDNStore()
	dns.set("sip1", "5001")
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, DNs: dns.get}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	dns.set("sip1", "5001", "5009")
	hs.c.Refresh("sip1")
	eventually(t, "refresh", func() bool { return hs.c.Stats()[0].Refreshes == 1 })
	if st := hs.c.Stats()[0]; st.Registered != 1 || st.RegisterErr != 1 {
		t.Errorf("stats %+v", st)
	}
	srv.mu.Lock()
	srv.refuse["5009"] = false
	srv.mu.Unlock()
	hs.c.Refresh("sip1")
	eventually(t, "second refresh", func() bool { return hs.c.Stats()[0].Refreshes == 2 })
	if st := hs.c.Stats()[0]; st.Registered != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestRefreshWhileDown: a refresh while the link is down sends nothing;
// the reconnect registers the current list, with no extra pass after it.
func TestRefreshWhileDown(t *testing.T) {
	// Before Run and after Close, Refresh neither blocks nor fails.
	c, err := New(Config{Servers: []Server{{Name: "sip1", Primary: "127.0.0.1:1"}}, ClientName: "x"}, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	c.Refresh("sip1")
	c.RefreshAll()
	_ = c.Close()
	c.RefreshAll()

	srv := newFakeServer(t)
	dns := newDNStore()
	dns.set("sip1", "5001")
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, DNs: dns.get, Reconnect: 7 * time.Second}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	srv.drop()
	eventually(t, "link down", func() bool { return h.count("sip1: up=false") == 1 })
	r := hs.tm.next(t)
	srv.resetRequests()
	dns.set("sip1", "5001", "5002")
	hs.c.Refresh("sip1")
	hs.c.Refresh("sip1")
	if got := srv.requests(); len(got) != 0 {
		t.Fatalf("refresh on a down link sent %q", got)
	}
	if st := hs.c.Stats()[0]; st.Registered != 0 {
		t.Errorf("registered %d while down", st.Registered)
	}
	r.fire <- time.Now()
	eventually(t, "link up again", func() bool { return h.count("sip1: up=true") == 2 })
	want := []string{"RequestRegisterClient", "RequestRegisterAddress 5001", "RequestRegisterAddress 5002",
		"RequestQueryAddress 5001", "RequestQueryAddress 5002"}
	if got := srv.requests(); !slices.Equal(got, want) {
		t.Errorf("requests after reconnect:\n got %q\nwant %q", got, want)
	}
	// The refreshes asked while down made no pass of their own: the next
	// one is the first.
	dns.set("sip1", "5002")
	hs.c.Refresh("sip1")
	eventually(t, "refresh", func() bool { return hs.c.Stats()[0].Registered == 1 })
	if st := hs.c.Stats()[0]; st.Refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", st.Refreshes)
	}
}

// TestRefreshDuringEstablish: a list changed while the connect's
// registration is in progress is applied as soon as it completes.
func TestRefreshDuringEstablish(t *testing.T) {
	srv := newFakeServer(t)
	hold := make(chan struct{})
	held := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	defer wg.Wait()
	srv.hook = func(fc *fakeConn, m *tlib.Message) bool {
		delayed := false
		if m.Type == tlib.RequestRegisterAddress && m.ThisDN() == "5001" {
			once.Do(func() {
				delayed = true
				wg.Go(func() {
					<-hold
					fc.send(t, srv.answer(m))
				})
				close(held)
			})
		}
		return delayed
	}
	dns := newDNStore()
	dns.set("sip1", "5001")
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, DNs: dns.get}, h)
	<-held
	dns.set("sip1", "5001", "5009")
	hs.c.Refresh("sip1")
	close(hold)
	eventually(t, "refresh after connect", func() bool { return hs.c.Stats()[0].Refreshes == 1 })
	want := []string{"RequestRegisterClient", "RequestRegisterAddress 5001", "RequestQueryAddress 5001",
		"RequestRegisterAddress 5009", "RequestQueryAddress 5009"}
	if got := srv.requests(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
	if st := hs.c.Stats()[0]; st.Registered != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestRefreshTimeoutResetsLink: a registration that is not answered during
// a refresh resets the link, like at connect; the reconnect registers the
// whole list.
func TestRefreshTimeoutResetsLink(t *testing.T) {
	srv := newFakeServer(t)
	var once sync.Once
	srv.hook = func(fc *fakeConn, m *tlib.Message) bool {
		swallow := false
		if m.Type == tlib.RequestRegisterAddress && m.ThisDN() == "5009" {
			once.Do(func() { swallow = true })
		}
		return swallow
	}
	dns := newDNStore()
	dns.set("sip1", "5001")
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, DNs: dns.get, RequestTimeout: 50 * time.Millisecond}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	dns.set("sip1", "5001", "5009")
	hs.c.Refresh("sip1")
	eventually(t, "link reset", func() bool { return h.count("sip1: up=false") == 1 })
	if st := hs.c.Stats()[0]; st.LinkLosses != 1 || st.Registered != 0 || st.Refreshes != 0 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(hs.logs.String(), "refreshing the DNs") || !strings.Contains(hs.logs.String(), "deadline exceeded") {
		t.Errorf("reset not logged:\n%s", hs.logs)
	}
	hs.tm.next(t).fire <- time.Now()
	eventually(t, "link up again", func() bool { return h.count("sip1: up=true") == 2 })
	if st := hs.c.Stats()[0]; st.Registered != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestRefreshConcurrent: Refresh, RefreshAll and Stats from several
// goroutines while the list changes (run with -race); the registrations
// the server saw end up equal to the final list.
func TestRefreshConcurrent(t *testing.T) {
	srv := newFakeServer(t)
	dns := newDNStore()
	all := []string{"5001", "5002", "5003", "5004", "5005", "5006", "5007", "5008"}
	dns.set("sip1", all[:4]...)
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, DNs: dns.get}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	// four goroutines in lockstep: every round has four list changes and
	// refreshes in flight at once
	rngs := make([]*rand.Rand, 4)
	for g := range rngs {
		rngs[g] = rand.New(rand.NewPCG(uint64(g), 1))
	}
	testtool.Lockstep(4, 50, func(g, _ int) {
		rng := rngs[g]
		var list []string
		for _, dn := range all {
			if rng.IntN(2) == 0 {
				list = append(list, dn)
			}
		}
		dns.set("sip1", list...)
		if rng.IntN(2) == 0 {
			hs.c.Refresh("sip1")
		} else {
			hs.c.RefreshAll()
		}
		_ = hs.c.Stats()
	})
	final := []string{"5002", "5005", "5008"}
	dns.set("sip1", final...)
	hs.c.Refresh("sip1")
	registered := func() []string {
		set := map[string]bool{}
		for _, r := range srv.requests() {
			if dn, ok := strings.CutPrefix(r, "RequestRegisterAddress "); ok {
				set[dn] = true
			} else if dn, ok := strings.CutPrefix(r, "RequestUnregisterAddress "); ok {
				delete(set, dn)
			}
		}
		var out []string
		for dn := range set {
			out = append(out, dn)
		}
		slices.Sort(out)
		return out
	}
	eventually(t, "final list registered", func() bool {
		return slices.Equal(registered(), final) && hs.c.Stats()[0].Registered == len(final)
	})
	if st := hs.c.Stats()[0]; st.LinkLosses != 0 || st.Refreshes == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestServerIdentity: each server registers with its own client
// identification when it has one; another tenant's password is never sent.
func TestServerIdentity(t *testing.T) {
	tests := []struct {
		name             string
		srv              Server
		wantName, wantPw string
	}{
		{"global identity", Server{}, "rec-global", "global-pw"},
		{"own identity", Server{ClientName: "rec-acme", Password: "acme-pw"}, "rec-acme", "acme-pw"},
		{"own name without password", Server{ClientName: "rec-beta"}, "rec-beta", ""},
		{"own password only", Server{Password: "sw-pw"}, "rec-global", "sw-pw"},
	}
	var servers []Server
	fakes := map[string]*fakeServer{}
	for i, tt := range tests {
		f := newFakeServer(t)
		s := tt.srv
		s.Name, s.Primary = fmt.Sprintf("sip%d", i), f.addr()
		servers = append(servers, s)
		fakes[s.Name] = f
	}
	h := &recorder{}
	hs := start(t, Config{Servers: servers, ClientName: "rec-global", Password: "global-pw"}, h)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("sip%d", i)
			eventually(t, "link up", func() bool { return hs.c.Connected(name) })
			f := fakes[name]
			f.mu.Lock()
			reg := f.reqs[0]
			f.mu.Unlock()
			if reg.Type != tlib.RequestRegisterClient {
				t.Fatalf("first request %s", reg.Type)
			}
			pw, hasPw := reg.List(tlib.AttrExtensions).Get("password")
			if got := reg.Str(tlib.AttrApplicationName); got != tt.wantName {
				t.Errorf("AttributeApplicationName = %q, want %q", got, tt.wantName)
			}
			if tt.wantPw == "" && hasPw {
				t.Errorf("password %q sent, want none", pw.Text())
			}
			if tt.wantPw != "" && pw.Text() != tt.wantPw {
				t.Errorf("password = %q, want %q", pw.Text(), tt.wantPw)
			}
		})
	}
}

func TestServerIdentityValidation(t *testing.T) {
	named := Server{Name: "sip1", Primary: "127.0.0.1:1", ClientName: "rec-acme"}
	anon := Server{Name: "sip2", Primary: "127.0.0.1:2"}
	c, err := New(Config{Servers: []Server{named}}, &recorder{})
	if err != nil {
		t.Fatalf("every server named, no global name: %v", err)
	}
	_ = c.Close()
	if _, err := New(Config{Servers: []Server{named, anon}}, &recorder{}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"sip2"`) {
		t.Fatalf("server without a name: %v", err)
	}
}
