package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// A recording that failed before any audio was written (the recovery after
// a crash marks it so) has no media and no manifest: verify counts it, it
// is not "changed" — else every data dir that saw one crash fails verify
// for ever. A sealed recording whose media and row status were changed to
// look like that is still found: its manifest remains.
func TestVerifyFailedRecordingWithoutAudio(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(data, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, err := seal.LoadOrCreateKey(filepath.Join(data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	media := filepath.Join(data, "media", "F1.wav")
	failed := &store.Recording{ID: "F1", Mode: store.ModeMSR, Status: store.StatusFailed,
		StatusReason: "recorder stopped before any audio was written", StartedAt: t0, EndedAt: t0.Add(time.Second),
		Channels: 2, MediaPath: media}
	if err := db.CreateRecording(ctx, failed); err != nil {
		t.Fatal(err)
	}
	rep, err := verify(ctx, db, data, pub, nil, false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed) != 0 || rep.NoAudio != 1 {
		t.Errorf("failed recording without audio: changed %+v, no audio %d (want none changed, 1 without audio)", rep.Changed, rep.NoAudio)
	}

	// A sealed one whose audio was removed and row marked failed.
	sealedMedia := filepath.Join(data, "media", "S1.wav")
	if err := os.MkdirAll(filepath.Dir(sealedMedia), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sealedMedia, []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, size, err := seal.HashFile(sealedMedia)
	if err != nil {
		t.Fatal(err)
	}
	sealed := &store.Recording{ID: "S1", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: t0, EndedAt: t0.Add(time.Second),
		Channels: 2, MediaPath: sealedMedia, SHA256: sum, SizeBytes: size}
	m := seal.New(sealed, t0)
	m.Sign(key)
	if err := seal.Write(mediastore.Manifest(sealedMedia), m); err != nil {
		t.Fatal(err)
	}
	sealed.Status, sealed.SHA256, sealed.SizeBytes = store.StatusFailed, "", 0
	if err := db.CreateRecording(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sealedMedia); err != nil {
		t.Fatal(err)
	}
	rep, err = verify(ctx, db, data, pub, []string{"S1"}, false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed) != 1 || rep.NoAudio != 0 {
		t.Errorf("sealed recording made to look failed: changed %+v, no audio %d (want it changed)", rep.Changed, rep.NoAudio)
	}
}

// A recording whose row was removed behind openrec's back (no deletion
// through retention or erasure, which remove the manifest too) leaves its
// signed manifest: verify --all finds it, where it used to check only the
// rows still there and report everything intact.
func TestVerifyFindsARemovedRow(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(data, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, err := seal.LoadOrCreateKey(filepath.Join(data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"S1", "S2"} {
		media := filepath.Join(data, "media", "2026", "12", "01", id+".wav")
		if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(media, []byte("RIFF "+id), 0o600); err != nil {
			t.Fatal(err)
		}
		sum, size, err := seal.HashFile(media)
		if err != nil {
			t.Fatal(err)
		}
		r := &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: t0, EndedAt: t0.Add(time.Second),
			Channels: 2, MediaPath: media, SHA256: sum, SizeBytes: size}
		m := seal.New(r, t0)
		m.Sign(key)
		if err := seal.Write(mediastore.Manifest(media), m); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	pub := key.Public().(ed25519.PublicKey)
	if rep, err := verify(ctx, db, data, pub, nil, false, "", nil); err != nil || len(rep.Changed) != 0 || rep.Intact != 2 {
		t.Fatalf("intact data dir: %v %+v", err, rep)
	}
	raw, err := sql.Open("sqlite", filepath.Join(data, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM recordings WHERE id = 'S2'`); err != nil {
		t.Fatal(err)
	}
	rep, err := verify(ctx, db, data, pub, nil, false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].RecordingID != "S2" {
		t.Errorf("row removed, manifest left: changed %+v, want S2 reported", rep.Changed)
	}
	// A deletion through openrec (the row with its deletion record, the
	// files) is no change.
	if err := os.Remove(mediastore.Manifest(filepath.Join(data, "media", "2026", "12", "01", "S2.wav"))); err != nil {
		t.Fatal(err)
	}
	if rep, err := verify(ctx, db, data, pub, nil, false, "", nil); err != nil || len(rep.Changed) != 0 {
		t.Errorf("after the manifest went too: %v %+v", err, rep.Changed)
	}
}
