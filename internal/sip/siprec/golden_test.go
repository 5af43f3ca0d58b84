package siprec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// vendorCase is one fixture of testdata/vendors and the Content-Type header it
// arrived with. Some headers are deliberately missing or wrong to exercise
// boundary detection.
type vendorCase struct {
	file        string
	contentType string // "" for a whole SIP message: taken from its headers
}

var vendorCases = []vendorCase{
	{"acme-siprec-offer.txt", "multipart/mixed;boundary=unique-boundary-1"},
	{"avaya-siprec-offer.txt", "multipart/mixed; boundary=unique-boundary-1"},
	{"broadworks-offer.txt", "multipart/mixed;boundary=UniqueBroadWorksBoundary"},
	{"cisco-siprec-offer.txt", "multipart/mixed;boundary=uniqueBoundary"},
	{"connectel-offer.txt", `multipart/mixed;boundary="OSS-unique-boundary-42"`},
	{"inactive-sdp-offer.txt", "multipart/mixed"},                             // no boundary parameter
	{"intrado-siprec-invite.txt", ""},                                         // whole INVITE
	{"non-siprec-payload.txt", "application/sdp"},                             // plain SDP
	{"procomm-siprec-offer.txt", "multipart/mixed;boundary=not-the-one-used"}, // wrong boundary
	{"sonus-siprec-offer.txt", "multipart/mixed;boundary=sonus-content-delim"},
}

// sipMessage splits a raw SIP message into lower-cased header names with
// their values and the body (after the first empty line).
func sipMessage(t testing.TB, raw []byte) (map[string][]string, []byte) {
	t.Helper()
	sep, n := []byte("\r\n\r\n"), 4
	i := bytes.Index(raw, sep)
	if j := bytes.Index(raw, []byte("\n\n")); i < 0 || (j >= 0 && j < i) {
		i, n = j, 2
	}
	if i < 0 {
		t.Fatal("SIP message without an empty line after the headers")
	}
	headers := map[string][]string{}
	for _, line := range strings.Split(string(raw[:i]), "\n")[1:] {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(name))
		headers[k] = append(headers[k], strings.TrimSpace(value))
	}
	return headers, raw[i+n:]
}

// loadVendor returns the Content-Type and body of a vendor fixture.
func loadVendor(t testing.TB, c vendorCase) (string, []byte, map[string][]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "vendors", c.file))
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		return c.contentType, raw, nil
	}
	h, body := sipMessage(t, raw)
	if len(h["content-type"]) != 1 {
		t.Fatalf("%s: want one Content-Type header, got %q", c.file, h["content-type"])
	}
	return h["content-type"][0], body, h
}

type goldenPart struct {
	ContentType string
	Disposition string
	Bytes       int
}

type goldenResult struct {
	ContentType  string
	SplitError   string `json:",omitempty"`
	Parts        []goldenPart
	SDP          string
	MetadataType string `json:",omitempty"`
	ParseError   string `json:",omitempty"`
	Metadata     *Metadata
}

// withoutRaw hides the raw documents, which the input file already shows.
func withoutRaw(m *Metadata) *Metadata {
	if m == nil {
		return nil
	}
	c := *m
	c.Raw, c.Updates = nil, nil
	return &c
}

func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from golden file %s (run with -update and review the diff):\n%s", name, path, buf.String())
	}
}

// TestVendorFixturesCovered fails when a fixture has no row in vendorCases.
func TestVendorFixturesCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "vendors", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range vendorCases {
		known[c.file] = true
	}
	if len(files) != len(vendorCases) {
		t.Errorf("%d fixtures, %d cases", len(files), len(vendorCases))
	}
	for _, f := range files {
		if !known[filepath.Base(f)] {
			t.Errorf("fixture %s has no vendorCase", f)
		}
	}
}

func TestGoldenVendors(t *testing.T) {
	for _, c := range vendorCases {
		t.Run(c.file, func(t *testing.T) {
			ct, body, _ := loadVendor(t, c)
			got := goldenResult{ContentType: ct}
			b, err := SplitBody(ct, body)
			if err != nil {
				got.SplitError = err.Error()
			}
			if b != nil {
				for _, p := range b.Parts {
					got.Parts = append(got.Parts, goldenPart{p.ContentType, p.Disposition, len(p.Body)})
				}
				got.SDP = string(b.SDP)
				got.MetadataType = b.MetadataType
				if b.Metadata != nil {
					m, err := ParseMetadata(b.Metadata)
					if err != nil {
						got.ParseError = err.Error()
					}
					got.Metadata = withoutRaw(m)
				}
			}
			checkGolden(t, strings.TrimSuffix(c.file, ".txt"), got)
		})
	}
}

func TestGoldenRFC7865(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rfc7865", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no RFC documents: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseMetadata(raw)
			if m == nil || !bytes.Equal(m.Raw, raw) {
				t.Fatal("ParseMetadata must return Metadata with Raw")
			}
			wantErr := name == "complete-erratum"
			if (err != nil) != wantErr || (err != nil && !errors.Is(err, ErrInvalidMetadata)) {
				t.Fatalf("err = %v, want invalid metadata: %v", err, wantErr)
			}
			if !wantErr && len(m.Problems) > 0 {
				t.Errorf("RFC document has problems: %q", m.Problems)
			}
			got := goldenResult{Metadata: withoutRaw(m)}
			if err != nil {
				got.ParseError = err.Error()
			}
			checkGolden(t, "rfc7865-"+name, got)
		})
	}
}
