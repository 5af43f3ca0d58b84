package app_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// Issue 17: an Opus leg (encoded by ffmpeg/libopus, sent by SIPp) and a
// G.711 leg of one MSR call become one aligned stereo file, decoded while
// recording.
func TestSIPpOpusLegBesideG711(t *testing.T) {
	sipp := sippPath(t)
	a := startApp(t, nil)
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "opus.pcap"), filepath.Join(dir, "pcma.pcap")
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	opus := audiotest.FFmpegRTP(t, ff, 440, 0, 2*time.Second, "-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-payload_type", "111")
	writeRTPPCAP(t, pa, opus, 20*time.Millisecond)
	writeTonePCAP(t, pb, 1000, 2*time.Second, 0x2222)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	legs := []struct {
		dn, pcap, pt, rtpmap string
	}{{"5001", pa, "111", "opus/48000/2"}, {"+15550100", pb, "8", "PCMA/8000"}}
	ports := []int{sippMediaPort(t), sippMediaPort(t)}
	outs, errs := make([][]byte, 2), make([]error, 2)
	var wg sync.WaitGroup
	for i, leg := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runSIPp(ctx, t, sipp, a.SIPAddr().String(), "msr_leg_codec.xml", ports[i], map[string]string{
				"recid": "opus-1", "calluuid": "00SIPP0000000000000000000000011", "dn": leg.dn, "recorddn": "5001",
				"pcap": leg.pcap, "pt": leg.pt, "rtpmap": leg.rtpmap,
			})
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("sipp leg %d: %v\n%s", i, errs[i], lastLines(outs[i], 30))
		}
	}
	recs := waitFinished(t, a, 1)
	r := recs[0]
	if r.Status != store.StatusCompleted || r.NeedsTranscode || !slices.Contains(r.Codecs, "OPUS") {
		t.Errorf("recording %s, needs transcode %v, codecs %v", r.Status, r.NeedsTranscode, r.Codecs)
	}
	checkTones(t, r.MediaPath, []float64{440, 1000}, 2*time.Second)
}
