package resources

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestParseWatermark(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Watermark
		wantErr bool
	}{
		{"", Watermark{}, false},
		{"0", Watermark{}, false},
		{"2GB", Watermark{Bytes: 2e9}, false},
		{"200MB", Watermark{Bytes: 200e6}, false},
		{"512KiB", Watermark{Bytes: 512 << 10}, false},
		{"1.5gib", Watermark{Bytes: 3 << 29}, false},
		{"1000000", Watermark{Bytes: 1e6}, false},
		{"5%", Watermark{Percent: 5}, false},
		{" 2.5 % ", Watermark{Percent: 2.5}, false},
		{"100%", Watermark{}, true},
		{"-1GB", Watermark{}, true},
		{"lots", Watermark{}, true},
		{"5XB", Watermark{}, true},
	} {
		got, err := ParseWatermark(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseWatermark(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrWatermark) {
			t.Errorf("ParseWatermark(%q): error %v does not wrap ErrWatermark", tt.in, err)
		}
	}
}

func TestWatermarkBelow(t *testing.T) {
	pct := Watermark{Percent: 5}
	if !pct.Below(4, 100) || pct.Below(5, 100) {
		t.Error("5% of 100: 4 is below, 5 is not")
	}
	if (Watermark{}).Below(0, 100) {
		t.Error("a disabled watermark is never crossed")
	}
	if !(Watermark{Bytes: 10}).Below(9, 1000) {
		t.Error("9 bytes free is below 10")
	}
}

// fakes for the resources

type fakePorts struct{ free, q int }

func (f *fakePorts) Free() (int, int) { return f.free, f.q }

type fakeDisk struct {
	mu          sync.Mutex
	free, total uint64
	err         error
}

func (f *fakeDisk) Usage(string) (uint64, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.free, f.total, f.err
}

type fakeFDs struct {
	open  int
	limit uint64
}

func (f *fakeFDs) Open() (int, error)     { return f.open, nil }
func (f *fakeFDs) Limit() (uint64, error) { return f.limit, nil }

// Every scarce resource refuses a new call, with its own fixed reason;
// recovery admits again.
func TestGuardCheck(t *testing.T) {
	ctx := context.Background()
	ports := &fakePorts{free: 10}
	disk := &fakeDisk{free: 10e9, total: 100e9}
	fds := &fakeFDs{open: 100, limit: 1024}
	var probeErr error
	var critical int
	g := New(ctx, Config{
		Ports: ports, Disk: disk, FDs: fds, FDReserve: 64, FDsPerCall: 8,
		Low: Watermark{Bytes: 2e9}, Critical: Watermark{Bytes: 200e6},
		Probe:      func(context.Context) error { return probeErr },
		OnCritical: func(Snapshot) { critical++ },
	})
	if err := g.Check(2); err != nil {
		t.Fatalf("all resources free: %v", err)
	}
	for _, tt := range []struct {
		name   string
		set    func()
		want   error
		reason string
	}{
		{"ports in use or quarantined", func() { ports.free, ports.q = 1, 9 }, ErrNoPorts, "no free RTP port pair"},
		{"disk below low", func() { disk.free = 1e9 }, ErrDiskLow, "disk below low watermark"},
		{"disk below critical", func() { disk.free = 100e6 }, ErrDiskFull, "disk below critical watermark"},
		{"disk unknown", func() { disk.err = errors.New("statfs: EIO") }, ErrDisk, "disk space unknown"},
		{"store not writable", func() { probeErr = errors.New("read-only file system") }, ErrStore, "store not writable"},
		{"descriptors: reserve would be used", func() { fds.open = 1024 - 64 - 7 }, ErrFDs, "file descriptors exhausted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ports.free, ports.q = 10, 0
			disk.free, disk.err = 10e9, nil
			probeErr = nil
			fds.open = 100
			tt.set()
			g.Sample(ctx)
			err := g.Check(2)
			if !errors.Is(err, tt.want) || err.Error() != tt.reason {
				t.Errorf("Check = %v, want %q", err, tt.reason)
			}
			ports.free, ports.q = 10, 0
			disk.free, disk.err = 10e9, nil
			probeErr = nil
			fds.open = 100
			g.Sample(ctx)
			if err := g.Check(2); err != nil {
				t.Errorf("after recovery: %v", err)
			}
		})
	}
	// Several at once: all reasons, joined.
	ports.free = 0
	probeErr = errors.New("x")
	g.Sample(ctx)
	if err := g.Check(2); err == nil || !strings.Contains(err.Error(), "no free RTP port pair, store not writable") {
		t.Errorf("two refusals: %v", err)
	}
	s := g.Snapshot()
	if s.FreePairs != 0 || s.QuarantinedPairs != 0 || s.DiskFree != 10e9 || s.OpenFDs != 100 || s.FDLimit != 1024 {
		t.Errorf("snapshot %+v", s)
	}
}

// ProcFDs and StatFS read the real process and file system.
func TestSystemSources(t *testing.T) {
	n, err := ProcFDs{}.Open()
	if err != nil || n < 3 {
		t.Fatalf("open fds = %d, %v", n, err)
	}
	lim, err := ProcFDs{}.Limit()
	if err != nil || lim < uint64(n) {
		t.Fatalf("limit = %d, %v (open %d)", lim, err, n)
	}
	free, total, err := StatFS{}.Usage(t.TempDir())
	if err != nil || total == 0 || free > total {
		t.Fatalf("statfs: free %d total %d, %v", free, total, err)
	}
}

// Calls admitted between two samples count against the descriptor budget:
// a burst of INVITEs cannot run past the reserve before the next sample;
// the sample then counts what is really open.
func TestGuardAdmitCountsUntilSampled(t *testing.T) {
	ctx := context.Background()
	fds := &fakeFDs{open: 100, limit: 100 + 64 + 8*3} // room for 3 calls
	g := New(ctx, Config{FDs: fds, Disk: &fakeDisk{free: 1e12, total: 2e12}, FDReserve: 64, FDsPerCall: 8})
	for i := range 3 {
		if err := g.Admit(2); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if err := g.Admit(2); !errors.Is(err, ErrFDs) {
		t.Fatalf("4th call in the burst: %v, want ErrFDs", err)
	}
	if err := g.Check(2); !errors.Is(err, ErrFDs) {
		t.Errorf("health after the burst: %v, want ErrFDs", err)
	}
	// The calls ended before the next sample: nothing is open any more.
	g.Sample(ctx)
	if err := g.Check(2); err != nil {
		t.Errorf("after the sample: %v", err)
	}
	// Check (health) never counts as an admission.
	for range 10 {
		_ = g.Check(2)
	}
	if err := g.Admit(2); err != nil {
		t.Errorf("health checks used the budget: %v", err)
	}
}
