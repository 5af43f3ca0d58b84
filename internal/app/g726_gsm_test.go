package app_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// codecLeg is one party's audio: RTP packets (whole, header included, one
// per 20 ms), the payload type and rtpmap that offer it, and the
// reference decoder's output of the same bitstream (nil for G.711).
type codecLeg struct {
	pt     int
	rtpmap string
	freq   float64
	pkts   [][]byte
	ref    []int16
	exact  bool // the stored audio must equal ref sample for sample
	stored string
}

const codecLegDur = 2 * time.Second

// ffmpegPCM has ffmpeg decode a raw bitstream (inArgs: its format) to 8 kHz
// mono PCM.
func ffmpegPCM(t *testing.T, ff string, data []byte, inArgs ...string) []int16 {
	t.Helper()
	in := filepath.Join(t.TempDir(), "ref.raw")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-hide_banner", "-loglevel", "error"}, inArgs...)
	out, err := exec.Command(ff, append(args, "-i", in, "-f", "s16le", "-ar", "8000", "-ac", "1", "-")...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", inArgs, err)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// g726Leg: ffmpeg encodes the tone as G.726 at 32 kbit/s in RFC 3551 bit
// order ("G726-32", encoder g726le) or AAL2 order ("AAL2-G726-32", g726)
// and sends it as RTP; ffmpeg's decoder gives the reference.
func g726Leg(t *testing.T, freq float64, aal2 bool) codecLeg {
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	enc, name := "g726le", "G726-32"
	if aal2 {
		enc, name = "g726", "AAL2-G726-32"
	}
	pkts := audiotest.FFmpegRTP(t, ff, freq, 0, codecLegDur, "-ar", "8000", "-ac", "1", "-c:a", enc, "-b:a", "32k",
		"-packetsize", "92", "-payload_type", "97")
	var stream []byte
	for _, p := range pkts {
		stream = append(stream, p[12:]...)
	}
	return codecLeg{pt: 97, rtpmap: name + "/8000", freq: freq, pkts: pkts, stored: strings.ToUpper(name),
		ref: ffmpegPCM(t, ff, stream, "-f", enc, "-code_size", "4", "-sample_rate", "8000")}
}

// gsmLeg: ffmpeg encodes the tone with libgsm (its RTP muxer does not
// carry GSM, so the frames are put in RTP here, static payload type 3);
// libgsm's decoder gives the reference, which the stored audio must equal.
func gsmLeg(t *testing.T, freq float64, ssrc uint32) codecLeg {
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("sine=frequency=%g:duration=%g:sample_rate=8000", freq, codecLegDur.Seconds()),
		"-c:a", "libgsm", "-f", "gsm", "-").Output()
	if err != nil || len(out) == 0 || len(out)%33 != 0 {
		t.Fatalf("ffmpeg libgsm: %d bytes, %v", len(out), err)
	}
	var pkts [][]byte
	for i := 0; i < len(out); i += 33 {
		pkts = append(pkts, rtpPacket(3, i/33, ssrc, out[i:i+33]))
	}
	return codecLeg{pt: 3, rtpmap: "GSM/8000", freq: freq, pkts: pkts, stored: "GSM", exact: true,
		ref: ffmpegPCM(t, ff, out, "-c:a", "libgsm", "-f", "gsm")}
}

// pcmaLeg is a G.711 A-law tone (amplitude 1/8, as ffmpeg's sine).
func pcmaLeg(freq float64, ssrc uint32) codecLeg {
	n := int(codecLegDur / (20 * time.Millisecond))
	tone := audiotest.Tone(freq, 0.125, 8000, n*160)
	var pkts [][]byte
	for i := range n {
		payload := make([]byte, 160)
		g711.EncodeALawTo(payload, tone[i*160:(i+1)*160])
		pkts = append(pkts, rtpPacket(8, i, ssrc, payload))
	}
	return codecLeg{pt: 8, rtpmap: "PCMA/8000", freq: freq, pkts: pkts, stored: "PCMA"}
}

func rtpPacket(pt, i int, ssrc uint32, payload []byte) []byte {
	p := make([]byte, 12, 12+len(payload))
	p[0], p[1] = 0x80, byte(pt)
	binary.BigEndian.PutUint16(p[2:], uint16(3000+i))
	binary.BigEndian.PutUint32(p[4:], uint32(90000+160*i))
	binary.BigEndian.PutUint32(p[8:], ssrc)
	return append(p, payload...)
}

// mline offers one leg from port.
func (l codecLeg) mline(port, label int) string {
	return fmt.Sprintf("m=audio %d RTP/AVP %d\r\na=rtpmap:%d %s\r\na=label:%d\r\na=sendonly\r\n", port, l.pt, l.pt, l.rtpmap, label)
}

const sdpHead = "v=0\r\no=SRC 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"

var mAudioRE = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// answerPorts are the recorder's RTP ports in an SDP answer, in m-line order.
func answerPorts(t *testing.T, resp string) []int {
	t.Helper()
	var ports []int
	for _, m := range mAudioRE.FindAllStringSubmatch(resp, -1) {
		var p int
		fmt.Sscan(m[1], &p)
		ports = append(ports, p)
	}
	return ports
}

// finalFor reads until callID's final response.
func (r *rawSIP) finalFor(t *testing.T, callID string) (int, string) {
	t.Helper()
	for {
		code, msg := r.final(t)
		if strings.Contains(msg, "Call-ID: "+callID+"\r\n") || strings.Contains(msg, "i: "+callID+"\r\n") {
			return code, msg
		}
	}
}

// session is one answered INVITE.
type session struct{ callID, tag string }

// inviteLegs sends one INVITE (SIPREC: every leg an m-line of one offer;
// MSR: one INVITE per leg) and returns the sessions and, per leg, where
// the recorder wants its RTP.
func inviteLegs(t *testing.T, a *app.App, sip *rawSIP, siprec bool, legs []codecLeg, socks []*net.UDPConn) ([]session, []netip.AddrPort) {
	t.Helper()
	port := func(i int) int { return socks[i].LocalAddr().(*net.UDPAddr).Port }
	var sessions []session
	var dsts []netip.AddrPort
	ask := func(callID, ruri, ct, extra, body string) {
		sip.send(t, sip.invite(callID, ruri, ct, extra, []byte(body)))
		code, resp := sip.finalFor(t, callID)
		if code != 200 {
			t.Fatalf("INVITE %s answered %d:\n%s", callID, code, resp)
		}
		tag := toTagRE.FindStringSubmatch(resp)[1]
		sip.send(t, sip.inDialog("ACK", callID, tag, 1))
		sessions = append(sessions, session{callID, tag})
		for _, p := range answerPorts(t, resp) {
			dsts = append(dsts, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p)))
		}
	}
	if siprec {
		sdp := sdpHead
		for i, l := range legs {
			sdp += l.mline(port(i), i+1)
		}
		body := "--b1\r\nContent-Type: application/sdp\r\n\r\n" + sdp +
			"--b1\r\nContent-Type: application/rs-metadata+xml\r\nContent-Disposition: recording-session\r\n\r\n" + codecMetadata + "\r\n--b1--\r\n"
		ask("codec-siprec", fmt.Sprintf("sip:srs@%s", a.SIPAddr()), "multipart/mixed;boundary=b1", "Require: siprec\r\n", body)
	} else {
		for i, l := range legs {
			dn := []string{"5001", "+15550100"}[i]
			callID := fmt.Sprintf("codec-msr-%d", i)
			ask(callID, fmt.Sprintf("sip:record=codec-1@%s;calluuid=00C0DEC0000000000000000000000726;dn=%s;recordDN=5001", a.SIPAddr(), dn),
				"application/sdp", "", sdpHead+l.mline(port(i), 1))
		}
	}
	if len(dsts) != len(legs) {
		t.Fatalf("%d m-lines answered for %d legs", len(dsts), len(legs))
	}
	return sessions, dsts
}

