package siprec

import (
	"errors"
	"strings"
	"testing"
)

const (
	testSDP  = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=label:1\na=sendonly\n"
	testMeta = "<?xml version=\"1.0\"?>\n<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>complete</datamode></recording>\n"
)

func TestSplitBody(t *testing.T) {
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	standard := "--b1\nContent-Type: application/sdp\n\n" + testSDP + "\n--b1\nContent-Type: application/rs-metadata+xml\nContent-Disposition: recording-session\n\n" + testMeta + "--b1--\n"
	tests := []struct {
		name        string
		contentType string
		body        string
		wantErr     error
		wantSDP     string // prefix; "" = no SDP
		wantMeta    string // prefix; "" = no metadata
		wantMetaCT  string
		wantParts   int
	}{
		// FuzzSplitBody found it (issue 11): a part labelled application/sdp
		// with nothing in it is no SDP, an error rather than an empty offer.
		{name: "empty application/sdp part", contentType: "0", body: "--00000000000000\nC:AppliCAtion/sdp", wantErr: ErrNoSDP, wantParts: 1},
		{name: "standard", contentType: "multipart/mixed;boundary=b1", body: standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "CRLF", contentType: "multipart/mixed;boundary=b1", body: crlf(standard), wantSDP: crlf(testSDP), wantMeta: crlf(testMeta), wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "quoted boundary", contentType: `multipart/mixed; boundary="b1"`, body: standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "boundary parameter missing", contentType: "multipart/mixed", body: standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "boundary parameter wrong", contentType: "multipart/mixed;boundary=zz", body: standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "broken Content-Type header", contentType: "multipart/mixed;;boundary=b1;=", body: standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "no Content-Type but multipart body", contentType: "", body: standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "preamble and blank lines", contentType: "multipart/mixed;boundary=b1", body: " \r\n\nThis is a preamble\n" + standard, wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "missing closing delimiter", contentType: "multipart/mixed;boundary=b1", body: strings.TrimSuffix(standard, "--b1--\n"), wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "padding after delimiters and epilogue", contentType: "multipart/mixed;boundary=b1", body: strings.ReplaceAll(standard, "--b1\n", "--b1 \t\n") + "epilogue\n--b1\nContent-Type: text/plain\n\nignored\n", wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 2},
		{name: "metadata first, no space after colon, compact header", contentType: "multipart/mixed;boundary=b1",
			body:    "--b1\nc:application/rs-metadata\nContent-Length:9999\n\n" + testMeta + "\n--b1\nContent-Type:application/sdp\n\n" + testSDP + "--b1--",
			wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata", wantParts: 2},
		{name: "metadata by disposition only", contentType: "multipart/mixed;boundary=b1",
			body:    "--b1\nContent-Type: application/sdp\n\n" + testSDP + "\n--b1\nContent-Type: application/ +xml\nContent-Disposition: recording-session\n\n<x/>\n--b1--",
			wantSDP: testSDP, wantMeta: "<x/>", wantMetaCT: "application/ +xml", wantParts: 2},
		{name: "parts without headers", contentType: "multipart/mixed;boundary=b1",
			body:    "--b1\n" + testSDP + "\n--b1\n" + testMeta + "--b1--",
			wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "", wantParts: 2},
		{name: "header folding", contentType: "multipart/mixed;boundary=b1",
			body:    "--b1\nContent-Type:\n application/sdp\n\n" + testSDP + "\n--b1--",
			wantSDP: testSDP, wantParts: 1},
		{name: "nested multipart", contentType: "multipart/mixed;boundary=outer",
			body:    "--outer\nContent-Type: multipart/mixed;boundary=b1\n\n" + standard + "\n--outer\nContent-Type: application/gtd\n\nIAM,\n--outer--",
			wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 3},
		{name: "extra parts", contentType: "multipart/mixed;boundary=b1",
			body:    "--b1\nContent-Type: application/gtd\n\nIAM,\n" + standard,
			wantSDP: testSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 3},
		{name: "plain SDP", contentType: "application/sdp", body: "\n" + testSDP, wantSDP: testSDP, wantParts: 1},
		{name: "SDP labelled multipart", contentType: "multipart/mixed;boundary=b1", body: testSDP, wantSDP: testSDP, wantParts: 1},
		{name: "SDP without Content-Type", contentType: "", body: testSDP, wantSDP: testSDP, wantParts: 1},
		{name: "metadata-only UPDATE", contentType: "application/rs-metadata+xml", body: testMeta, wantErr: ErrNoSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 1},
		{name: "multipart without SDP", contentType: "multipart/mixed;boundary=b1", body: "--b1\nContent-Type: application/rs-metadata+xml\n\n" + testMeta + "--b1--", wantErr: ErrNoSDP, wantMeta: testMeta, wantMetaCT: "application/rs-metadata+xml", wantParts: 1},
		{name: "empty body: delayed offer", contentType: "", body: "", wantErr: ErrNoSDP},
		{name: "white space body", contentType: "application/sdp", body: " \r\n", wantErr: ErrNoSDP},
		{name: "other type", contentType: "text/plain", body: "hello", wantErr: ErrNoSDP, wantParts: 1},
		{name: "multipart without delimiters", contentType: "multipart/mixed;boundary=b1", body: "garbage\nmore garbage\n", wantErr: ErrMalformedBody},
		{name: "multipart with only delimiters", contentType: "multipart/mixed;boundary=b1", body: "--b1\n\n--b1--\n", wantErr: ErrMalformedBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := SplitBody(tc.contentType, []byte(tc.body))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrMalformedBody) {
				if b != nil {
					t.Fatalf("ErrMalformedBody with a Body: %+v", b)
				}
				return
			}
			if b == nil {
				t.Fatal("nil Body")
			}
			// The last line break of a part belongs to the next delimiter.
			if !strings.HasPrefix(string(b.SDP), strings.TrimRight(tc.wantSDP, "\r\n")) || (tc.wantSDP == "") != (b.SDP == nil) {
				t.Errorf("SDP = %q, want %q", b.SDP, tc.wantSDP)
			}
			if !strings.HasPrefix(string(b.Metadata), strings.TrimRight(tc.wantMeta, "\r\n")) || (tc.wantMeta == "") != (b.Metadata == nil) {
				t.Errorf("Metadata = %q, want %q", b.Metadata, tc.wantMeta)
			}
			if b.MetadataType != tc.wantMetaCT {
				t.Errorf("MetadataType = %q, want %q", b.MetadataType, tc.wantMetaCT)
			}
			if len(b.Parts) != tc.wantParts {
				t.Errorf("%d parts, want %d: %+v", len(b.Parts), tc.wantParts, b.Parts)
			}
		})
	}
}

// The SDP part must end where the delimiter's line break starts: exactly the
// bytes the SRC put there, nothing of the boundary.
func TestSplitBodyExactPartBytes(t *testing.T) {
	body := "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\na=x\r\n\r\n--b\r\nContent-Type: application/rs-metadata\r\n\r\n<r/>\r\n--b--\r\n"
	b, err := SplitBody("multipart/mixed;boundary=b", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if string(b.SDP) != "v=0\r\na=x\r\n" || string(b.Metadata) != "<r/>" {
		t.Fatalf("SDP %q Metadata %q", b.SDP, b.Metadata)
	}
}

func TestSplitBodyDoesNotAlias(t *testing.T) {
	in := []byte("v=0\no=- 1 1 IN IP4 192.0.2.1\n")
	b, err := SplitBody("application/sdp", in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	if b.SDP[0] != 'v' {
		t.Fatal("Body aliases the input buffer")
	}
}
