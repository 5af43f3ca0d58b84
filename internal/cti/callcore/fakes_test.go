package callcore

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/store"
)

// ackLink answers every request with EventACK (or, with block, waits for
// the request's ctx to end) and keeps what was sent.
type ackLink struct {
	mu    sync.Mutex
	sent  []*tlib.Message
	block bool
}

func (l *ackLink) Request(ctx context.Context, _ string, m *tlib.Message) (*tlib.Message, error) {
	l.mu.Lock()
	l.sent = append(l.sent, m.Clone())
	block := l.block
	l.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return tlib.New(tlib.EventACK), nil
}

// of returns the requests of type typ sent so far.
func (l *ackLink) of(typ tlib.MessageType) []*tlib.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*tlib.Message
	for _, m := range l.sent {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// fakeRecorder is the recorder's command side.
type fakeRecorder struct {
	mu      sync.Mutex
	pauses  []pauseChange
	recorrs []recorrelation
}

type recorrelation struct {
	id      string
	couples []store.Couple
	ext     map[string]string
}

func (r *fakeRecorder) SetPaused(recordID, recordDN string, paused bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pauses = append(r.pauses, pauseChange{recordID: recordID, dn: recordDN, paused: paused})
	return nil
}

func (r *fakeRecorder) Recorrelate(_ context.Context, id string, couples []store.Couple, ext map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recorrs = append(r.recorrs, recorrelation{id: id, couples: couples, ext: ext})
	return nil
}

func (r *fakeRecorder) pauseList() []pauseChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pauses)
}

func (r *fakeRecorder) recorrelated() []recorrelation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recorrs)
}

// memStore is Store, RetentionStore and Deleter in memory.
type memStore struct {
	mu      sync.Mutex
	rows    map[string]*store.Recording
	holds   map[string]bool
	deleted []string
}

func newMemStore() *memStore {
	return &memStore{rows: map[string]*store.Recording{}, holds: map[string]bool{}}
}

func (s *memStore) put(r store.Recording) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[r.ID] = &r
}

func (s *memStore) row(id string) (store.Recording, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return store.Recording{}, false
	}
	return *r, true
}

func (s *memStore) deletedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted)
}

func (s *memStore) CreateRecording(_ context.Context, r *store.Recording) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rows[r.ID]; ok {
		return store.ErrConflict
	}
	c := *r
	s.rows[r.ID] = &c
	return nil
}

func (s *memStore) GetRecording(_ context.Context, id string) (*store.Recording, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := *r
	return &c, nil
}

func (s *memStore) UpdateRecording(_ context.Context, r *store.Recording) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rows[r.ID]; !ok {
		return store.ErrNotFound
	}
	c := *r
	s.rows[r.ID] = &c
	return nil
}

func (s *memStore) SetRetention(_ context.Context, id string, ret store.Retention, until time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return store.ErrNotFound
	}
	r.Retention, r.KeepUntil, r.RetentionReason = ret, until, reason
	return nil
}

func (s *memStore) decide(id string, to store.Retention, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return store.ErrNotFound
	}
	if r.Retention != store.RetentionPending {
		return store.ErrNotPending
	}
	r.Retention, r.RetentionReason = to, reason
	return nil
}

func (s *memStore) KeepRecording(_ context.Context, id, reason string) error {
	return s.decide(id, store.RetentionKept, reason)
}

func (s *memStore) DiscardRecording(_ context.Context, id, reason string) error {
	return s.decide(id, store.RetentionDiscard, reason)
}

func (s *memStore) ListRecordings(_ context.Context, f store.Filter) ([]store.Recording, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Recording
	for _, r := range s.rows {
		if (f.Retention == "" || r.Retention == f.Retention) && (f.CallUUID == "" || r.CallUUID == f.CallUUID) {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b store.Recording) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *memStore) Delete(_ context.Context, r *store.Recording, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holds[r.ID] {
		return store.ErrLegalHold
	}
	delete(s.rows, r.ID)
	s.deleted = append(s.deleted, r.ID)
	return nil
}

func (s *memStore) hold(id string, on bool) {
	s.mu.Lock()
	s.holds[id] = on
	s.mu.Unlock()
}

// bubble is a Core running inside a synctest bubble: its clock is the
// bubble's, its link answers at once, its recorder and store are fakes.
type bubble struct {
	core *Core
	link *ackLink
	rec  *fakeRecorder
	st   *memStore
	done chan error // Run's result
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recordAll is a recording rule that records every DN.
func recordAll(*conversation.Call, string) conversation.Decision {
	return conversation.Decision{Record: true, Rule: "all"}
}

// startBubble runs a Core (call it inside synctest.Test); ecfg and cfg
// are completed with the bubble's fakes. The Core is closed at the end of
// the test.
func startBubble(t *testing.T, ecfg conversation.Config, cfg Config) *bubble {
	t.Helper()
	ecfg.Logger = quiet
	b := &bubble{link: &ackLink{}, rec: &fakeRecorder{}, st: newMemStore(), done: make(chan error, 1)}
	cfg.Engine = conversation.New(ecfg)
	cfg.Logger = quiet
	if cfg.Store == nil {
		cfg.Store = b.st
	}
	if cfg.Retention == nil {
		cfg.Retention = b.st
	}
	if cfg.Deleter == nil {
		cfg.Deleter = b.st
	}
	core, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.core = core
	go func() { b.done <- core.Run(context.Background(), b.link, b.rec) }()
	t.Cleanup(func() {
		_ = core.Close()
		if err := <-b.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return b
}

func (b *bubble) event(typ tlib.MessageType, dn, other string, conn tlib.ConnID, uuid string) *tlib.Message {
	m := tlib.New(typ).SetStr(tlib.AttrThisDN, dn).SetConn(tlib.AttrConnID, conn).SetStr(tlib.AttrCallUUID, uuid).
		SetInt(tlib.AttrCallType, tlib.CallTypeInbound)
	if other != "" {
		m.SetStr(tlib.AttrOtherDN, other)
	}
	return m
}

func (b *bubble) send(m *tlib.Message) { b.core.HandleEvent(server, m) }
