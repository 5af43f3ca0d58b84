package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite"
)

// Issue 13: `openrec verify` proves each recording and the audit log
// unchanged (exit 0) or names what changed (exit 1): one flipped byte in
// the media, in the manifest, and in the audit log, each found.
func TestVerifyDetectsOneFlippedByte(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data, "33200-33399")
	for _, id := range []string{"v-1", "v-2"} {
		if out, err := run(t, "dial", "--target", s.sipAddr, "--mode", "msr", "--duration", "1s", "--tones", "440,1000",
			"--dn", "5001", "--other-dn", "+15550100", "--record-id", id); err != nil {
			t.Fatalf("dial: %v\n%s", err, out)
		}
	}
	recs := waitListedFinished(t, s, data, 2)
	// Audit entries to chain: CLI exports.
	for _, r := range recs {
		if out, err := run(t, "recordings", "export", r.ID, "--data-dir", data, "--out", filepath.Join(t.TempDir(), "x.wav")); err != nil {
			t.Fatalf("export: %v\n%s", err, out)
		}
	}
	s.stop(t, syscall.SIGTERM)

	out, err := run(t, "verify", "--data-dir", data, "--all")
	if err != nil || !strings.Contains(out, "2 checked, 2 intact, 0 changed") || !strings.Contains(out, "0 broken") {
		t.Fatalf("verify of an intact data dir: %v\n%s", err, out)
	}
	head := regexp.MustCompile(`head (\d+) ([0-9a-f]{64})`).FindStringSubmatch(out)
	if head == nil {
		t.Fatalf("no audit head in:\n%s", out)
	}
	media := recs[0].MediaPath
	if !filepath.IsAbs(media) {
		media = filepath.Join(data, media)
	}
	flip := func(path string, at int) func() {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		orig := append([]byte(nil), b...)
		if at < 0 {
			at += len(b)
		}
		b[at] ^= 0x04
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return func() { _ = os.WriteFile(path, orig, 0o600) }
	}
	expectChanged := func(what string, args []string, want string) {
		t.Helper()
		out, err := run(t, append([]string{"verify", "--data-dir", data}, args...)...)
		if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 1 || !strings.Contains(out, want) {
			t.Errorf("%s: verify %v, want exit 1 naming %q\n%s", what, err, want, out)
		}
	}
	undo := flip(media, -100) // a byte of audio
	expectChanged("media byte", []string{recs[0].ID}, "CHANGED "+recs[0].ID+": media")
	undo()
	manifest := strings.TrimSuffix(media, ".wav") + ".manifest.json"
	b, _ := os.ReadFile(manifest)
	undo = flip(manifest, strings.Index(string(b), `"duration_ms": `)+len(`"duration_ms": `))
	expectChanged("manifest byte", []string{"--all"}, "signature does not verify")
	undo()

	// The audit log: someone who can write the database drops the guard
	// and edits one byte of an entry.
	db, err := sql.Open("sqlite", filepath.Join(data, "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TRIGGER audit_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit SET detail = detail || ' ' WHERE id = (SELECT min(id) FROM audit)`); err != nil {
		t.Fatal(err)
	}
	expectChanged("audit byte", []string{"--all"}, "CHANGED audit log: audit entry")
	// Entries removed from the end leave a valid chain: the head seen before finds it.
	if _, err := db.Exec(`DROP TRIGGER audit_no_delete`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM audit WHERE id = ?`, head[1]); err != nil {
		t.Fatal(err)
	}
	expectChanged("audit tail removed", []string{"--all", "--audit-head", head[1] + ":" + head[2]}, "removed from the end")
	if out, err := run(t, "verify", "--data-dir", data); err == nil || !strings.Contains(out, "--all") {
		t.Errorf("verify without IDs or --all: %v\n%s", err, out)
	}
}
