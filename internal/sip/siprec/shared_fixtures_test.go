package siprec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The vendor samples under testdata/vendors are copies of the project's
// shared fixtures. When the shared folder is present (CI sets
// OPENREC_TEST_SHARED), every shared sample must be here, byte for byte,
// so a sample added there is golden-tested here too.
func TestVendorCopiesMatchSharedFixtures(t *testing.T) {
	shared := os.Getenv("OPENREC_TEST_SHARED")
	if shared == "" {
		t.Skip("set OPENREC_TEST_SHARED=/path/to/shared to compare with the shared SIPREC fixtures (.ci/run does)")
	}
	dir := filepath.Join(shared, "fixtures", "siprec-vendors")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".txt" {
			continue
		}
		want, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("testdata", "vendors", e.Name()))
		if err != nil {
			t.Errorf("%s: shared fixture not copied into testdata/vendors: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: copy differs from the shared fixture", e.Name())
		}
	}
}
