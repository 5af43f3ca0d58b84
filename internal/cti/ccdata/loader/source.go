// Package loader keeps openrec's configuration cache (internal/cti/ccdata)
// in step with where the configuration data comes from: a YAML file or a
// configuration service (openrec sim's Configuration Server, or a site
// bridge in front of the Genesys Configuration Server).
//
// Load reads the configuration once (start-up). A Source then runs beside
// the recorder and reloads:
//
//   - every Config.Reload (default 30 min), whatever the source;
//   - a file when its size or modification time changed and then stayed
//     the same for one more poll (polled every Config.Watch, default 2 s,
//     so a file still being written is not read half-way);
//   - from a service as soon as it announces a new version: a long poll
//     GET <URL>?wait=<version>&timeout=<LongPoll> is answered 304 (with
//     X-Config-Version) when nothing changed within the timeout, and 200
//     with the new document and its version as soon as it changed;
//   - when ReloadNow is called (SIGHUP, an admin action).
//
// A reload that fails (unreadable file, invalid data, service down) is
// logged and counted, and the current snapshot stays; an empty document
// never replaces a non-empty configuration either (ErrEmpty), so a reload
// never empties the cache. A reload that brings the same data (same
// bytes, or the same parsed content) changes nothing. Only a real change
// replaces the cache's snapshot — atomically, so work in progress keeps
// the snapshot it took — and then calls Config.OnChange with the old and
// the new snapshot (for example to re-register the DNs at the SIP Servers).
package loader

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
)

// Defaults and limits.
const (
	DefaultReload   = 30 * time.Minute
	DefaultWatch    = 2 * time.Second
	DefaultLongPoll = 30 * time.Second
	DefaultRetry    = time.Second
	// LoadTimeout bounds one plain GET of the configuration (a long poll
	// gets LongPoll more).
	LoadTimeout = 10 * time.Second
	// MaxBody bounds a configuration document (file or HTTP body).
	MaxBody = 64 << 20
)

// Config configures a Source (and Load).
type Config struct {
	// File is a YAML file (format: ccdata testdata/config.yaml); its
	// changes are detected by polling its size and modification time
	// every Watch.
	File string
	// URL is a configuration service: GET URL returns the YAML;
	// GET URL?wait=<version>&timeout=<d> long-polls (304 on timeout);
	// every answer carries X-Config-Version. A service without that
	// header is only reloaded periodically.
	URL string
	// Reload is the full reload period (default 30 min; negative: off).
	Reload time.Duration
	// Watch is the file poll period (default 2 s; negative: off). File only.
	Watch time.Duration
	// LongPoll is the long-poll timeout asked of the service (default
	// 30 s; negative: no long poll, only the periodic reload). URL only.
	LongPoll time.Duration
	// Retry is the wait after a failed long poll; it doubles per failure
	// up to LongPoll (default 1 s). URL only.
	Retry      time.Duration
	HTTPClient *http.Client // default: a client of its own
	Now        func() time.Time
	Logger     *slog.Logger
	// OnChange is called after a changed configuration was loaded and the
	// cache's snapshot replaced, with the old and the new snapshot. Calls
	// never overlap and come in the order of the changes; they are made
	// from the goroutine that loaded the change (Run's, or ReloadNow's
	// caller) and hold up further reloads until they return (so OnChange
	// must not call ReloadNow).
	OnChange func(old, new *ccdata.Snapshot)
}

// check validates the source selection (shared by New and Load).
func (c *Config) check() error {
	if c.File != "" && c.URL != "" {
		return fmt.Errorf("%w: config_file and config_url are exclusive", ErrConfig)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return fmt.Errorf("%w: config_url: %w", ErrConfig, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: config_url %q: want http:// or https://host/...", ErrConfig, c.URL)
		}
	}
	return nil
}

// Stats are a Source's counters.
type Stats struct {
	Reloads    uint64    // successful loads (changed or not)
	Changes    uint64    // loads that replaced the snapshot
	Failures   uint64    // failed loads (snapshot kept)
	LastReload time.Time // of the last successful load (Config.Now)
	Version    string    // the service's version of the data loaded last ("" for a file)
}

// Source reloads the configuration into a cache; see the package doc.
type Source struct {
	cfg    Config
	cache  *ccdata.Cache
	log    *slog.Logger
	client *http.Client
	base   *url.URL // parsed cfg.URL

	running atomic.Bool

	// applyMu serialises loads of the file and every apply (with its
	// OnChange), so changes are applied one at a time and in order.
	applyMu     sync.Mutex
	sum         [sha256.Size]byte // of the document applied or found equal last
	haveSum     bool
	sig         fileSig // file signature of the last read
	haveSig     bool
	pending     fileSig // changed signature seen by the previous poll
	havePending bool
	unversioned bool // the service answered without VersionHeader

	statMu sync.Mutex
	stats  Stats
	seen   string // newest version the service answered (applied or not)
}

