// Package recorder is the orchestration of the recording server: it admits
// calls (capacity, draining), joins the two MSR legs of a call (key: record id
// + recorded DN, never CallUUID alone) or the N streams of a SIPREC session
// into one recording, wires RTP receivers to the recording's mixer, answers
// SDP, follows re-INVITEs (new media address, codec change, hold, pause,
// metadata), ends legs on BYE or media timeout, and finalises recordings into
// the store. It implements sipsrv.Handler.
package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// Store is what the recorder needs from the metadata store.
type Store interface {
	CreateRecording(ctx context.Context, r *store.Recording) error
	UpdateRecording(ctx context.Context, r *store.Recording) error
	AddEvents(ctx context.Context, id string, events ...store.Event) error
	ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error)
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
}

// MediaListener opens a leg's receiver on shared media sockets
// (rtpin.Shared).
type MediaListener interface {
	Listen(cfg rtpin.Config) (*rtpin.Receiver, error)
	Legs() int // legs listening now
}

// Config configures a Recorder.
type Config struct {
	DataDir string
	// MediaDir is where recordings are written ("" = <DataDir>/media):
	// serve's media: file:DIR.
	MediaDir      string
	Format        wav.Format
	MaxCalls      int
	RetryAfter    int // seconds, with 503
	MediaTimeout  time.Duration
	LegWindow     time.Duration
	ReorderWindow time.Duration
	FlushInterval time.Duration
	// FsyncInterval is how often a recording's file is flushed to stable
	// storage (fsync); in between, each flush only rewrites the header
	// (enough for a killed process, not for a power loss). <= FlushInterval
	// = every flush.
	FsyncInterval time.Duration
	RTPIP         netip.Addr
	AdvertiseIP   netip.Addr // address in SDP answers; default: RTPIP if specific, else the address the peer reached
	Ports         *rtpin.PortAllocator
	// Shared, if set, receives every leg's media on shared sockets
	// (media_ports: shared); Ports is then not used for legs.
	Shared          MediaListener
	StrictRTPSource bool
	// DTMF returns how key tones are treated in the recording of a session
	// from a SIP source address (nil: kept).
	DTMF func(source string) mixer.DTMFMode
	// Correlator, if set, hears of every recording's sessions and gives
	// what the CTI side knows of it (see Correlator).
	Correlator Correlator
	// LiveHub, if set, is the hub live listening subscribes to: each
	// recording publishes its decoded audio to it, under its recording
	// id, from the RTP ingest.
	LiveHub *live.Hub
	// Encryption encrypts every new recording (and raw payload sidecar) at
	// rest to the recipients of its tenant, named by Tenant from the SIP
	// source (nil, or keys without recipients: plaintext WAV). Replaced
	// while running by SetEncryption (SIGHUP).
	Encryption *mediacrypt.Keys
	// Decoders makes the decoder of a codec other than G.711 while
	// recording, rendering rate (8000, or 16000 in a wideband recording);
	// nil means every decoder of this build (codec.NewDecoderRate). A codec
	// it refuses is kept raw (needs_transcode) for internal/recorder/transcode.
	Decoders func(c media.Codec, rate int) (mixer.Decoder, error)

	Tenant func(source string) string
	// MediaFormat gives the storage format (mediaconv.StoreWAV, StoreMP3,
	// StoreOpus) and bitrate (kbit/s, 0 = default) of the recording of a
	// session from a SIP source ("" source: the deployment's); nil, or no
	// Encoder, keeps every recording as WAV. See compress.go.
	MediaFormat func(source string) (format string, kbps int)
	Encoder     Encoder
	Now         func() time.Time
	Logger      *slog.Logger
}

// Recorder implements sipsrv.Handler.
type Recorder struct {
	cfg Config
	st  Store
	cor Correlator
	hub *live.Hub
	log *slog.Logger

	gate    Gate // resources besides call slots (nil: not checked)
	fault   faultCounters
	retries sync.WaitGroup     // background retries of final row writes (saveFinal)
	waiting map[*call]struct{} // MSR calls whose second leg has not come (r.mu): a port pair is promised to each

	mu       sync.Mutex
	calls    map[string]*call // by call key
	legs     map[string]*leg  // by SIP Call-ID
	draining bool

	ids sync.Map // recording id → *call, while in progress (IsLive)

	enc atomic.Pointer[mediacrypt.Keys] // Config.Encryption, replaced by SetEncryption

	rtpNow func() time.Time // Config.Now as given (nil: the receivers' clock)

	stats counters
	comp  *compressor // storage formats made when recordings end

	wg        sync.WaitGroup
	hangups   sync.WaitGroup // BYEs sent by endLeg
	stop      chan struct{}
	closeOnce sync.Once
}

type counters struct {
	callsAdmitted    atomic.Uint64
	callsRejected    atomic.Uint64
	legsTotal        atomic.Uint64
	packetsClosed    atomic.Uint64 // packets of receivers already closed
	packetsDropped   atomic.Uint64 // foreign-source packets of receivers already closed
	packetsUnoffered atomic.Uint64 // packets of a payload type not offered, receivers already closed
	recordingsByStat sync.Map      // store.Status -> *atomic.Uint64
	mediaTimeouts    atomic.Uint64
	storedOK         atomic.Uint64 // recordings swapped to their storage format
	storedFailed     atomic.Uint64 // storage format attempts that failed (the WAV kept)

	srtpAuthFailures  atomic.Uint64 // packets of closed streams that failed SRTP authentication
	srtpFailedStreams atomic.Uint64 // streams whose every packet failed SRTP authentication
}

