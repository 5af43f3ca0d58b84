package rtpin

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool"
)

// fakeClock is an injectable clock for quarantine tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestNewPortAllocatorRange(t *testing.T) {
	tests := []struct {
		name      string
		low, high int
		wantErr   bool
		capacity  int
		first     int
	}{
		{name: "even bounds", low: 10000, high: 10009, capacity: 5, first: 10000},
		{name: "odd low rounds up", low: 10001, high: 10009, capacity: 4, first: 10002},
		{name: "even high leaves last port unused", low: 10000, high: 10010, capacity: 5, first: 10000},
		{name: "exactly one pair", low: 10000, high: 10001, capacity: 1, first: 10000},
		{name: "single port", low: 10000, high: 10000, wantErr: true},
		{name: "odd low, one port left", low: 10001, high: 10002, wantErr: true},
		{name: "inverted", low: 10010, high: 10000, wantErr: true},
		{name: "port zero is skipped", low: 0, high: 3, capacity: 1, first: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewPortAllocator(tt.low, tt.high, time.Second, nil)
			if tt.wantErr {
				if !errors.Is(err, ErrPortRange) {
					t.Fatalf("err = %v, want ErrPortRange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Capacity(); got != tt.capacity {
				t.Errorf("Capacity = %d, want %d", got, tt.capacity)
			}
			var got []int
			for {
				p, err := a.Allocate()
				if errors.Is(err, ErrNoPorts) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p)
			}
			if len(got) != tt.capacity || got[0] != tt.first {
				t.Fatalf("allocated %v, want %d ports from %d", got, tt.capacity, tt.first)
			}
			for _, p := range got {
				if p%2 != 0 || p < tt.low || p+1 > tt.high {
					t.Errorf("port %d: not an even port with p+1 in [%d,%d]", p, tt.low, tt.high)
				}
			}
			if a.InUse() != tt.capacity {
				t.Errorf("InUse = %d, want %d", a.InUse(), tt.capacity)
			}
		})
	}
}

func TestPortAllocatorLifecycle(t *testing.T) {
	const q = 30 * time.Second
	occ := func(port uint16, ssrcs ...uint32) Occupant {
		return Occupant{Source: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), port), SSRCs: ssrcs}
	}
	// Each step is applied in order to one allocator over 3 pairs
	// (20000, 20002, 20004) with a 30 s quarantine.
	type step struct {
		advance  time.Duration
		release  int // port to release (0: none)
		occupant Occupant
		alloc    bool
		want     int  // expected port when alloc
		wantNone bool // expect ErrNoPorts
		inUse    int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "exhaustion",
			steps: []step{
				{alloc: true, want: 20000, inUse: 1},
				{alloc: true, want: 20002, inUse: 2},
				{alloc: true, want: 20004, inUse: 3},
				{alloc: true, wantNone: true, inUse: 3},
			},
		},
		{
			name: "never-used ports before just-freed ones",
			steps: []step{
				{alloc: true, want: 20000, inUse: 1},
				{release: 20000, inUse: 0},
				{advance: time.Hour, alloc: true, want: 20002, inUse: 1},
				{alloc: true, want: 20004, inUse: 2},
				{alloc: true, want: 20000, inUse: 3},
			},
		},
		{
			name: "quarantine holds a freed port",
			steps: []step{
				{alloc: true, want: 20000},
				{alloc: true, want: 20002},
				{alloc: true, want: 20004, inUse: 3},
				{release: 20002, inUse: 2},
				{alloc: true, wantNone: true, inUse: 2},
				{advance: q - time.Millisecond, alloc: true, wantNone: true, inUse: 2},
				{advance: time.Millisecond, alloc: true, want: 20002, inUse: 3},
			},
		},
		{
			name: "longest released first",
			steps: []step{
				{alloc: true, want: 20000},
				{alloc: true, want: 20002},
				{alloc: true, want: 20004, inUse: 3},
				{release: 20004, inUse: 2},
				{advance: time.Second, release: 20000, inUse: 1},
				{advance: time.Second, release: 20002, inUse: 0},
				{advance: time.Hour, alloc: true, want: 20004},
				{alloc: true, want: 20000},
				{alloc: true, want: 20002, inUse: 3},
			},
		},
		{
			name: "release of foreign or free ports is ignored",
			steps: []step{
				{alloc: true, want: 20000, inUse: 1},
				{release: 20001, inUse: 1},
				{release: 20002, inUse: 1},
				{release: 19998, inUse: 1},
				{release: 20006, inUse: 1},
				{alloc: true, want: 20002, inUse: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			a, err := NewPortAllocator(20000, 20005, q, clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if s.release != 0 {
					a.Release(s.release, s.occupant)
				}
				if s.alloc {
					p, err := a.Allocate()
					switch {
					case s.wantNone && !errors.Is(err, ErrNoPorts):
						t.Fatalf("step %d: Allocate = %d, %v; want ErrNoPorts", i, p, err)
					case !s.wantNone && (err != nil || p != s.want):
						t.Fatalf("step %d: Allocate = %d, %v; want %d", i, p, err, s.want)
					}
				}
				if s.inUse != 0 || s.release != 0 {
					if got := a.InUse(); got != s.inUse {
						t.Fatalf("step %d: InUse = %d, want %d", i, got, s.inUse)
					}
				}
			}
		})
	}

	t.Run("previous occupant", func(t *testing.T) {
		clk := newFakeClock()
		a, err := NewPortAllocator(20000, 20001, q, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Previous(20000); got.Source.IsValid() || len(got.SSRCs) != 0 {
			t.Fatalf("Previous of a never-used port = %+v", got)
		}
		p, _ := a.Allocate()
		ssrcs := []uint32{1, 2}
		a.Release(p, Occupant{Source: occ(4000).Source, SSRCs: ssrcs})
		ssrcs[0] = 99 // the allocator keeps its own copy
		if got := a.Previous(p); got.Source != occ(4000).Source || !slices.Equal(got.SSRCs, []uint32{1, 2}) {
			t.Fatalf("Previous = %+v", got)
		}
		// A session that never locked a source keeps the older occupant.
		clk.Advance(q)
		p, _ = a.Allocate()
		a.Release(p, Occupant{})
		if got := a.Previous(p); got.Source != occ(4000).Source || !slices.Equal(got.SSRCs, []uint32{1, 2}) {
			t.Fatalf("Previous after an empty session = %+v", got)
		}
		// A session that locked replaces it.
		clk.Advance(q)
		p, _ = a.Allocate()
		a.Release(p, occ(5000, 7))
		if got := a.Previous(p); got.Source != occ(5000).Source || !slices.Equal(got.SSRCs, []uint32{7}) {
			t.Fatalf("Previous = %+v", got)
		}
		if got := a.Previous(20001); got.Source.IsValid() {
			t.Fatalf("Previous of an odd port = %+v", got)
		}
	})
}

