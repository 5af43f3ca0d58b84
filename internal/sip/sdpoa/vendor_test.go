package sdpoa

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestVendorOffers parses the SDP part of every vendor sample in
// testdata/vendors (see its README for their origin) and checks the streams
// a recorder would record.
func TestVendorOffers(t *testing.T) {
	tests := map[string]struct {
		audio     int
		labels    []string
		direction Direction
		addrValid bool
		codecs    []string // codec names of the first m-line
		te        bool     // telephone-event offered on the first m-line
	}{
		"acme-siprec-offer":     {2, []string{"16777227", "16777228"}, SendOnly, true, []string{"PCMU"}, false},
		"avaya-siprec-offer":    {2, []string{"201835599", "201835600"}, SendOnly, true, []string{"PCMA", "G729"}, true},
		"broadworks-offer":      {1, []string{"1"}, SendOnly, false, []string{"PCMA", "PCMU", "G722", "G729"}, true},
		"cisco-siprec-offer":    {2, []string{"1", "2"}, SendOnly, true, []string{"PCMU"}, true},
		"connectel-offer":       {2, []string{"1", "2"}, SendOnly, false, []string{"PCMU", "PCMA", "GSM"}, true},
		"inactive-sdp-offer":    {2, []string{"1", "2"}, Inactive, true, []string{"PCMU"}, true},
		"intrado-siprec-invite": {1, []string{"1"}, SendOnly, true, []string{"PCMU", "PCMA"}, true},
		"non-siprec-payload":    {1, []string{"1"}, SendOnly, true, []string{"PCMU"}, true},
		"procomm-siprec-offer":  {2, []string{"a_leg", "b_leg"}, SendOnly, true, []string{"PCMA"}, false},
		"sonus-siprec-offer":    {2, []string{"1", "2"}, SendOnly, true, []string{"PCMU"}, false},
	}
	files, err := filepath.Glob("testdata/vendors/*.sdp")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Fatalf("%d vendor offers in testdata, %d expectations", len(files), len(tests))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sdp")
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expectation for %s", f)
			}
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseOffer(body)
			if err != nil {
				t.Fatalf("ParseOffer: %v", err)
			}
			if got := s.AudioCount(); got != want.audio {
				t.Errorf("AudioCount = %d, want %d", got, want.audio)
			}
			var labels []string
			for _, m := range s.Media {
				labels = append(labels, m.Label)
				if m.Direction != want.direction {
					t.Errorf("m-line %d: direction %s, want %s", m.Index, m.Direction, want.direction)
				}
				if m.Addr.IsValid() != want.addrValid {
					t.Errorf("m-line %d: address %v, want valid=%v", m.Index, m.Addr, want.addrValid)
				}
				if m.Hold {
					t.Errorf("m-line %d: on hold", m.Index)
				}
				if len(m.Codecs) == 0 {
					t.Errorf("m-line %d: no codecs", m.Index)
				}
			}
			if !reflect.DeepEqual(labels, want.labels) {
				t.Errorf("labels %q, want %q", labels, want.labels)
			}
			var codecs []string
			for _, c := range s.Media[0].Codecs {
				codecs = append(codecs, c.Name)
			}
			if !reflect.DeepEqual(codecs, want.codecs) {
				t.Errorf("codecs %v, want %v", codecs, want.codecs)
			}
			if (s.Media[0].TelephoneEvent != nil) != want.te {
				t.Errorf("telephone-event %+v, want offered=%v", s.Media[0].TelephoneEvent, want.te)
			}
		})
	}
}
