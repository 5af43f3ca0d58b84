package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

const (
	callA tlib.ConnID = 0x006502a8c4e1b001
	callB tlib.ConnID = 0x006502a8c4e1b002
)

func TestNewValidates(t *testing.T) {
	h := &recorder{}
	ok := Server{Name: "sip1", Primary: "127.0.0.1:1"}
	tests := []struct {
		name string
		cfg  Config
		h    Handler
	}{
		{"no servers", Config{ClientName: "x"}, h},
		{"no client name", Config{Servers: []Server{ok}}, h},
		{"nil handler", Config{Servers: []Server{ok}, ClientName: "x"}, nil},
		{"no primary", Config{Servers: []Server{{Name: "sip1"}}, ClientName: "x"}, h},
		{"no name", Config{Servers: []Server{{Primary: "127.0.0.1:1"}}, ClientName: "x"}, h},
		{"duplicate", Config{Servers: []Server{ok, ok}, ClientName: "x"}, h},
		{"negative queue", Config{Servers: []Server{ok}, ClientName: "x", QueueSize: -1}, h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, tt.h); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
	c, err := New(Config{Servers: []Server{ok}, ClientName: "x"}, h)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Reconnect != DefaultReconnect || c.cfg.QueueSize != DefaultQueueSize {
		t.Errorf("defaults: reconnect %v queue %d", c.cfg.Reconnect, c.cfg.QueueSize)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCallsOf(t *testing.T) {
	tests := []struct {
		name string
		m    *tlib.Message
		want []tlib.ConnID
	}{
		{"none", tlib.New(tlib.EventAddressInfo), nil},
		{"extensions", tlib.New(tlib.EventAddressInfo).SetList(tlib.AttrExtensions, CallsList([]tlib.ConnID{callA, callB})), []tlib.ConnID{callA, callB}},
		{"other keys ignored", tlib.New(tlib.EventAddressInfo).SetList(tlib.AttrExtensions,
			tlib.KVList(nil).Set("status", "4").Set("conn-1", callB.String()).Set("conn-x", "zz").Set("conn", "1")), []tlib.ConnID{callB}},
		{"calls-query form", tlib.New(tlib.EventAddressInfo).SetConn(tlib.AttrConnID, callA).SetConn(tlib.AttrPreviousConnID, callB), []tlib.ConnID{callA, callB}},
		{"deduplicated", tlib.New(tlib.EventAddressInfo).SetList(tlib.AttrExtensions, CallsList([]tlib.ConnID{callA})).SetConn(tlib.AttrConnID, callA), []tlib.ConnID{callA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CallsOf(tt.m); !slices.Equal(got, tt.want) {
				t.Fatalf("CallsOf = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRegistrationAndResync checks the sequence on connect: client, DNs,
// address queries, call queries, answers delivered, then LinkState up.
func TestRegistrationAndResync(t *testing.T) {
	srv := newFakeServer(t)
	srv.calls["5001"] = []tlib.ConnID{callA, callB}
	srv.refuse["5003"] = true
	h := &recorder{}
	hs := start(t, Config{
		Servers: []Server{{Name: "sip1", Primary: srv.addr()}},
		DNs:     dnList(map[string][]string{"sip1": {"5001", "5002", "5003"}}),
	}, h)
	eventually(t, "link up", func() bool { return h.count("sip1: up=true") == 1 })
	if !hs.c.Connected("sip1") {
		t.Error("Connected = false after LinkState up")
	}
	wantReqs := []string{
		"RequestRegisterClient",
		"RequestRegisterAddress 5001", "RequestRegisterAddress 5002", "RequestRegisterAddress 5003",
		"RequestQueryAddress 5001", "RequestQueryAddress 5002",
		"RequestQueryCall 5001 " + callA.String(), "RequestQueryCall 5001 " + callB.String(),
	}
	if got := srv.requests(); !slices.Equal(got, wantReqs) {
		t.Errorf("requests:\n got %q\nwant %q", got, wantReqs)
	}
	wantEvents := []string{
		"sip1: EventAddressInfo 5001", "sip1: EventAddressInfo 5002",
		"sip1: EventPartyInfo 5001 " + callA.String(), "sip1: EventPartyInfo 5001 " + callB.String(),
		"sip1: up=true",
	}
	if got := h.entries(); !slices.Equal(got, wantEvents) {
		t.Errorf("handler:\n got %q\nwant %q", got, wantEvents)
	}

	srv.mu.Lock()
	reqs := slices.Clone(srv.reqs)
	srv.mu.Unlock()
	seen := map[int64]bool{}
	for _, m := range reqs {
		ref := m.ReferenceID()
		if ref <= 0 || seen[ref] {
			t.Errorf("%s: ReferenceID %d not unique and positive", m.Type, ref)
		}
		seen[ref] = true
		switch m.Type {
		case tlib.RequestRegisterClient:
			if got := m.Str(tlib.AttrApplicationName); got != "openrec-test" {
				t.Errorf("AttributeApplicationName = %q", got)
			}
		case tlib.RequestRegisterAddress:
			if v, ok := m.Int(tlib.AttrRegisterMode); !ok || v != 0 {
				t.Errorf("RegisterMode = %d, %v", v, ok)
			}
		case tlib.RequestQueryAddress:
			if v, _ := m.Int(tlib.AttrAddressInfoType); v != AddressInfoDNStatus {
				t.Errorf("AddressInfoType = %d", v)
			}
		}
	}
	st := hs.c.Stats()
	if len(st) != 1 || st[0].RegisterErr != 1 || st[0].Connects != 1 || !st[0].Connected {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(hs.logs.String(), "DN not registered") {
		t.Error("refused DN not logged")
	}
}

func TestPasswordAndRefusedClient(t *testing.T) {
	srv := newFakeServer(t)
	srv.refused = true
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, Password: "s3cret"}, h)
	// Refused registration is a failed attempt: the client waits, then retries.
	if r := hs.tm.next(t); r.d != DefaultReconnect {
		t.Errorf("reconnect wait %v, want %v", r.d, DefaultReconnect)
	}
	srv.mu.Lock()
	first := srv.reqs[0]
	srv.mu.Unlock()
	if got := first.List(tlib.AttrExtensions).String("password"); got != "s3cret" {
		t.Errorf("password extension = %q", got)
	}
	if hs.c.Connected("sip1") || h.count("sip1: up=true") != 0 {
		t.Error("link reported up although the client was refused")
	}
	if st := hs.c.Stats()[0]; st.Failures != 1 {
		t.Errorf("failures = %d", st.Failures)
	}
}

func TestEventsDeliveredInOrder(t *testing.T) {
	srv := newFakeServer(t)
	h := &recorder{}
	start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}}, h)
	eventually(t, "link up", func() bool { return h.count("sip1: up=true") == 1 })
	h.reset()
	const n = 2000
	fc := srv.last()
	go func() {
		for i := 1; i <= n; i++ {
			fc.send(t, tlib.New(tlib.EventRinging).SetStr(tlib.AttrThisDN, "5001").SetInt(tlib.AttrEventSequenceNumber, int64(i)))
		}
	}()
	eventually(t, "events", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.msgs) == n
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, m := range h.msgs {
		if seq, _ := m.Int(tlib.AttrEventSequenceNumber); seq != int64(i+1) {
			t.Fatalf("event %d has sequence %d", i, seq)
		}
	}
}

// TestRequestCorrelation answers concurrent requests in reverse order and
// checks each caller gets its own answer.
func TestRequestCorrelation(t *testing.T) {
	srv := newFakeServer(t)
	const n = 40
	var (
		mu   sync.Mutex
		held []*tlib.Message
	)
	srv.hook = func(fc *fakeConn, m *tlib.Message) bool {
		if m.Type != tlib.RequestPrivateService {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		held = append(held, m)
		if len(held) == n {
			for i := len(held) - 1; i >= 0; i-- {
				fc.send(t, srv.answer(held[i]))
			}
		}
		return true
	}
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dn := fmt.Sprintf("50%02d", i)
			req := tlib.New(tlib.RequestPrivateService).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrPrivateMsgID, 3013)
			resp, err := hs.c.Request(context.Background(), "sip1", req)
			switch {
			case err != nil:
				errs <- err
			case resp.Type != tlib.EventACK || resp.ThisDN() != dn:
				errs <- fmt.Errorf("request for %s got %s", dn, describe(resp))
			case req.Has(tlib.AttrReferenceID):
				errs <- errors.New("caller's message was modified")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// EventACK answers are not call events: the Handler does not get them.
	for _, e := range h.entries() {
		if strings.Contains(e, "EventACK") {
			t.Errorf("handler got %s", e)
		}
	}

	// An answer that is also a call event goes to both.
	ud := tlib.KVList(nil).Set("RECORDING_STATUS_GIM", "RECORDING_YES")
	resp, err := hs.c.Request(context.Background(), "sip1", tlib.New(tlib.RequestUpdateUserData).
		SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, callA).SetList(tlib.AttrUserData, ud))
	if err != nil || resp.Type != tlib.EventAttachedDataChanged {
		t.Fatalf("UpdateUserData: %v, %v", resp, err)
	}
	eventually(t, "EventAttachedDataChanged delivered", func() bool {
		return h.count("sip1: EventAttachedDataChanged 5001 "+callA.String()) == 1
	})
}

func TestEventErrorMapping(t *testing.T) {
	srv := newFakeServer(t)
	srv.hook = func(fc *fakeConn, m *tlib.Message) bool {
		if m.Type != tlib.RequestPrivateService {
			return false
		}
		id, _ := m.Int(tlib.AttrPrivateMsgID)
		switch id {
		case 1:
			fc.send(t, errMsg(m.ReferenceID(), 71, "DN not found"))
		case 2:
			fc.send(t, errMsg(m.ReferenceID(), 1102, ""))
		default:
			fc.send(t, tlib.New(tlib.EventACK).SetInt(tlib.AttrReferenceID, m.ReferenceID()))
		}
		return true
	}
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	tests := []struct {
		id   int64
		want *Error
		text string
	}{
		{1, &Error{Code: 71, Message: "DN not found"}, "cti: EventError 71: DN not found"},
		{2, &Error{Code: 1102}, "cti: EventError 1102"},
		{3, nil, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.id), func(t *testing.T) {
			_, err := hs.c.Request(context.Background(), "sip1", tlib.New(tlib.RequestPrivateService).SetInt(tlib.AttrPrivateMsgID, tt.id))
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || *e != *tt.want || err.Error() != tt.text {
				t.Fatalf("err = %v (%#v), want %#v", err, e, tt.want)
			}
		})
	}
	if h.count("sip1: EventError") != 0 {
		t.Error("a correlated EventError reached the Handler")
	}
}

func TestRequestFailures(t *testing.T) {
	srv := newFakeServer(t)
	got := make(chan *tlib.Message, 4)
	srv.hook = func(fc *fakeConn, m *tlib.Message) bool {
		if m.Type == tlib.RequestPrivateService {
			got <- m // never answered
			return true
		}
		return false
	}
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}, {Name: "sip2", Primary: "127.0.0.1:1"}}}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	req := tlib.New(tlib.RequestPrivateService)

	t.Run("unknown server", func(t *testing.T) {
		if _, err := hs.c.Request(context.Background(), "nope", req); !errors.Is(err, ErrUnknownServer) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not connected", func(t *testing.T) {
		if _, err := hs.c.Request(context.Background(), "sip2", req); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := hs.c.Request(ctx, "sip1", req); done <- err }()
		<-got
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		cn := hs.c.byID["sip1"].cur.Load()
		cn.pmu.Lock()
		n := len(cn.pending)
		cn.pmu.Unlock()
		if n != 0 {
			t.Fatalf("%d requests still pending after cancel", n)
		}
	})
	t.Run("link lost", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { _, err := hs.c.Request(context.Background(), "sip1", req); done <- err }()
		<-got
		srv.drop()
		if err := <-done; !errors.Is(err, ErrLinkDown) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPrimaryDownUsesBackup(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	backup := newFakeServer(t)
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: deadAddr, Backup: backup.addr()}}}, h)
	eventually(t, "link up via backup", func() bool { return hs.c.Connected("sip1") })
	select {
	case r := <-hs.tm.reqs:
		t.Errorf("waited %v before trying the backup", r.d)
	default:
	}
	if st := hs.c.Stats()[0]; st.Failures != 1 || st.Connects != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(hs.logs.String(), deadAddr) {
		t.Error("failed primary not logged")
	}
}

