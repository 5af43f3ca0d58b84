// Package live fans the decoded audio of recordings in progress out to
// listeners ("listen live"). The recorder opens a Stream per recording and
// hands it to the recording's mixer as its tap; API handlers Subscribe by
// recording id and read Frames from a channel.
//
// The publishing side is on the RTP path: with nobody listening to a
// recording, Publish is one atomic load and allocates nothing; with
// listeners it never blocks: a subscriber whose buffer is full loses the
// frame (counted by Dropped), the receiving goroutine never waits.
package live

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBuffer is the subscription buffer used when Subscribe is given
// none: 50 frames, one second of 20 ms packets.
const DefaultBuffer = 50

// Frame is one chunk of decoded audio of one channel of a live recording.
// PCM is 8 kHz mono 16-bit linear, typically 160 samples (20 ms); it is
// shared by every subscriber of the frame and must not be modified.
type Frame struct {
	Channel int
	At      time.Time // timeline time of the first sample (recording start + position)
	PCM     []int16
}

// Hub fans frames out to subscribers per recording id. It is safe for
// concurrent use; the zero value is not usable, call NewHub.
type Hub struct {
	mu      sync.Mutex
	streams map[string]*Stream
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{streams: map[string]*Stream{}} }

// Open starts publishing recording id and returns its Stream (the Stream
// already open for id, if any). Close it when the recording ends: its
// subscribers' channels are closed then.
func (h *Hub) Open(recordingID string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.streams[recordingID]; s != nil {
		return s
	}
	s := &Stream{hub: h, id: recordingID}
	h.streams[recordingID] = s
	return s
}

// Subscribe listens to channel (-1 = every channel) of a recording. buffer
// is how many frames may wait unread (<= 0: DefaultBuffer); past that new
// frames are dropped and counted. A recording that is not open on the hub
// (not live, or already ended) gives a subscription whose channel is
// already closed. Close the subscription when done.
func (h *Hub) Subscribe(recordingID string, channel int, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	if channel < 0 {
		channel = -1
	}
	sub := &Subscription{channel: channel, ch: make(chan Frame, buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.streams[recordingID]
	if s == nil {
		sub.closed = true
		close(sub.ch)
		return sub
	}
	// Lock order: Hub.mu before Stream.mu.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sub.closed = true
		close(sub.ch)
		return sub
	}
	sub.s = s
	s.subs = append(s.subs, sub)
	s.n.Store(int32(len(s.subs)))
	return sub
}

// Listeners returns how many subscriptions are open on a recording.
func (h *Hub) Listeners(recordingID string) int {
	h.mu.Lock()
	s := h.streams[recordingID]
	h.mu.Unlock()
	if s == nil {
		return 0
	}
	return s.Listeners()
}

// Stream is the publishing side of one live recording. It satisfies the
// mixer's tap (Listening, Publish).
type Stream struct {
	hub *Hub
	id  string
	n   atomic.Int32 // len(subs), read without the lock on the packet path

	// mu: read-locked while publishing (sends to the subscribers'
	// channels), write-locked to change subs or close channels.
	mu     sync.RWMutex
	subs   []*Subscription
	closed bool
}

// ID returns the recording id of the stream.
func (s *Stream) ID() string { return s.id }

// Listening reports whether anybody listens to the recording: one atomic
// load, for the packet path to skip decoding when nobody does.
func (s *Stream) Listening() bool { return s.n.Load() > 0 }

// Listeners returns how many subscriptions are open on the recording.
func (s *Stream) Listeners() int { return int(s.n.Load()) }

// Publish sends a copy of pcm, the samples of channel starting at timeline
// time at, to every subscriber of that channel. It never blocks: a
// subscriber whose buffer is full loses the frame. With no subscriber it
// is one atomic load and allocates nothing. pcm is not kept.
func (s *Stream) Publish(channel int, at time.Time, pcm []int16) {
	if s.n.Load() == 0 {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var f Frame
	for _, sub := range s.subs {
		if sub.channel >= 0 && sub.channel != channel {
			continue
		}
		if f.PCM == nil {
			f = Frame{Channel: channel, At: at, PCM: append(make([]int16, 0, len(pcm)), pcm...)}
		}
		select {
		case sub.ch <- f:
		default:
			sub.dropped.Add(1)
		}
	}
}

// Close ends the stream: the recording is no longer live, every
// subscriber's channel is closed (after the frames already in it) and new
// subscriptions get a closed channel. Idempotent.
func (s *Stream) Close() {
	h := s.hub
	h.mu.Lock()
	if h.streams[s.id] == s {
		delete(h.streams, s.id)
	}
	h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, sub := range s.subs {
		sub.closed = true
		close(sub.ch)
	}
	s.subs = nil
	s.n.Store(0)
}

// Subscription is one listener of a live recording.
type Subscription struct {
	s       *Stream // nil when the recording was not live
	channel int
	ch      chan Frame
	dropped atomic.Uint64
	closed  bool // guarded by s.mu (set before publication when s is nil)
}

// C returns the frames, in playback order per channel (the order the
// packets arrived in). It is closed when the recording ends or the
// subscription is closed.
func (sub *Subscription) C() <-chan Frame { return sub.ch }

// Channel returns the channel listened to (-1 = every channel).
func (sub *Subscription) Channel() int { return sub.channel }

// Dropped returns how many frames were lost because the subscriber did not
// read fast enough.
func (sub *Subscription) Dropped() uint64 { return sub.dropped.Load() }

// Close stops the subscription and closes its channel. Idempotent.
func (sub *Subscription) Close() {
	s := sub.s
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub.closed {
		return
	}
	sub.closed = true
	for i, o := range s.subs {
		if o == sub {
			s.subs = append(s.subs[:i:i], s.subs[i+1:]...)
			break
		}
	}
	s.n.Store(int32(len(s.subs)))
	close(sub.ch)
}