const codecMetadata = `<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <session session_id="Y29kZWMtc2Vzcw=="><sipSessionID>c0dec726;remote=c0dec711</sipSessionID></session>
  <participant participant_id="cGFydC1h"><nameID aor="sip:5001@pbx.example.org"/></participant>
  <participant participant_id="cGFydC1i"><nameID aor="sip:+15550100@carrier.example.org"/></participant>
  <stream stream_id="c3RyZWFtLTE=" session_id="Y29kZWMtc2Vzcw=="><label>1</label></stream>
  <stream stream_id="c3RyZWFtLTI=" session_id="Y29kZWMtc2Vzcw=="><label>2</label></stream>
  <participantsessionassoc participant_id="cGFydC1h" session_id="Y29kZWMtc2Vzcw=="/>
  <participantsessionassoc participant_id="cGFydC1i" session_id="Y29kZWMtc2Vzcw=="/>
  <participantstreamassoc participant_id="cGFydC1h"><send>c3RyZWFtLTE=</send><recv>c3RyZWFtLTI=</recv></participantstreamassoc>
  <participantstreamassoc participant_id="cGFydC1i"><send>c3RyZWFtLTI=</send><recv>c3RyZWFtLTE=</recv></participantstreamassoc>
</recording>`

// sendLockstep sends packet i of every leg at start + i·20 ms, each leg
// from its own socket: the legs start together, so the stored channels
// must too.
func sendLockstep(t *testing.T, legs []codecLeg, socks []*net.UDPConn, dsts []netip.AddrPort) {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		sent := false
		for j, l := range legs {
			if i < len(l.pkts) {
				sent = true
				if l.pkts[i] == nil {
					continue // lost on the way (a test's packet loss)
				}
				if _, err := socks[j].WriteToUDPAddrPort(l.pkts[i], dsts[j]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !sent {
			return
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 20 * time.Millisecond))) // models time: one RTP packet per 20 ms, paced like a phone
	}
}

