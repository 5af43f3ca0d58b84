// Package callcore joins the CTI side to the recorder. It feeds the CTI
// client's events to the conversation engine, carries out the engine's
// actions (RequestPrivateService for recording control, RequestUpdateUserData
// for Notification of Recording, alerts for failed recordings), tells the
// recorder about compliance pauses, and implements recorder.Correlator: DN
// exclusion at the SIP side (603), joining legs to calls, first audio, and
// the couples with their external data when a recording is finalised — and
// again when the call's wrap-up period ends (attached data after release).
//
// One job per file: correlate.go follows the recorder's sessions and the
// CTI events (the callers' side, never blocking a SIP or RTP path),
// queue.go is the bounded queue between them and Run, dispatch.go carries
// out the queued actions, retention.go the keep/discard decisions and
// sweep.go deletes what is due. Run owns the dispatcher and the sweeper;
// Close ends both and abandons every send still waiting.
//
// The direction is one way: the recorder tells Core what happens to its
// recordings (recorder.Correlator, given to recorder.New); Core acts on
// recordings only through the Recorder given to Run (pause, late CTI data)
// and deletes through the Deleter: the recorder alone writes its rows and
// files.
package callcore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// Requester sends T-Library requests (the CTI client).
type Requester interface {
	Request(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error)
}

// Recorder is the recorder's command side: the one way Core acts on a
// recording (the recorder writes its rows and owns its files).
type Recorder interface {
	// SetPaused pauses or resumes the recording of an MSR call
	// (recorder.ErrNoSuchCall when it is not in progress).
	SetPaused(recordID, recordDN string, paused bool) error
	// Recorrelate stores what the CTI side learnt after a recording was
	// finalised (attached data after release, the call's end): its
	// couples and recording-level external data.
	Recorrelate(ctx context.Context, recordingID string, couples []store.Couple, external map[string]string) error
}

// Store reads finished recordings when late CTI data arrives, and keeps a
// row for recordings that never came (failed-recording detection: rows
// that are Core's own, with no media).
type Store interface {
	CreateRecording(ctx context.Context, r *store.Recording) error
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	UpdateRecording(ctx context.Context, r *store.Recording) error
}

// Config configures a Core.
type Config struct {
	Engine *conversation.Engine
	Filter *dnfilter.Filter
	// Exclude, if set, replaces Filter for Admit: it returns why a
	// recorded DN is excluded ("" = admitted), e.g. a tenant's dn_exclude.
	Exclude func(dn string) string
	Store   Store
	// QueueSize bounds the action queue (default 10000). A full queue
	// makes the CTI reader and the API wait (back-pressure); the
	// recorder's SIP and RTP paths never wait: their actions are dropped,
	// counted (Stats.Dropped) and logged.
	QueueSize int
	// RequestTimeout bounds each T-Library request (default 10 s).
	RequestTimeout time.Duration
	// ObserveNotify, if set, gets the Notification-of-Recording latency:
	// first RTP of a call's recording → the attached-data update sent.
	ObserveNotify func(time.Duration)
	// SourceTenant gives the tenant keys (GEN_CFG_TENANT, GEN_CFG_Tenant)
	// of a SIP session no CTI call explains, from its SIP source address,
	// so tenant isolation is defined for every recording. Optional.
	SourceTenant func(source string) map[string]string
	// DTMF, if set, gives the dtmf setting (keep, mask,
	// mask-and-drop-events; "" = none) of a recording from the rule that
	// started it and the tenant of its call (see Core.DTMF).
	DTMF func(rule, tenant string) string
	// Screen, if set, is told when a recording that asks for screen
	// recording (ScreenWanted) starts, pauses, resumes and stops, for the
	// agent on its recorded DN (issue 18: screen-recording clients
	// subscribe per agent).
	Screen ScreenPublisher
	// ScreenWanted decides whether a recording asks for screen recording
	// from the rule that started it and its call's tenant (nil: never).
	ScreenWanted func(rule, tenant string) bool
	// ScreenTimeout: a recording that asked for screen recording and got
	// no screen video this long after its start raises a no-screen alert
	// (default 30 s).
	ScreenTimeout time.Duration
	// VideoNotifyKey gives the attached-data key of the Notification of
	// Recording for video of a tenant's calls ("" = none): set to "yes"
	// when the screen video starts arriving, "no" at the no-screen alert.
	VideoNotifyKey func(tenant string) string
	// Trace, if set, receives every T-Library message in and out in the
	// Genesys-log style of tlib (Message.Trace), each preceded by a
	// "# <time> <direction> <server>" line: the file ParseTrace reads back.
	Trace io.Writer
	// Retention keeps pre-recording and do-not-record decisions (nil =
	// decisions are only logged).
	Retention RetentionStore
	// Deleter deletes recordings whose retention decision says so (nil =
	// nothing is deleted).
	Deleter Deleter
	// PrerecordGrace: a pre-recording is kept only if a keep request
	// arrives during the call or this long after its recording ended
	// (default 10 min).
	PrerecordGrace time.Duration
	// Sweep is how often due deletions run (default 1 s).
	Sweep time.Duration
	// KeepKey is the attached-data key of keep requests (the engine's
	// RecordConfig.KeepKey): it also reaches calls the engine no longer
	// holds, through the store. Empty = RECORDING_KEEP.
	KeepKey string
	// GIM looks up recordings that arrive without Genesys identifiers
	// (passive capture, SIPREC from an SBC) over T-Library at every
	// server of Servers (see gim.go).
	GIM     bool
	Servers []string
	Tick    time.Duration // engine timers (default 100 ms)
	Now     func() time.Time
	Logger  *slog.Logger
}

