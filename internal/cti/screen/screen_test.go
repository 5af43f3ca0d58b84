package screen

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newHub(t *testing.T, cfg Config) (*Hub, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	return New(cfg), c
}

func kinds(evs []Event) []Kind {
	var out []Kind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func equalKinds(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPublishStateMachine(t *testing.T) {
	tests := []struct {
		name  string
		kinds []Kind
		want  []bool
	}{
		{"start pause resume stop", []Kind{Start, Pause, Resume, Stop}, []bool{true, true, true, true}},
		{"no start first", []Kind{Pause, Start, Stop}, []bool{false, true, true}},
		{"repeated pause", []Kind{Start, Pause, Pause, Resume, Resume}, []bool{true, true, false, true, false}},
		{"resume without pause", []Kind{Start, Resume, Stop}, []bool{true, false, true}},
		{"nothing after stop", []Kind{Start, Stop, Pause, Start, Stop}, []bool{true, true, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHub(t, Config{})
			var last uint64
			for i, k := range tt.kinds {
				e, ok := h.Publish(Event{Kind: k, Agent: "A1", RecordingID: "R1"})
				if ok != tt.want[i] {
					t.Fatalf("event %d (%s): ok %v, want %v", i, k, ok, tt.want[i])
				}
				if ok {
					if e.ID <= last {
						t.Fatalf("event %d: id %d not after %d", i, e.ID, last)
					}
					last = e.ID
				}
			}
		})
	}
	h, _ := newHub(t, Config{})
	if _, ok := h.Publish(Event{Kind: Start, RecordingID: "R"}); ok {
		t.Fatal("an event without agent was kept")
	}
}

func TestSubscribeLiveAndResume(t *testing.T) {
	h, c := newHub(t, Config{})
	s, _ := h.Subscribe("a1", 0)
	if len(s.Backlog) != 0 {
		t.Fatalf("fresh backlog %v", s.Backlog)
	}
	start, _ := h.Publish(Event{Kind: Start, Agent: "A1", DN: "2001", RecordingID: "R1"})
	got := <-s.C
	if got.ID != start.ID || got.Kind != Start || got.DN != "2001" {
		t.Fatalf("got %+v", got)
	}
	s.Close()
	s.Close() // idempotent
	c.t = c.t.Add(time.Second)
	h.Publish(Event{Kind: Pause, Agent: "A1", RecordingID: "R1", Reason: "pci"})
	h.Publish(Event{Kind: Start, Agent: "B2", RecordingID: "R2"}) // another agent

	// A reconnect after the start: the pause only.
	s2, gap := h.Subscribe("A1", start.ID)
	defer s2.Close()
	if gap || !equalKinds(kinds(s2.Backlog), []Kind{Pause}) || s2.Backlog[0].Reason != "pci" {
		t.Fatalf("resume backlog %+v gap %v", s2.Backlog, gap)
	}
	// A fresh page mid-call: start then the pause in force.
	s3, _ := h.Subscribe("a1", 0)
	defer s3.Close()
	if !equalKinds(kinds(s3.Backlog), []Kind{Start, Pause}) {
		t.Fatalf("fresh backlog %+v", s3.Backlog)
	}
	if r, ok := h.Lookup("R1"); !ok || r.Agent != "A1" || r.State != Pause || r.DN != "2001" {
		t.Fatalf("lookup %+v %v", r, ok)
	}
}

func TestBacklogBoundAndGap(t *testing.T) {
	h, _ := newHub(t, Config{Backlog: 3})
	first, _ := h.Publish(Event{Kind: Start, Agent: "A", RecordingID: "R"})
	for i := 0; i < 3; i++ {
		h.Publish(Event{Kind: Pause, Agent: "A", RecordingID: "R"})
		h.Publish(Event{Kind: Resume, Agent: "A", RecordingID: "R"})
	}
	s, gap := h.Subscribe("A", first.ID)
	defer s.Close()
	if !gap {
		t.Fatal("no gap reported after the backlog overflowed")
	}
	if s.Backlog[0].Kind != Start {
		t.Fatalf("the state in force must come first: %+v", kinds(s.Backlog))
	}
	if len(s.Backlog) > 4 {
		t.Fatalf("backlog not bounded: %d", len(s.Backlog))
	}
}

func TestSlowSubscriberIsClosedNotBlocking(t *testing.T) {
	h, _ := newHub(t, Config{Buffer: 1})
	s, _ := h.Subscribe("A", 0)
	h.Publish(Event{Kind: Start, Agent: "A", RecordingID: "R"})
	h.Publish(Event{Kind: Pause, Agent: "A", RecordingID: "R"}) // buffer full: closed
	n := 0
	for range s.C {
		n++
	}
	if n != 1 || !s.Lagged() {
		t.Fatalf("read %d, lagged %v", n, s.Lagged())
	}
	s.Close() // after the hub closed it
}

func TestRetainAndMaxAgents(t *testing.T) {
	h, c := newHub(t, Config{Retain: time.Minute, MaxAgents: 2})
	h.Publish(Event{Kind: Start, Agent: "A", RecordingID: "R"})
	h.Publish(Event{Kind: Stop, Agent: "A", RecordingID: "R"})
	c.t = c.t.Add(2 * time.Minute)
	h.Publish(Event{Kind: Start, Agent: "B", RecordingID: "S"})
	if _, ok := h.Lookup("R"); ok {
		t.Fatal("a stopped recording outlived Retain")
	}
	h.Publish(Event{Kind: Start, Agent: "C", RecordingID: "T"})
	h.Publish(Event{Kind: Start, Agent: "D", RecordingID: "U"})
	h.mu.Lock()
	n := len(h.agents)
	h.mu.Unlock()
	if n > 3 { // B, C, D are busy (recording): only idle A may go
		t.Fatalf("%d agents kept", n)
	}
	if _, ok := h.agents["a"]; ok {
		t.Fatal("idle agent A kept over MaxAgents")
	}
}
