package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
)

var capT0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

const (
	toneCaller = 1000.0
	toneCallee = 1600.0
	toneMoved  = 700.0
)

var capTones = []float64{toneCaller, toneCallee, toneMoved, 440}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// capCall is a call between 10.0.0.1 (caller, DN 5001) and 10.0.0.2 (callee,
// DN 7001) with media ports offset by n (two calls between the same hosts).
func capCall(id string, n int, talk time.Duration) capturetest.Call {
	return capturetest.Call{
		ID:     id,
		Caller: capturetest.Party{DN: fmt.Sprint(5001 + n), SIP: ap("10.0.0.1:5060"), RTP: ap(fmt.Sprintf("10.0.0.1:%d", 20000+2*n)), Tone: toneCaller},
		Callee: capturetest.Party{DN: fmt.Sprint(7001 + n), SIP: ap("10.0.0.2:5060"), RTP: ap(fmt.Sprintf("10.0.0.2:%d", 30000+2*n)), Tone: toneCallee},
		Start:  capT0,
		Talk:   talk,
	}
}

func writePcap(t *testing.T, opt capturetest.Options, calls ...capturetest.Call) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "calls.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := capturetest.NewWriter(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(calls...); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// captureFile runs openrec capture --pcap and returns the recordings,
// sorted by recorded (caller) DN.
func captureFile(t *testing.T, pcap string, extra ...string) (string, []listed) {
	t.Helper()
	dir := t.TempDir()
	out, err := run(t, append([]string{"capture", "--pcap", pcap, "--data-dir", dir}, extra...)...)
	if err != nil {
		t.Fatalf("capture: %v\n%s", err, out)
	}
	recs := listJSON(t, dir)
	sort.Slice(recs, func(i, j int) bool { return recs[i].RecordedDN < recs[j].RecordedDN })
	return out, recs
}

// checkTones checks a finished passive recording: two channels, the
// caller's tone on channel 0 and the callee's on 1 (each only there), and
// the duration.
func checkTones(t *testing.T, r listed, want [2]float64, talk time.Duration) {
	t.Helper()
	checkTonesIn(t, r, want, talk, talk-100*time.Millisecond, talk+300*time.Millisecond)
}

// checkTonesIn is checkTones for a call lasting between lo and hi.
func checkTonesIn(t *testing.T, r listed, want [2]float64, talk, lo, hi time.Duration) {
	t.Helper()
	if r.Status != "completed" || r.Mode != "passive" || r.Channels != 2 {
		t.Fatalf("recording %s: status %s (%s) mode %s channels %d", r.ID, r.Status, r.StatusReason, r.Mode, r.Channels)
	}
	if d := time.Duration(r.DurationMS) * time.Millisecond; d < lo || d > hi {
		t.Errorf("recording %s: duration %v, want %v..%v", r.ID, d, lo, hi)
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	for ch := 0; ch < 2; ch++ {
		s := f.Channel(ch)
		if !audiotest.HasTone(s, 8000, want[ch], capTones) {
			t.Errorf("recording %s channel %d: tone %v missing", r.ID, ch, want[ch])
		}
		start, end := audiotest.ToneSpan(s, 8000, want[ch], 0)
		if got := time.Duration(end-start) * time.Second / 8000; got < talk-100*time.Millisecond {
			t.Errorf("recording %s channel %d: tone lasts %v, want about %v", r.ID, ch, got, talk)
		}
		if other := want[1-ch]; audiotest.HasTone(s, 8000, other, capTones) {
			t.Errorf("recording %s channel %d: the other party's tone %v leaks in", r.ID, ch, other)
		}
	}
}

func TestCaptureUDPCall(t *testing.T) {
	t.Parallel()
	talk := 2 * time.Second
	pcap := writePcap(t, capturetest.Options{}, capCall("udp-1@10.0.0.1", 0, talk))
	_, recs := captureFile(t, pcap)
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1: %+v", len(recs), recs)
	}
	r := recs[0]
	checkTones(t, r, [2]float64{toneCaller, toneCallee}, talk)
	if r.RecordedDN != "5001" || len(r.SIPCallIDs) != 1 || r.SIPCallIDs[0] != "udp-1@10.0.0.1" {
		t.Errorf("recording: dn %q call-ids %v", r.RecordedDN, r.SIPCallIDs)
	}
}

