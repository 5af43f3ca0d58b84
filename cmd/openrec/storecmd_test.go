package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/storecopy"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/pgtest"
)

func runStoreCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "openrec", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newStoreCmd(), newRecordingsCmd(), newAdminCmd())
	root.SetArgs(args)
	root.SetIn(strings.NewReader(""))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// openrec store migrate copies a data directory's store into PostgreSQL;
// the CLI then reads the same recordings and users there with --store, and
// a second run copies nothing.
func TestStoreMigrateCLI(t *testing.T) {
	url := pgtest.NewDatabase(t)
	rec := completedRecording()
	dir := seedDataDir(t, rec, liveRecording(), failedRecording())
	if _, _, err := runStoreCLI(t, "admin", "create-user", "--data-dir", dir, "--name", "Sue", "--password", "s3cret-pass", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	from := "sqlite:" + filepath.Join(dir, dbFileName)
	out, errOut, err := runStoreCLI(t, "store", "migrate", "--from", from, "--to", url, "--batch", "1")
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "row counts match") || !strings.Contains(out, "recordings") {
		t.Errorf("report:\n%s", out)
	}
	if !strings.Contains(errOut, "store migrate: recordings") || !strings.Contains(errOut, "3 / 3 rows (100.0%)") {
		t.Errorf("progress on stderr:\n%s", errOut)
	}
	out, _, err = runStoreCLI(t, "store", "migrate", "--from", from, "--to", url, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"copied": 0`) || strings.Contains(out, `"copied": 1`) {
		t.Errorf("second run copied rows again:\n%s", out)
	}
	// Reading through the CLI: the same output from either store. (Show
	// appends a view to each store's audit log: from here on they differ,
	// as a further migrate would report.)
	for _, args := range [][]string{
		{"recordings", "list", "--json"},
		{"recordings", "show", rec.ID},
		{"admin", "list-users"},
	} {
		want, _, err := runStoreCLI(t, append(args, "--data-dir", dir)...)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := runStoreCLI(t, append(args, "--data-dir", dir, "--store", url)...)
		if err != nil {
			t.Fatalf("%v --store: %v", args, err)
		}
		if got != want || !strings.Contains(got, rec.ID) && args[0] == "recordings" {
			t.Errorf("%v from PostgreSQL:\n%s\nfrom SQLite:\n%s", args, got, want)
		}
	}
}

func TestStoreURLErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"store", "migrate", "--to", "postgres://h/db"}, "--from sqlite:PATH and --to postgres://... are required"},
		{[]string{"store", "migrate", "--from", "mysql://x", "--to", "postgres://h/db"}, "--from: store URL: want sqlite:PATH"},
		{[]string{"store", "migrate", "--from", "sqlite:x.db", "--to", "http://h/db"}, "--to: store URL: want sqlite:PATH"},
		{[]string{"store", "migrate", "--from", "sqlite:", "--to", "postgres://h/db"}, "has no path"},
		{[]string{"store", "migrate", "--from", "postgres://h/a", "--to", "postgres://h/b"}, "copies from sqlite:PATH to postgres://... only"},
		{[]string{"store", "migrate", "--from", "sqlite:x.db", "--to", "postgres://h/db", "--batch", "0"}, "--batch 0"},
		{[]string{"recordings", "list", "--data-dir", dir, "--store", "mysql://u:secret@h/x"}, `--store: store URL: want sqlite:PATH, postgres://... or postgresql://...: got "mysql://u:xxxxx@h/x"`},
		{[]string{"recordings", "list", "--data-dir", dir, "--store", "sqlite:" + filepath.Join(dir, "none.db")}, "(check --store)"},
		{[]string{"admin", "list-users", "--store", "redis://h"}, "--store: store URL"},
	} {
		_, stderr, err := runStoreCLI(t, tc.args...)
		if tc.args[1] == "list" && err == nil {
			// listing a missing SQLite store lists nothing and says why
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("%v: stderr %q, want %q", tc.args, stderr, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// openrec serve --store postgres://...: the metadata goes to PostgreSQL
// (no SQLite file appears in the data directory), the media to the data
// directory, and the CLI lists and exports with the same --store.
func TestServeOnPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	s := startServe(t, data, "35000-35099", "--store", url)
	if out, err := run(t, "dial", "--target", s.sipAddr, "--mode", "msr", "--duration", "1s", "--tones", "440,1000",
		"--dn", "5001", "--record-id", "pg-1"); err != nil {
		t.Fatalf("dial: %v\n%s", err, out)
	}
	var recs []listed
	testtool.Poll(t, 20*time.Second, func() (bool, string) {
		out, err := run(t, "recordings", "list", "--data-dir", data, "--store", url, "--json")
		if err != nil {
			return false, fmt.Sprintf("list: %v\n%s", err, out)
		}
		recs = nil
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			return false, out
		}
		return len(recs) == 1 && recs[0].Status == "completed", out
	}, "the call listed as completed from PostgreSQL")
	if recs[0].RecordID != "pg-1" {
		t.Errorf("recording %+v", recs[0])
	}
	if _, err := os.Stat(filepath.Join(data, dbFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("serve --store postgres://... left a SQLite file in the data directory: %v", err)
	}
	exported := filepath.Join(t.TempDir(), "call.wav")
	if out, err := run(t, "recordings", "export", recs[0].ID, "--data-dir", data, "--store", url, "--out", exported); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	s.stop(t, syscall.SIGTERM)
}

// kill -9 of `openrec store migrate` in the middle of the recordings: run
// again, it continues where the killed run stopped, and the CLI lists the
// same recordings from either store.
func TestStoreMigrateKilledResumes(t *testing.T) {
	url := pgtest.NewDatabase(t)
	recs := make([]*store.Recording, 1000)
	for i := range recs {
		r := completedRecording()
		r.ID = fmt.Sprintf("01KILL%06d", i)
		r.StartedAt = r.StartedAt.Add(time.Duration(i) * time.Second)
		recs[i] = r
	}
	dir := seedDataDir(t, recs...)
	from := "sqlite:" + filepath.Join(dir, dbFileName)

	cmd := exec.Command(binPath, "store", "migrate", "--from", from, "--to", url, "--batch", "2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "store migrate: recordings") {
				_ = cmd.Process.Kill() // SIGKILL at the first progress line of the recordings
				killed <- sc.Text()
				break
			}
		}
		for sc.Scan() { // drain
		}
		close(killed)
	}()
	line, ok := <-killed
	if !ok {
		t.Fatal("migrate showed no progress of the recordings")
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("migrate finished before the kill (%s)", line)
	}
	again := exec.Command(binPath, "store", "migrate", "--from", from, "--to", url, "--json")
	var progress bytes.Buffer
	again.Stderr = &progress
	out, err := again.Output()
	if err != nil {
		t.Fatalf("migrate after the kill: %v\n%s%s", err, out, progress.String())
	}
	if !strings.Contains(progress.String(), "store migrate: recordings") {
		t.Errorf("the resumed run copied no recordings (killed at %q):\n%s", line, progress.String())
	}
	var rep storecopy.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, tc := range rep.Tables {
		if tc.Table == "recordings" && (tc.Source != 1000 || tc.Target != 1000 || tc.Copied == 0 || tc.Copied == 1000) {
			t.Errorf("after the resume: %+v, want some of the 1000 copied by each run", tc)
		}
	}
	want, err := run(t, "recordings", "list", "--data-dir", dir, "--json", "--limit", "2000")
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, "recordings", "list", "--data-dir", dir, "--store", url, "--json", "--limit", "2000")
	if err != nil || got != want {
		t.Errorf("PostgreSQL lists other recordings than SQLite after kill and resume (%v)", err)
	}
}
