package rtpin

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Occupant is who used a port pair last: the locked RTP source and the SSRCs
// it sent. A receiver that later gets the same port drops packets matching
// both, so a sender that did not notice its call ended cannot leak into
// another recording.
type Occupant struct {
	Source netip.AddrPort
	SSRCs  []uint32
}

// PortAllocator hands out RTP/RTCP port pairs (p, p+1) with p even.
//
// Free pairs wait in a FIFO ordered by release time, so Allocate always
// returns the pair released longest ago (never-used pairs first, lowest
// first) and a just-freed pair is reused only when nothing else is free. A
// released pair is not handed out again before its quarantine has elapsed.
// It is safe for concurrent use.
type PortAllocator struct {
	low        int // first RTP port (even)
	quarantine time.Duration
	now        func() time.Time

	mu    sync.Mutex
	ports []portState // index i is RTP port low+2i
	free  []int       // ring of indices into ports, oldest release first
	head  int         // ring position of the oldest free pair
	nfree int
	inUse int
}

type portState struct {
	inUse      bool
	releasedAt time.Time // zero: never used
	previous   Occupant
}

// NewPortAllocator returns an allocator for the pairs (p, p+1) with p even,
// low <= p and p+1 <= high. quarantine is how long a released pair stays out
// of use; now is the clock (time.Now when nil).
func NewPortAllocator(low, high int, quarantine time.Duration, now func() time.Time) (*PortAllocator, error) {
	if low < 0 {
		low = 0
	}
	if high > 65535 {
		high = 65535
	}
	first := low + low%2
	if first == 0 {
		first = 2 // port 0 means "any" to the kernel
	}
	if first+1 > high {
		return nil, fmt.Errorf("%w: %d-%d", ErrPortRange, low, high)
	}
	if quarantine < 0 {
		quarantine = 0
	}
	if now == nil {
		now = time.Now
	}
	n := (high - first + 1) / 2
	a := &PortAllocator{
		low:        first,
		quarantine: quarantine,
		now:        now,
		ports:      make([]portState, n),
		free:       make([]int, n),
		nfree:      n,
	}
	for i := range n {
		a.free[i] = i
	}
	return a, nil
}

// Allocate returns an even RTP port that is neither in use nor quarantined;
// the RTCP port is the returned port + 1. It returns ErrNoPorts when there
// is none.
func (a *PortAllocator) Allocate() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nfree == 0 {
		return 0, ErrNoPorts
	}
	i := a.free[a.head]
	st := &a.ports[i]
	// The ring is ordered by release time: if the oldest is still in
	// quarantine, so are all the others.
	if !st.releasedAt.IsZero() && a.now().Sub(st.releasedAt) < a.quarantine {
		return 0, ErrNoPorts
	}
	a.head = (a.head + 1) % len(a.free)
	a.nfree--
	st.inUse = true
	a.inUse++
	return a.low + 2*i, nil
}

// Release returns port to the allocator. It stays quarantined for the
// allocator's quarantine and remembers last as its previous occupant. A
// zero last (no source was ever locked) keeps the occupant remembered
// before, so a receiver that saw only stale packets does not make the port
// forget their sender. Releasing a port that is not allocated does nothing.
func (a *PortAllocator) Release(port int, last Occupant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i, ok := a.index(port)
	if !ok || !a.ports[i].inUse {
		return
	}
	st := &a.ports[i]
	st.inUse = false
	st.releasedAt = a.now()
	if last.Source.IsValid() {
		st.previous = Occupant{Source: last.Source, SSRCs: slices.Clone(last.SSRCs)}
	}
	a.inUse--
	a.free[(a.head+a.nfree)%len(a.free)] = i
	a.nfree++
}

// Previous returns who used port last (the zero Occupant if nobody locked a
// source on it yet).
func (a *PortAllocator) Previous(port int) Occupant {
	a.mu.Lock()
	defer a.mu.Unlock()
	i, ok := a.index(port)
	if !ok {
		return Occupant{}
	}
	p := a.ports[i].previous
	return Occupant{Source: p.Source, SSRCs: slices.Clone(p.SSRCs)}
}

// InUse returns the number of allocated pairs.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}

// Free returns the pairs Allocate could hand out now and the pairs resting
// in quarantine (released, not yet reusable). free + quarantined + InUse =
// Capacity.
func (a *PortAllocator) Free() (free, quarantined int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	// The ring is ordered by release time: the quarantined pairs are its
	// newest entries.
	for k := a.nfree - 1; k >= 0; k-- {
		st := &a.ports[a.free[(a.head+k)%len(a.free)]]
		if st.releasedAt.IsZero() || now.Sub(st.releasedAt) >= a.quarantine {
			break
		}
		quarantined++
	}
	return a.nfree - quarantined, quarantined
}

// Capacity returns the number of pairs in the range.
func (a *PortAllocator) Capacity() int { return len(a.ports) }

func (a *PortAllocator) index(port int) (int, bool) {
	d := port - a.low
	if d < 0 || d%2 != 0 || d/2 >= len(a.ports) {
		return 0, false
	}
	return d / 2, true
}