// TestCaptureScenarios replays generated pcaps of the situations a SPAN
// port shows and checks each recording's tones per channel and duration.
func TestCaptureScenarios(t *testing.T) {
	t.Parallel()
	talk := 1500 * time.Millisecond
	tcp := capCall("tcp-1@10.0.0.1", 0, talk)
	tcp.TCP = true
	big := capCall("frag-1@10.0.0.1", 0, talk)
	big.BigInvite = true
	nat := capCall("nat-1@10.0.0.1", 0, talk)
	nat.CalleeRTPFrom = ap("192.0.2.9:41000") // the callee's SDP says 10.0.0.2:30000
	// the callee answers to the caller's SDP; RTP to the NAT source must be latched:
	srtpCall := capCall("srtp-1@10.0.0.1", 0, talk)
	srtpCall.SRTP = true
	srtpCall.Moves = []capturetest.Move{{At: 700 * time.Millisecond, RTP: ap("10.0.0.1:24000")}} // a re-INVITE with the same keys
	v6 := capCall("v6-1@2001:db8::1", 0, talk)
	v6.Caller.SIP, v6.Caller.RTP = ap("[2001:db8::1]:5060"), ap("[2001:db8::1]:20000")
	v6.Callee.SIP, v6.Callee.RTP = ap("[2001:db8::2]:5060"), ap("[2001:db8::2]:30000")
	cases := []struct {
		name  string
		opt   capturetest.Options
		calls []capturetest.Call
	}{
		{"ipv6", capturetest.Options{}, []capturetest.Call{v6}},
		{"pcapng", capturetest.Options{PcapNG: true}, []capturetest.Call{capCall("ng-1@10.0.0.1", 0, talk)}},
		{"srtp with sdes keys", capturetest.Options{}, []capturetest.Call{srtpCall}},
		{"vxlan mirror", capturetest.Options{Encap: "vxlan", VLANs: []uint16{42}}, []capturetest.Call{capCall("vx-1@10.0.0.1", 0, talk)}},
		{"erspan mirror, duplicated", capturetest.Options{Encap: "erspan", Duplicate: true}, []capturetest.Call{capCall("er-1@10.0.0.1", 0, talk)}},
		{"sip over tcp, several messages per segment, a message split over segments", capturetest.Options{}, []capturetest.Call{tcp}},
		{"vlan tagged", capturetest.Options{VLANs: []uint16{42}}, []capturetest.Call{capCall("vlan-1@10.0.0.1", 0, talk)}},
		{"qinq", capturetest.Options{VLANs: []uint16{100, 42}}, []capturetest.Call{capCall("qinq-1@10.0.0.1", 0, talk)}},
		{"fragmented invite", capturetest.Options{FragmentMTU: 576}, []capturetest.Call{big}},
		{"fragmented invite, last fragment first", capturetest.Options{FragmentMTU: 576, Reverse: true}, []capturetest.Call{big}},
		{"duplicated packets (two span copies)", capturetest.Options{Duplicate: true}, []capturetest.Call{capCall("dup-1@10.0.0.1", 0, talk)}},
		{"callee behind nat: latched source", capturetest.Options{}, []capturetest.Call{nat}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pcap := writePcap(t, tc.opt, tc.calls...)
			out, recs := captureFile(t, pcap)
			if len(recs) != 1 {
				t.Fatalf("%d recordings, want 1\n%s", len(recs), out)
			}
			checkTones(t, recs[0], [2]float64{toneCaller, toneCallee}, talk)
			if tc.opt.Duplicate && !strings.Contains(out, " duplicates dropped") {
				t.Errorf("no duplicate count in\n%s", out)
			}
		})
	}
}

