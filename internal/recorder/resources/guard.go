package resources

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Ports counts RTP port pairs (rtpin.PortAllocator).
type Ports interface {
	// Free returns the pairs Allocate could hand out now and the pairs
	// resting in quarantine (neither in use nor free).
	Free() (free, quarantined int)
}

// Disk reports the space of the file system holding path.
type Disk interface {
	Usage(path string) (free, total uint64, err error)
}

// FDs reports the file descriptors of the process.
type FDs interface {
	Open() (int, error)
	Limit() (uint64, error)
}

// Level is where free disk space stands against the watermarks.
type Level int

// Levels.
const (
	DiskOK       Level = iota
	DiskLow            // below the low watermark: new calls are refused
	DiskCritical       // below the critical watermark: calls in progress end
)

func (l Level) String() string {
	return [...]string{"ok", "low", "critical"}[l]
}

// Config configures a Guard. Zero values take the defaults noted.
type Config struct {
	Ports Ports  // nil: ports are not checked
	Dir   string // the data directory (media and store)
	Disk  Disk   // default StatFS
	// Low and Critical are the free-space watermarks of Dir's file system.
	Low, Critical Watermark
	FDs           FDs // default ProcFDs
	// FDReserve is how many descriptors stay for the HTTP API, the store
	// and health when calls are admitted (default 64); FDsPerCall what one
	// call needs (default 8: two legs × RTP+RTCP, the WAV file, sidecars).
	FDReserve, FDsPerCall int
	// Probe checks that the store takes writes (nil: not checked).
	Probe func(ctx context.Context) error
	// Interval between samples of disk, descriptors and store (default 1 s).
	Interval time.Duration
	// OnCritical is called (from Run) after every sample below the
	// critical watermark: calls in progress must end.
	OnCritical func(Snapshot)
	Now        func() time.Time
	Logger     *slog.Logger
}

// Snapshot is one sample (ports are counted live).
type Snapshot struct {
	At                          time.Time
	FreePairs, QuarantinedPairs int
	DiskFree, DiskTotal         uint64
	Disk                        Level
	DiskErr                     error
	OpenFDs                     int
	FDLimit                     uint64 // 0: unknown
	FDErr                       error
	StoreErr                    error
}

// Guard samples the resources and answers admission and health.
type Guard struct {
	cfg  Config
	snap atomic.Pointer[Snapshot]

	mu        sync.Mutex // serialises Sample
	lastLevel Level

	// admitted counts calls admitted since the last sample: their
	// descriptors are not in OpenFDs yet, so a burst of INVITEs between two
	// samples cannot run past the reserve.
	admitted atomic.Int64
}

// New returns a Guard with a first sample taken.
func New(ctx context.Context, cfg Config) *Guard {
	if cfg.Disk == nil {
		cfg.Disk = StatFS{}
	}
	if cfg.FDs == nil {
		cfg.FDs = ProcFDs{}
	}
	if cfg.FDReserve <= 0 {
		cfg.FDReserve = 64
	}
	if cfg.FDsPerCall <= 0 {
		cfg.FDsPerCall = 8
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Guard{cfg: cfg}
	g.Sample(ctx)
	return g
}

// Run samples every Interval until ctx ends.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(g.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s := g.Sample(ctx)
			if s.Disk == DiskCritical && g.cfg.OnCritical != nil {
				g.cfg.OnCritical(s)
			}
		}
	}
}

// Sample reads disk, descriptors and store now and keeps the result.
func (g *Guard) Sample(ctx context.Context) Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Snapshot{At: g.cfg.Now()}
	s.DiskFree, s.DiskTotal, s.DiskErr = g.cfg.Disk.Usage(g.cfg.Dir)
	if s.DiskErr == nil {
		switch {
		case g.cfg.Critical.Below(s.DiskFree, s.DiskTotal):
			s.Disk = DiskCritical
		case g.cfg.Low.Below(s.DiskFree, s.DiskTotal):
			s.Disk = DiskLow
		}
	}
	g.admitted.Store(0) // the count below includes them
	s.OpenFDs, s.FDErr = g.cfg.FDs.Open()
	if s.FDErr == nil {
		s.FDLimit, s.FDErr = g.cfg.FDs.Limit()
	}
	if g.cfg.Probe != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s.StoreErr = g.cfg.Probe(pctx)
		cancel()
	}
	if s.Disk != g.lastLevel {
		g.cfg.Logger.Warn("disk space level changed", "level", s.Disk.String(), "was", g.lastLevel.String(),
			"free_bytes", s.DiskFree, "low_watermark", g.cfg.Low.String(), "critical_watermark", g.cfg.Critical.String())
		g.lastLevel = s.Disk
	}
	prev := g.snap.Swap(&s)
	if s.StoreErr != nil && (prev == nil || prev.StoreErr == nil) {
		g.cfg.Logger.Error("store not writable: new calls refused", "error", s.StoreErr)
	}
	return s
}

// Snapshot returns the last sample with the ports counted now.
func (g *Guard) Snapshot() Snapshot {
	s := *g.snap.Load()
	if g.cfg.Ports != nil {
		s.FreePairs, s.QuarantinedPairs = g.cfg.Ports.Free()
	}
	return s
}

// Check says whether a new call needing pairs RTP port pairs could be
// recorded now: nil, or a *Refusal of one or more Err* values (its text is
// the reason). It is what health asks.
func (g *Guard) Check(pairs int) error {
	return g.check(g.Snapshot(), pairs)
}

// Admit is Check for a call about to be admitted: on success the call's
// descriptors count as used until the next sample.
func (g *Guard) Admit(pairs int) error {
	if err := g.check(g.Snapshot(), pairs); err != nil {
		return err
	}
	g.admitted.Add(1)
	return nil
}

func (g *Guard) check(s Snapshot, pairs int) error {
	var errs []error
	if g.cfg.Ports != nil && s.FreePairs < pairs {
		errs = append(errs, ErrNoPorts)
	}
	switch {
	case s.DiskErr != nil:
		errs = append(errs, ErrDisk)
	case s.Disk == DiskCritical:
		errs = append(errs, ErrDiskFull)
	case s.Disk == DiskLow:
		errs = append(errs, ErrDiskLow)
	}
	if s.StoreErr != nil {
		errs = append(errs, ErrStore)
	}
	open := s.OpenFDs + int(g.admitted.Load())*g.cfg.FDsPerCall
	if s.FDErr == nil && s.FDLimit > 0 && uint64(open+g.cfg.FDsPerCall+g.cfg.FDReserve) > s.FDLimit {
		errs = append(errs, ErrFDs)
	}
	if len(errs) == 0 {
		return nil
	}
	return &Refusal{errs: errs}
}

// Refusal is why a new call cannot be recorded: one or more Err* values.
type Refusal struct{ errs []error }

// Error is the reasons joined with ", " (fixed English texts).
func (r *Refusal) Error() string {
	out := ""
	for i, e := range r.errs {
		if i > 0 {
			out += ", "
		}
		out += e.Error()
	}
	return out
}

// Unwrap gives the reasons to errors.Is.
func (r *Refusal) Unwrap() []error { return r.errs }

var _ error = (*Refusal)(nil)
