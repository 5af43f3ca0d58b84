package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/callcore"
	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/cti/screen"
	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/expire"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/web"
	"github.com/openrec/openrec/internal/web/api"
)

// newAPI builds the REST API and web UI of the process.
func (a *App) newAPI(health, metrics http.Handler, metricsToken string) *api.Server {
	a.mp3 = &mediaconv.Cache{Dir: a.mp3CacheDir(), Place: mediastore.Put, Enc: mediaconv.Encoder{Path: a.cfg.MP3Encoder}}
	cfg := api.Config{
		Store:         a.db,
		Users:         newDegradedSessions(a.db, a.log),
		Audit:         a.db,
		Live:          liveAdapter{rec: a.rec},
		Listen:        listenAdapter{hub: a.hub, rec: a.rec},
		DataDir:       a.dataDir,
		MP3:           a.mp3,
		Stored:        a.stored,
		Keys:          a.keys.Load,
		Health:        health,
		Metrics:       metrics,
		MetricsToken:  metricsToken,
		UI:            web.Handler(),
		SecureCookies: a.cfg.SecureCookies,
		SessionTTL:    a.cfg.SessionTTL,
		TokenTTL:      a.cfg.TokenTTL,
		Logger:        a.log,
		Tenants:       tenantsAdapter{cfg: a.cfg, side: a.cti},
		Holds:         a.db,
		Transcodes:    a.db,
		Eraser:        eraseAdapter{db: a.db, media: a.expireMedia(), fpKey: a.fpKey, log: a.log},
		// audit fingerprints keyed with the signing key's secret
		FingerprintKey: a.fpKey,
		ScreenStore:    a.db,
		ScreenCapture:  api.ScreenCapture{FrameRate: a.cfg.ScreenFrameRate, MaxWidth: a.cfg.ScreenMaxWidth, MaxHeight: a.cfg.ScreenMaxHeight},
		ScreenMaxBytes: a.cfg.ScreenMaxBytes,
		FFmpeg:         a.cfg.FFmpeg,
	}
	if a.media.bucket != nil {
		cfg.Objects = apiObjects{a.media.bucket}
	}
	if a.cti != nil {
		cfg.Screen = screenAdapter{hub: a.cti.screen, core: a.cti.core}
		cfg.Live = liveAdapter{rec: a.rec, core: a.cti.core, cache: a.cti.cache}
		cfg.Control = controlAdapter{core: a.cti.core, st: a.db}
		cfg.Rules = rulesAdapter{h: a.cti.rules}
	}
	return api.New(cfg)
}

// screenAdapter gives the API the CTI side's screen sessions (issue 18).
type screenAdapter struct {
	hub  *screen.Hub
	core *callcore.Core
}

func (s screenAdapter) SubscribeScreen(agent string, after uint64) (api.ScreenSubscription, bool) {
	sub, gap := s.hub.Subscribe(agent, after)
	return screenSub{sub}, gap
}

func (s screenAdapter) ScreenRecording(id string) (api.ScreenRecording, bool) {
	r, ok := s.hub.Lookup(id)
	return api.ScreenRecording{Agent: r.Agent, Tenant: r.Tenant}, ok
}

func (s screenAdapter) ScreenReceived(id string) { s.core.ScreenReceived(id) }

type screenSub struct{ sub *screen.Sub }

func screenEvent(e screen.Event) api.ScreenEvent {
	return api.ScreenEvent{ID: e.ID, Kind: string(e.Kind), Agent: e.Agent, DN: e.DN, RecordingID: e.RecordingID,
		CallUUID: e.CallUUID, At: e.At.UTC(), Reason: e.Reason}
}

func (s screenSub) Backlog() []api.ScreenEvent {
	out := make([]api.ScreenEvent, len(s.sub.Backlog))
	for i, e := range s.sub.Backlog {
		out[i] = screenEvent(e)
	}
	return out
}

func (s screenSub) Next(ctx context.Context) (api.ScreenEvent, error) {
	select {
	case e, ok := <-s.sub.C:
		if !ok {
			return api.ScreenEvent{}, api.ErrScreenLagged
		}
		return screenEvent(e), nil
	case <-ctx.Done():
		return api.ScreenEvent{}, ctx.Err()
	}
}

func (s screenSub) Close() { s.sub.Close() }