// TestReconnectResync: link loss → LinkState false → reconnect after the
// configured wait, to the other address → re-register and resync, whose
// answers reflect what changed meanwhile.
func TestReconnectResync(t *testing.T) {
	primary, backup := newFakeServer(t), newFakeServer(t)
	primary.calls["5001"] = []tlib.ConnID{callA}
	backup.calls["5002"] = []tlib.ConnID{callB} // the call moved while the link was down
	h := &recorder{}
	hs := start(t, Config{
		Servers:   []Server{{Name: "sip1", Primary: primary.addr(), Backup: backup.addr()}},
		DNs:       dnList(map[string][]string{"sip1": {"5001", "5002"}}),
		Reconnect: 7 * time.Second,
	}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	primary.last().send(t, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, callA))
	eventually(t, "event", func() bool { return h.count("sip1: EventEstablished 5001 "+callA.String()) == 1 })

	primary.close()
	eventually(t, "link down", func() bool { return h.count("sip1: up=false") == 1 })
	if hs.c.Connected("sip1") {
		t.Error("Connected after link loss")
	}
	r := hs.tm.next(t)
	if r.d != 7*time.Second {
		t.Errorf("reconnect wait %v, want 7s", r.d)
	}
	if len(backup.requests()) != 0 {
		t.Fatal("reconnected before the wait ended")
	}
	h.reset()
	r.fire <- time.Now()
	eventually(t, "link up again", func() bool { return h.count("sip1: up=true") == 1 })
	wantReqs := []string{
		"RequestRegisterClient", "RequestRegisterAddress 5001", "RequestRegisterAddress 5002",
		"RequestQueryAddress 5001", "RequestQueryAddress 5002", "RequestQueryCall 5002 " + callB.String(),
	}
	if got := backup.requests(); !slices.Equal(got, wantReqs) {
		t.Errorf("requests after reconnect:\n got %q\nwant %q", got, wantReqs)
	}
	wantEvents := []string{"sip1: EventAddressInfo 5001", "sip1: EventAddressInfo 5002", "sip1: EventPartyInfo 5002 " + callB.String(), "sip1: up=true"}
	if got := h.entries(); !slices.Equal(got, wantEvents) {
		t.Errorf("handler after reconnect:\n got %q\nwant %q", got, wantEvents)
	}
	st := hs.c.Stats()[0]
	if st.LinkLosses != 1 || st.Connects != 2 {
		t.Errorf("stats = %+v", st)
	}

	// The backup fails too: the next round starts with the primary again
	// (which is gone), then the backup, after one more wait.
	backup.resetRequests()
	backup.drop()
	r = hs.tm.next(t)
	r.fire <- time.Now()
	eventually(t, "link up on backup", func() bool { return h.count("sip1: up=true") == 2 })
	if st := hs.c.Stats()[0]; st.Failures != 1 {
		t.Errorf("failures = %d, want 1 (the primary)", st.Failures)
	}
}

