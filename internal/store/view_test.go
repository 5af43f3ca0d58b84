package store

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestViewsGolden(t *testing.T) {
	started := time.Date(2026, 11, 3, 10, 0, 0, 250_000_000, time.FixedZone("CET", 3600))
	full := &Recording{
		ID: "r1", Mode: ModeSIPREC, Status: StatusCompleted, StatusReason: "bye",
		CallUUID: "CALLUUID", RecordID: "rid", SIPRECSessionID: "sess", SIPCallIDs: []string{"c1"},
		RecordedDN: "7001", OtherDN: "5551234",
		Parties:   []Party{{Channel: 0, Role: RoleRecorded, DN: "7001", Label: "1", AOR: "sip:7001@x", Name: "A", ParticipantID: "p1", SIPCallID: "c1"}},
		StartedAt: started, EndedAt: started.Add(time.Minute), DurationMS: 60000,
		Channels: 2, Codecs: []string{"PCMU"}, Format: "ulaw", MediaPath: "/data/media/r1.wav",
		SizeBytes: 960058, SHA256: "abc", NeedsTranscode: true, Metadata: "<recording/>", MetadataProblem: "none",
		Segments:     []Segment{{Type: SegmentPause, Channel: AllChannels, StartMS: 1000, EndMS: 2000}},
		Events:       []Event{{Type: "dtmf", AtMS: 1500, Channel: 1, Detail: "5", At: started.Add(1500 * time.Millisecond)}, {Type: "bye", AtMS: 60000}},
		ExternalData: map[string]string{"GEN_USR_B": "b", "GEN_USR_A": "a", "GEN_USR_EMPTY": ""},
		CreatedAt:    started, UpdatedAt: started.Add(time.Minute),
		Retention: RetentionPending, KeepUntil: started.Add(2 * time.Minute), RetentionReason: `rule "vip" (prerecord)`,
	}
	// An ordinary recording: no retention keys.
	live := &Recording{ID: "r2", Mode: ModeMSR, Status: StatusRecording, StartedAt: started}
	deletions := []Deletion{
		{RecordingID: "r3", CallUUID: "CALLUUID", RecordID: "rid", RecordedDN: "7001", Tenant: "Acme", MediaPath: "/data/media/r3.wav",
			Reason: "pre-recording not kept", StartedAt: started, At: started.Add(5 * time.Minute)},
		{RecordingID: "r4", Reason: `do-not-record rule "no-ivr"`, At: started.Add(time.Minute)},
	}
	tests := []struct {
		name string
		v    any
	}{
		{"list", NewViews([]Recording{*full, *live})},
		{"list_empty", NewViews(nil)},
		{"detail", NewDetail(full)},
		{"detail_live", NewDetail(live)},
		{"deletions", NewDeletionViews(deletions)},
		{"deletions_empty", NewDeletionViews(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.MarshalIndent(tt.v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", tt.name, path, got)
			}
		})
	}
}

// Every key is present even for an empty recording: arrays are [], objects
// {}, times null.
func TestViewEmptyRecordingKeys(t *testing.T) {
	b, err := json.Marshal(NewDetail(&Recording{ID: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"sip_call_ids": []any{}, "parties": []any{}, "codecs": []any{}, "segments": []any{}, "events": []any{},
		"external_data": map[string]any{}, "started_at": nil, "ended_at": nil,
	} {
		got, ok := m[k]
		if !ok {
			t.Errorf("key %q missing", k)
			continue
		}
		if gb, _ := json.Marshal(got); string(gb) != mustJSON(want) {
			t.Errorf("%s = %s, want %s", k, gb, mustJSON(want))
		}
	}
}

// The retention keys are left out for an ordinary recording and present
// for a pre-recording.
func TestViewRetentionKeys(t *testing.T) {
	keys := func(r *Recording) map[string]any {
		t.Helper()
		b, err := json.Marshal(NewView(r))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	plain := keys(&Recording{ID: "x"})
	for _, k := range []string{"retention", "keep_until", "retention_reason"} {
		if _, ok := plain[k]; ok {
			t.Errorf("ordinary recording has key %q", k)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	pending := keys(&Recording{ID: "y", Retention: RetentionPending, KeepUntil: at, RetentionReason: "why"})
	for k, want := range map[string]any{"retention": "pending", "keep_until": "2026-01-02T02:04:05Z", "retention_reason": "why"} {
		if pending[k] != want {
			t.Errorf("%s = %v, want %v", k, pending[k], want)
		}
	}
	// Pending with the deadline not known yet: no keep_until.
	if _, ok := keys(&Recording{ID: "z", Retention: RetentionPending})["keep_until"]; ok {
		t.Error("keep_until present without a deadline")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCleanExternalData(t *testing.T) {
	tests := []struct {
		in, want map[string]string
	}{
		{nil, map[string]string{}},
		{map[string]string{"A": "1", "B": "", "": "x"}, map[string]string{"A": "1"}},
	}
	for _, tt := range tests {
		got := CleanExternalData(tt.in)
		if got == nil || !maps.Equal(got, tt.want) {
			t.Errorf("CleanExternalData(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValid(t *testing.T) {
	for _, s := range []Status{StatusRecording, StatusCompleted, StatusPartial, StatusFailed} {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	for _, m := range []Mode{ModeMSR, ModeSIPREC} {
		if !m.Valid() {
			t.Errorf("%s not valid", m)
		}
	}
	for _, r := range []Retention{RetentionNone, RetentionPending, RetentionKept, RetentionDiscard} {
		if !r.Valid() {
			t.Errorf("retention %q not valid", r)
		}
	}
	if Retention("keep").Valid() || Retention("Pending").Valid() {
		t.Error("unknown retention reported valid")
	}
	if Status("done").Valid() || Mode("sip").Valid() || Status("").Valid() {
		t.Error("unknown values reported valid")
	}
	if (Filter{}).EffectiveLimit() != DefaultLimit || (Filter{Limit: -1}).EffectiveLimit() != DefaultLimit || (Filter{Limit: 7}).EffectiveLimit() != 7 {
		t.Error("EffectiveLimit")
	}
}
