package mediastore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

func TestLayout(t *testing.T) {
	l := mediastore.Layout{Root: "/d/media"}
	m := l.NewMedia(time.Date(2026, 12, 7, 23, 30, 0, 0, time.FixedZone("x", -3600)), "R1")
	if m != "/d/media/2026/12/08/R1.wav" {
		t.Fatalf("NewMedia = %s", m)
	}
	for _, tt := range []struct{ got, want string }{
		{mediastore.Part(m), "/d/media/2026/12/08/R1.wav.part"},
		{mediastore.Final(mediastore.Part(m)), m},
		{mediastore.Raw(m, 1), "/d/media/2026/12/08/R1.ch1.rtpraw"},
		{mediastore.SDP(m), "/d/media/2026/12/08/R1.sdp"},
		{mediastore.Manifest(m), "/d/media/2026/12/08/R1.manifest.json"},
		{mediastore.Manifest(mediastore.Part(m)), "/d/media/2026/12/08/R1.manifest.json"},
		{mediastore.TranscodeJournal(m), "/d/media/2026/12/08/R1.transcode.json"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
	if mediastore.PartSuffix != wav.PartSuffix {
		t.Errorf("PartSuffix %q, the WAV writer's %q", mediastore.PartSuffix, wav.PartSuffix)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "media", "R1.wav")
	cache := filepath.Join(dir, mediastore.MP3CacheDir)
	for _, p := range []string{mediastore.Raw(m, 0), mediastore.Raw(m, 1), filepath.Join(cache, "R1-ab.all.8k.mp3"),
		filepath.Join(cache, "R1-ab.ch0.8k.mp3"+mediastore.DeletingSuffix), filepath.Join(cache, "R10-ab.all.8k.mp3")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if k := mediastore.MP3Key(&store.Recording{ID: "R1", SHA256: "ab"}); k != "R1-ab" {
		t.Errorf("MP3Key = %s", k)
	}
	got := mediastore.Files(&store.Recording{ID: "R1", MediaPath: filepath.Join("media", "R1.wav")}, dir)
	b := filepath.Join(dir, "media", "R1")
	want := []string{m, m + ".part", b + ".sdp", b + ".manifest.json",
		m + ".rewrap", b + ".transcode.json", b + ".screen.webm", b + ".screen.webm.part", b + ".mp3", b + ".mp3.part", b + ".opus", b + ".opus.part",
		mediastore.Raw(m, 0), mediastore.Raw(m, 1), filepath.Join(cache, "R1-ab.all.8k.mp3")}
	if !slices.Equal(got, want) {
		t.Errorf("Files =\n%q\nwant\n%q", got, want)
	}
	// Stored compressed (media_format): the WAV it was made from, and the
	// decoded WAV the API cached, are the recording's files too.
	pcm := filepath.Join(dir, mediastore.PCMCacheDir, "R1-ab.wav")
	os.MkdirAll(filepath.Dir(pcm), 0o700)
	os.WriteFile(pcm, nil, 0o600)
	got = mediastore.Files(&store.Recording{ID: "R1", MediaPath: filepath.Join("media", "R1.opus")}, dir)
	want = []string{b + ".opus", b + ".opus.part", b + ".sdp", b + ".manifest.json", b + ".opus.rewrap",
		b + ".transcode.json", b + ".screen.webm", b + ".screen.webm.part", m, m + ".part", b + ".mp3", b + ".mp3.part", mediastore.Raw(m, 0), mediastore.Raw(m, 1),
		filepath.Join(cache, "R1-ab.all.8k.mp3"), pcm}
	if !slices.Equal(got, want) {
		t.Errorf("Files of an Opus recording =\n%q\nwant\n%q", got, want)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "R1.wav")
	if _, _, err := mediastore.Locate(&store.Recording{}, dir); !errors.Is(err, store.ErrNoMedia) {
		t.Fatalf("no path: %v", err)
	}
	if _, _, err := mediastore.Locate(&store.Recording{MediaPath: m}, dir); !errors.Is(err, store.ErrNoMedia) {
		t.Fatalf("no file: %v", err)
	}
	if err := os.WriteFile(mediastore.Part(m), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if p, in, err := mediastore.Locate(&store.Recording{MediaPath: "R1.wav"}, dir); err != nil || p != mediastore.Part(m) || !in {
		t.Fatalf("part: %s %v %v", p, in, err)
	}
	if err := os.WriteFile(m, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if p, in, err := mediastore.Locate(&store.Recording{MediaPath: mediastore.Part(m)}, dir); err != nil || p != m || in {
		t.Fatalf("final preferred: %s %v %v", p, in, err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f")
	write := func(s string) func(*os.File) error {
		return func(f *os.File) error { _, err := f.WriteString(s); return err }
	}
	if err := mediastore.WriteFile(p, mediastore.Options{}, write("x")); err == nil {
		t.Fatal("missing directory: no error")
	}
	if err := mediastore.WriteFile(p, mediastore.Options{MkdirAll: true, Perm: 0o640}, write("one")); err != nil {
		t.Fatal(err)
	}
	if err := mediastore.WriteFile(p, mediastore.Options{Exclusive: true}, write("two")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("exclusive over an existing file: %v", err)
	}
	boom := errors.New("boom")
	if err := mediastore.WriteFile(p, mediastore.Options{}, func(f *os.File) error { f.WriteString("half"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing write: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("content %q, want the first write", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	if err := mediastore.WriteFile(p, mediastore.Options{}, func(f *os.File) error {
		if !mediastore.IsTemp(filepath.Base(f.Name())) {
			t.Errorf("temporary file %s: not IsTemp", f.Name())
		}
		return write("three")(f)
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("content %q after replace", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestFinished(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "2026", "12", "07", "R1.wav")
	if err := os.MkdirAll(filepath.Dir(m), 0o700); err != nil {
		t.Fatal(err)
	}
	touch := func(p string) {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := mediastore.Finished(m); len(got) != 0 {
		t.Errorf("nothing written: %v", got)
	}
	touch(mediastore.Part(m))
	touch(mediastore.SDP(m))
	if got := mediastore.Finished(m); len(got) != 0 {
		t.Errorf("while .part exists: %v", got)
	}
	os.Remove(mediastore.Part(m))
	touch(m)
	touch(mediastore.Manifest(m))
	touch(mediastore.Raw(m, 1))
	want := []string{m, mediastore.SDP(m), mediastore.Manifest(m), mediastore.Raw(m, 1)}
	if got := mediastore.Finished(mediastore.Part(m)); !slices.Equal(got, want) {
		t.Errorf("Finished = %q, want %q", got, want)
	}
	touch(m + mediastore.RewrapSuffix)
	if got := mediastore.Finished(m); len(got) != 0 {
		t.Errorf("during a key rotation: %v", got)
	}
	for _, tt := range []struct{ in, want string }{
		{m, "2026/12/07/R1.wav"},
		{"media/2026/12/07/R1.sdp", "2026/12/07/R1.sdp"},
		{"R1.wav", "R1.wav"},
		{"/R1.wav", "R1.wav"},
	} {
		if got := mediastore.ObjectName(tt.in); got != tt.want {
			t.Errorf("ObjectName(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
