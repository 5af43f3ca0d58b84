package link

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/testtool"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeServer is a minimal SIP Server speaking tlib frames on 127.0.0.1.
type fakeServer struct {
	t  *testing.T
	ln net.Listener
	wg sync.WaitGroup

	mu      sync.Mutex
	conns   []*fakeConn
	reqs    []*tlib.Message
	calls   map[string][]tlib.ConnID // DN → calls listed by EventAddressInfo
	refuse  map[string]bool          // DNs whose registration is refused
	hook    func(fc *fakeConn, m *tlib.Message) bool
	refused bool // answer RequestRegisterClient with EventError
}

type fakeConn struct {
	nc  net.Conn
	wmu sync.Mutex
	bw  *bufio.Writer
}

func (fc *fakeConn) send(t *testing.T, m *tlib.Message) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	if err := tlib.WriteMessage(fc.bw, m); err == nil {
		_ = fc.bw.Flush()
	}
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, calls: map[string][]tlib.ConnID{}, refuse: map[string]bool{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		fc := &fakeConn{nc: nc, bw: bufio.NewWriter(nc)}
		s.mu.Lock()
		s.conns = append(s.conns, fc)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(fc)
	}
}

func (s *fakeServer) serve(fc *fakeConn) {
	defer s.wg.Done()
	defer fc.nc.Close()
	br := bufio.NewReader(fc.nc)
	for {
		m, err := tlib.ReadMessage(br)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, m)
		hook := s.hook
		s.mu.Unlock()
		if hook != nil && hook(fc, m) {
			continue
		}
		fc.send(s.t, s.answer(m))
	}
}

// answer is the default behaviour of the fake.
func (s *fakeServer) answer(m *tlib.Message) *tlib.Message {
	ref := m.ReferenceID()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Type {
	case tlib.RequestRegisterClient:
		if s.refused {
			return errMsg(ref, 57, "client not allowed")
		}
		return tlib.New(tlib.EventServerConnected).SetInt(tlib.AttrReferenceID, ref)
	case tlib.RequestRegisterAddress:
		if s.refuse[m.ThisDN()] {
			return errMsg(ref, 71, "unknown DN")
		}
		return tlib.New(tlib.EventRegistered).SetInt(tlib.AttrReferenceID, ref).SetStr(tlib.AttrThisDN, m.ThisDN())
	case tlib.RequestUnregisterAddress:
		return tlib.New(tlib.EventUnregistered).SetInt(tlib.AttrReferenceID, ref).SetStr(tlib.AttrThisDN, m.ThisDN())
	case tlib.RequestQueryAddress:
		r := tlib.New(tlib.EventAddressInfo).SetInt(tlib.AttrReferenceID, ref).SetStr(tlib.AttrThisDN, m.ThisDN()).
			SetInt(tlib.AttrAddressInfoType, AddressInfoDNStatus)
		if ids := s.calls[m.ThisDN()]; len(ids) > 0 {
			r.SetList(tlib.AttrExtensions, CallsList(ids))
		}
		return r
	case tlib.RequestQueryCall:
		return tlib.New(tlib.EventPartyInfo).SetInt(tlib.AttrReferenceID, ref).SetStr(tlib.AttrThisDN, m.ThisDN()).
			SetConn(tlib.AttrConnID, m.ConnID())
	case tlib.RequestUpdateUserData:
		return tlib.New(tlib.EventAttachedDataChanged).SetInt(tlib.AttrReferenceID, ref).SetStr(tlib.AttrThisDN, m.ThisDN()).
			SetConn(tlib.AttrConnID, m.ConnID()).SetList(tlib.AttrUserData, m.UserData())
	case tlib.RequestPrivateService:
		return tlib.New(tlib.EventACK).SetInt(tlib.AttrReferenceID, ref).SetStr(tlib.AttrThisDN, m.ThisDN())
	}
	return errMsg(ref, 40, "not supported")
}

