package sdpoa

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// addSeeds adds every offer in testdata to the corpus of f.
func addSeeds(f *testing.F) {
	for _, pattern := range []string{"testdata/golden/*.offer.sdp", "testdata/vendors/*.sdp"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("v=0\r\nm=audio 0 x y\r\n"))
}

// FuzzParseOffer checks that ParseOffer never panics, fails only with
// ErrMalformed and a printable reason, and returns consistent sessions.
func FuzzParseOffer(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseOffer(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if !isReasonPhrase(err.Error()) {
				t.Fatalf("error %q is not a usable reason phrase", err)
			}
			return
		}
		for i, m := range s.Media {
			if m.Index != i || m.Port < 0 || m.Port > 65535 || len(m.formats) == 0 {
				t.Fatalf("m-line %d inconsistent: %+v", i, m)
			}
			switch m.Direction {
			case SendRecv, SendOnly, RecvOnly, Inactive:
			default:
				t.Fatalf("m-line %d: direction %q", i, m.Direction)
			}
			for _, c := range m.Codecs {
				if c.Name == "" || c.ClockRate <= 0 || c.Name == "TELEPHONE-EVENT" || c.Name == "CN" {
					t.Fatalf("m-line %d: codec %+v", i, c)
				}
			}
		}
	})
}

// FuzzBuildAnswer checks that any offer ParseOffer accepts can be answered
// the way the recorder answers, and that the answer parses back with the
// same m-lines.
func FuzzBuildAnswer(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		offer, err := ParseOffer(b)
		if err != nil {
			return
		}
		p := answerParams(offer)
		answer, err := BuildAnswer(offer, p)
		if err != nil {
			t.Fatalf("BuildAnswer: %v", err)
		}
		checkAnswer(t, offer, answer)
		a, err := ParseOffer(answer)
		if err != nil {
			t.Fatal(err)
		}
		for i, am := range a.Media {
			want := p.Media[i].Port
			if offer.Media[i].Port == 0 {
				want = 0
			}
			if am.Port != want {
				t.Fatalf("m-line %d: answered port %d, want %d", i, am.Port, want)
			}
			// Our SDES key goes out on every accepted SRTP m-line, intact.
			if c := p.Media[i].Crypto; c != nil && want != 0 {
				got, ok := am.SelectCrypto()
				if !ok || got.Tag != c.Tag || got.Suite != c.Suite || string(got.Key) != string(c.Key) {
					t.Fatalf("m-line %d: answered crypto %+v %v, want %+v", i, got, ok, c)
				}
			}
		}
	})
}
