package audiotest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// FFmpegRTP has ffmpeg (a reference encoder that is not openrec's) encode
// a sine of freq Hz for dur (freq2 > 0: a second sine on the right channel)
// with codecArgs and send it as RTP to a loopback socket; it returns the
// RTP packets received, whole (header included), in sequence order.
// ffmpeg is the binary's path (testtool.Find).
func FFmpegRTP(tb testing.TB, ffmpeg string, freq, freq2 float64, dur time.Duration, codecArgs ...string) [][]byte {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(4 << 20) // ffmpeg sends as fast as it encodes
	sine := func(f float64) string {
		return fmt.Sprintf("sine=frequency=%g:duration=%g:sample_rate=48000", f, dur.Seconds())
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", sine(freq)}
	if freq2 > 0 {
		args = append(args, "-f", "lavfi", "-i", sine(freq2), "-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo")
	}
	args = append(args, codecArgs...)
	args = append(args, "-f", "rtp", fmt.Sprintf("rtp://127.0.0.1:%d", conn.LocalAddr().(*net.UDPAddr).Port))
	var pkts [][]byte
	var wg sync.WaitGroup
	wg.Add(1)
	// The reader waits as long as ffmpeg runs (its start can take more
	// than a second on a loaded machine: an idle timeout here once ended
	// the read before the first packet); once ffmpeg has exited, the read
	// deadline below ends it after the datagrams still queued.
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 {
				pkts = append(pkts, slices.Clone(buf[:n]))
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	wg.Wait()
	if err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", codecArgs, err, out)
	}
	seq := func(p []byte) uint16 { return uint16(p[2])<<8 | uint16(p[3]) }
	sort.SliceStable(pkts, func(i, j int) bool { return int16(seq(pkts[i])-seq(pkts[j])) < 0 })
	if len(pkts) < int(dur/(40*time.Millisecond)) {
		tb.Fatalf("only %d RTP packets from ffmpeg", len(pkts))
	}
	return pkts
}
