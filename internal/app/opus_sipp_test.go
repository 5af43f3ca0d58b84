package app_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// ffmpegOpusRTP has ffmpeg (libopus: a reference encoder, not ours) encode
// a tone as Opus RTP and returns the packets as sent, in order.
func ffmpegOpusRTP(t *testing.T, freq float64, dur time.Duration) [][]byte {
	t.Helper()
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(4 << 20)
	var pkts [][]byte
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			pkts = append(pkts, slices.Clone(buf[:n]))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("sine=frequency=%g:duration=%g:sample_rate=48000", freq, dur.Seconds()),
		"-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-payload_type", "111",
		"-f", "rtp", fmt.Sprintf("rtp://127.0.0.1:%d", conn.LocalAddr().(*net.UDPAddr).Port)).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	wg.Wait()
	if len(pkts) < int(dur/(25*time.Millisecond)) {
		t.Fatalf("%d packets from ffmpeg", len(pkts))
	}
	return pkts
}

// Issue 17: an Opus leg (encoded by ffmpeg/libopus, sent by SIPp) and a
// G.711 leg of one MSR call become one aligned stereo file, decoded while
// recording.
func TestSIPpOpusLegBesideG711(t *testing.T) {
	sipp := sippPath(t)
	a := startApp(t, nil)
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "opus.pcap"), filepath.Join(dir, "pcma.pcap")
	writeRTPPCAP(t, pa, ffmpegOpusRTP(t, 440, 2*time.Second), 20*time.Millisecond)
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
