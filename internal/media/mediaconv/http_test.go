package mediaconv

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
)

func TestServeContentRanges(t *testing.T) {
	path := writeRecording(t, wav.FormatULaw, tones(2, 2*rate))
	full := referencePCM(t, path, -1)
	size := len(full)
	src := openT(t, path)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pcm, err := src.PCM(-1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "rec.wav", time.Unix(1700000000, 0), pcm)
	}))
	defer srv.Close()

	tests := []struct {
		rangeHdr     string
		status       int
		start, end   int // expected body: full[start:end]
		contentRange string
	}{
		{"", http.StatusOK, 0, size, ""},
		{"bytes=1000-1999", http.StatusPartialContent, 1000, 2000, fmt.Sprintf("bytes 1000-1999/%d", size)},
		{"bytes=-500", http.StatusPartialContent, size - 500, size, fmt.Sprintf("bytes %d-%d/%d", size-500, size-1, size)},
		{"bytes=0-43", http.StatusPartialContent, 0, 44, fmt.Sprintf("bytes 0-43/%d", size)},
		{"bytes=40-", http.StatusPartialContent, 40, size, fmt.Sprintf("bytes 40-%d/%d", size-1, size)},
		{fmt.Sprintf("bytes=%d-", size), http.StatusRequestedRangeNotSatisfiable, 0, 0, fmt.Sprintf("bytes */%d", size)},
	}
	for _, tc := range tests {
		t.Run(tc.rangeHdr, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.rangeHdr != "" {
				req.Header.Set("Range", tc.rangeHdr)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
			}
			if tc.status == http.StatusRequestedRangeNotSatisfiable {
				return
			}
			if got := resp.Header.Get("Accept-Ranges"); got != "bytes" {
				t.Errorf("Accept-Ranges %q", got)
			}
			if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(tc.end-tc.start) {
				t.Errorf("Content-Length %s, want %d", got, tc.end-tc.start)
			}
			if string(body) != string(full[tc.start:tc.end]) {
				t.Errorf("body (%d bytes) differs from bytes %d-%d of the full output", len(body), tc.start, tc.end)
			}
		})
	}
}
