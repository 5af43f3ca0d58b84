package siprec

import (
	"slices"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) *Metadata {
	t.Helper()
	m, err := ParseMetadata([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func senderAOR(m *Metadata, label string) string {
	if p := m.ParticipantForLabel(label); p != nil {
		return p.AOR
	}
	return ""
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name    string
		updates []string // file names in testdata/rfc7865 or inline documents (start with "<")
		check   func(t *testing.T, m *Metadata)
	}{
		{
			name:    "partial update adds a participant and a stream",
			updates: []string{"partial-add-participant"},
			check: func(t *testing.T, m *Metadata) {
				if len(m.Participants) != 3 || len(m.Streams) != 5 {
					t.Fatalf("%d participants, %d streams", len(m.Participants), len(m.Streams))
				}
				if got := senderAOR(m, "100"); got != "sip:carol@chicago.com" {
					t.Errorf("label 100 sent by %q", got)
				}
				if got := senderAOR(m, "96"); got != "sip:alice@atlanta.com" {
					t.Errorf("label 96 sent by %q after the update", got)
				}
				if m.DataMode != DataModeComplete {
					t.Errorf("DataMode = %q", m.DataMode)
				}
			},
		},
		{
			name: "stream label change",
			updates: []string{`<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>partial</datamode>
<stream stream_id="UAAMm5GRQKSCMVvLyl4rFw==" session_id="hVpd7YQgRW2nD22h7q60JQ=="><label>196</label></stream></recording>`},
			check: func(t *testing.T, m *Metadata) {
				if m.StreamByLabel("96") != nil {
					t.Error("old label 96 still found")
				}
				s := m.StreamByLabel("196")
				if s == nil || s.ID != "UAAMm5GRQKSCMVvLyl4rFw==" || len(m.Streams) != 4 {
					t.Fatalf("stream 196 = %+v, %d streams", s, len(m.Streams))
				}
				if got := senderAOR(m, "196"); got != "sip:alice@atlanta.com" {
					t.Errorf("label 196 sent by %q", got)
				}
			},
		},
		{
			name:    "hold replaces send and recv as a whole",
			updates: []string{"partial-hold"},
			check: func(t *testing.T, m *Metadata) {
				if got := senderAOR(m, "96"); got != "" {
					t.Errorf("label 96 still sent by %q while on hold", got)
				}
				if got := senderAOR(m, "98"); got != "sip:bob@biloxy.com" {
					t.Errorf("label 98 sent by %q", got)
				}
				if bob := m.SenderOf("8zc6e0lYTlWIINA6GR+3ag=="); bob == nil || len(bob.Recv) != 0 || bob.Name != "Bob" {
					t.Errorf("bob = %+v", bob)
				}
			},
		},
		{
			name:    "hold then resume",
			updates: []string{"partial-hold", "partial-resume"},
			check: func(t *testing.T, m *Metadata) {
				if got := senderAOR(m, "96"); got != "sip:alice@atlanta.com" {
					t.Errorf("label 96 sent by %q after resume", got)
				}
				if len(m.Updates) != 2 || !strings.Contains(string(m.Updates[1]), "partial") {
					t.Errorf("Updates = %d", len(m.Updates))
				}
			},
		},
		{
			name:    "participant leaves",
			updates: []string{"partial-disassociate"},
			check: func(t *testing.T, m *Metadata) {
				i := slices.IndexFunc(m.Participants, func(p Participant) bool { return p.ID == "zSfPoSvdSDCmU3A3TRDxAw==" })
				if i < 0 || m.Participants[i].DisassociateTime != "2010-12-16T23:50:00Z" || m.Participants[i].AOR != "sip:bob@biloxy.com" || len(m.Participants) != 2 {
					t.Errorf("participants = %+v", m.Participants)
				}
			},
		},
		{
			name: "complete update replaces everything, problems accumulate",
			updates: []string{`<recording xmlns='urn:ietf:params:xml:ns:recording'><datamode>complete</datamode>
<participant id="n" session="x"><nameID aor="sip:new@x"/><send>st</send></participant>
<stream id="st" session="x"><label>1</label></stream><bogus-text>ok</bogus-text><participant/></recording>`},
			check: func(t *testing.T, m *Metadata) {
				if len(m.Participants) != 2 || len(m.Streams) != 1 || len(m.Groups) != 0 || m.Namespace != NamespacePreRFC {
					t.Errorf("after complete update: %+v", m)
				}
				if got := senderAOR(m, "1"); got != "sip:new@x" {
					t.Errorf("label 1 sent by %q", got)
				}
				if m.Extensions["bogus-text"] != "ok" || m.Extensions["mydata/structure"] != "" {
					t.Errorf("extensions = %q", m.Extensions)
				}
				if len(m.Problems) == 0 || !strings.Contains(m.Problems[0], "without participant_id") {
					t.Errorf("Problems = %q", m.Problems)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := readRFC(t, "complete")
			for _, u := range tc.updates {
				var um *Metadata
				if strings.HasPrefix(u, "<") {
					um, _ = ParseMetadata([]byte(u))
				} else {
					um = readRFC(t, u)
				}
				m.Merge(um)
				// The update must not be aliased: changing it leaves m alone.
				for i := range um.Participants {
					if len(um.Participants[i].Send) > 0 {
						um.Participants[i].Send[0] = "mutated"
					}
				}
				for k := range um.Extensions {
					um.Extensions[k] = "mutated"
				}
			}
			if len(m.Updates) != len(tc.updates) {
				t.Errorf("%d Updates, want %d", len(m.Updates), len(tc.updates))
			}
			if !strings.Contains(string(m.Raw), "<datamode>complete</datamode>") {
				t.Error("Raw is no longer the first document")
			}
			tc.check(t, m)
		})
	}
}

func TestMergeOldStyleAcmeUpdate(t *testing.T) {
	m := mustParse(t, `<recording xmlns='urn:ietf:params:xml:ns:recording'><datamode>complete</datamode>
<session id="S"/><participant id="A" session="S"><aor>sip:a@x</aor><send>s1</send></participant>
<stream id="s1" session="S"><label>1</label></stream></recording>`)
	m.Merge(mustParse(t, `<recording xmlns='urn:ietf:params:xml:ns:recording'><dataMode>partial</dataMode>
<participant id="B" session="S"><aor>sip:b@x</aor><send>s2</send></participant>
<stream id="s2" session="S"><label>2</label></stream></recording>`))
	if senderAOR(m, "1") != "sip:a@x" || senderAOR(m, "2") != "sip:b@x" {
		t.Fatalf("senders: 1=%q 2=%q", senderAOR(m, "1"), senderAOR(m, "2"))
	}
}
