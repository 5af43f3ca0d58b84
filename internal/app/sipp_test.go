package app_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/store"

	"github.com/openrec/openrec/internal/testtool"
)

// sippPath finds SIPp (Debian package sip-tester): OPENREC_TEST_SIPP, else
// PATH; under CI=true a missing SIPp fails the test.
func sippPath(t *testing.T) string {
	t.Helper()
	return testtool.Find(t, "OPENREC_TEST_SIPP", "sipp")
}

// nextSIPpPort is where sippMediaPort looks next: below both the
// recorder's RTP range (20000-39999) and the kernel's ephemeral ports
// (32768-60999), so no socket of this process, the recorder or the kernel
// takes it between the probe and SIPp's bind.
var nextSIPpPort atomic.Int32

func init() { nextSIPpPort.Store(10000) }

// sippMediaPort returns an even port P with P..P+3 free on 127.0.0.1 for
// SIPp's -mp (it binds the audio socket at P and the video one at P+2;
// SIPp exits 254, "fatal error binding a socket", when one is taken: a fixed
// port in the ephemeral range was, once in a CI run).
func sippMediaPort(t *testing.T) int {
	t.Helper()
	for range 2000 {
		p := int(nextSIPpPort.Add(4)) - 4
		if p > 19996 {
			nextSIPpPort.CompareAndSwap(int32(p+4), 10000)
			continue
		}
		free := true
		var held []net.PacketConn
		for off := 0; off < 4 && free; off++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p+off))
			if err != nil {
				free = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if free {
			return p
		}
	}
	t.Fatal("no free media port pair for SIPp in 10000-19999")
	return 0
}

// writeTonePCAP writes a pcap of 20 ms PCMA RTP packets carrying a tone,
// the form SIPp's play_pcap_audio replays.
func writeTonePCAP(t *testing.T, path string, freq float64, dur time.Duration, ssrc uint32) {
	t.Helper()
	n := int(dur / (20 * time.Millisecond))
	tone := audiotest.Tone(freq, 0.3, 8000, n*160)
	pkts := make([][]byte, n)
	for i := range pkts {
		rtp := make([]byte, 12+160)
		rtp[0] = 0x80
		rtp[1] = 8
		binary.BigEndian.PutUint16(rtp[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(rtp[4:], uint32(5000+i*160))
		binary.BigEndian.PutUint32(rtp[8:], ssrc)
		g711.EncodeALawTo(rtp[12:], tone[i*160:(i+1)*160])
		pkts[i] = rtp
	}
	writeRTPPCAP(t, path, pkts, 20*time.Millisecond)
}

// writeRTPPCAP writes RTP packets (whole, header included) as a pcap of
// UDP datagrams one interval apart, for SIPp's play_pcap_audio.
func writeRTPPCAP(t *testing.T, path string, pkts [][]byte, interval time.Duration) {
	t.Helper()
	var buf bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	buf.Write(hdr)
	for i, rtp := range pkts {
		udp := make([]byte, 8, 8+len(rtp))
		binary.BigEndian.PutUint16(udp[0:], 40000)
		binary.BigEndian.PutUint16(udp[2:], 40002)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(rtp)))
		udp = append(udp, rtp...)
		ip := make([]byte, 20, 20+len(udp))
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
		ip[8] = 64
		ip[9] = 17
		copy(ip[12:], []byte{127, 0, 0, 1})
		copy(ip[16:], []byte{127, 0, 0, 1})
		var sum uint32
		for k := 0; k < 20; k += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[k:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		ip = append(ip, udp...)
		frame := append(make([]byte, 12), 0x08, 0x00)
		frame = append(frame, ip...)
		rec := make([]byte, 16)
		ts := time.Duration(i) * interval
		le.PutUint32(rec[0:], uint32(ts/time.Second))
		le.PutUint32(rec[4:], uint32((ts%time.Second)/time.Microsecond))
		le.PutUint32(rec[8:], uint32(len(frame)))
		le.PutUint32(rec[12:], uint32(len(frame)))
		buf.Write(rec)
		buf.Write(frame)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runSIPp(ctx context.Context, t *testing.T, sipp string, target string, scenario string, mediaPort int, keys map[string]string) ([]byte, error) {
	errFile := filepath.Join(t.TempDir(), "err.log")
	args := []string{"-sf", filepath.Join("testdata", "sipp", scenario), "-m", "1", "-i", "127.0.0.1", "-p", "0",
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", errFile}
	for k, v := range keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, target)
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = "."
	return withSIPpErrors(cmd.CombinedOutput())(errFile)
}

// withSIPpErrors appends SIPp's error file (why it exited: a port it
// could not bind, an unexpected message) to its output when it failed.
func withSIPpErrors(out []byte, err error) func(string) ([]byte, error) {
	return func(errFile string) ([]byte, error) {
		if err != nil {
			if b, rerr := os.ReadFile(errFile); rerr == nil && len(b) > 0 {
				out = append(append(out, "\n--- sipp error file ---\n"...), b...)
			}
		}
		return out, err
	}
}

func TestSIPpMSRCallWithPcapAudio(t *testing.T) {
	sipp := sippPath(t)
	a := startApp(t, nil)
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	writeTonePCAP(t, pa, 440, 2*time.Second, 0x1111)
	writeTonePCAP(t, pb, 1000, 2*time.Second, 0x2222)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([][]byte, 2)
	ports := []int{sippMediaPort(t), sippMediaPort(t)}
	for i, leg := range []struct{ dn, pcap string }{{"5001", pa}, {"+15550100", pb}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runSIPp(ctx, t, sipp, a.SIPAddr().String(), "msr_leg.xml", ports[i], map[string]string{
				"recid": "sipp-1", "calluuid": "00SIPP0000000000000000000000001", "dn": leg.dn, "recorddn": "5001", "pcap": leg.pcap,
			})
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("sipp leg %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	recs := waitFinished(t, a, 1)
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want one for the two SIPp legs", len(recs))
	}
	r := recs[0]
	if r.Status != store.StatusCompleted || len(r.SIPCallIDs) != 2 || r.RecordID != "sipp-1" {
		t.Errorf("recording = %+v", r)
	}
	checkTones(t, r.MediaPath, []float64{440, 1000}, 2*time.Second)
}

func TestSIPpMalformedRequestsGet4xx(t *testing.T) {
	sipp := sippPath(t)
	a := startApp(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	for _, sc := range []string{"malformed.xml", "novideo.xml"} {
		out, err := runSIPp(ctx, t, sipp, a.SIPAddr().String(), sc, sippMediaPort(t), nil)
		if err != nil {
			t.Errorf("%s: sipp did not get the expected 4xx: %v\n%s", sc, err, lastLines(out, 30))
		}
	}
	if n := a.Recorder().Active(); n != 0 {
		t.Errorf("%d calls left active after refused INVITEs", n)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