// TestCaptureTwoCallsSameHosts: two overlapping calls between the same two
// hosts (same signalling addresses, different media ports) make two
// recordings, each with its own tones.
func TestCaptureTwoCallsSameHosts(t *testing.T) {
	t.Parallel()
	a := capCall("two-a@10.0.0.1", 0, 2*time.Second)
	b := capCall("two-b@10.0.0.1", 1, time.Second)
	b.Start = capT0.Add(500 * time.Millisecond)
	b.Caller.Tone, b.Callee.Tone = 440, toneMoved
	_, recs := captureFile(t, writePcap(t, capturetest.Options{}, a, b))
	if len(recs) != 2 {
		t.Fatalf("%d recordings, want 2", len(recs))
	}
	checkTones(t, recs[0], [2]float64{toneCaller, toneCallee}, 2*time.Second)
	checkTones(t, recs[1], [2]float64{440, toneMoved}, time.Second)
}

// TestCaptureReinviteMovesMedia: the caller moves its media to another port
// mid-call (re-INVITE); the recording keeps both channels to the end.
func TestCaptureReinviteMovesMedia(t *testing.T) {
	t.Parallel()
	talk := 3 * time.Second
	c := capCall("move-1@10.0.0.1", 0, talk)
	c.Moves = []capturetest.Move{{At: 1500 * time.Millisecond, RTP: ap("10.0.0.1:24000")}}
	_, recs := captureFile(t, writePcap(t, capturetest.Options{}, c))
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1", len(recs))
	}
	checkTones(t, recs[0], [2]float64{toneCaller, toneCallee}, talk)
	f, err := wav.ReadFile(recs[0].MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	// after the move, both tones are still there (last half second)
	for ch, tone := range []float64{toneCaller, toneCallee} {
		s := f.Channel(ch)
		tail := s[len(s)-4000:]
		if !audiotest.HasTone(tail, 8000, tone, capTones) {
			t.Errorf("channel %d: tone %v missing after the re-INVITE", ch, tone)
		}
	}
}

