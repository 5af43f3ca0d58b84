package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// A cached MP3 lives as long as its recording: once the recording is
// deleted (a discarded pre-recording, say) its MP3s go too; temporary files
// of an interrupted encode go after an hour.
func TestPruneMP3Cache(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateRecording(ctx, &store.Recording{ID: "01KEEP", Mode: store.ModeMSR, Status: store.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	a := &App{db: db, dataDir: dir, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cache := a.mp3CacheDir()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{ // name → kept
		"01KEEP-abc.all.16k.mp3": true,
		"01GONE-abc.all.16k.mp3": false,
		"01GONE-abc.ch0.8k.mp3":  false,
		".tmp-01KEEP-new":        true,  // an encode running now
		".tmp-01KEEP-old":        false, // left by a crash
		"README":                 true,  // not ours
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(cache, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(cache, ".tmp-01KEEP-old"), old, old); err != nil {
		t.Fatal(err)
	}
	a.pruneMP3Cache(ctx)
	for name, kept := range files {
		_, err := os.Stat(filepath.Join(cache, name))
		if (err == nil) != kept {
			t.Errorf("%s: exists %v, want %v", name, err == nil, kept)
		}
	}
}
