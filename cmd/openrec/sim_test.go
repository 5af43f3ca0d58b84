package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sim/rm"
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

// The Resource Manager's keys load, the flags override them, and bad
// values are refused before any socket opens.
func TestSimResourceManagerKeysAndFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.yaml")
	yml := `switch: SIP_Switch
recorders: [127.0.0.1:5060, {addr: 127.0.0.1:5062, capacity: 50}]
lb: least-used
recorder_capacity: 20
options_interval: 1s
options_timeout: 500ms
options_failures: 3
recorder_loss: restart
`
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := loadSimFile(path)
	if err != nil {
		t.Fatal(err)
	}
	addrs, c := f.resourceManager()
	if !slices.Equal(addrs, []string{"127.0.0.1:5060", "127.0.0.1:5062"}) || c.Policy != rm.LeastUsed || c.Capacity != 20 ||
		c.Capacities["127.0.0.1:5062"] != 50 || len(c.Capacities) != 1 || c.Interval != time.Second ||
		c.Timeout != 500*time.Millisecond || c.Failures != 3 || f.RecorderLoss != sim.RecorderLossRestart {
		t.Errorf("loaded %v %+v (%+v)", addrs, c, f)
	}

	cmd := newSimCmd()
	if err := cmd.ParseFlags([]string{"--recorders", "127.0.0.1:5062,127.0.0.1:5064", "--lb", "round-robin",
		"--recorder-capacity", "7", "--options-interval", "-1s", "--recorder-loss", "stop"}); err != nil {
		t.Fatal(err)
	}
	fl := simFlags{fs: cmd.Flags()}
	fl.recorders, _ = cmd.Flags().GetStringSlice("recorders")
	fl.lb, _ = cmd.Flags().GetString("lb")
	fl.capacity, _ = cmd.Flags().GetInt("recorder-capacity")
	fl.interval, _ = cmd.Flags().GetDuration("options-interval")
	fl.loss, _ = cmd.Flags().GetString("recorder-loss")
	fl.apply(f)
	addrs, c = f.resourceManager()
	if !slices.Equal(addrs, []string{"127.0.0.1:5062", "127.0.0.1:5064"}) || c.Policy != rm.RoundRobin || c.Capacity != 7 ||
		c.Capacities["127.0.0.1:5062"] != 50 || c.Interval != -time.Second || c.Failures != 3 || f.RecorderLoss != "stop" {
		t.Errorf("after flags %v %+v (%+v)", addrs, c, f)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"switch: S\nlb: random\n", "load balancing"},
		{"switch: S\nrecorder_capacity: -1\n", "capacity"},
		{"switch: S\nrecorder_loss: retry\n", "recorder_loss"},
		{"switch: S\nrecorders: [{capacity: 3}]\n", "needs addr"},
		{"switch: S\nrecorders: [{addr: a, capacty: 3}]\n", "capacty"},
	} {
		if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		// Bounded: a value let through would run the simulator until ctx ends.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := runSim(ctx, path, simFlags{})
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %s", tc.yaml, err, tc.want)
		}
	}
}