// New returns a Source for exactly one of cfg.File or cfg.URL (neither:
// Run only waits for its context) that reloads into cache. It starts
// nothing; call Run.
func New(cfg Config, cache *ccdata.Cache) (*Source, error) {
	if cache == nil {
		return nil, fmt.Errorf("%w: nil cache", ErrConfig)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Reload == 0 {
		cfg.Reload = DefaultReload
	}
	if cfg.Watch == 0 {
		cfg.Watch = DefaultWatch
	}
	if cfg.LongPoll == 0 {
		cfg.LongPoll = DefaultLongPoll
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, cache: cache, client: cfg.HTTPClient}
	switch {
	case cfg.File != "":
		s.log = cfg.Logger.With("config_file", cfg.File)
	case cfg.URL != "":
		s.log = cfg.Logger.With("config_url", cfg.URL)
		s.base, _ = url.Parse(cfg.URL) // checked above
		if s.client == nil {
			s.client = newHTTPClient()
		}
	default:
		s.log = cfg.Logger
	}
	return s, nil
}

// Run reloads until ctx ends, then returns nil. It first reloads once
// (so a change between Load and Run is not missed), then reloads every
// Reload, on a change of the file (polled every Watch) or on the service's
// long poll. A second concurrent Run returns ErrRunning.
func (s *Source) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	if s.cfg.File == "" && s.cfg.URL == "" {
		<-ctx.Done()
		return nil
	}
	if s.client != nil {
		defer s.client.CloseIdleConnections()
	}
	_ = s.reload(ctx, "start")

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.cfg.URL != "" && s.cfg.LongPoll > 0 {
		wg.Go(func() { s.watchURL(ctx) })
	}
	var reload, watch <-chan time.Time
	if s.cfg.Reload > 0 {
		t := time.NewTicker(s.cfg.Reload)
		defer t.Stop()
		reload = t.C
	}
	if s.cfg.File != "" && s.cfg.Watch > 0 {
		t := time.NewTicker(s.cfg.Watch)
		defer t.Stop()
		watch = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-reload:
			_ = s.reload(ctx, "periodic")
		case <-watch:
			s.checkFile(ctx)
		}
	}
}

// ReloadNow loads the configuration at once and applies it if it changed
// (what SIGHUP or an admin action triggers). It returns the load's error
// (the snapshot is then kept); nil when nothing is configured to load.
// It may be called whether Run runs or not.
func (s *Source) ReloadNow(ctx context.Context) error {
	return s.reload(ctx, "requested")
}

// Stats returns the counters.
func (s *Source) Stats() Stats {
	s.statMu.Lock()
	defer s.statMu.Unlock()
	return s.stats
}

// seenVersion is the newest version the service answered: the long poll
// waits past it, so a document that failed to load is not fetched again
// until the service has a newer one (the periodic reload still retries).
func (s *Source) seenVersion() string {
	s.statMu.Lock()
	defer s.statMu.Unlock()
	return s.seen
}

// reload loads the whole configuration and applies it; cause is logged.
func (s *Source) reload(ctx context.Context, cause string) error {
	switch {
	case s.cfg.File != "":
		s.applyMu.Lock()
		defer s.applyMu.Unlock()
		b, sig, err := readFile(s.cfg.File)
		s.sig, s.haveSig = sig, true
		if err == nil {
			err = s.apply(b, "", cause)
		}
		if err != nil {
			s.fail(err, cause)
		}
		return err
	case s.cfg.URL != "":
		a, err := get(ctx, s.client, s.cfg.URL, LoadTimeout, false)
		if err != nil {
			if ctx.Err() == nil {
				s.fail(err, cause)
			}
			return err
		}
		return s.applyAnswer(a, cause)
	}
	return nil
}

// checkFile reloads the file once its signature differs from the last
// read and was the same on two polls in a row: a file being written (an
// editor truncating, then writing) is read after the writer is done.
func (s *Source) checkFile(ctx context.Context) {
	sig, _ := statSig(s.cfg.File)
	s.applyMu.Lock()
	changed := !s.haveSig || sig != s.sig
	settled := changed && s.havePending && sig == s.pending
	s.pending, s.havePending = sig, changed
	s.applyMu.Unlock()
	if settled {
		_ = s.reload(ctx, "file changed")
	}
}

// watchURL long-polls the service until ctx ends. Without a known version
// (the first load failed) it loads plainly; a failure waits Retry, doubled
// per consecutive failure up to LongPoll.
func (s *Source) watchURL(ctx context.Context) {
	delay := s.cfg.Retry
	for {
		var err error
		if ver := s.seenVersion(); ver == "" {
			s.applyMu.Lock()
			unversioned := s.unversioned
			s.applyMu.Unlock()
			if unversioned {
				s.log.Info("configuration service sends no " + VersionHeader + ": no long poll, periodic reload only")
				return
			}
			err = s.reload(ctx, "retry")
		} else {
			err = s.poll(ctx, ver)
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			delay = s.cfg.Retry
			continue
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, max(s.cfg.LongPoll, s.cfg.Retry))
	}
}