// liveAdapter lists the calls in progress for the API. With the CTI side,
// each recording gets its call's numbers, the agent on its recorded DN and
// who each channel carries (agent or customer), so the UI shows people.
type liveAdapter struct {
	rec   *recorder.Recorder
	core  *callcore.Core // nil without a CTI link
	cache *ccdata.Cache  // agents' names; nil without a CTI link
}

func (l liveAdapter) Live() []api.LiveCall {
	calls := l.rec.Live()
	var cti map[string]callcore.LiveCTICall
	if l.core != nil {
		all := l.core.LiveCalls()
		cti = make(map[string]callcore.LiveCTICall, len(all))
		for _, c := range all {
			cti[c.CallUUID] = c
		}
	}
	out := make([]api.LiveCall, 0, len(calls))
	for _, c := range calls {
		v := api.LiveCall{
			RecordingID: c.RecordingID, CallUUID: c.CallUUID, RecordID: c.RecordID,
			RecordedDN: c.RecordedDN, OtherDN: c.OtherDN, Mode: string(c.Mode), StartedAt: c.StartedAt.UTC(),
			Paused: c.Paused, Tenant: c.Tenant, Correlation: c.Correlation,
		}
		call, matched := cti[c.CallUUID]
		agents := map[string]string{} // DN → agent id, of the call's parties
		parties := map[string]bool{}
		if matched {
			v.ANI, v.DNIS = call.ANI, call.DNIS
			for _, p := range call.Parties {
				parties[p.DN] = true
				if p.AgentID != "" {
					agents[p.DN] = p.AgentID
				}
			}
			v.AgentID = agents[c.RecordedDN]
			v.AgentName = l.agentName(v.AgentID)
		}
		for _, ch := range c.Channels {
			lc := api.LiveChannel{Channel: ch.Channel, DN: ch.DN, Label: ch.Label, Codec: ch.Codec,
				Packets: ch.Packets, AudioArriving: ch.AudioArriving, Held: ch.Held, Role: "party", Name: ch.DN}
			if !ch.LastPacketAt.IsZero() {
				t := ch.LastPacketAt.UTC()
				lc.LastPacketAt = &t
			}
			switch id := agents[ch.DN]; {
			case id != "":
				lc.Role, lc.Name = "agent", firstNonEmptyStr(l.agentName(id), "agent "+id)
			case matched && ch.DN != "" && (ch.DN == call.ANI || !parties[ch.DN]):
				lc.Role = "customer"
			}
			v.Channels = append(v.Channels, lc)
		}
		out = append(out, v)
	}
	return out
}

// agentName is the full name of the person whose agent login is id ("" if
// unknown).
func (l liveAdapter) agentName(id string) string {
	if l.cache == nil || id == "" {
		return ""
	}
	snap := l.cache.Snapshot()
	if snap == nil {
		return ""
	}
	for _, sw := range snap.Switches() {
		if p, ok := snap.PersonByLogin(sw.Name, id); ok {
			return firstNonEmptyStr(strings.TrimSpace(p.FirstName+" "+p.LastName), p.UserName)
		}
	}
	return ""
}

func firstNonEmptyStr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (l liveAdapter) LiveCTI() []api.CTICall {
	if l.core == nil {
		return nil
	}
	calls := l.core.LiveCalls()
	out := make([]api.CTICall, 0, len(calls))
	for _, c := range calls {
		v := api.CTICall{CallUUID: c.CallUUID, ConnID: c.ConnID, CallType: c.CallType, Tenant: c.Tenant, ANI: c.ANI, DNIS: c.DNIS, Alerts: c.Alerts}
		for _, p := range c.Parties {
			v.Parties = append(v.Parties, api.CTIParty{DN: p.DN, AgentID: p.AgentID, AgentName: l.agentName(p.AgentID), Monitored: p.Monitored,
				RecordingID: p.RecordingID, RecordingState: p.RecordingState, Decision: p.Decision})
		}
		out = append(out, v)
	}
	return out
}

// listenAdapter subscribes API listeners to the recorder's live audio.
type listenAdapter struct {
	hub *live.Hub
	rec *recorder.Recorder
}

// listenBuffer is how many 20 ms frames a live listener may fall behind
// before frames are dropped for it (2.5 s of both channels).
const listenBuffer = 256

func (l listenAdapter) Subscribe(id string, channel int) (*live.Subscription, bool) {
	if !l.rec.IsLive(id) {
		return nil, false
	}
	return l.hub.Subscribe(id, channel, listenBuffer), true
}

func (l listenAdapter) IsLive(id string) bool { return l.rec.IsLive(id) }

