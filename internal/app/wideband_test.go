package app_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/resample"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// ffmpegPCM16k is ffmpegPCM at 16 kHz.
func ffmpegPCM16k(t *testing.T, ff string, data []byte, inArgs ...string) []int16 {
	t.Helper()
	in := filepath.Join(t.TempDir(), "ref.raw")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-hide_banner", "-loglevel", "error"}, inArgs...)
	out, err := exec.Command(ff, append(args, "-i", in, "-f", "s16le", "-ar", "16000", "-ac", "1", "-")...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", inArgs, err)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// g722Leg: ffmpeg encodes the tone as G.722 (16 kHz audio, RTP clock 8000,
// static payload type 9) in 20 ms packets; ffmpeg's decoder of the same
// bitstream at 16 kHz is the reference.
func g722Leg(t *testing.T, freq float64) codecLeg {
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	pkts := audiotest.FFmpegRTP(t, ff, freq, 0, codecLegDur, "-ar", "16000", "-ac", "1", "-c:a", "g722", "-packetsize", "172")
	var stream []byte
	for _, p := range pkts {
		stream = append(stream, p[12:]...)
	}
	return codecLeg{pt: 9, rtpmap: "G722/8000", freq: freq, pkts: pkts, stored: "G722",
		ref: ffmpegPCM16k(t, ff, stream, "-f", "g722")}
}

// opusLeg: ffmpeg/libopus encodes the tone (32 kbit/s, 20 ms); the
// reference is the source itself (ffmpeg's sine has amplitude 1/8).
func opusLeg(t *testing.T, freq float64) codecLeg {
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	pkts := audiotest.FFmpegRTP(t, ff, freq, 0, codecLegDur, "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-payload_type", "111")
	return codecLeg{pt: 111, rtpmap: "opus/48000/2", freq: freq, pkts: pkts, stored: "OPUS",
		ref: audiotest.Tone(freq, 0.125, 16000, int(codecLegDur/time.Second)*16000)}
}

// Issue 17, wideband storage: a call with a wideband leg (G.722 or Opus,
// encoded by ffmpeg, sent as RTP over real sockets through MSR and
// SIPREC) is stored as one 16 kHz PCM16 file: a 6 kHz tone, which 8 kHz
// cannot hold, is on its channel; a G.711 leg is upsampled beside it;
// every channel matches the reference level (±1 dB) and length (±100 ms)
// and the channels start within 20 ms of each other. The API replays the
// file (also by Range), draws its peaks and makes its MP3.
func TestWidebandCallsAreStoredAt16kHz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		siprec bool
		legs   func(t *testing.T) []codecLeg
	}{
		{"MSR, G.722 leg (6 kHz) beside a PCMA leg", false, func(t *testing.T) []codecLeg {
			return []codecLeg{g722Leg(t, 6000), pcmaLeg(440, 0x711)}
		}},
		{"SIPREC, Opus (6 kHz) and G.722 streams", true, func(t *testing.T) []codecLeg {
			return []codecLeg{opusLeg(t, 6000), g722Leg(t, 1000)}
		}},
		{"SIPREC, Opus (1 kHz) and PCMA streams", true, func(t *testing.T) []codecLeg {
			return []codecLeg{opusLeg(t, 1000), pcmaLeg(440, 0x711)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			legs := tc.legs(t)
			a := startApp(t, func(c *config.Serve) { c.StorageFormat = "ulaw" }) // narrowband calls would be µ-law
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
			if r.Status != store.StatusCompleted || r.NeedsTranscode || r.SampleRate != 16000 || r.Format != "pcm16" {
				t.Errorf("recording %s, needs transcode %v, %d Hz %s; want completed, 16000 Hz pcm16", r.Status, r.NeedsTranscode, r.SampleRate, r.Format)
			}
			f := checkTones(t, r.MediaPath, []float64{legs[0].freq, legs[1].freq}, codecLegDur)
			if f.SampleRate != 16000 || f.Format != wav.FormatPCM16 {
				t.Fatalf("file: %d Hz %v, want 16000 Hz PCM16", f.SampleRate, f.Format)
			}
			checkWideChannels(t, f, legs)
			checkWideAPI(t, a, r, legs)
		})
	}
}

// Issue 17's acceptance: an Opus call with in-band FEC on (libopus via
// ffmpeg, told to expect 5 % loss) loses every 20th packet on the way, as
// a network would; beside a PCMA leg it still makes one aligned 16 kHz
// file whose Opus channel keeps its tone at the reference level, playable
// through the API (WAV, Range, peaks, MP3). (DTX is a gap in the packet
// stream, which the mixer treats as loss; Debian 12's ffmpeg has no -dtx
// option to make one.)
func TestOpusCallWithFECAndLoss(t *testing.T) {
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	pkts := audiotest.FFmpegRTP(t, ff, 1000, 0, codecLegDur, "-ac", "1", "-c:a", "libopus", "-b:a", "24k",
		"-fec:a", "1", "-packet_loss", "5", "-payload_type", "111")
	lost := 0
	for i := 10; i < len(pkts); i += 20 {
		pkts[i] = nil
		lost++
	}
	opus := codecLeg{pt: 111, rtpmap: "opus/48000/2", freq: 1000, pkts: pkts, stored: "OPUS",
		ref: audiotest.Tone(1000, 0.125, 16000, int(codecLegDur/time.Second)*16000)}
	legs := []codecLeg{opus, pcmaLeg(440, 0x711)}
	a := startApp(t, nil)
	r := recordRaw(t, a, false, legs)
	if r.Status != store.StatusCompleted || r.NeedsTranscode || r.SampleRate != 16000 {
		t.Fatalf("recording %s %q, needs transcode %v, %d Hz", r.Status, r.StatusReason, r.NeedsTranscode, r.SampleRate)
	}
	t.Logf("%d of %d Opus packets lost on the way", lost, len(pkts))
	f := checkTones(t, r.MediaPath, []float64{1000, 440}, codecLegDur)
	checkWideChannels(t, f, legs)
	checkWideAPI(t, a, r, legs)
}

// checkWideChannels compares each channel of a 16 kHz file with its leg:
// level against the reference decode (G.711 legs: the tone's amplitude,
// 1/8), length, and onsets within 20 ms.
func checkWideChannels(t *testing.T, f *wav.File, legs []codecLeg) {
	t.Helper()
	const win = 160 // 10 ms
	var starts []int
	for ch, l := range legs {
		got := f.Channel(ch)
		s, e := audiotest.ToneSpan(got, 16000, l.freq, win)
		if s < 0 {
			t.Fatalf("channel %d: no %g Hz", ch, l.freq)
		}
		starts = append(starts, s)
		ref, refRate := l.ref, 16000
		if ref == nil { // G.711: the 8 kHz source tone
			ref, refRate = audiotest.Tone(l.freq, 0.125, 8000, int(codecLegDur/time.Second)*8000), 8000
		}
		rs, re := audiotest.ToneSpan(ref, refRate, l.freq, win*refRate/16000)
		gotDur := time.Duration(e-s) * time.Second / 16000
		refDur := time.Duration(re-rs) * time.Second / time.Duration(refRate)
		if d := gotDur - refDur; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("channel %d: tone lasts %v, reference %v", ch, gotDur, refDur)
		}
		lvl := 20 * math.Log10(audiotest.RMS(got[s+1600:e-1600])/audiotest.RMS(ref[rs+refRate/10:re-refRate/10]))
		t.Logf("channel %d (%s): %g Hz, level %+.2f dB from the reference, %v (reference %v)", ch, l.stored, l.freq, lvl, gotDur, refDur)
		if math.Abs(lvl) > 1 {
			t.Errorf("channel %d: level %+.2f dB from the reference", ch, lvl)
		}
		if l.freq > 4000 {
			// Not folded into the narrow band either.
			if p := audiotest.Goertzel(got[s+1600:e-1600], 16000, 8000-l.freq); p > audiotest.Goertzel(got[s+1600:e-1600], 16000, l.freq)/1000 {
				t.Errorf("channel %d: %g Hz shows at %g Hz", ch, l.freq, 8000-l.freq)
			}
		}
	}
	if d := starts[0] - starts[1]; d < -320 || d > 320 {
		t.Errorf("channels start %d samples (%v) apart, want within 20 ms", d, time.Duration(d)*time.Second/16000)
	}
}

