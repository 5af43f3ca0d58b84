package api

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/openrec/openrec/internal/store"
)

// LiveCall is a recording in progress (recorder side).
type LiveCall struct {
	RecordingID string        `json:"recording_id"`
	CallUUID    string        `json:"call_uuid"`
	RecordID    string        `json:"record_id"`
	RecordedDN  string        `json:"recorded_dn"`
	OtherDN     string        `json:"other_dn"`
	Mode        string        `json:"mode"`
	StartedAt   time.Time     `json:"started_at"`
	Paused      bool          `json:"paused"`
	Tenant      string        `json:"tenant"`
	Correlation string        `json:"correlation"`
	Channels    []LiveChannel `json:"channels"`
	// From the CTI call (empty without a CTI link or before the call is
	// matched): the agent on the recorded DN and the call's numbers.
	AgentID   string `json:"agent_id"`
	AgentName string `json:"agent_name"`
	ANI       string `json:"ani"`
	DNIS      string `json:"dnis"`
}

// LiveChannel is one channel of a recording in progress. AudioArriving is
// what a supervisor looks at: RTP actually reaches the recorder.
type LiveChannel struct {
	Channel       int        `json:"channel"`
	DN            string     `json:"dn"`
	Label         string     `json:"label"`
	Codec         string     `json:"codec"`
	Packets       uint64     `json:"packets"`
	LastPacketAt  *time.Time `json:"last_packet_at"`
	AudioArriving bool       `json:"audio_arriving"`
	Held          bool       `json:"held"`
	// Role says who the channel carries, for people rather than channel
	// numbers: "agent" (an agent is logged in on its DN), "customer" (a
	// number outside the contact center) or "party"; Name is the agent's
	// name or the customer's number.
	Role string `json:"role"`
	Name string `json:"name"`
}

// CTICall is a monitored call in progress as the CTI link sees it, with the
// failed-recording states (Alerts).
type CTICall struct {
	CallUUID string     `json:"call_uuid"`
	ConnID   string     `json:"conn_id"`
	CallType string     `json:"call_type"`
	Tenant   string     `json:"tenant"`
	ANI      string     `json:"ani"`
	DNIS     string     `json:"dnis"`
	Parties  []CTIParty `json:"parties"`
	Alerts   []string   `json:"alerts"`
}

// CTIParty is one party of a CTICall.
type CTIParty struct {
	DN             string `json:"dn"`
	AgentID        string `json:"agent_id"`
	AgentName      string `json:"agent_name"`
	Monitored      bool   `json:"monitored"`
	RecordingID    string `json:"recording_id"`
	RecordingState string `json:"recording_state"`
	Decision       string `json:"decision"`
}

// ControlRequest asks for a recording operation on a live call.
type ControlRequest struct {
	Op       string `json:"op"` // start | pause | resume | stop | keep | discard
	DN       string `json:"dn"`
	ConnID   string `json:"conn_id"`
	CallUUID string `json:"call_uuid"`
	// Tenant restricts the request to calls of this tenant (set by the
	// API for every user but an admin); the Controller answers 404 for a
	// call of another tenant.
	Tenant string `json:"-"`
}

// ControlResult says what was asked of the CTI link.
type ControlResult struct {
	Op       string `json:"op"`
	CallUUID string `json:"call_uuid"`
	ConnID   string `json:"conn_id"`
	DN       string `json:"dn"`
	RecordID string `json:"record_id"`
	State    string `json:"state"` // requested (start/pause/resume/stop sent to the SIP Server) | applied (keep/discard)
}

