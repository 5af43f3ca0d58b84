package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/web/auth"
)

// RulesDoc is the API shape of the recording rules.
type RulesDoc struct {
	YAML     string   `json:"yaml"`     // the value of the `rules:` key, as YAML
	Path     string   `json:"path"`     // the file they are kept in ("" = none: not editable)
	Editable bool     `json:"editable"` // PUT is possible
	Groups   int      `json:"groups"`
	Rules    int      `json:"rules"`
	Warnings []string `json:"warnings"`
}

// TenantView is the API shape of a tenant's recording settings.
type TenantView struct {
	Name       string     `json:"name"`
	ClientName string     `json:"client_name"`
	DNInclude  []string   `json:"dn_include"`
	DNExclude  []string   `json:"dn_exclude"`
	Notify     NotifyView `json:"notify"`
	Switches   []string   `json:"switches"`
	Defaults   bool       `json:"defaults"` // no override: the global settings apply
}

// NotifyView is a tenant's Notification of Recording settings.
type NotifyView struct {
	Enabled bool              `json:"enabled"`
	Key     string            `json:"key"`
	Values  map[string]string `json:"values"`
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Rules == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "recording rules need the CTI link (serve --cti ...)"))
		return
	}
	doc, err := s.cfg.Rules.Rules()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, normRules(doc))
}

func (s *Server) putRules(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.rulesRequest(w, r, func(yaml string) (RulesDoc, error) { return s.cfg.Rules.SetRules(yaml) })
	if !ok {
		return
	}
	s.record(r, store.AuditEntry{Action: store.AuditRulesChange, Detail: fmt.Sprintf("%d groups, %d rules, %s", doc.Groups, doc.Rules, doc.Path)})
	writeJSON(w, http.StatusOK, normRules(doc))
}

// checkRules: POST /api/v1/admin/rules/check {"yaml"} → the counts and
// warnings the rules would have, or 422 with the compile error. Nothing is
// saved (the Rules page's Validate).
func (s *Server) checkRules(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.rulesRequest(w, r, func(yaml string) (RulesDoc, error) { return s.cfg.Rules.CheckRules(yaml) })
	if ok {
		writeJSON(w, http.StatusOK, normRules(doc))
	}
}