// controlAdapter sends recording control through the CTI bridge and maps
// its errors to API problems.
type controlAdapter struct {
	core *callcore.Core
	st   interface {
		ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error)
	}
}

// inTenant reports whether the call req names belongs to tenant: every
// live call it matches is of that tenant, or, when no live call matches
// (keep/discard after the call), a stored recording of that call is.
func (c controlAdapter) inTenant(ctx context.Context, req api.ControlRequest) (bool, error) {
	matched := false
	for _, lc := range c.core.LiveCalls() {
		if req.CallUUID != "" && lc.CallUUID != req.CallUUID || req.ConnID != "" && !strings.EqualFold(lc.ConnID, req.ConnID) {
			continue
		}
		if req.DN != "" && !slices.ContainsFunc(lc.Parties, func(p callcore.LiveParty) bool { return p.DN == req.DN }) {
			continue
		}
		if !strings.EqualFold(lc.Tenant, req.Tenant) {
			return false, nil
		}
		matched = true
	}
	if matched || req.CallUUID == "" && req.ConnID == "" {
		return matched, nil
	}
	recs, err := c.st.ListRecordings(ctx, store.Filter{CallUUID: req.CallUUID, ConnID: req.ConnID, Tenant: req.Tenant, Limit: 1})
	return len(recs) > 0, err
}

func (c controlAdapter) Control(ctx context.Context, req api.ControlRequest) (api.ControlResult, error) {
	if req.Tenant != "" {
		ok, err := c.inTenant(ctx, req)
		if err != nil {
			return api.ControlResult{}, err
		}
		if !ok {
			return api.ControlResult{}, api.NotFound(fmt.Errorf("no such live call in tenant %s", req.Tenant))
		}
	}
	res, err := c.core.Control(ctx, callcore.ControlTarget{CallUUID: req.CallUUID, ConnID: req.ConnID, DN: req.DN}, req.Op)
	switch {
	case err == nil:
	case errors.Is(err, callcore.ErrNoTarget), errors.Is(err, conversation.ErrNoCall), errors.Is(err, conversation.ErrNoParty):
		return api.ControlResult{}, api.NotFound(err)
	case errors.Is(err, callcore.ErrAmbiguous), errors.Is(err, conversation.ErrState), errors.Is(err, conversation.ErrRefused):
		return api.ControlResult{}, api.Conflict(err)
	case errors.Is(err, callcore.ErrBadOp):
		return api.ControlResult{}, api.BadRequest(err)
	default:
		return api.ControlResult{}, err
	}
	state := "requested"
	if req.Op == "keep" || req.Op == "discard" {
		state = "applied"
	}
	return api.ControlResult{Op: res.Op, CallUUID: res.CallUUID, ConnID: res.ConnID, DN: res.DN, RecordID: res.RecordID, State: state}, nil
}

// rulesAdapter shows the rules holder (the `rules:` key of the serve
// configuration file) to the API.
type rulesAdapter struct{ h *rules.Holder }

func (r rulesAdapter) Rules() (api.RulesDoc, error) { return rulesDoc(r.h.Document()) }

func (r rulesAdapter) SetRules(text string) (api.RulesDoc, error) {
	return rulesDoc(r.h.SaveText(text))
}

func (r rulesAdapter) CheckRules(text string) (api.RulesDoc, error) { return rulesDoc(r.h.Check(text)) }

// rulesDoc converts a rules document and classifies the holder's errors.
func rulesDoc(d rules.Document, err error) (api.RulesDoc, error) {
	switch {
	case errors.Is(err, rules.ErrInvalid):
		return api.RulesDoc{}, api.Unprocessable(err)
	case errors.Is(err, rules.ErrNotEditable):
		return api.RulesDoc{}, api.Conflict(err)
	case err != nil:
		return api.RulesDoc{}, err
	}
	return api.RulesDoc{YAML: d.YAML, Path: d.Path, Editable: d.Editable(), Groups: d.Groups, Rules: d.Rules, Warnings: d.Warnings}, nil
}

// tenantsAdapter lists the tenants of the configuration data with the
// settings in force for each (their override, else the defaults).
type tenantsAdapter struct {
	cfg  config.Serve
	side *ctiSide
}

