package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store/expire"
)

// The automatic PCI pause needs the CTI side: configured without a CTI
// link it would silently pause nothing, so startup says so.
func TestPCIPauseWithoutCTIIsWarned(t *testing.T) {
	for _, tc := range []struct {
		dns, key string
		warn     bool
	}{{"7900-7999", "", true}, {"", "PCI", true}, {"", "", false}} {
		var buf bytes.Buffer
		cfg := config.Defaults()
		cfg.PCIPauseDNs, cfg.PCIPauseKey = tc.dns, tc.key
		side, cor, err := startCTI(context.Background(), cfg, nil, expire.Media{DataDir: t.TempDir()}, nil, slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil || side != nil || cor != nil {
			t.Fatalf("startCTI without servers: %v %v %v", side, cor, err)
		}
		if got := strings.Contains(buf.String(), "need a CTI link"); got != tc.warn {
			t.Errorf("pci_pause_dns %q pci_pause_key %q: warned %v, want %v (log %q)", tc.dns, tc.key, got, tc.warn, buf.String())
		}
	}
}