// TestQueueOverflow: a stuck Handler fills the bounded queue; the link is
// reset (logged, counted), what was queued is still delivered in order,
// then LinkState false, and the link comes back after the wait.
func TestQueueOverflow(t *testing.T) {
	srv := newFakeServer(t)
	gate := make(chan struct{})
	h := &recorder{gate: gate}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, QueueSize: 4}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	fc := srv.last()
	const n = 20
	for i := 1; i <= n; i++ {
		fc.send(t, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").SetInt(tlib.AttrEventSequenceNumber, int64(i)))
	}
	eventually(t, "overflow counted", func() bool { return hs.c.Stats()[0].Overflows == 1 })
	if !strings.Contains(hs.logs.String(), "event queue full") {
		t.Error("overflow not logged")
	}
	if hs.c.Connected("sip1") {
		t.Error("Connected after overflow")
	}
	close(gate)
	eventually(t, "link down", func() bool { return h.count("sip1: up=false") == 1 })
	h.mu.Lock()
	got := len(h.msgs)
	for i, m := range h.msgs {
		if seq, _ := m.Int(tlib.AttrEventSequenceNumber); seq != int64(i+1) {
			t.Errorf("event %d has sequence %d", i, seq)
		}
	}
	h.mu.Unlock()
	// At most one event in the Handler plus QueueSize queued.
	if got == 0 || got > 5 {
		t.Errorf("%d events delivered, want 1..5", got)
	}
	if e := h.entries(); e[len(e)-1] != "sip1: up=false" {
		t.Errorf("last entry %q, want LinkState false after the queued events", e[len(e)-1])
	}
	hs.tm.next(t).fire <- time.Now()
	eventually(t, "link up again", func() bool { return h.count("sip1: up=true") == 2 })
}

