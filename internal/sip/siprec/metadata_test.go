package siprec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantErr  bool
		problems []string // substrings that must appear in Problems
		check    func(t *testing.T, m *Metadata)
	}{
		{
			name:    "empty",
			doc:     "  \n",
			wantErr: true, problems: []string{"empty"},
		},
		{
			name:    "not XML",
			doc:     "v=0\r\n",
			wantErr: true, problems: []string{"invalid XML"},
		},
		{
			name: "truncated keeps what was parsed",
			doc: `<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>complete</datamode>
<stream stream_id="s1"><label>1</label></stream><participant participant_id="p1"><nameID aor="sip:a@x"><name>A</na`,
			wantErr: true, problems: []string{"invalid XML"},
			check: func(t *testing.T, m *Metadata) {
				if len(m.Streams) != 1 || m.Streams[0].Label != "1" {
					t.Errorf("streams = %+v", m.Streams)
				}
				if len(m.Participants) != 1 || m.Participants[0].AOR != "sip:a@x" {
					t.Errorf("participants = %+v", m.Participants)
				}
			},
		},
		{
			name: "unescaped ampersand salvaged by the lenient pass",
			doc: `<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>complete</datamode>
<session session_id="s"><x:note xmlns:x="urn:x">Tom & Jerry</x:note></session>
<stream stream_id="st" session_id="s"><label>7</label></stream></recording>`,
			wantErr: true,
			check: func(t *testing.T, m *Metadata) {
				if m.StreamByLabel("7") == nil || m.Extensions["x:note"] != "Tom & Jerry" {
					t.Errorf("streams %+v extensions %q", m.Streams, m.Extensions)
				}
			},
		},
		{
			name: "prefixed draft namespace, dataMode, Partial",
			doc: `<s:recording xmlns:s="urn:ietf:params:xml:ns:siprec"><s:dataMode> Partial </s:dataMode>
<s:participant s:participant_id="p"><s:nameID aor="sip:p@x"/></s:participant></s:recording>`,
			check: func(t *testing.T, m *Metadata) {
				if m.Namespace != NamespaceDraft || m.DataMode != DataModePartial || len(m.Participants) != 1 || m.Participants[0].ID != "p" {
					t.Errorf("got %+v", m)
				}
			},
		},
		{
			name: "old-style attributes and send",
			doc: `<recording xmlns='urn:ietf:params:xml:ns:recording'><datamode>complete</datamode>
<session id="S"><start-time>t0</start-time></session>
<participant id="P" session="S"><aor>sip:old@x</aor><name>Old</name><send>ST</send><start-time>t1</start-time></participant>
<stream id="ST" session="S"><label>5</label><mode>mixed</mode></stream></recording>`,
			check: func(t *testing.T, m *Metadata) {
				p := m.ParticipantForLabel("5")
				if p == nil || p.AOR != "sip:old@x" || p.Name != "Old" || p.AssociateTime != "t1" {
					t.Errorf("participant = %+v", p)
				}
				if s := m.StreamByLabel("05"); s == nil || s.SessionID != "S" || s.Mode != "mixed" {
					t.Errorf("StreamByLabel(05) = %+v", s)
				}
			},
		},
		{
			name: "problems without error",
			doc: `<recording xmlns="urn:example:other"><datamode>sometimes</datamode>
<participant><nameID aor="sip:x@y"/></participant>
<stream stream_id="s" session_id="nosuch"></stream>
<participantstreamassoc participant_id="ghost"><send>missing</send></participantstreamassoc>
<session session_id="a"><group-ref>nogroup</group-ref></session></recording>`,
			problems: []string{
				`unrecognised namespace "urn:example:other"`,
				`unknown datamode "sometimes"`,
				"<participant> without participant_id",
				`<stream> "s" without <label>`,
				`undeclared participant "ghost"`,
				`participant "ghost" sends undeclared stream "missing"`,
				`stream "s" refers to undeclared session "nosuch"`,
				`session "a" refers to undeclared group "nogroup"`,
			},
		},
		{
			name:     "unknown root",
			doc:      `<foo xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>complete</datamode></foo>`,
			problems: []string{"root element <foo> is not <recording>"},
		},
		{
			name: "latin-1 encoding",
			doc:  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>complete</datamode><participant participant_id='p'><nameID aor='sip:j@x'><name>J\xfcrgen</name></nameID></participant></recording>",
			check: func(t *testing.T, m *Metadata) {
				if m.Participants[0].Name != "Jürgen" {
					t.Errorf("Name = %q", m.Participants[0].Name)
				}
			},
		},
		{
			name: "Genesys CallUUID in an Acme header extension",
			doc: `<recording xmlns='urn:ietf:params:xml:ns:recording'><datamode>complete</datamode>
<participant id="p"><extensiondata xmlns:apkt="http://acmepacket.com/siprec/extensiondata">
<apkt:header label="X-Genesys-CallUUID"><value>07EKRCS5LS1FDFUEBOAHG2LAES000001</value></apkt:header>
</extensiondata></participant></recording>`,
			check: func(t *testing.T, m *Metadata) {
				if got := m.CallUUID(); got != "07EKRCS5LS1FDFUEBOAHG2LAES000001" {
					t.Errorf("CallUUID = %q", got)
				}
			},
		},
		{
			name: "AudioCodes GenesysUUID in a session extension",
			doc: `<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>complete</datamode>
<session session_id="s"><ac:AudioCodes xmlns:ac="urn:audiocodes"><ac:GenesysUUID>0123456789ABCDEFGHIJKLMNOPQRSTUV</ac:GenesysUUID></ac:AudioCodes></session></recording>`,
			check: func(t *testing.T, m *Metadata) {
				if got := m.CallUUID(); got != "0123456789ABCDEFGHIJKLMNOPQRSTUV" {
					t.Errorf("CallUUID = %q", got)
				}
				if m.Extensions["ac:AudioCodes/ac:GenesysUUID"] == "" {
					t.Errorf("extensions = %q", m.Extensions)
				}
			},
		},
		{
			name: "repeated extension keys and attributes",
			doc: `<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>complete</datamode>
<group group_id="g"><v:x xmlns:v="urn:v" kind="a">1</v:x><v:x xmlns:v="urn:v">2</v:x></group></recording>`,
			check: func(t *testing.T, m *Metadata) {
				g := m.Groups[0].Extensions
				if g["v:x"] != "1" || g["v:x#2"] != "2" || g["v:x@kind"] != "a" {
					t.Errorf("extensions = %q", g)
				}
				if m.CallUUID() != "" {
					t.Errorf("CallUUID = %q", m.CallUUID())
				}
			},
		},
		{
			name:     "deep nesting is cut, not fatal",
			doc:      `<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>complete</datamode><session session_id="s">` + strings.Repeat("<a>", 200) + strings.Repeat("</a>", 200) + `</session></recording>`,
			problems: []string{"nested deeper"},
			check: func(t *testing.T, m *Metadata) {
				if m.SessionID() != "s" {
					t.Errorf("SessionID = %q", m.SessionID())
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMetadata([]byte(tc.doc))
			if m == nil || string(m.Raw) != tc.doc {
				t.Fatal("no Metadata or Raw not kept")
			}
			if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrInvalidMetadata)) {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			all := strings.Join(m.Problems, "\n")
			for _, p := range tc.problems {
				if !strings.Contains(all, p) {
					t.Errorf("Problems lack %q:\n%s", p, all)
				}
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func TestAccessorsOnNil(t *testing.T) {
	var m *Metadata
	if m.StreamByLabel("1") != nil || m.SenderOf("x") != nil || m.ParticipantForLabel("1") != nil || m.SessionID() != "" || m.CallUUID() != "" {
		t.Fatal("nil Metadata accessors must return zero values")
	}
	m.Merge(&Metadata{}) // must not panic
}

func readRFC(t *testing.T, name string) *Metadata {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "rfc7865", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRFC7865Complete(t *testing.T) {
	m := readRFC(t, "complete")
	for label, aor := range map[string]string{"96": "sip:alice@atlanta.com", "97": "sip:alice@atlanta.com", "98": "sip:bob@biloxy.com", "99": "sip:bob@biloxy.com"} {
		if p := m.ParticipantForLabel(label); p == nil || p.AOR != aor {
			t.Errorf("label %s sent by %+v, want %s", label, p, aor)
		}
	}
	s := m.Sessions[0]
	if s.GroupRef != m.Groups[0].ID || s.AssociateTime != "2010-12-16T23:41:07Z" ||
		len(s.SIPSessionIDs) != 1 || s.SIPSessionIDs[0] != "ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2" {
		t.Errorf("session = %+v", s)
	}
	if m.Groups[0].Extensions["call-center/supervisor"] != "sip:alice@atlanta.com" {
		t.Errorf("group extensions = %q", m.Groups[0].Extensions)
	}
}
