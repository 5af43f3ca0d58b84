package app_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Issue 17: SIPp replays a G.726-32 leg (encoded by ffmpeg) and a GSM leg
// (libgsm) from pcaps as the two legs of one MSR call; both are decoded
// while recording into one stereo file.
func TestSIPpG726AndGSMLegs(t *testing.T) {
	sipp := sippPath(t)
	a := startApp(t, nil)
	dir := t.TempDir()
	legs := []codecLeg{g726Leg(t, 1000, false), gsmLeg(t, 440, 0x610)}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ports := []int{sippMediaPort(t), sippMediaPort(t)}
	outs, errs := make([][]byte, 2), make([]error, 2)
	var wg sync.WaitGroup
	for i, l := range legs {
		pcap := filepath.Join(dir, l.stored+".pcap")
		writeRTPPCAP(t, pcap, l.pkts, 20*time.Millisecond)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runSIPp(ctx, t, sipp, a.SIPAddr().String(), "msr_leg_codec.xml", ports[i], map[string]string{
				"recid": "g726-1", "calluuid": "00SIPP0000000000000000000000726", "dn": []string{"5001", "+15550100"}[i], "recorddn": "5001",
				"pcap": pcap, "pt": strconv.Itoa(l.pt), "rtpmap": l.rtpmap,
			})
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("sipp leg %d: %v\n%s", i, errs[i], lastLines(outs[i], 30))
		}
	}
	r := waitFinished(t, a, 1)[0]
	if r.Status != store.StatusCompleted || r.NeedsTranscode || !slices.Contains(r.Codecs, "G726-32") || !slices.Contains(r.Codecs, "GSM") {
		t.Errorf("recording %s, needs transcode %v, codecs %v", r.Status, r.NeedsTranscode, r.Codecs)
	}
	checkTones(t, r.MediaPath, []float64{1000, 440}, codecLegDur)
}