// DefaultRequestTimeout bounds a T-Library request when
// Config.RequestTimeout is not set.
const DefaultRequestTimeout = 10 * time.Second

// Core is the CTI ↔ recorder bridge.
type Core struct {
	cfg  Config
	eng  *conversation.Engine
	log  *slog.Logger
	jobs *queue
	led  *ledger
	lat  *notifyLatency

	// life ends when Close is called or Run returns: every send to the
	// queue is abandoned then.
	life    context.Context
	quit    context.CancelFunc
	running atomic.Bool
	exited  chan struct{} // closed when Run returns

	traceMu sync.Mutex

	link atomic.Pointer[Requester] // set by Run, for GIM lookups
	gim  gimTable
	scr  screenTable

	alerts   sync.Map // conversation.AlertKind → *atomic.Uint64
	requests atomic.Uint64
	failures atomic.Uint64
	deleted  atomic.Uint64
}

var (
	_ recorder.Correlator = (*Core)(nil)
)

// New creates a Core; Run starts it. It starts no goroutine.
func New(cfg Config) (*Core, error) {
	if cfg.Engine == nil {
		return nil, errors.New("callcore: an engine is required")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.PrerecordGrace <= 0 {
		cfg.PrerecordGrace = DefaultPrerecordGrace
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = DefaultSweep
	}
	if cfg.ScreenTimeout <= 0 {
		cfg.ScreenTimeout = 30 * time.Second
	}
	if cfg.KeepKey == "" {
		cfg.KeepKey = "RECORDING_KEEP"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	life, quit := context.WithCancel(context.Background())
	return &Core{
		cfg: cfg, eng: cfg.Engine, log: cfg.Logger,
		jobs: newQueue(cfg.QueueSize, life.Done(), cfg.Logger),
		led:  newLedger(),
		scr:  screenTable{pending: map[string]recorder.Session{}, watch: map[string]*screenWatch{}},
		lat:  newNotifyLatency(),
		life: life, quit: quit,
		exited: make(chan struct{}),
	}, nil
}

// Run carries out the queued actions through link (the CTI client) and rec
// (the recorder's command side, nil = none), drives the engine's timers and
// sweeps due deletions, until ctx ends or Close is called; then it returns
// nil. It runs once: a second call returns ErrRunning, a call after Close
// ErrClosed.
func (c *Core) Run(ctx context.Context, link Requester, rec Recorder) error {
	if link == nil {
		return errors.New("callcore: Run needs a requester")
	}
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer close(c.exited)
	defer c.quit() // from now on nothing waits on the queue
	if c.life.Err() != nil {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()

	c.link.Store(&link)
	d := &dispatcher{Core: c, link: link, rec: rec}
	s := &sweeper{Core: c}
	var wg sync.WaitGroup
	wg.Go(func() { s.run(ctx) })
	d.run(ctx)
	cancel()
	wg.Wait()
	return nil
}

// Close stops Run and waits for it to return; queued actions are dropped
// and every send still waiting is abandoned (ErrClosed). Idempotent.
func (c *Core) Close() error {
	c.quit()
	if c.running.Load() {
		<-c.exited
	}
	c.gim.close()
	return nil
}

func (c *Core) trace(dir, server string, m *tlib.Message) {
	if c.cfg.Trace == nil {
		return
	}
	c.traceMu.Lock()
	defer c.traceMu.Unlock()
	_, _ = fmt.Fprintf(c.cfg.Trace, "# %s %s %s\n%s\n", c.cfg.Now().UTC().Format(time.RFC3339Nano), dir, server, m.Redact().Trace())
}

func (c *Core) countAlert(kind conversation.AlertKind) {
	v, _ := c.alerts.LoadOrStore(kind, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

// Stats is a snapshot for metrics.
type Stats struct {
	Requests, RequestFailures uint64
	// NotifyP50/P99: Notification-of-Recording latency over the last
	// samples (first RTP → attached-data update sent); NotifySamples how many.
	NotifyP50, NotifyP99 time.Duration
	NotifySamples        int
	Alerts               map[string]uint64
	Engine               conversation.Counters
	// Dropped counts actions dropped because the queue was full (the
	// recorder's SIP and RTP paths never wait); Deleted the recordings
	// deleted by retention decisions.
	Dropped, Deleted uint64
}

// Stats returns counters.
func (c *Core) Stats() Stats {
	s := Stats{Requests: c.requests.Load(), RequestFailures: c.failures.Load(), Alerts: map[string]uint64{},
		Engine: c.eng.Counters(), Dropped: c.jobs.dropped.Load(), Deleted: c.deleted.Load()}
	s.NotifyP50, s.NotifyP99, s.NotifySamples = c.lat.percentiles()
	c.alerts.Range(func(k, v any) bool {
		s.Alerts[string(k.(conversation.AlertKind))] = v.(*atomic.Uint64).Load()
		return true
	})
	return s
}

// FilterOnly is the Correlator used when no CTI link is configured but DNs
// are excluded: it refuses excluded recorded DNs (603) and nothing else.
func FilterOnly(f *dnfilter.Filter) recorder.Correlator { return filterOnly{f} }

type filterOnly struct{ f *dnfilter.Filter }

func (o filterOnly) Admit(dn string) error {
	if o.f.Excluded(dn) {
		return fmt.Errorf("%w: %s (%s)", recorder.ErrExcluded, dn, o.f.String())
	}
	return nil
}
func (filterOnly) Started(recorder.Session)       {}
func (filterOnly) AudioStarted(string, time.Time) {}
func (filterOnly) Finished(recorder.Session, time.Time) ([]store.Couple, map[string]string, string) {
	return nil, nil, ""
}
