// Package expire deletes recordings: those whose retention period ended
// (Sweeper) and every recording of a party on request (Erase, GDPR art.
// 17). A recording on legal hold is never deleted, by anyone: the hold is
// checked before a file is touched, and the store refuses the row too.
// Deleting sets the media files aside, deletes the row with its deletion
// record (refused for a recording held meanwhile: the files come back),
// removes the files (crypto-shredding encrypted ones first), then writes an
// audit entry.
package expire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// Deleter is what deleting one recording needs of the store.
type Deleter interface {
	LegalHold(ctx context.Context, id string) (store.Hold, bool, error)
	DeleteRecording(ctx context.Context, d store.Deletion) error
}

// Objects removes the objects of a recording from an object store
// (store/s3media.Bucket): every object under the recording's key prefix,
// whether or not the row says its media was uploaded yet.
type Objects interface {
	DeleteRecording(ctx context.Context, r *store.Recording) error
}

// Media is where a recording's files are: the data dir (relative media
// paths, the MP3 cache) and, with media in S3, the bucket.
type Media struct {
	DataDir string
	Objects Objects // nil: local files only
}

// ErrNoObjectStore is returned for a recording whose media is in an
// object store when none is configured: nothing is deleted.
var ErrNoObjectStore = errors.New("the recording's media is in an object store and none is configured (serve --media s3://BUCKET/PREFIX --s3-endpoint URL)")