// Issue 17: G.726 and GSM 06.10 legs, encoded by ffmpeg (libgsm for GSM),
// sent as RTP over real sockets through MSR (two INVITEs) and SIPREC (one
// INVITE, two m-lines), beside G.711 or each other, are decoded while
// recording: each channel of the one stored file has its tone at the
// reference decoder's level and length, the GSM channel equals libgsm's
// output sample for sample, and the channels start within 20 ms of each
// other.
func TestG726AndGSMCallsMatchTheReferenceDecode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		siprec bool
		legs   func(t *testing.T) []codecLeg
	}{
		{"MSR, G726-32 leg beside a PCMA leg", false, func(t *testing.T) []codecLeg {
			return []codecLeg{g726Leg(t, 1000, false), pcmaLeg(440, 0x711)}
		}},
		{"MSR, GSM leg beside a PCMA leg", false, func(t *testing.T) []codecLeg {
			return []codecLeg{gsmLeg(t, 1000, 0x610), pcmaLeg(440, 0x711)}
		}},
		{"SIPREC, GSM and AAL2-G726-32 streams", true, func(t *testing.T) []codecLeg {
			return []codecLeg{gsmLeg(t, 440, 0x610), g726Leg(t, 1000, true)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			legs := tc.legs(t)
			a := startApp(t, func(c *config.Serve) { c.StorageFormat = "pcm16" })
			sip := newRawSIP(t, a)
			socks := make([]*net.UDPConn, len(legs))
			for i := range socks {
				c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				socks[i] = c
			}
			sessions, dsts := inviteLegs(t, a, sip, tc.siprec, legs, socks)
			sendLockstep(t, legs, socks, dsts)
			for _, s := range sessions {
				sip.send(t, sip.inDialog("BYE", s.callID, s.tag, 2))
				if code, _ := sip.finalFor(t, s.callID); code != 200 {
					t.Errorf("BYE %s answered %d", s.callID, code)
				}
			}
			r := waitFinished(t, a, 1)[0]
			if r.Status != store.StatusCompleted || r.NeedsTranscode {
				t.Errorf("recording %s, needs transcode %v", r.Status, r.NeedsTranscode)
			}
			for _, l := range legs {
				if !slices.Contains(r.Codecs, l.stored) {
					t.Errorf("codecs %v, want %s among them", r.Codecs, l.stored)
				}
			}
			f := checkTones(t, r.MediaPath, []float64{legs[0].freq, legs[1].freq}, codecLegDur)
			checkAgainstReference(t, f, legs)
		})
	}
}

// checkAgainstReference compares each stored channel with its leg's
// reference decode (level ±1 dB, tone length ±20 ms, and for exact legs
// every sample) and the channels' tone onsets with each other (±20 ms).
func checkAgainstReference(t *testing.T, f *wav.File, legs []codecLeg) {
	t.Helper()
	const win = 80 // 10 ms
	var starts []int
	for ch, l := range legs {
		got := f.Channel(ch)
		s, e := audiotest.ToneSpan(got, f.SampleRate, l.freq, win)
		if s < 0 {
			t.Fatalf("channel %d: no %g Hz", ch, l.freq)
		}
		starts = append(starts, s)
		if l.ref == nil {
			continue
		}
		rs, re := audiotest.ToneSpan(l.ref, 8000, l.freq, win)
		if d := (e - s) - (re - rs); d < -160 || d > 160 {
			t.Errorf("channel %d: tone of %d samples, reference %d", ch, e-s, re-rs)
		}
		lvl := 20 * math.Log10(audiotest.RMS(got[s+800:e-800])/audiotest.RMS(l.ref[rs+800:re-800]))
		t.Logf("channel %d (%s): level %+.2f dB from the reference decode, tone %d samples (reference %d)", ch, l.stored, lvl, e-s, re-rs)
		if math.Abs(lvl) > 1 {
			t.Errorf("channel %d: level %+.2f dB from the reference decode", ch, lvl)
		}
		if l.exact {
			// The reference's samples must appear, in order, near where
			// the tone starts (ToneSpan's 10 ms windows blur the offset).
			best, bestOff := -1, 0
			for off := max(0, s-rs-2*win); off <= s-rs+2*win && off+len(l.ref) <= len(got); off++ {
				same := 0
				for i, v := range l.ref {
					if got[off+i] == v {
						same++
					}
				}
				if same > best {
					best, bestOff = same, off
				}
			}
			if best != len(l.ref) {
				t.Errorf("channel %d: at best %d of %d samples equal the reference decode (offset %d)", ch, best, len(l.ref), bestOff)
			}
		}
	}
	d := time.Duration(starts[0]-starts[1]) * time.Second / time.Duration(f.SampleRate)
	t.Logf("channels start %v apart", d)
	if d < -20*time.Millisecond || d > 20*time.Millisecond {
		t.Errorf("channels start %v apart, want aligned ±20 ms", d)
	}
}
