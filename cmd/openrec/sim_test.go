package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The sim file's speech switch and until_stopped traffic (the demo's
// contact center, available to `openrec sim` too), and the example file
// the README points at, load.
func TestSimFileSpeechAndUnboundedTraffic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.yaml")
	if err := os.WriteFile(path, []byte("switch: SIP_Switch\nspeech: true\ntraffic: {rate: 0.1, until_stopped: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := loadSimFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Speech || f.Traffic == nil || !f.Traffic.UntilStopped {
		t.Errorf("loaded %+v, want speech and until_stopped traffic", f)
	}
	if _, err := loadSimFile("../../examples/sim.yaml"); err != nil {
		t.Errorf("examples/sim.yaml: %v", err)
	}
}