// Delete deletes recording r for reason, unless it is on legal hold
// (store.ErrLegalHold, nothing touched).
//
// The row decides, in one transaction with the hold check, so that a hold
// landing while the deletion runs keeps the recording whole: the files are
// first set aside (renamed with mediastore.DeletingSuffix; a file that cannot be
// renamed stops the deletion and the row stays, so the next attempt finds
// it), then the row goes — or, refused (held meanwhile, or any error), the
// files come back — and only then are the files removed, and the
// recording's objects with m.Objects. Files left aside by an attempt that
// never finished (a crash) are put back first. An object store cannot set
// objects aside: when its deletion fails after the row went, the error
// says so (the objects are orphans; encrypted ones hold no key this side).
func Delete(ctx context.Context, st Deleter, m Media, r *store.Recording, reason string) error {
	if r.MediaObject != "" && m.Objects == nil {
		return fmt.Errorf("delete recording %s (media %s): %w", r.ID, r.MediaObject, ErrNoObjectStore)
	}
	files := mediastore.Files(r, m.DataDir)
	for _, f := range files {
		if _, err := os.Lstat(f); errors.Is(err, os.ErrNotExist) {
			_ = os.Rename(f+mediastore.DeletingSuffix, f) // no-op unless left aside
		}
	}
	if _, held, err := st.LegalHold(ctx, r.ID); err != nil {
		return err
	} else if held {
		return fmt.Errorf("delete recording %s: %w", r.ID, store.ErrLegalHold)
	}
	var aside []string
	restore := func() {
		for _, f := range aside {
			_ = os.Rename(f+mediastore.DeletingSuffix, f)
		}
	}
	for _, f := range files {
		if err := os.Rename(f, f+mediastore.DeletingSuffix); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			restore()
			return fmt.Errorf("delete recording %s: %w", r.ID, err)
		}
		aside = append(aside, f)
	}
	d := store.Deletion{RecordingID: r.ID, CallUUID: r.CallUUID, RecordID: r.RecordID, RecordedDN: r.RecordedDN,
		Tenant: r.ExternalData[store.TenantKey], MediaPath: r.MediaPath, Reason: reason, StartedAt: r.StartedAt}
	if err := st.DeleteRecording(ctx, d); err != nil && !errors.Is(err, store.ErrNotFound) {
		restore()
		return err
	}
	var errs []error
	for _, f := range aside {
		if err := remove(f + mediastore.DeletingSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if m.Objects != nil {
		if err := m.Objects.DeleteRecording(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("recording %s deleted, but not all its files: %w", r.ID, errors.Join(errs...))
	}
	return nil
}

// remove removes a file of a deleted recording; an encrypted one (media,
// raw sidecar, rotation journal) is crypto-shredded first: its header, the
// only wrapped copy of its file key, is overwritten with noise and synced,
// so a copy of the blocks left behind (an undelete, a lagging replica) no
// longer decrypts.
func remove(path string) error {
	if mediacrypt.IsEncryptedFile(path) {
		return mediacrypt.ShredFile(path)
	}
	return os.Remove(path)
}

// Store is what the Sweeper and Erase need.
type Store interface {
	Deleter
	SearchRecordings(ctx context.Context, f store.Filter) (store.Page, error)
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// Policy is how long finished recordings are kept: the period of the
// rule that started the recording (store.RuleKey), else the period of its
// tenant (store.TenantKey), else Default. Names match ignoring ASCII case.
// 0 = for ever.
type Policy struct {
	Default time.Duration
	Tenants map[string]time.Duration
	// Rules are the periods of the recording rules that set one.
	Rules map[string]time.Duration
}

// period returns how long r is kept and, when its rule decided, the
// rule's name.
func (p Policy) period(r *store.Recording) (time.Duration, string) {
	if name := r.ExternalData[store.RuleKey]; name != "" {
		for rule, d := range p.Rules {
			if strings.EqualFold(rule, name) {
				return d, rule
			}
		}
	}
	if t := r.ExternalData[store.TenantKey]; t != "" {
		for name, d := range p.Tenants {
			if strings.EqualFold(name, t) {
				return d, ""
			}
		}
	}
	return p.Default, ""
}

// shortest returns the shortest period > 0 (0 = nothing ever expires).
func (p Policy) shortest() time.Duration {
	min := p.Default
	for _, ds := range []map[string]time.Duration{p.Tenants, p.Rules} {
		for _, d := range ds {
			if d > 0 && (min == 0 || d < min) {
				min = d
			}
		}
	}
	return min
}

// Sweeper deletes recordings whose retention period ended.
type Sweeper struct {
	Store  Store
	Policy Policy
	// Rules, if set, gives the rules' periods in force at each sweep
	// (rules are reloaded while the server runs); it replaces
	// Policy.Rules.
	Rules   func() map[string]time.Duration
	DataDir string
	Objects Objects       // the bucket of media in S3 (nil: none)
	Every   time.Duration // default 1 minute
	Now     func() time.Time
	Log     *slog.Logger
	// Max bounds the deletions of one sweep (default 1000): the rest wait
	// for the next one.
	Max int
}

// Run sweeps every s.Every until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("retention sweep failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes the recordings due now and returns how many it deleted.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	pol := s.Policy
	if s.Rules != nil {
		pol.Rules = s.Rules()
	}
	min := pol.shortest()
	if min == 0 {
		return 0, nil
	}
	max := s.Max
	if max <= 0 {
		max = 1000
	}
	now := s.Now()
	f := store.Filter{Until: now.Add(-min), Sort: store.SortStartedAsc, Limit: 200}
	deleted, held := 0, 0
	for deleted < max {
		page, err := s.Store.SearchRecordings(ctx, f)
		if err != nil {
			return deleted, err
		}
		for i := range page.Items {
			r := &page.Items[i]
			p, rule := pol.period(r)
			end := r.EndedAt
			if r.Status == store.StatusRecording || p == 0 || end.IsZero() || now.Sub(end) < p {
				continue
			}
			full, err := s.Store.GetRecording(ctx, r.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return deleted, err
			}
			reason := fmt.Sprintf("retention period %s ended", p)
			if rule != "" {
				reason = fmt.Sprintf("retention period %s of rule %q ended", p, rule)
			}
			switch err := Delete(ctx, s.Store, Media{DataDir: s.DataDir, Objects: s.Objects}, full, reason); {
			case errors.Is(err, store.ErrLegalHold):
				held++
				continue
			case err != nil:
				s.Log.Warn("expired recording not deleted: next sweep tries again", "recording_id", r.ID, "error", err)
				continue
			}
			deleted++
			audit(ctx, s.Store, s.Log, store.AuditEntry{At: now, User: "openrec", Action: store.AuditExpire, RecordingID: r.ID,
				Tenant: full.ExternalData[store.TenantKey], Detail: reason})
			if deleted >= max {
				break
			}
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if deleted > 0 || held > 0 {
		s.Log.Info("retention sweep", "deleted", deleted, "kept_on_legal_hold", held)
	}
	return deleted, nil
}

func audit(ctx context.Context, st Store, log *slog.Logger, e store.AuditEntry) {
	if _, err := st.AppendAudit(ctx, e); err != nil {
		log.Error("audit entry not written", "action", e.Action, "recording_id", e.RecordingID, "error", err)
	}
}

// Query selects the recordings of one party for erasure: a customer number
// (ANI), a DN (recorded or other party) or an agent. Exactly one is set;
// values match exactly (no patterns: an erasure must not sweep wider than
// asked).
type Query struct {
	ANI   string `json:"ani,omitempty"`
	DN    string `json:"dn,omitempty"`
	Agent string `json:"agent,omitempty"`
	// Tenant restricts the erasure to one tenant (set for a tenant's admin).
	Tenant string `json:"tenant,omitempty"`
}

// ErrQuery: an erasure query without exactly one party.
var ErrQuery = errors.New("erasure: give exactly one of ani, dn, agent, without * or ?")

func (q Query) filter(fpKey []byte) (store.Filter, string, error) {
	n := 0
	var kind, val string
	for _, kv := range [][2]string{{"ani", q.ANI}, {"dn", q.DN}, {"agent", q.Agent}} {
		if kv[1] != "" {
			n++
			kind, val = kv[0], kv[1]
		}
	}
	if n != 1 || strings.ContainsAny(val, "*?") {
		return store.Filter{}, "", ErrQuery
	}
	f := store.Filter{ANI: q.ANI, DN: q.DN, Agent: q.Agent, Tenant: q.Tenant, Sort: store.SortStartedAsc, Limit: 200}
	return f, kind + " fingerprint " + store.Fingerprint(fpKey, val), nil
}

// scrubber is a store that can make deleted rows unrecoverable from its
// files (the SQLite store: its write-ahead log).
type scrubber interface {
	Scrub(ctx context.Context) error
}

// Report is what an erasure did.
type Report struct {
	Query      Query    `json:"query"`
	Erased     []string `json:"erased"`      // recording ids deleted
	Held       []string `json:"held"`        // on legal hold: kept
	InProgress []string `json:"in_progress"` // still recording: kept, erase again after the call
	Failed     []string `json:"failed"`      // could not be deleted now (see the log)
}

// Erase deletes every finished recording of q's party that is not on legal
// hold, audits each deletion and the request itself (with a fingerprint
// of the party keyed with fpKey, store.Fingerprint, never the number or
// name), and reports what it did.
func Erase(ctx context.Context, st Store, m Media, q Query, actor string, fpKey []byte, now time.Time, log *slog.Logger) (Report, error) {
	rep := Report{Query: q, Erased: []string{}, Held: []string{}, InProgress: []string{}, Failed: []string{}}
	f, who, err := q.filter(fpKey)
	if err != nil {
		return rep, err
	}
	for {
		page, err := st.SearchRecordings(ctx, f)
		if err != nil {
			return rep, err
		}
		for _, it := range page.Items {
			if it.Status == store.StatusRecording {
				rep.InProgress = append(rep.InProgress, it.ID)
				continue
			}
			r, err := st.GetRecording(ctx, it.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return rep, err
			}
			switch err := Delete(ctx, st, m, r, "erasure request: "+who); {
			case errors.Is(err, store.ErrLegalHold):
				rep.Held = append(rep.Held, r.ID)
			case err != nil:
				log.Warn("erasure: recording not deleted", "recording_id", r.ID, "error", err)
				rep.Failed = append(rep.Failed, r.ID)
			default:
				rep.Erased = append(rep.Erased, r.ID)
				audit(ctx, st, log, store.AuditEntry{At: now, User: actor, Action: store.AuditErase, RecordingID: r.ID,
					Tenant: r.ExternalData[store.TenantKey], Detail: "erasure request: " + who})
			}
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if sc, ok := st.(scrubber); ok && len(rep.Erased) > 0 {
		if err := sc.Scrub(ctx); err != nil {
			log.Warn("erasure: the database's write-ahead log still holds old copies of the erased rows until its next checkpoint", "error", err)
		}
	}
	audit(ctx, st, log, store.AuditEntry{At: now, User: actor, Action: store.AuditErasure, Tenant: q.Tenant,
		Detail: fmt.Sprintf("%s: %d erased, %d on legal hold, %d in progress, %d failed", who, len(rep.Erased), len(rep.Held), len(rep.InProgress), len(rep.Failed))})
	return rep, nil
}