func errMsg(ref int64, code int64, text string) *tlib.Message {
	m := tlib.New(tlib.EventError).SetInt(tlib.AttrReferenceID, ref).SetInt(tlib.AttrErrorCode, code)
	if text != "" {
		m.SetStr(tlib.AttrErrorMessage, text)
	}
	return m
}

// requests returns the requests received so far, as "Type DN [ConnID]".
func (s *fakeServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.reqs))
	for _, m := range s.reqs {
		out = append(out, describe(m))
	}
	return out
}

func (s *fakeServer) resetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// last returns the newest connection.
func (s *fakeServer) last() *fakeConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) == 0 {
		return nil
	}
	return s.conns[len(s.conns)-1]
}

// drop closes every connection (link loss as the client sees it).
func (s *fakeServer) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fc := range s.conns {
		_ = fc.nc.Close()
	}
}

func (s *fakeServer) close() {
	_ = s.ln.Close()
	s.drop()
	s.wg.Wait()
}

func describe(m *tlib.Message) string {
	s := m.Type.String()
	if dn := m.ThisDN(); dn != "" {
		s += " " + dn
	}
	if id := m.ConnID(); id != 0 {
		s += " " + id.String()
	}
	return s
}

// recorder is a Handler that records what it gets.
type recorder struct {
	mu   sync.Mutex
	log  []string
	msgs []*tlib.Message
	gate chan struct{} // when set, HandleEvent of EventEstablished waits on it
}

func (r *recorder) HandleEvent(server string, m *tlib.Message) {
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	if gate != nil && m.Type == tlib.EventEstablished {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, server+": "+describe(m))
	r.msgs = append(r.msgs, m)
}

func (r *recorder) LinkState(server string, up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf("%s: up=%v", server, up))
}

func (r *recorder) entries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.log, r.msgs = nil, nil
	r.mu.Unlock()
}

func (r *recorder) count(s string) int {
	n := 0
	for _, e := range r.entries() {
		if e == s {
			n++
		}
	}
	return n
}

// timers is an injected Config.After: every wait is reported on reqs and
// fires only when the test says so.
type timers struct{ reqs chan timerReq }

type timerReq struct {
	d    time.Duration
	fire chan time.Time
}

func newTimers() *timers { return &timers{reqs: make(chan timerReq, 64)} }

func (tm *timers) After(d time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	tm.reqs <- timerReq{d, c}
	return c
}

// next waits for the client to start a reconnect wait.
func (tm *timers) next(t *testing.T) timerReq {
	t.Helper()
	select {
	case r := <-tm.reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect wait started")
		return timerReq{}
	}
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testtool.Eventually(t, 5*time.Second, cond, "waiting for %s", what)
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a client against servers until the test ends.
type harness struct {
	c      *Client
	h      *recorder
	tm     *timers
	logs   *syncBuf
	runErr chan error
}

func start(t *testing.T, cfg Config, h *recorder) *harness {
	t.Helper()
	hs := &harness{h: h, tm: newTimers(), logs: &syncBuf{}, runErr: make(chan error, 1)}
	if cfg.ClientName == "" {
		cfg.ClientName = "openrec-test"
	}
	if cfg.After == nil {
		cfg.After = hs.tm.After
	}
	cfg.Logger = slog.New(slog.NewTextHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	hs.c = c
	go func() { hs.runErr <- c.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = c.Close()
		select {
		case <-hs.runErr:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return hs
}

func dnList(m map[string][]string) func(string) []string {
	return func(s string) []string { return m[s] }
}

// dnStore is a Config.DNs whose lists the test changes while the client
// runs (as a configuration reload does).
type dnStore struct {
	mu sync.Mutex
	m  map[string][]string
}

func newDNStore() *dnStore { return &dnStore{m: map[string][]string{}} }

func (d *dnStore) set(server string, dns ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[server] = dns
}

func (d *dnStore) get(server string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.m[server])
}
