package siprec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The vendor samples under testdata/vendors are copies of the project's
// shared fixtures, kept in the repository with their licence so that a
// plain clone tests them (golden_test.go). This test checks the copy is
// whole: the licence and its note are beside the files, and every sample
// is golden-tested. Where the shared folder is present
// (OPENREC_TEST_SHARED, as in the project's workspace) every shared sample
// must also be here, byte for byte, so one added there is not forgotten.
func TestVendorFixturesAreComplete(t *testing.T) {
	dir := filepath.Join("testdata", "vendors")
	lic, err := os.ReadFile(filepath.Join(dir, "LICENSE"))
	if err != nil || !strings.Contains(string(lic), "MIT License") {
		t.Errorf("testdata/vendors/LICENSE must stay beside the samples (MIT, Dave Horton): %v", err)
	}
	if note, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || !strings.Contains(string(note), "LICENSE") {
		t.Errorf("testdata/vendors/README.md must say where the samples come from and under which licence: %v", err)
	}
	tested := map[string]bool{}
	for _, c := range vendorCases {
		tested[c.file] = true
	}
	local, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(local) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	for _, p := range local {
		if !tested[filepath.Base(p)] {
			t.Errorf("%s is not in vendorCases (golden_test.go): every sample must be tested", filepath.Base(p))
		}
	}

	shared := os.Getenv("OPENREC_TEST_SHARED")
	if shared == "" {
		t.Log("not compared with the shared fixtures: OPENREC_TEST_SHARED is not set (a clone has none; the copies above are what the tests use)")
		return
	}
	sdir := filepath.Join(shared, "fixtures", "siprec-vendors")
	entries, err := os.ReadDir(sdir)
	if err != nil {
		t.Fatalf("OPENREC_TEST_SHARED=%s: %v", shared, err)
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".txt" {
			continue
		}
		want, err := os.ReadFile(filepath.Join(sdir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Errorf("%s: shared fixture not copied into testdata/vendors: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: copy differs from the shared fixture", e.Name())
		}
	}
}