// TestCaptureBadInput: a clear error and a non-zero exit, never a crash.
func TestCaptureBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pcap")
	if err := os.WriteFile(junk, []byte("this is not a capture file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := writePcap(t, capturetest.Options{}, capCall("cut@10.0.0.1", 0, time.Second))
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, full[:len(full)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	// a pcap of a link type nothing can decode (USER0): unusable, not
	// "0 calls" and exit 0
	user0 := filepath.Join(dir, "user0.pcap")
	bad := append([]byte(nil), full...)
	binary.LittleEndian.PutUint32(bad[20:24], 147)
	if err := os.WriteFile(user0, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capture", "--pcap", filepath.Join(dir, "missing.pcap")}, "no such file"},
		{[]string{"capture", "--pcap", junk}, "not a pcap or pcapng file"},
		{[]string{"capture", "--pcap", user0}, "link type not supported: 147"},
		{[]string{"capture"}, "exactly one of --pcap FILE or --interface IF"},
		{[]string{"capture", "--pcap", good, "--interface", "lo"}, "exactly one of"},
		{[]string{"capture", "--pcap", good, "--bpf", "udp and ("}, "--bpf"},
		{[]string{"capture", "--pcap", good, "--bpf", "port 99999"}, "port numbers"},
		{[]string{"capture", "--interface", "no-such-if0"}, "--interface"},
	} {
		out, err := run(t, append(tc.args, "--data-dir", filepath.Join(dir, "data"))...)
		if err == nil || !strings.Contains(out, tc.want) || strings.Contains(out, "panic") {
			t.Errorf("%v: err %v, want %q in\n%s", tc.args, err, tc.want, out)
		}
	}
	// A file cut mid-record is used up to the cut: the call is recorded
	// (cut short), exit 0.
	out, err := run(t, "capture", "--pcap", cut, "--data-dir", filepath.Join(dir, "cutdata"))
	if err != nil {
		t.Fatalf("truncated file: %v\n%s", err, out)
	}
	if recs := listJSON(t, filepath.Join(dir, "cutdata")); len(recs) != 1 || recs[0].DurationMS == 0 {
		t.Errorf("truncated file: recordings %+v", recs)
	}
}

// TestCaptureBPF: a filter keeps one of two calls (by media and SIP port
// ranges of the first).
func TestCaptureBPF(t *testing.T) {
	t.Parallel()
	a := capCall("bpf-a@10.0.0.1", 0, time.Second)
	b := capCall("bpf-b@10.0.0.1", 5, time.Second)
	b.Caller.SIP, b.Callee.SIP = ap("10.0.0.1:5080"), ap("10.0.0.2:5080")
	_, recs := captureFile(t, writePcap(t, capturetest.Options{}, a, b), "--bpf", "udp and (port 5060 or portrange 20000-20001 or dst port 30000)")
	if len(recs) != 1 || recs[0].SIPCallIDs[0] != "bpf-a@10.0.0.1" {
		t.Fatalf("recordings %+v, want only bpf-a", recs)
	}
	checkTones(t, recs[0], [2]float64{toneCaller, toneCallee}, time.Second)
}

// TestCaptureMixedLinkTypes: a pcapng whose interfaces have different
// link types (dumpcap -i eth0 -i any) is read with the first interface's;
// the packets of the others are skipped, and the command says so instead
// of leaving their calls out silently.
func TestCaptureMixedLinkTypes(t *testing.T) {
	t.Parallel()
	plain := writePcap(t, capturetest.Options{}, capCall("mixed@10.0.0.1", 0, time.Second))
	in, err := os.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	rd, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mixed.pcapng")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapgo.NewNgWriterInterface(out, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	anyIf, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := rd.ReadPacketData()
		if err != nil {
			break
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		ci.InterfaceIndex = anyIf
		ci.CaptureLength, ci.Length = 16+len(data), 16+len(data)
		if err := w.WritePacket(ci, make([]byte, 16+len(data))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	data := filepath.Join(t.TempDir(), "data")
	o, err := run(t, "capture", "--pcap", path, "--data-dir", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	if !strings.Contains(o, "were skipped: any (Linux SLL)") {
		t.Errorf("no word of the skipped interface:\n%s", o)
	}
	if recs := listJSON(t, data); len(recs) != 1 {
		t.Errorf("%d recordings", len(recs))
	}
}

// TestCaptureEncrypted: with encryption on, passively captured calls are
// encrypted at rest like any other (they were written as plaintext WAV:
// capture ignored --encrypt-to, and the recorder's passive path created a
// plain WAV even in serve), and export with the identity gives the audio.
func TestCaptureEncrypted(t *testing.T) {
	t.Parallel()
	keys := t.TempDir()
	rcp, ids := keyPair(t, keys, "cap")
	pcap := writePcap(t, capturetest.Options{}, capCall("enc@10.0.0.1", 0, 2*time.Second))
	data := filepath.Join(t.TempDir(), "data")
	if out, err := run(t, "capture", "--pcap", pcap, "--data-dir", data, "--encrypt-to", rcp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := scanPlaintext(t, data, []float64{toneCaller, toneCallee}); n == 0 {
		t.Fatal("no media file")
	}
	recs := listJSON(t, data)
	if len(recs) != 1 {
		t.Fatalf("%d recordings", len(recs))
	}
	wavOut := filepath.Join(t.TempDir(), "call.wav")
	if out, err := run(t, "recordings", "export", recs[0].ID, "--data-dir", data, "--out", wavOut, "--decrypt-keys", ids); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	f, err := wav.ReadFile(wavOut)
	if err != nil {
		t.Fatal(err)
	}
	if f.Channels != 2 || f.Frames < 8000 {
		t.Errorf("exported %d channels, %d frames", f.Channels, f.Frames)
	}
}