var _ sipsrv.Handler = (*Recorder)(nil)

// New creates a Recorder; Run starts its flush loop.
func New(cfg Config, st Store) (*Recorder, error) {
	rtpNow := cfg.Now // nil: the receivers' own (shared sockets read it once per batch)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Ports == nil {
		return nil, errors.New("recorder: no RTP port allocator")
	}
	if cfg.Format == 0 {
		cfg.Format = wav.FormatULaw
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 500
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5
	}
	if !cfg.RTPIP.IsValid() {
		cfg.RTPIP = netip.IPv4Unspecified()
	}
	r := &Recorder{
		cfg:    cfg,
		st:     st,
		cor:    cfg.Correlator,
		hub:    cfg.LiveHub,
		log:    cfg.Logger,
		calls:  map[string]*call{},
		legs:   map[string]*leg{},
		stop:   make(chan struct{}),
		rtpNow: rtpNow,
	}
	r.comp = newCompressor(r, compressWorkers())
	r.enc.Store(cfg.Encryption)
	return r, nil
}

// MediaDir is where recordings are written.
func (r *Recorder) MediaDir() string {
	if r.cfg.MediaDir != "" {
		return r.cfg.MediaDir
	}
	return filepath.Join(r.cfg.DataDir, "media")
}

// Available implements sipsrv.Handler (OPTIONS).
func (r *Recorder) Available() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: draining", RetryAfter: r.cfg.RetryAfter}
	}
	if len(r.calls) >= r.cfg.MaxCalls {
		return &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: at capacity", RetryAfter: r.cfg.RetryAfter}
	}
	return r.resourceRefusal(false)
}

// Stats is a snapshot for metrics and health.
type Stats struct {
	ActiveCalls     int
	ActiveLegs      int
	CallsAdmitted   uint64
	CallsRejected   uint64
	Legs            uint64
	PacketsReceived uint64
	MediaTimeouts   uint64
	Recordings      map[store.Status]uint64
	PortsInUse      int // RTP port pairs in use; with shared media sockets, legs on them
	Draining        bool

	SRTPAuthFailures  uint64 // SRTP/SRTCP packets that failed authentication (counted when their stream closes)
	SRTPFailedStreams uint64 // streams that received packets but could decrypt none (wrong key)

	// PacketsUnofferedPT counts RTP packets dropped because the SDP did not
	// offer their payload type (open and closed receivers).
	PacketsUnofferedPT uint64

	// StoredCompressed counts recordings replaced by their MP3 or Opus
	// file (media_format); StoredFailed the attempts that failed (the
	// WAV is kept, retried at the next start); StoredQueued the
	// recordings waiting for (or in) the encoder.
	StoredCompressed, StoredFailed uint64
	StoredQueued                   int
}

// Stats returns current counters.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	s := Stats{ActiveCalls: len(r.calls), ActiveLegs: len(r.legs), Draining: r.draining}
	calls := make([]*call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	// Not under r.mu: a call's mutex can be held for a disk flush, and SIP
	// handling of every other call needs r.mu.
	var pkts, unoffered uint64
	for _, c := range calls {
		p, u := c.liveCounts()
		pkts += p
		unoffered += u
	}
	s.PacketsUnofferedPT = unoffered + r.stats.packetsUnoffered.Load()
	s.CallsAdmitted = r.stats.callsAdmitted.Load()
	s.CallsRejected = r.stats.callsRejected.Load()
	s.Legs = r.stats.legsTotal.Load()
	s.PacketsReceived = pkts + r.stats.packetsClosed.Load()
	s.MediaTimeouts = r.stats.mediaTimeouts.Load()
	s.StoredCompressed, s.StoredFailed = r.stats.storedOK.Load(), r.stats.storedFailed.Load()
	s.StoredQueued = r.comp.queued()
	s.SRTPAuthFailures = r.stats.srtpAuthFailures.Load()
	s.SRTPFailedStreams = r.stats.srtpFailedStreams.Load()
	s.PortsInUse = r.cfg.Ports.InUse()
	if r.cfg.Shared != nil {
		s.PortsInUse = r.cfg.Shared.Legs()
	}
	s.Recordings = map[store.Status]uint64{}
	r.stats.recordingsByStat.Range(func(k, v any) bool {
		s.Recordings[k.(store.Status)] = v.(*atomic.Uint64).Load()
		return true
	})
	return s
}

func (r *Recorder) countRecording(st store.Status) {
	v, _ := r.stats.recordingsByStat.LoadOrStore(st, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

func mixerFormat(f wav.Format) mixer.Format { return mixer.Format(f) }

func (r *Recorder) unavailable(reason string) error {
	r.stats.callsRejected.Add(1)
	return &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: " + reason, RetryAfter: r.cfg.RetryAfter}
}

func internalError(err error) error {
	return &sipsrv.StatusError{Code: 500, Reason: "Server Internal Error", Err: err}
}

func errf(format string, a ...any) error { return fmt.Errorf("recorder: "+format, a...) }
