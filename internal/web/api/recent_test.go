package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

type countingAudit struct{ n int }

func (c *countingAudit) AppendAudit(context.Context, store.AuditEntry) (int64, error) {
	c.n++
	return int64(c.n), nil
}

func (c *countingAudit) ListAudit(context.Context, store.AuditFilter) ([]store.AuditEntry, error) {
	return nil, nil
}

// The table that folds repeated accesses into one audit entry stays
// bounded when one session sends many different searches within the
// window (it used to grow without limit: memory for the asking), and
// every access past the bound is still audited.
func TestRecentAuditBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	a := &countingAudit{}
	s := &Server{cfg: Config{Audit: a, Now: func() time.Time { return t0 }}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := httptest.NewRequest("GET", "/api/v1/recordings", nil)
	const n = recentAuditMax + 200
	for i := range n {
		q := "dn=" + strconv.Itoa(i)
		s.recordOnce(r, q, store.AuditEntry{Action: store.AuditSearch, Detail: q})
	}
	if got := len(s.recent.seen); got > recentAuditMax {
		t.Errorf("%d remembered accesses, want at most %d", got, recentAuditMax)
	}
	if a.n != n {
		t.Errorf("%d audit entries for %d different searches, want one each", a.n, n)
	}
	s.recordOnce(r, "dn=0", store.AuditEntry{Action: store.AuditSearch, Detail: "dn=0"})
	if a.n != n {
		t.Errorf("a repeated search within the window audited again")
	}
}
