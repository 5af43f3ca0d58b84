package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkNotificationLatency measures Notification of Recording: from the
// first RTP packet of a call's recording to the RequestUpdateUserData that
// tells the contact center the call is recorded (target p99 ≤ 150 ms).
// Each op places 30 recorded calls through the simulator, 150 ms apart.
// Run: go test ./internal/app -run '^$' -bench NotificationLatency -benchtime 1x
func BenchmarkNotificationLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		env := startContactCenter(b)
		var sc strings.Builder
		sc.WriteString("name: latency\nsteps:\n")
		for k, dn := range []string{"5001", "5002", "5003"} {
			fmt.Fprintf(&sc, "  - {at: 0s, action: login, dn: %q, agent: %q}\n", dn, fmt.Sprint(1001+k))
		}
		at := 100 * time.Millisecond
		const calls = 30
		for c := 0; c < calls; c++ {
			dn := []string{"5001", "5002", "5003"}[c%3]
			if c >= 3 { // the agent's previous call ends first
				fmt.Fprintf(&sc, "  - {at: %s, action: release, call: c%d, dn: %q}\n", at, c-3, dn)
			}
			fmt.Fprintf(&sc, "  - {at: %s, action: inbound, call: c%d, ani: \"+1555000%04d\", rp: \"7000\", to: %q}\n", at, c, c, dn)
			fmt.Fprintf(&sc, "  - {at: %s, action: answer, call: c%d, dn: %q}\n", at+20*time.Millisecond, c, dn)
			at += 150 * time.Millisecond
		}
		for c := calls - 3; c < calls; c++ {
			fmt.Fprintf(&sc, "  - {at: %s, action: release, call: c%d, dn: %q}\n", at+time.Second, c, []string{"5001", "5002", "5003"}[c%3])
		}
		step(b, env.sim, sc.String())
		waitFinished(b, env.a, calls)
		st := env.a.CTIStats()
		if st.NotifySamples < calls*9/10 {
			b.Fatalf("%d notification samples for %d calls", st.NotifySamples, calls)
		}
		b.ReportMetric(float64(st.NotifyP50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(st.NotifyP99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(st.NotifySamples), "samples")
	}
}