func TestReconnectOff(t *testing.T) {
	srv := newFakeServer(t)
	h := &recorder{}
	hs := start(t, Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, Reconnect: -1}, h)
	eventually(t, "link up", func() bool { return hs.c.Connected("sip1") })
	srv.drop()
	select {
	case err := <-hs.runErr:
		if !errors.Is(err, ErrGaveUp) {
			t.Fatalf("Run = %v, want ErrGaveUp", err)
		}
		hs.runErr <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if h.count("sip1: up=false") != 1 {
		t.Error("no LinkState false")
	}
}

func TestCloseAndRun(t *testing.T) {
	srv := newFakeServer(t)
	srv.hook = func(fc *fakeConn, m *tlib.Message) bool { return m.Type == tlib.RequestPrivateService }
	h := &recorder{}
	c, err := New(Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, ClientName: "x"}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	eventually(t, "link up", func() bool { return c.Connected("sip1") })
	if err := c.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := c.Request(context.Background(), "sip1", tlib.New(tlib.RequestPrivateService))
		pending <- err
	}()
	eventually(t, "request sent", func() bool { return slices.Contains(srv.requests(), "RequestPrivateService") })

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run after Close = %v", err)
	}
	if err := <-pending; !errors.Is(err, ErrLinkDown) {
		t.Errorf("pending request = %v, want ErrLinkDown", err)
	}
	if h.count("sip1: up=false") != 1 {
		t.Error("no LinkState false on Close")
	}
	if _, err := c.Request(context.Background(), "sip1", tlib.New(tlib.RequestPrivateService)); !errors.Is(err, ErrClosed) {
		t.Errorf("Request after Close = %v", err)
	}
	if err := c.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v", err)
	}
	cancel()

	// Run stopped by its context returns nil too.
	c2, _ := New(Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, ClientName: "x"}, &recorder{})
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { runErr <- c2.Run(ctx2) }()
	eventually(t, "c2 up", func() bool { return c2.Connected("sip1") })
	cancel2()
	if err := <-runErr; err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
	_ = c2.Close()
}

