package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/expire"
)

// Holds keeps legal holds: a held recording cannot be deleted. A call's
// hold holds every recording the call has and makes later.
type Holds interface {
	SetLegalHold(ctx context.Context, h store.Hold) error
	ReleaseLegalHold(ctx context.Context, id string) error
	LegalHold(ctx context.Context, id string) (store.Hold, bool, error)
	ListLegalHolds(ctx context.Context) ([]store.Hold, error)
	SetCallHold(ctx context.Context, h store.CallHold) ([]string, error)
	ReleaseCallHold(ctx context.Context, callUUID string) ([]string, error)
	ListCallHolds(ctx context.Context) ([]store.CallHold, error)
}

// Eraser deletes every recording of a party (GDPR erasure), sparing those
// on legal hold.
type Eraser interface {
	Erase(ctx context.Context, q expire.Query, actor string) (expire.Report, error)
}

// holdView is the JSON of a legal hold.
type holdView struct {
	RecordingID string    `json:"recording_id"`
	Reason      string    `json:"reason"`
	SetBy       string    `json:"set_by"`
	SetAt       time.Time `json:"set_at"`
	CallUUID    string    `json:"call_uuid,omitempty"` // the call hold it comes from
}

func newHoldView(h store.Hold) holdView {
	return holdView{RecordingID: h.RecordingID, Reason: h.Reason, SetBy: h.SetBy, SetAt: h.SetAt.UTC(), CallUUID: h.CallUUID}
}

// callHoldView is the JSON of a call's legal hold.
type callHoldView struct {
	CallUUID string    `json:"call_uuid"`
	Reason   string    `json:"reason"`
	SetBy    string    `json:"set_by"`
	SetAt    time.Time `json:"set_at"`
}

// holdRequest is POST /api/v1/holds: one recording, or every recording of
// a call.
type holdRequest struct {
	RecordingID string `json:"recording_id"`
	CallUUID    string `json:"call_uuid"`
	Reason      string `json:"reason"`
}

