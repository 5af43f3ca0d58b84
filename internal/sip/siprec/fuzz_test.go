package siprec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func seedVendors(f *testing.F, add func(ct string, body []byte)) {
	for _, c := range vendorCases {
		ct, body, _ := loadVendor(f, c)
		add(ct, body)
	}
}

func FuzzSplitBody(f *testing.F) {
	seedVendors(f, func(ct string, body []byte) { f.Add(ct, body) })
	f.Add("multipart/mixed;boundary=b", []byte("--b\r\nc:application/sdp\r\n\r\nv=0\r\n--b--"))
	f.Add("", []byte(""))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		orig := bytes.Clone(body)
		b, err := SplitBody(ct, body)
		if !bytes.Equal(orig, body) {
			t.Fatal("SplitBody modified its input")
		}
		switch {
		case err == nil:
			if b == nil || b.SDP == nil {
				t.Fatalf("no error but no SDP: %+v", b)
			}
		case errors.Is(err, ErrNoSDP):
			if b == nil || b.SDP != nil {
				t.Fatalf("ErrNoSDP with Body %+v", b)
			}
		case errors.Is(err, ErrMalformedBody):
			if b != nil {
				t.Fatal("ErrMalformedBody with a Body")
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if b != nil && b.Metadata != nil {
			m, _ := ParseMetadata(b.Metadata)
			if m == nil {
				t.Fatal("nil Metadata")
			}
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	seedVendors(f, func(ct string, body []byte) {
		if b, _ := SplitBody(ct, body); b != nil && b.Metadata != nil {
			f.Add(b.Metadata)
		}
	})
	files, _ := filepath.Glob(filepath.Join("testdata", "rfc7865", "*.xml"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseMetadata(raw)
		if m == nil || !bytes.Equal(m.Raw, raw) {
			t.Fatal("ParseMetadata must always return Metadata with Raw")
		}
		if err != nil && !errors.Is(err, ErrInvalidMetadata) {
			t.Fatalf("error %v does not wrap ErrInvalidMetadata", err)
		}
		if m.DataMode != DataModeComplete && m.DataMode != DataModePartial && len(m.Problems) == 0 {
			t.Fatalf("DataMode %q without a problem", m.DataMode)
		}
		for _, s := range m.Streams {
			m.ParticipantForLabel(s.Label)
		}
		m.SessionID()
		m.CallUUID()
		u, _ := ParseMetadata(raw)
		u.DataMode = DataModePartial
		m.Merge(u)
		m.Merge(m)
	})
}