// errIgnoredWait: the service answered a long poll at once with the version
// it was asked to wait past, or 304 long before the timeout (it does not
// long-poll); the watcher backs off instead of polling in a tight loop.
var errIgnoredWait = errors.New("configuration service answered the long poll without waiting")

// poll is one long poll for a version other than ver.
func (s *Source) poll(ctx context.Context, ver string) error {
	start := time.Now()
	a, err := get(ctx, s.client, pollURL(s.base, ver, s.cfg.LongPoll), s.cfg.LongPoll+LoadTimeout, true)
	if err != nil {
		if ctx.Err() == nil {
			s.fail(err, "long poll")
		}
		return err
	}
	if a.notModified {
		if time.Since(start) < s.cfg.LongPoll/2 {
			return errIgnoredWait // 304 without waiting: back off
		}
		return nil
	}
	if err := s.applyAnswer(a, "change notification"); err != nil {
		return err
	}
	if a.version == ver {
		s.log.Debug("long poll answered without a new version", "version", ver)
		return errIgnoredWait
	}
	return nil
}

// applyAnswer applies a 200 answer of the service, unless it is older than
// what was applied already (a long poll and a reload may overlap).
func (s *Source) applyAnswer(a answer, cause string) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.statMu.Lock()
	seen := s.seen
	stale := older(a.version, seen)
	if !stale {
		s.seen = a.version
	}
	s.statMu.Unlock()
	if stale {
		s.log.Debug("configuration answer older than one already received; ignored", "version", a.version, "seen", seen)
		return nil
	}
	s.unversioned = a.version == ""
	if err := s.apply(a.body, a.version, cause); err != nil {
		s.fail(err, cause)
		return err
	}
	return nil
}

// older reports whether version a precedes b, when both are numbers (the
// simulator's are); other versions are opaque and never older.
func older(a, b string) bool {
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}

// apply parses b and, if it differs from the cache's snapshot, replaces
// the snapshot and calls OnChange. Called with applyMu held.
func (s *Source) apply(b []byte, version, cause string) error {
	sum := sha256.Sum256(b)
	if s.haveSum && sum == s.sum {
		s.loaded(version, false)
		return nil
	}
	var (
		d   *ccdata.Data
		err error
	)
	if s.cfg.File != "" {
		d, err = parseFile(s.cfg.File, b)
	} else {
		d, err = parseURL(s.cfg.URL, b)
	}
	if err != nil {
		return err
	}
	old := s.cache.Snapshot()
	oldData := old.Data()
	if isEmpty(d) && !isEmpty(oldData) {
		return fmt.Errorf("%w: the new configuration is empty (a file being written?); the current one has %d DNs", ErrEmpty, len(oldData.DNs))
	}
	s.sum, s.haveSum = sum, true
	if sameData(oldData, d) {
		s.loaded(version, false)
		s.log.Debug("configuration reloaded, unchanged", "cause", cause, "version", version)
		return nil
	}
	s.cache.Replace(d)
	cur := s.cache.Snapshot()
	s.loaded(version, true)
	s.log.Info("configuration changed", "cause", cause, "version", version, "snapshot", cur.Version(),
		"tenants", len(d.Tenants), "switches", len(d.Switches), "dns", len(d.DNs), "persons", len(d.Persons))
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(old, cur)
	}
	return nil
}

func (s *Source) loaded(version string, changed bool) {
	now := s.cfg.Now()
	s.statMu.Lock()
	defer s.statMu.Unlock()
	s.stats.Reloads++
	if changed {
		s.stats.Changes++
	}
	s.stats.LastReload = now
	s.stats.Version = version
}

// fail logs a failed load, then counts it: whoever sees the count (a
// metric, a test) finds the log line already written.
func (s *Source) fail(err error, cause string) {
	s.log.Warn("configuration reload failed; keeping the current configuration", "cause", cause, "err", err)
	s.statMu.Lock()
	s.stats.Failures++
	s.statMu.Unlock()
}

func isEmpty(d *ccdata.Data) bool {
	return len(d.Tenants) == 0 && len(d.Switches) == 0 && len(d.DNs) == 0 && len(d.Persons) == 0
}

// sameData compares two configurations entry by entry; nil and empty
// lists and maps are equal (a snapshot's copy and a fresh parse differ
// there).
func sameData(a, b *ccdata.Data) bool {
	return slices.Equal(a.Tenants, b.Tenants) &&
		slices.Equal(a.Switches, b.Switches) &&
		slices.EqualFunc(a.DNs, b.DNs, func(x, y ccdata.DN) bool {
			if len(x.Options) == 0 && len(y.Options) == 0 {
				x.Options, y.Options = nil, nil
			}
			return reflect.DeepEqual(x, y)
		}) &&
		slices.EqualFunc(a.Persons, b.Persons, func(x, y ccdata.Person) bool {
			if len(x.Logins) == 0 && len(y.Logins) == 0 {
				x.Logins, y.Logins = nil, nil
			}
			if len(x.Skills) == 0 && len(y.Skills) == 0 {
				x.Skills, y.Skills = nil, nil
			}
			return reflect.DeepEqual(x, y)
		})
}
