package app_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/testtool"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		testtool.Missing(t, "no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// A start that fails late (its SIP address is taken) releases what the
// steps before it acquired — the store, the CTI side with its trace file,
// the recorder's ports — and a start on the same data dir then works.
func TestFailedStartReleasesEverything(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.DataDir = dir
	cfg.SIPListen = busy.LocalAddr().String()
	cfg.HTTPListen = ""
	cfg.RTPPorts = "36000-36999"
	cfg.MaxCalls = 10
	cfg.CTI = "127.0.0.1:1" // nothing listens: the link retries in the background
	cfg.CTITrace = filepath.Join(dir, "cti.trace")
	before := openFDs(t)
	if _, err := app.Start(context.Background(), cfg, testLogger(t)); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start on a taken SIP address: %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open files: %d before the failed start, %d after", before, after)
	}
	cfg.SIPListen = "127.0.0.1:0"
	a, err := app.Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("start after the failed one: %v", err)
	}
	a.Close()
}