func TestPortAllocatorConcurrent(t *testing.T) {
	a, err := NewPortAllocator(30000, 30199, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan int, 1000)
	// four Allocate calls in flight at once, 25 rounds
	testtool.Lockstep(4, 25, func(_, _ int) {
		p, err := a.Allocate()
		if err != nil {
			t.Error(err)
			return
		}
		seen <- p
	})
	close(seen)
	uniq := map[int]bool{}
	for p := range seen {
		if uniq[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		uniq[p] = true
	}
	if len(uniq) != 100 || a.InUse() != 100 {
		t.Fatalf("got %d ports, InUse %d; want 100", len(uniq), a.InUse())
	}
}

// Free counts quarantined pairs apart: a pair resting after release is
// neither free nor in use (issue 11: the gauges showed nothing during
// quarantine, health said ok while no call could get a port).
func TestPortAllocatorFreeCountsQuarantine(t *testing.T) {
	clk := newFakeClock()
	a, err := NewPortAllocator(20000, 20007, 10*time.Second, clk.Now) // 4 pairs
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantFree, wantQ int) {
		t.Helper()
		free, q := a.Free()
		if free != wantFree || q != wantQ {
			t.Errorf("Free() = %d free, %d quarantined; want %d, %d", free, q, wantFree, wantQ)
		}
		if free+q+a.InUse() != a.Capacity() {
			t.Errorf("free %d + quarantined %d + in use %d != capacity %d", free, q, a.InUse(), a.Capacity())
		}
	}
	check(4, 0)
	var ports []int
	for range 3 {
		p, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	check(1, 0)
	a.Release(ports[0], Occupant{})
	clk.Advance(4 * time.Second)
	a.Release(ports[1], Occupant{})
	check(1, 2)
	clk.Advance(6 * time.Second) // the first release is out of quarantine
	check(2, 1)
	clk.Advance(4 * time.Second)
	check(3, 0)
	// Allocate agrees with Free: with only quarantined pairs left, none.
	for range 3 {
		if _, err := a.Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	a.Release(ports[2], Occupant{})
	check(0, 1)
	if _, err := a.Allocate(); !errors.Is(err, ErrNoPorts) {
		t.Errorf("Allocate with only a quarantined pair: %v, want ErrNoPorts", err)
	}
}