// live: GET /api/v1/live — calls being recorded now, restricted to the
// supervisor's tenant.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	calls, cti := []LiveCall{}, []CTICall{}
	if s.cfg.Live != nil {
		for _, c := range s.cfg.Live.Live() {
			if p.seesTenant(c.Tenant) {
				if c.Channels == nil {
					c.Channels = []LiveChannel{}
				}
				calls = append(calls, c)
				s.recordOnce(r, store.AuditLiveView+"|"+c.RecordingID, store.AuditEntry{Action: store.AuditLiveView, RecordingID: c.RecordingID})
			}
		}
		for _, c := range s.cfg.Live.LiveCTI() {
			if p.seesTenant(c.Tenant) {
				if c.Parties == nil {
					c.Parties = []CTIParty{}
				}
				if c.Alerts == nil {
					c.Alerts = []string{}
				}
				cti = append(cti, c)
				s.recordOnce(r, store.AuditLiveView+"|cti|"+c.CallUUID, store.AuditEntry{Action: store.AuditLiveView, Detail: "call_uuid=" + c.CallUUID})
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": calls, "cti": cti})
}

// listenPoll is how often a live listener checks that its recording still
// runs.
const listenPoll = time.Second

// listen: GET /api/v1/live/{id}/listen?channel=-1|0|1 — a WebSocket that
// carries the live audio: binary messages of one byte channel number and
// little-endian PCM16 samples at 8 kHz.
func (s *Server) listen(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Listen == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "live listening is not available on this server"))
		return
	}
	channel := -1
	if v := r.URL.Query().Get("channel"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 || n > 15 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter channel: want -1 (both), 0 or 1"))
			return
		}
		channel = n
	}
	id := r.PathValue("id")
	if !s.liveVisible(principalOf(r), id) {
		writeProblem(w, r, problemf(http.StatusNotFound, "no recording "+id+" in progress (a finished recording is replayed with /media)"))
		return
	}
	sub, ok := s.cfg.Listen.Subscribe(id, channel)
	if !ok {
		writeProblem(w, r, problemf(http.StatusNotFound, "recording "+id+" is not in progress: replay it with /media"))
		return
	}
	defer sub.Close()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	defer conn.CloseNow()
	p := principalOf(r)
	s.record(r, store.AuditEntry{Action: store.AuditLiveListen, RecordingID: id, Detail: "channel=" + strconv.Itoa(channel)})
	ctx := conn.CloseRead(context.WithoutCancel(r.Context()))
	tick := time.NewTicker(listenPoll)
	defer tick.Stop()
	buf := make([]byte, 0, 1+2*320)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if !s.cfg.Listen.IsLive(id) {
				_ = conn.Close(websocket.StatusNormalClosure, "recording ended")
				return
			}
			if why := s.revoked(ctx, p, id); why != "" {
				s.log.Info("live listening ended", "user", p.user.Name, "recording_id", id, "reason", why)
				_ = conn.Close(websocket.StatusPolicyViolation, why)
				return
			}
		case f, ok := <-sub.C():
			if !ok {
				_ = conn.Close(websocket.StatusNormalClosure, "recording ended")
				return
			}
			buf = append(buf[:0], byte(f.Channel))
			for _, v := range f.PCM {
				buf = binary.LittleEndian.AppendUint16(buf, uint16(v))
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Write(wctx, websocket.MessageBinary, buf)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// revoked re-checks, while p listens to id, what let the listener in: the
// session still exists and has not expired (sign-out and user changes
// delete it), the user is enabled, still staff and still sees the call's
// tenant. It returns why listening must end, or "". A failing store is not
// a revocation: the next tick checks again.
func (s *Server) revoked(ctx context.Context, p *principal, id string) string {
	sess, err := s.cfg.Users.GetSession(ctx, p.session.TokenHash, s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		return "session ended or expired"
	}
	if err != nil {
		s.log.Warn("live listening: session check failed", "error", err)
		return ""
	}
	u, err := s.cfg.Users.GetUser(ctx, sess.User)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return "user disabled"
	}
	if err != nil {
		s.log.Warn("live listening: user check failed", "error", err)
		return ""
	}
	now := &principal{user: *u, session: *sess}
	if u.Role != roleAdmin && u.Role != roleSupervisor || !s.liveVisible(now, id) {
		return "rights withdrawn"
	}
	return ""
}

// liveVisible reports whether p may listen to the recording in progress
// id: admins to any, supervisors to their tenant's (the tenant the live
// call carries: the stored row may not have it until the call ends).
func (s *Server) liveVisible(p *principal, id string) bool {
	if s.cfg.Live == nil {
		return false
	}
	for _, c := range s.cfg.Live.Live() {
		if c.RecordingID == id {
			return p.seesTenant(c.Tenant)
		}
	}
	return false
}

// control: POST /api/v1/calls/control.
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Control == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "recording control needs the CTI link (serve --cti ...)"))
		return
	}
	var req ControlRequest
	if err := readJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch req.Op {
	case "start", "pause", "resume", "stop", "keep", "discard":
	default:
		writeProblem(w, r, problemf(http.StatusBadRequest, "op: want start, pause, resume, stop, keep or discard"))
		return
	}
	if req.DN == "" && req.ConnID == "" && req.CallUUID == "" {
		writeProblem(w, r, problemf(http.StatusBadRequest, "name the call: dn, conn_id or call_uuid"))
		return
	}
	for _, v := range []string{req.DN, req.ConnID, req.CallUUID} {
		if len(v) > 128 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "dn, conn_id and call_uuid are at most 128 bytes"))
			return
		}
	}
	if p := principalOf(r); p.user.Role != roleAdmin {
		if p.user.Tenant == "" {
			writeProblem(w, r, problemf(http.StatusNotFound, "no such live call"))
			return
		}
		req.Tenant = p.user.Tenant
	}
	res, err := s.cfg.Control.Control(r.Context(), req)
	action := store.AuditControl
	if req.Op == "keep" || req.Op == "discard" {
		action = store.AuditKeep
	}
	detail := req.Op + " dn=" + req.DN + " conn_id=" + req.ConnID + " call_uuid=" + req.CallUUID
	if err != nil {
		var p *Problem
		switch {
		case errors.As(err, &p):
			detail += " refused: " + p.Detail
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrBadRequest), errors.Is(err, ErrUnprocessable):
			detail += " refused: " + err.Error()
		}
		s.record(r, store.AuditEntry{Action: action, Detail: detail})
		s.fail(w, r, err)
		return
	}
	// res.RecordID is the SIP Server's record id (GSIP_RECORD id), not a
	// recording of the store: it goes into the detail.
	s.record(r, store.AuditEntry{Action: action, Detail: detail + " record_id=" + res.RecordID + " " + res.State})
	writeJSON(w, http.StatusAccepted, res)
}
