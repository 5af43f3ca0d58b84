package recorder

import (
	"fmt"
	"time"
)

// Packets a receiver refused because they came from another source than
// the one it locked (rtpin Stats.ForeignSource) are audio this recording
// may be missing: a recording that dropped any says so (issue 12), in an
// event per channel, its status reason and the finish log line. Packets of
// a port's previous occupant (stale RTP of another call) are not counted:
// refusing them is correct.

// droppedByChannel sums the dropped packets of every stream per channel
// (c.mu held; the streams are closed by then).
func (c *call) droppedByChannel() map[int]uint64 {
	out := map[int]uint64{}
	for _, l := range c.legs {
		for _, s := range l.streams {
			n := s.dropped
			if s.rx != nil {
				n = s.rx.Stats().ForeignSource
			}
			if n > 0 {
				out[s.channel] += n
			}
		}
	}
	return out
}

// noteDropped adds a packets-dropped event per channel that dropped
// packets and returns the total (c.mu held).
func (c *call) noteDropped(now time.Time) uint64 {
	var total uint64
	by := c.droppedByChannel()
	for ch := 0; ch < c.rec.Channels; ch++ {
		if n := by[ch]; n > 0 {
			total += n
			c.event("packets-dropped", ch, now, fmt.Sprintf("%d RTP packets from a source other than the locked one", n))
		}
	}
	if total > 0 && c.log != nil {
		c.log.Warn("recording dropped RTP packets from an unexpected source", "dropped", total)
	}
	return total
}

// noteLost adds a packets-lost event per channel whose stream had
// sequence gaps (packets the network lost; the mixer counts them) (c.mu
// held, after the mixer is closed).
func (c *call) noteLost(now time.Time) {
	for ch := 0; ch < c.rec.Channels; ch++ {
		if n := c.mix.Stats(ch).LostPackets; n > 0 {
			c.event("packets-lost", ch, now, fmt.Sprintf("%d RTP packets lost (sequence gaps)", n))
		}
	}
}

// droppedReason is the status-reason note for n dropped packets.
func droppedReason(n uint64) string {
	return fmt.Sprintf("%d RTP packets dropped (not from the locked source)", n)
}

// PacketsDropped returns how many RTP packets the receivers refused
// because they came from another source than the locked one (open and
// closed receivers).
func (r *Recorder) PacketsDropped() uint64 {
	r.mu.Lock()
	calls := make([]*call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	n := r.stats.packetsDropped.Load()
	for _, c := range calls {
		if !c.ready() {
			continue // being set up: no receiver yet
		}
		c.mu.Lock()
		for _, l := range c.legs {
			for _, s := range l.streams {
				if s.rx != nil {
					n += s.rx.Stats().ForeignSource
				}
			}
		}
		c.mu.Unlock()
	}
	return n
}

// Packets of a payload type the SDP did not offer (rtpin
// Stats.UnofferedPT) are not decoded: whatever they carry is not in the
// recording. A recording that dropped any says so, like foreign-source
// packets: an event per channel naming the last such type, and its
// status reason.

// noteUnoffered adds a payload-type-dropped event per channel that
// dropped packets of a payload type not offered and returns the total
// (c.mu held; the streams are closed by then).
func (c *call) noteUnoffered(now time.Time) uint64 {
	type count struct {
		n    uint64
		last uint8
	}
	by := map[int]count{}
	for _, l := range c.legs {
		for _, s := range l.streams {
			if s.unoffered > 0 {
				by[s.channel] = count{by[s.channel].n + s.unoffered, s.unofferedLast}
			}
		}
	}
	var total uint64
	for ch := 0; ch < c.rec.Channels; ch++ {
		if n := by[ch]; n.n > 0 {
			total += n.n
			c.event("payload-type-dropped", ch, now, fmt.Sprintf("%d RTP packets of a payload type the SDP did not offer (last: payload type %d), not decoded", n.n, n.last))
		}
	}
	if total > 0 && c.log != nil {
		c.log.Warn("recording dropped RTP packets of a payload type the SDP did not offer", "dropped", total)
	}
	return total
}

// unofferedReason is the status-reason note for n packets of a payload
// type not offered.
func unofferedReason(n uint64) string {
	return fmt.Sprintf("%d RTP packets dropped (payload type not offered in the SDP)", n)
}
