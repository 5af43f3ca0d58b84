package mediacrypt_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// A media store wraps the recording's file in a Writer, writes the WAV
// through it unchanged, and serves playback from OpenWAV.
func Example() {
	dir, _ := os.MkdirTemp("", "mediacrypt")
	defer os.RemoveAll(dir)
	recipients, _ := age.ParseRecipients(bytes.NewReader([]byte(recipientA + "\n"))) // --encrypt-to
	identities, _ := age.ParseIdentities(bytes.NewReader([]byte(identityA + "\n")))  // --decrypt-keys

	// Recording: .part file → encrypting Writer → wav.Writer.
	f, _ := os.Create(filepath.Join(dir, "call.wav.part"))
	ew, _ := mediacrypt.NewWriter(f, recipients, mediacrypt.Options{})
	ww, _ := wav.NewWith(ew, wav.FormatPCM16, 2, 8000)
	ww.Write(make([]byte, 8000*4)) // one second per flush
	ww.Sync()                      // header patch + checkpoint record + fsync
	ww.Close()
	ew.Close()
	f.Close()

	// Playback: the plaintext WAV, random access.
	g, _ := os.Open(f.Name())
	defer g.Close()
	st, _ := g.Stat()
	w, err := mediacrypt.OpenWAV(g, st.Size(), identities...)
	if err != nil {
		fmt.Println(err)
		return
	}
	head := make([]byte, 12)
	w.ReadAt(head, 0)
	fmt.Printf("%q size %d truncated %v, %d bytes on disk\n", head[8:12], w.Size(), w.Truncated(), st.Size())
	// Output: "WAVE" size 32044 truncated false, 36172 bytes on disk
}

// HTTP Range replay through http.ServeContent returns the plaintext WAV's
// bytes for every range.
func TestHTTPRange(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	ct, plain := encryptedWAV(t, wav.FormatALaw, 2, frames(wav.FormatALaw, 2, 12.5), ra)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		w, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), a)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(rw, req, "call.wav", time.Time{}, io.NewSectionReader(w, 0, w.Size()))
	}))
	defer srv.Close()
	n := len(plain)
	for _, rg := range []struct {
		header     string
		start, end int // inclusive
	}{
		{"bytes=0-43", 0, 43},
		{"bytes=0-", 0, n - 1},
		{"bytes=65530-131080", 65530, 131080},
		{"bytes=-1000", n - 1000, n - 1},
		{fmt.Sprintf("bytes=%d-", n-1), n - 1, n - 1},
	} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Range", rg.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, plain[rg.start:rg.end+1]) {
			t.Errorf("%s: status %d, %d bytes, want 206 and plaintext[%d:%d]", rg.header, resp.StatusCode, len(body), rg.start, rg.end+1)
		}
	}
}