// checkWideAPI: the replayed WAV is the 16 kHz file, a Range of it is
// served, the peaks cover the call, and the MP3 of the wideband channel
// at 32 kbit/s is a 16 kHz MP3 that keeps its tone (when lame is there:
// the server finds it on PATH the same way).
func checkWideAPI(t *testing.T, a *app.App, r store.Recording, legs []codecLeg) {
	t.Helper()
	addUser(t, a, "sup", "admin", "")
	c := signIn(t, a, "sup")
	code, body, _ := getMedia(t, c, r.ID, "")
	if code != 200 {
		t.Fatalf("replay: %d", code)
	}
	replayed := filepath.Join(t.TempDir(), "replay.wav")
	if err := os.WriteFile(replayed, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if f := checkTones(t, replayed, []float64{legs[0].freq, legs[1].freq}, codecLegDur); f.SampleRate != 16000 {
		t.Errorf("replayed WAV at %d Hz", f.SampleRate)
	}
	if code, part, _ := getMedia(t, c, r.ID, "bytes=1000-60999"); code != http.StatusPartialContent || !bytes.Equal(part, body[1000:61000]) {
		t.Errorf("Range: %d, %d bytes", code, len(part))
	}
	var pk struct {
		DurationMS int64       `json:"duration_ms"`
		Channels   [][]float32 `json:"channels"`
	}
	if code := c.call("GET", "/api/v1/recordings/"+r.ID+"/peaks?buckets=50", nil, &pk); code != 200 || len(pk.Channels) != 2 || pk.DurationMS < 1900 || pk.DurationMS > 2300 {
		t.Errorf("peaks: %d, %d channels, %d ms", code, len(pk.Channels), pk.DurationMS)
	}
	lame := testtool.Find(t, "OPENREC_TEST_LAME", "lame")
	req, _ := http.NewRequest("GET", c.base+"/api/v1/recordings/"+r.ID+"/media?format=mp3&channel=0&kbps=32", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mp3, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(mp3) < 1000 {
		t.Fatalf("mp3: %d, %d bytes", resp.StatusCode, len(mp3))
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.mp3"), filepath.Join(dir, "out.wav")
	os.WriteFile(in, mp3, 0o600)
	if b, err := exec.Command(lame, "--decode", "--silent", in, out).CombinedOutput(); err != nil {
		t.Fatalf("lame --decode: %v: %s", err, b)
	}
	f, err := wav.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pcm := f.Channel(0)
	if f.SampleRate != 16000 || !audiotest.HasTone(pcm[len(pcm)/4:len(pcm)/2], 16000, legs[0].freq, []float64{440, 2000}) {
		t.Errorf("MP3: %d Hz, no %g Hz tone", f.SampleRate, legs[0].freq)
	}
}

// Issue 17 with issue 21: in a wideband SIPREC call (a G.722 stream and a
// PCMU stream typing a card number in-band, key tones made by sox), the
// 16 kHz file and the live stream (8 kHz) hold no digit multimon-ng can
// read with dtmf: mask, and every digit with dtmf: keep — which shows the
// checks would catch them.
func TestWidebandDTMFMaskedInFileAndLive(t *testing.T) {
	const card = "4111111111111111"
	keysWAV := keyTonesWAV(t, card)
	for _, mode := range []string{"mask", "keep"} {
		t.Run(mode, func(t *testing.T) {
			a := startApp(t, func(c *config.Serve) { c.DTMF = mode })
			addUser(t, a, "sup", "admin", "")
			sup := signIn(t, a, "sup")
			src, err := dial.WAVFile(keysWAV)
			if err != nil {
				t.Fatal(err)
			}
			d := newDialer(t)
			callDone := make(chan error, 1)
			go func() {
				_, err := d.Call(context.Background(), dial.Spec{
					Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, DN: "5001", OtherDN: "+15550100",
					Codecs: []string{"G722", "PCMU"}, Duration: 8 * time.Second,
					Sources: []dial.Source{dial.Tone(1000, 0.3), src},
				})
				callDone <- err
			}()
			var recID string
			waitFor(t, 5*time.Second, "the call is being recorded", func() bool {
				recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 10})
				if err == nil && len(recs) == 1 && recs[0].Status == store.StatusRecording {
					recID = recs[0].ID
				}
				return recID != ""
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws://"+a.HTTPAddr()+"/api/v1/live/"+recID+"/listen?channel=1",
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + sup.token}}})
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			defer ws.CloseNow()
			var live []int16
			for {
				_, msg, err := ws.Read(ctx)
				if err != nil {
					break // the recording ended
				}
				for i := 1; i+1 < len(msg); i += 2 {
					live = append(live, int16(binary.LittleEndian.Uint16(msg[i:])))
				}
			}
			if err := <-callDone; err != nil {
				t.Fatalf("call: %v", err)
			}
			r := waitFinished(t, a, 1)[0]
			f, err := wav.ReadFile(r.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			if f.SampleRate != 16000 || r.SampleRate != 16000 {
				t.Fatalf("file at %d Hz (row %d), want a wideband recording", f.SampleRate, r.SampleRate)
			}
			// multimon-ng reads 8 kHz: the file's channel halved by the
			// same filter the recorder uses (the tones are far below 4 kHz).
			var h resample.Halver
			stored := h.Halve(f.Channel(1), nil)
			if len(live) < 6*8000 {
				t.Fatalf("live stream: %d samples, want the whole call (>= 6 s at 8 kHz)", len(live))
			}
			nFile, nLive := multimonCount(t, stored), multimonCount(t, live)
			t.Logf("dtmf: %s: multimon-ng reads %d digits in the 16 kHz file, %d in %.1f s of live audio", mode, nFile, nLive, float64(len(live))/8000)
			if mode == "mask" && (nFile != 0 || nLive != 0) {
				t.Errorf("dtmf: mask: %d digits readable in the file, %d live", nFile, nLive)
			}
			if mode == "keep" && (nFile < len(card) || nLive < len(card)) {
				t.Errorf("dtmf: keep: %d digits in the file, %d live, want >= %d each", nFile, nLive, len(card))
			}
			// The G.722 channel keeps its tone whatever the mode.
			if !audiotest.HasTone(f.Channel(0)[16000:48000], 16000, 1000, []float64{300, 697, 1209}) {
				t.Error("channel 0: no 1 kHz")
			}
		})
	}
}
