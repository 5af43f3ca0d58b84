package app_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/testtool"
)

// Shared media ports (the default): a datagram no leg expects, sent to the
// first shared port (the start of rtp_ports), is counted in /metrics.
func TestSharedMediaPortsUnmatchedCounted(t *testing.T) {
	var low int
	a := startApp(t, func(c *config.Serve) {
		if c.MediaPorts != config.MediaPortsShared {
			t.Fatalf("media_ports default %q, want shared", c.MediaPorts)
		}
		lo, _, err := c.PortRange()
		if err != nil {
			t.Fatal(err)
		}
		low = lo + lo%2
	})
	if v := metricValue(t, a, "openrec_rtp_shared_unmatched_total"); v != 0 {
		t.Fatalf("unmatched at start = %v", v)
	}
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", low))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rtp := make([]byte, 12+160)
	rtp[0] = 0x80
	if _, err := conn.Write(rtp); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 5*time.Second, func() bool { return metricValue(t, a, "openrec_rtp_shared_unmatched_total") == 1 },
		"openrec_rtp_shared_unmatched_total never counted the stray datagram")
	if v := metricValue(t, a, "openrec_rtp_shared_stale_total"); v != 0 {
		t.Errorf("stale = %v", v)
	}
}
