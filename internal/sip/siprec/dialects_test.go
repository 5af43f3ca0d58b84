package siprec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The dialects SRCs send, parsed as first-class documents: the draft
// `recording_metadata` form of BroadWorks and Webex, mixed streams with
// several senders, and documents without stream associations (flagged).
// Each has a golden parse; the table checks what the recorder relies on.
func TestGoldenDialects(t *testing.T) {
	tests := []struct {
		file      string
		namespace string
		datamode  string
		aors      []string            // participants, in order
		senders   map[string][]string // SDP label → AORs of its senders
		problems  []string
	}{
		{file: "draft-broadworks-mixed.xml", namespace: NamespaceDraft, datamode: DataModeComplete,
			aors:    []string{"sip:agent42@as.example.net", "sip:+15550142@trunk.example.net;user=phone"},
			senders: map[string][]string{"1": {"sip:agent42@as.example.net", "sip:+15550142@trunk.example.net;user=phone"}}},
		{file: "draft-webex-separate.xml", namespace: NamespaceDraft, datamode: DataModeComplete,
			aors:    []string{"sip:+14155550100@webex.example.com", "sip:+14155550199@pstn.example.com"},
			senders: map[string][]string{"1": {"sip:+14155550100@webex.example.com"}, "2": {"sip:+14155550199@pstn.example.com"}}},
		{file: "draft-partial-add.xml", namespace: NamespaceDraft, datamode: DataModePartial,
			aors: []string{"sip:supervisor7@as.example.net"}},
		{file: "rfc7865-mixed-three.xml", namespace: NamespaceRFC7865, datamode: DataModeComplete,
			aors:    []string{"sip:2001@pbx.example.org", "sip:+15550177@carrier.example.org", "sip:2999@pbx.example.org"},
			senders: map[string][]string{"1": {"sip:2001@pbx.example.org", "sip:+15550177@carrier.example.org", "sip:2999@pbx.example.org"}}},
		{file: "rfc7865-no-assoc.xml", namespace: NamespaceRFC7865, datamode: DataModeComplete,
			aors:     []string{"sip:3100@cucm.example.org", "sip:+15550123@gw.example.org"},
			senders:  map[string][]string{"1": nil, "2": nil},
			problems: []string{"no participantstreamassoc: which participant sends which stream is unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "dialects", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseMetadata(raw)
			if err != nil {
				t.Fatalf("ParseMetadata: %v", err)
			}
			if m.Namespace != tt.namespace || m.DataMode != tt.datamode {
				t.Errorf("namespace %q datamode %q", m.Namespace, m.DataMode)
			}
			var aors []string
			for _, p := range m.Participants {
				aors = append(aors, p.AOR)
			}
			if !slices.Equal(aors, tt.aors) {
				t.Errorf("participants %q, want %q", aors, tt.aors)
			}
			for label, want := range tt.senders {
				var got []string
				for _, p := range m.SendersOfLabel(label) {
					got = append(got, p.AOR)
				}
				if !slices.Equal(got, want) {
					t.Errorf("label %s senders %q, want %q", label, got, want)
				}
			}
			if !slices.Equal(m.Problems, tt.problems) {
				t.Errorf("problems %q, want %q", m.Problems, tt.problems)
			}
			checkGolden(t, "dialect-"+strings.TrimSuffix(tt.file, ".xml"), goldenResult{Metadata: withoutRaw(m)})
		})
	}
}

// A partial draft update adds a participant to the mixed stream of the
// first document: after Merge the stream has three senders.
func TestDraftPartialMerge(t *testing.T) {
	read := func(name string) *Metadata {
		raw, err := os.ReadFile(filepath.Join("testdata", "dialects", name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMetadata(raw)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := read("draft-broadworks-mixed.xml")
	m.Merge(read("draft-partial-add.xml"))
	var got []string
	for _, p := range m.SendersOfLabel("1") {
		got = append(got, p.AOR)
	}
	want := []string{"sip:agent42@as.example.net", "sip:+15550142@trunk.example.net;user=phone", "sip:supervisor7@as.example.net"}
	if !slices.Equal(got, want) {
		t.Errorf("senders after the update %q, want %q", got, want)
	}
}