// listHolds: GET /api/v1/holds — the holds on recordings the user sees.
func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Holds == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "legal holds are not available on this server"))
		return
	}
	hs, err := s.cfg.Holds.ListLegalHolds(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := principalOf(r)
	out := []holdView{}
	for _, h := range hs {
		if p.user.Role != roleAdmin {
			rec, err := s.cfg.Store.GetRecording(r.Context(), h.RecordingID)
			if err != nil || !p.canSee(rec) {
				continue
			}
		}
		out = append(out, newHoldView(h))
	}
	chs, err := s.cfg.Holds.ListCallHolds(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	calls := []callHoldView{}
	for _, h := range chs {
		if p.user.Role != roleAdmin {
			ids, err := s.visibleOfCall(r.Context(), p, h.CallUUID)
			if err != nil || len(ids) == 0 {
				continue
			}
		}
		calls = append(calls, callHoldView{CallUUID: h.CallUUID, Reason: h.Reason, SetBy: h.SetBy, SetAt: h.SetAt.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "calls": calls})
}

// visibleOfCall returns the ids of call's recordings that p sees.
func (s *Server) visibleOfCall(ctx context.Context, p *principal, call string) ([]string, error) {
	f := store.Filter{CallUUID: call, Limit: 1000}
	if !p.scope(&f) {
		return nil, nil
	}
	page, err := s.cfg.Store.SearchRecordings(ctx, f)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(page.Items))
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	return ids, nil
}

// setHold: POST /api/v1/holds {"recording_id"|"call_uuid", "reason"}.
func (s *Server) setHold(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Holds == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "legal holds are not available on this server"))
		return
	}
	var req holdRequest
	if err := readJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if (req.RecordingID == "") == (req.CallUUID == "") || req.Reason == "" || utf8.RuneCountInString(req.Reason) > 500 {
		writeProblem(w, r, problemf(http.StatusBadRequest, `want {"recording_id" or "call_uuid", "reason"} (a reason of 1 to 500 characters)`))
		return
	}
	if store.CheckHoldReason(req.Reason) != nil {
		writeProblem(w, r, problemf(http.StatusBadRequest, "the reason must be one line of text, without control characters"))
		return
	}
	p := principalOf(r)
	if req.RecordingID != "" {
		rec, err := s.cfg.Store.GetRecording(r.Context(), req.RecordingID)
		if err != nil || !p.canSee(rec) {
			writeProblem(w, r, problemf(http.StatusNotFound, "no recording "+req.RecordingID))
			return
		}
		if err := s.cfg.Holds.SetLegalHold(r.Context(), store.Hold{RecordingID: rec.ID, Reason: req.Reason, SetBy: p.user.Name, SetAt: s.cfg.Now()}); err != nil {
			s.fail(w, r, err)
			return
		}
		s.record(r, store.AuditEntry{Action: store.AuditLegalHold, RecordingID: rec.ID, Detail: req.Reason})
		writeJSON(w, http.StatusOK, map[string]any{"held": []string{rec.ID}})
		return
	}
	// A call: every recording it has (one of them visible to p) and makes
	// later.
	visible, err := s.visibleOfCall(r.Context(), p, req.CallUUID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(visible) == 0 {
		writeProblem(w, r, problemf(http.StatusNotFound, "no recording of call "+req.CallUUID))
		return
	}
	ids, err := s.cfg.Holds.SetCallHold(r.Context(), store.CallHold{CallUUID: req.CallUUID, Reason: req.Reason, SetBy: p.user.Name, SetAt: s.cfg.Now()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.record(r, store.AuditEntry{Action: store.AuditLegalHold, Detail: "call " + req.CallUUID + ": " + req.Reason})
	for _, id := range ids {
		s.record(r, store.AuditEntry{Action: store.AuditLegalHold, RecordingID: id, Detail: req.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"held": visible, "call_uuid": req.CallUUID})
}

// releaseCallHold: DELETE /api/v1/holds/call/{uuid} — the call's hold and
// the holds it made (recordings on their own hold keep it).
func (s *Server) releaseCallHold(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Holds == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "legal holds are not available on this server"))
		return
	}
	call := r.PathValue("uuid")
	visible, err := s.visibleOfCall(r.Context(), principalOf(r), call)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(visible) == 0 {
		writeProblem(w, r, problemf(http.StatusNotFound, "no recording of call "+call))
		return
	}
	ids, err := s.cfg.Holds.ReleaseCallHold(r.Context(), call)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, problemf(http.StatusNotFound, "call "+call+" is not on legal hold"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.record(r, store.AuditEntry{Action: store.AuditHoldRelease, Detail: "call " + call})
	for _, id := range ids {
		s.record(r, store.AuditEntry{Action: store.AuditHoldRelease, RecordingID: id})
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"released": ids})
}

// releaseHold: DELETE /api/v1/holds/{id}.
func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Holds == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "legal holds are not available on this server"))
		return
	}
	rec, ok := s.visibleRecording(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Holds.ReleaseLegalHold(r.Context(), rec.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, r, problemf(http.StatusNotFound, "recording "+rec.ID+" is not on legal hold"))
			return
		}
		s.fail(w, r, err)
		return
	}
	s.record(r, store.AuditEntry{Action: store.AuditHoldRelease, RecordingID: rec.ID})
	w.WriteHeader(http.StatusNoContent)
}

// erase: POST /api/v1/admin/erasure {"ani"|"dn"|"agent", "tenant"} — every
// finished recording of that party deleted, except those on legal hold.
func (s *Server) erase(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Eraser == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "erasure is not available on this server"))
		return
	}
	var q expire.Query
	if err := readJSON(w, r, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.cfg.Eraser.Erase(r.Context(), q, principalOf(r).user.Name)
	if errors.Is(err, expire.ErrQuery) {
		writeProblem(w, r, problemf(http.StatusBadRequest, err.Error()))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// holdOf returns the hold on id for a recording's detail (nil = none).
func (s *Server) holdOf(ctx context.Context, id string) *holdView {
	if s.cfg.Holds == nil {
		return nil
	}
	h, ok, err := s.cfg.Holds.LegalHold(ctx, id)
	if err != nil || !ok {
		return nil
	}
	v := newHoldView(h)
	return &v
}