func (t tenantsAdapter) Tenants() []api.TenantView {
	overrides := map[string]config.Tenant{}
	var names []string
	for _, o := range t.cfg.Tenants {
		overrides[strings.ToLower(o.Name)] = o
		names = append(names, o.Name)
	}
	switches := map[string][]string{}
	if t.side != nil {
		snap := t.side.cache.Snapshot()
		ids := map[int]string{}
		for _, tn := range snap.Tenants() {
			ids[tn.DBID] = tn.Name
			if _, ok := overrides[strings.ToLower(tn.Name)]; !ok && !t.cfg.TenantsOnly {
				names = append(names, tn.Name)
				overrides[strings.ToLower(tn.Name)] = config.Tenant{Name: tn.Name}
			}
		}
		for _, sw := range snap.Switches() {
			name := strings.ToLower(ids[sw.TenantDBID])
			switches[name] = append(switches[name], sw.Name)
		}
	}
	sort.Strings(names)
	out := make([]api.TenantView, 0, len(names))
	for _, n := range names {
		o := overrides[strings.ToLower(n)]
		v := api.TenantView{
			Name:       o.Name,
			ClientName: firstNonEmpty(o.ClientName, t.cfg.CTIClientName),
			DNInclude:  splitList(firstNonEmpty(o.DNInclude, t.cfg.DNInclude)),
			DNExclude:  splitList(firstNonEmpty(o.DNExclude, t.cfg.DNExclude)),
			Switches:   switches[strings.ToLower(n)],
			Defaults:   !o.Overrides(),
			Notify:     api.NotifyView{Enabled: t.cfg.NotifyEnabled, Key: t.cfg.NotifyKey, Values: map[string]string{}},
		}
		for k, val := range t.cfg.NotifyValues {
			v.Notify.Values[k] = val
		}
		if o.Notify.Enabled != nil {
			v.Notify.Enabled = *o.Notify.Enabled
		}
		if o.Notify.Key != "" {
			v.Notify.Key = o.Notify.Key
		}
		for k, val := range o.Notify.Values {
			v.Notify.Values[k] = val
		}
		out = append(out, v)
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// mp3CacheDir holds the MP3s made for downloads.
func (a *App) mp3CacheDir() string { return filepath.Join(a.dataDir, mediastore.MP3CacheDir) }

// sessionSweep deletes expired sessions and tokens, and the cached MP3s of
// recordings that no longer exist, now and then.
func (a *App) sessionSweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.db.DeleteExpiredSessions(ctx, time.Now()); err != nil {
				a.log.Warn("expired sessions not deleted", "error", err)
			} else if n > 0 {
				a.log.Debug("expired sessions deleted", "count", n)
			}
			a.pruneMP3Cache(ctx)
			a.logAuditHead(ctx)
		}
	}
}

// logAuditHead writes the audit chain's head to the log when it moved: a
// copy outside the database, so that removing the newest entries (which
// leaves a valid, shorter chain) can be found (openrec verify --audit-head).
func (a *App) logAuditHead(ctx context.Context) {
	id, hash, err := a.db.AuditHead(ctx)
	if err != nil {
		a.log.Warn("audit chain head not read", "error", err)
		return
	}
	if id == 0 || a.auditHeadID.Swap(id) == id {
		return
	}
	a.log.Info("audit chain head", "audit_id", id, "hash", hash)
}

// pruneMP3Cache removes cached MP3s whose recording was deleted (a
// discarded pre-recording must not survive as an MP3) and temporary files
// an interrupted encode left. Cache files are named <recording id>-<sha256>.*.
func (a *App) pruneMP3Cache(ctx context.Context) {
	entries, err := os.ReadDir(a.mp3CacheDir())
	if err != nil {
		return // no cache yet
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(a.mp3CacheDir(), name)
		if mediastore.IsTemp(name) {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				_ = os.Remove(path)
			}
			continue
		}
		id, _, ok := strings.Cut(name, "-")
		if !ok {
			continue
		}
		if _, err := a.db.GetRecording(ctx, id); errors.Is(err, store.ErrNotFound) {
			if err := os.Remove(path); err == nil {
				a.log.Info("cached MP3 of a deleted recording removed", "recording_id", id, "file", path)
			}
		}
	}
}

// eraseAdapter runs erasure requests of the API (internal/store/expire).
type eraseAdapter struct {
	db    backend.Store
	media expire.Media
	fpKey []byte // keys the audit's fingerprint of the party
	log   *slog.Logger
}

func (e eraseAdapter) Erase(ctx context.Context, q expire.Query, actor string) (expire.Report, error) {
	return expire.Erase(ctx, e.db, e.media, q, actor, e.fpKey, time.Now(), e.log)
}