// rulesRequest reads a {"yaml"} body and hands it to apply (install or
// check); on failure it has answered the request.
func (s *Server) rulesRequest(w http.ResponseWriter, r *http.Request, apply func(string) (RulesDoc, error)) (RulesDoc, bool) {
	if s.cfg.Rules == nil {
		writeProblem(w, r, problemf(http.StatusNotImplemented, "recording rules need the CTI link (serve --cti ...)"))
		return RulesDoc{}, false
	}
	var body struct {
		YAML string `json:"yaml"`
	}
	if err := readJSON(w, r, &body); err != nil {
		s.fail(w, r, err)
		return RulesDoc{}, false
	}
	doc, err := apply(body.YAML)
	switch {
	case err == nil:
		return doc, true
	case errors.Is(err, ErrUnprocessable):
		writeProblem(w, r, &Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid recording rules", Detail: err.Error()})
	case errors.Is(err, ErrConflict):
		writeProblem(w, r, &Problem{Status: http.StatusConflict, Title: "Rules not editable", Detail: err.Error()})
	default:
		s.fail(w, r, err)
	}
	return RulesDoc{}, false
}

func normRules(d RulesDoc) RulesDoc {
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	return d
}

func (s *Server) tenants(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	items := []TenantView{}
	if s.cfg.Tenants != nil {
		for _, t := range s.cfg.Tenants.Tenants() {
			if !p.seesTenant(t.Name) {
				continue
			}
			items = append(items, normTenant(t))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func normTenant(t TenantView) TenantView {
	for _, l := range []*[]string{&t.DNInclude, &t.DNExclude, &t.Switches} {
		if *l == nil {
			*l = []string{}
		}
	}
	if t.Notify.Values == nil {
		t.Notify.Values = map[string]string{}
	}
	return t
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.cfg.Users.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]store.UserView, 0, len(us))
	for i := range us {
		items = append(items, newUserView(&us[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

type userBody struct {
	Name     *string `json:"name"`
	Password *string `json:"password"`
	Role     *string `json:"role"`
	Tenant   *string `json:"tenant"`
	AgentID  *string `json:"agent_id"`
	Disabled *bool   `json:"disabled"`
}

// apply sets the fields of b on u, checking each.
func (b userBody) apply(u *store.User) error {
	if b.Role != nil {
		role, err := auth.ParseRole(*b.Role)
		if err != nil {
			return problemf(http.StatusUnprocessableEntity, "role: "+err.Error())
		}
		u.Role = string(role)
	}
	if b.Tenant != nil {
		u.Tenant = strings.TrimSpace(*b.Tenant)
	}
	if b.AgentID != nil {
		u.AgentID = strings.TrimSpace(*b.AgentID)
	}
	if b.Disabled != nil {
		u.Disabled = *b.Disabled
	}
	if b.Password != nil {
		h, err := auth.HashPassword(*b.Password)
		if err != nil {
			return problemf(http.StatusUnprocessableEntity, "password: "+err.Error())
		}
		u.PasswordHash = h
	}
	if u.Role != roleAdmin && u.Tenant == "" {
		return problemf(http.StatusUnprocessableEntity, "tenant: a "+u.Role+" needs a tenant (only an admin may have none)")
	}
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var b userBody
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	if b.Name == nil || b.Password == nil || b.Role == nil {
		writeProblem(w, r, problemf(http.StatusUnprocessableEntity, "name, password and role are required"))
		return
	}
	if err := auth.ValidUserName(*b.Name); err != nil {
		writeProblem(w, r, problemf(http.StatusUnprocessableEntity, "name: "+err.Error()))
		return
	}
	u := &store.User{Name: *b.Name}
	if err := b.apply(u); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Users.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrExists) {
			err = problemf(http.StatusConflict, "a user named "+u.Name+" already exists")
		}
		s.fail(w, r, err)
		return
	}
	s.record(r, store.AuditEntry{Action: store.AuditUserChange, Detail: fmt.Sprintf("created user %s (role %s, tenant %q)", u.Name, u.Role, u.Tenant)})
	if got, err := s.cfg.Users.GetUser(r.Context(), u.Name); err == nil {
		u = got
	}
	writeJSON(w, http.StatusCreated, newUserView(u))
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	var b userBody
	if err := readJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	if b.Name != nil && !strings.EqualFold(*b.Name, name) {
		writeProblem(w, r, problemf(http.StatusUnprocessableEntity, "name: users cannot be renamed"))
		return
	}
	u, err := s.cfg.Users.GetUser(r.Context(), name)
	if err != nil {
		s.fail(w, r, userNotFound(err, name))
		return
	}
	if err := b.apply(u); err != nil {
		s.fail(w, r, err)
		return
	}
	if p := principalOf(r); strings.EqualFold(u.Name, p.user.Name) && (u.Role != roleAdmin || u.Disabled) {
		writeProblem(w, r, problemf(http.StatusConflict, "you cannot remove your own admin role or disable yourself"))
		return
	}
	if err := s.cfg.Users.UpdateUser(r.Context(), u); err != nil {
		s.fail(w, r, userNotFound(err, name))
		return
	}
	var changed []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"password", b.Password != nil}, {"role", b.Role != nil}, {"tenant", b.Tenant != nil}, {"agent_id", b.AgentID != nil}, {"disabled", b.Disabled != nil}} {
		if f.set {
			changed = append(changed, f.name)
		}
	}
	// A changed password, role, tenant, agent id or state ends the user's
	// sessions and tokens: they sign in again under the new settings.
	ended, err := s.cfg.Users.DeleteUserSessions(r.Context(), u.Name)
	if err != nil {
		s.log.Error("sessions of a changed user not ended", "user", u.Name, "error", err)
	}
	s.record(r, store.AuditEntry{Action: store.AuditUserChange, Detail: fmt.Sprintf("updated user %s: %s (%d sessions ended)", u.Name, strings.Join(changed, ", "), ended)})
	writeJSON(w, http.StatusOK, newUserView(u))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.EqualFold(name, principalOf(r).user.Name) {
		writeProblem(w, r, problemf(http.StatusConflict, "you cannot delete yourself"))
		return
	}
	if err := s.cfg.Users.DeleteUser(r.Context(), name); err != nil {
		s.fail(w, r, userNotFound(err, name))
		return
	}
	s.record(r, store.AuditEntry{Action: store.AuditUserChange, Detail: "deleted user " + name})
	w.WriteHeader(http.StatusNoContent)
}

func userNotFound(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return problemf(http.StatusNotFound, "no user "+name)
	}
	return err
}

// auditView is the JSON shape of an audit entry.
type auditView struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	User        string    `json:"user"`
	Role        string    `json:"role"`
	Tenant      string    `json:"tenant"`
	Action      string    `json:"action"`
	RecordingID string    `json:"recording_id"`
	Detail      string    `json:"detail"`
	Remote      string    `json:"remote"`
}

// audit: GET /api/v1/audit — newest first; supervisors see their tenant's.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AuditFilter{User: q.Get("user"), Action: q.Get("action"), RecordingID: q.Get("recording_id"), Limit: 100}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter limit: want 1..1000"))
			return
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter before: want an audit entry id"))
			return
		}
		f.BeforeID = n
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			var err error
			if *t.dst, err = time.Parse(time.RFC3339, v); err != nil {
				writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter "+t.name+": want an RFC 3339 time"))
				return
			}
		}
	}
	if p := principalOf(r); p.user.Role != roleAdmin {
		if p.user.Tenant == "" {
			writeJSON(w, http.StatusOK, map[string]any{"items": []auditView{}, "next_before": nil})
			return
		}
		f.Tenant = p.user.Tenant
	}
	es, err := s.cfg.Audit.ListAudit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]auditView, 0, len(es))
	for _, e := range es {
		items = append(items, auditView(e))
	}
	var next any
	if len(es) == f.Limit && len(es) > 0 {
		next = es[len(es)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_before": next})
}
