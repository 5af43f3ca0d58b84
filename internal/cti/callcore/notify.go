package callcore

import (
	"slices"
	"sync"
	"time"
)

const latencySamples = 4096

// notifyLatency measures first audio → Notification of Recording sent,
// once per call, over the last latencySamples calls.
type notifyLatency struct {
	mu      sync.Mutex
	audioAt map[string]time.Time // CallUUID → first audio, until the notification goes out
	samples []time.Duration      // ring
	next    int
}

func newNotifyLatency() *notifyLatency {
	return &notifyLatency{audioAt: map[string]time.Time{}, samples: make([]time.Duration, 0, latencySamples)}
}

// audio notes a call's first audio.
func (n *notifyLatency) audio(callUUID string, at time.Time) {
	if callUUID == "" {
		return
	}
	n.mu.Lock()
	if _, seen := n.audioAt[callUUID]; !seen {
		n.audioAt[callUUID] = at
	}
	n.mu.Unlock()
}

// sent notes the call's notification sent at now; it returns the latency
// (false when no audio was noted, or it was measured already).
func (n *notifyLatency) sent(callUUID string, now time.Time) (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.audioAt[callUUID]
	if !ok {
		return 0, false
	}
	delete(n.audioAt, callUUID)
	d := now.Sub(at)
	if len(n.samples) < latencySamples {
		n.samples = append(n.samples, d)
	} else {
		n.samples[n.next] = d
		n.next = (n.next + 1) % latencySamples
	}
	return d, true
}

// percentiles returns the median, the 99th percentile and the sample count.
func (n *notifyLatency) percentiles() (p50, p99 time.Duration, count int) {
	n.mu.Lock()
	lat := slices.Clone(n.samples)
	n.mu.Unlock()
	count = len(lat)
	if count == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	return lat[(count-1)/2], lat[(count*99+99)/100-1], count
}