// reqHandler sends a request from inside HandleEvent, as the conversation
// wiring does (RequestPrivateService on EventEstablished).
type reqHandler struct {
	recorder
	c    *Client
	acks chan error
}

func (h *reqHandler) HandleEvent(server string, m *tlib.Message) {
	h.recorder.HandleEvent(server, m)
	if m.Type == tlib.EventEstablished {
		_, err := h.c.Request(context.Background(), server, tlib.New(tlib.RequestPrivateService).
			SetStr(tlib.AttrThisDN, m.ThisDN()).SetConn(tlib.AttrConnID, m.ConnID()).SetInt(tlib.AttrPrivateMsgID, 3013))
		h.acks <- err
	}
}

func TestHandlerMayRequest(t *testing.T) {
	srv := newFakeServer(t)
	h := &reqHandler{acks: make(chan error, 1)}
	c, err := New(Config{Servers: []Server{{Name: "sip1", Primary: srv.addr()}}, ClientName: "x"}, h)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	defer func() { _ = c.Close(); <-done }()
	eventually(t, "link up", func() bool { return c.Connected("sip1") })
	srv.last().send(t, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").SetConn(tlib.AttrConnID, callA))
	select {
	case err := <-h.acks:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request from the Handler did not complete")
	}
	if !slices.Contains(srv.requests(), "RequestPrivateService 5001 "+callA.String()) {
		t.Errorf("requests = %q", srv.requests())
	}
}
