package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

// Issue 17: G.722 is decoded while recording (not stored raw with
// needs_transcode), alone and beside a G.711 leg in one call, over real
// sockets through MSR and SIPREC; each channel holds its tone for the
// whole call, aligned with the other.
func TestG722CallsAreDecodedLive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		codecs []string
	}{
		{"MSR, G.722 and G.711 legs", dial.ModeMSR, []string{"G722", "PCMU"}},
		{"SIPREC, both G.722", dial.ModeSIPREC, []string{"G722", "G722"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startApp(t, nil)
			d := newDialer(t)
			if _, err := d.Call(context.Background(), dial.Spec{
				Target: a.SIPAddr().String(), Mode: tc.mode, DN: "5001", OtherDN: "+15550100",
				CallUUID: "00M2V3L4A58BV0LJ3C8G4A0AAA000722", Codecs: tc.codecs, Duration: 2 * time.Second,
				Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
			}); err != nil {
				t.Fatalf("call: %v", err)
			}
			recs := waitFinished(t, a, 1)
			r := recs[0]
			if r.Status != store.StatusCompleted || r.NeedsTranscode || !slices.Contains(r.Codecs, "G722") {
				t.Errorf("recording %s, needs transcode %v, codecs %v", r.Status, r.NeedsTranscode, r.Codecs)
			}
			checkTones(t, r.MediaPath, []float64{440, 1000}, 2*time.Second)
		})
	}
}
