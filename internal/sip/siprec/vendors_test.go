package siprec

import (
	"bytes"
	"strings"
	"testing"
)

// vendorParse splits and parses one fixture, failing on anything but the
// documented outcomes.
func vendorParse(t *testing.T, file string) (*Body, *Metadata, map[string][]string) {
	t.Helper()
	for _, c := range vendorCases {
		if c.file != file {
			continue
		}
		ct, raw, headers := loadVendor(t, c)
		b, err := SplitBody(ct, raw)
		if err != nil {
			t.Fatalf("SplitBody: %v", err)
		}
		if !bytes.HasPrefix(b.SDP, []byte("v=0")) {
			t.Fatalf("SDP does not start with v=0: %q", b.SDP)
		}
		if b.Metadata == nil {
			return b, nil, headers
		}
		m, err := ParseMetadata(b.Metadata)
		if err != nil {
			t.Fatalf("ParseMetadata: %v", err)
		}
		return b, m, headers
	}
	t.Fatalf("no vendorCase %s", file)
	return nil, nil, nil
}

func TestVendorAssertions(t *testing.T) {
	type sender struct{ label, aor string }
	tests := []struct {
		file      string
		namespace string
		labels    []string // stream labels in document order
		senders   []sender // ParticipantForLabel(label).AOR; "" = nobody
		problems  bool     // Problems expected
		check     func(t *testing.T, b *Body, m *Metadata)
	}{
		{
			file: "acme-siprec-offer.txt", namespace: NamespacePreRFC,
			labels:  []string{"16777227", "16777228"},
			senders: []sender{{"16777227", "sip:9000@192.168.50.102"}, {"16777228", "sip:1002@192.168.50.10"}},
			check: func(t *testing.T, b *Body, m *Metadata) {
				if got := m.Participants[0].Extensions["apkt:callingParty"]; got != "true" {
					t.Errorf("apkt:callingParty = %q", got)
				}
				if s := m.StreamByLabel("16777227"); s == nil || s.Mode != "separate" {
					t.Errorf("stream 16777227 = %+v", s)
				}
				if m.SessionID() != "AavRXwIIQj1Q39eJulTipQ==" {
					t.Errorf("SessionID = %q", m.SessionID())
				}
			},
		},
		{
			file: "avaya-siprec-offer.txt", namespace: NamespacePreRFC,
			labels:  []string{"201835599", "201835600"},
			senders: []sender{{"201835599", "sip:31624895902@10.10.128.62"}},
			check: func(t *testing.T, b *Body, m *Metadata) {
				if got := m.Extensions["apkt:ucid"]; got != "00FA081003B9CF5E7DF7E5;encoding=hex" {
					t.Errorf("apkt:ucid = %q", got)
				}
				if got := m.Participants[0].Extensions["apkt:header[Call-ID]/value"]; got != "134485702_44821128@10.10.128.62" {
					t.Errorf("apkt:header[Call-ID]/value = %q", got)
				}
			},
		},
		{
			file: "broadworks-offer.txt", namespace: NamespaceDraft,
			problems: true,
			check: func(t *testing.T, b *Body, m *Metadata) {
				if b.MetadataType != "application/ +xml" {
					t.Errorf("MetadataType = %q", b.MetadataType)
				}
				if !bytes.Contains(b.SDP, []byte("a=label:1")) || bytes.Contains(b.SDP, []byte("recording_metadata")) {
					t.Errorf("SDP = %q", b.SDP)
				}
				if !bytes.Equal(m.Raw, b.Metadata) || !bytes.Contains(m.Raw, []byte("completeSRCselective")) {
					t.Errorf("Raw not kept: %q", m.Raw)
				}
			},
		},
		{
			file: "cisco-siprec-offer.txt", namespace: NamespaceRFC7865,
			labels:  []string{"1", "2"},
			senders: []sender{{"1", "sip:7301@35.162.237.204"}, {"2", "sip:7300@35.162.237.204"}},
			check: func(t *testing.T, b *Body, m *Metadata) {
				if len(b.Parts) != 3 || b.Parts[2].ContentType != "application/gtd" || !bytes.HasPrefix(b.Parts[2].Body, []byte("IAM,")) {
					t.Errorf("parts = %+v", b.Parts)
				}
				if ids := m.Sessions[0].SIPSessionIDs; len(ids) != 1 || !strings.HasPrefix(ids[0], "e9fffff2020a598b86962867715db0cf;remote=") {
					t.Errorf("SIPSessionIDs = %q", ids)
				}
			},
		},
		{
			file: "connectel-offer.txt", namespace: NamespaceRFC7865,
			labels: []string{"1", "2"},
			// No participantstreamassoc: flagged since issue 12.
			problems: true,
			senders:  []sender{{"1", ""}, {"2", ""}}, // no association in the document
			check: func(t *testing.T, b *Body, m *Metadata) {
				if m.Participants[0].Name != "test_user;lang=en-US;id=22" || m.Participants[1].AOR != "sip:0760516936@sip-cust1.connectel.io" {
					t.Errorf("participants = %+v", m.Participants)
				}
			},
		},
		{
			file: "inactive-sdp-offer.txt", namespace: NamespaceRFC7865,
			labels: []string{"1", "2"},
			// No participantstreamassoc: flagged since issue 12.
			problems: true,
			senders:  []sender{{"1", ""}},
			check: func(t *testing.T, b *Body, m *Metadata) {
				if bytes.Count(b.SDP, []byte("a=inactive")) != 2 {
					t.Errorf("SDP = %q", b.SDP)
				}
				if len(m.Participants) != 2 || m.Participants[0].AssociateTime != "2021-06-07T07:16:23.618Z" {
					t.Errorf("participants = %+v", m.Participants)
				}
			},
		},
		{
			file: "intrado-siprec-invite.txt", namespace: NamespaceRFC7865,
			labels:  []string{"1"},
			senders: []sender{{"1", "4058327108@10.105.190.136:5060"}},
			check: func(t *testing.T, b *Body, m *Metadata) {
				if m.DataMode != DataModeComplete || len(m.Groups) != 1 || m.Sessions[0].GroupRef != m.Groups[0].ID {
					t.Errorf("datamode %q groups %+v sessions %+v", m.DataMode, m.Groups, m.Sessions)
				}
				p := m.Participants[0]
				if p.Role != "calling" || p.Extensions["channel"] != "SIP/911202-073e" {
					t.Errorf("participant = %+v", p)
				}
			},
		},
		{
			file: "procomm-siprec-offer.txt", namespace: NamespaceRFC7865,
			labels:  []string{"a_leg", "b_leg"},
			senders: []sender{{"a_leg", "sip:016190200@87.252.209.116"}, {"b_leg", "Extension-016190619@speechpath.ie"}},
		},
		{
			file: "sonus-siprec-offer.txt", namespace: NamespacePreRFC,
			labels:  []string{"1", "2"},
			senders: []sender{{"2", "2249888500@172.16.198.55"}, {"1", "2249888012@172.16.195.72"}},
			check: func(t *testing.T, b *Body, m *Metadata) {
				// participantstreamassoc maps label 2's stream to the first participant.
				if p := m.ParticipantForLabel("2"); p == nil || p.ID != m.Participants[0].ID {
					t.Errorf("ParticipantForLabel(2) = %+v", p)
				}
				if m.Extensions["callData/callid"] != "2da553f7-a48b-1235-d6a2-5254003a4988" ||
					m.Groups[0].Extensions["callData/gcid"] != "241205267" {
					t.Errorf("extensions = %q / %q", m.Extensions, m.Groups[0].Extensions)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, m, _ := vendorParse(t, tc.file)
			if m == nil {
				t.Fatal("no metadata")
			}
			if m.Namespace != tc.namespace {
				t.Errorf("Namespace = %q, want %q", m.Namespace, tc.namespace)
			}
			if tc.problems != (len(m.Problems) > 0) {
				t.Errorf("Problems = %q, want some: %v", m.Problems, tc.problems)
			}
			var labels []string
			for _, s := range m.Streams {
				labels = append(labels, s.Label)
			}
			if strings.Join(labels, ",") != strings.Join(tc.labels, ",") {
				t.Errorf("labels = %q, want %q", labels, tc.labels)
			}
			for _, l := range tc.labels {
				if !bytes.Contains(b.SDP, []byte("a=label:"+l)) {
					t.Errorf("label %s not in SDP", l)
				}
			}
			for _, s := range tc.senders {
				p := m.ParticipantForLabel(s.label)
				got := ""
				if p != nil {
					got = p.AOR
				}
				if got != s.aor {
					t.Errorf("sender of label %s = %q, want %q", s.label, got, s.aor)
				}
			}
			if tc.check != nil {
				tc.check(t, b, m)
			}
		})
	}
}

func TestVendorPlainSDP(t *testing.T) {
	b, m, _ := vendorParse(t, "non-siprec-payload.txt")
	if m != nil || b.Metadata != nil || len(b.Parts) != 1 {
		t.Fatalf("plain SDP gave metadata %q parts %d", b.Metadata, len(b.Parts))
	}
	if IsSIPREC(nil, nil, "<sip:a@b>", "application/sdp", b) {
		t.Error("plain SDP offer classified as SIPREC")
	}
}

func TestVendorIntradoHeaders(t *testing.T) {
	b, _, h := vendorParse(t, "intrado-siprec-invite.txt")
	if !IsSIPREC(h["require"], h["supported"], h["contact"][0], h["content-type"][0], b) {
		t.Error("intrado INVITE not classified as SIPREC")
	}
	if !IsSIPREC(nil, nil, h["contact"][0], "", nil) {
		t.Error("+sip.src in Contact not detected")
	}
}
