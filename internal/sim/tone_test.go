package sim

// The consent tone: parameter parsing and resolution, the cadence and its
// pause rule, and DialMedia against the real recorder (internal/app on
// loopback) with the recorded WAV checked by Goertzel.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

func TestParseToneSilence(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		in            string
		tone, silence time.Duration
		wantErr       bool
	}{
		{in: "30000", silence: 30000 * ms},
		{in: " 15 ", silence: 15 * ms},
		{in: "0", silence: 0},
		{in: "500,1000", tone: 500 * ms, silence: 1000 * ms},
		{in: "250, 0", tone: 250 * ms},
		{in: "", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "0,100", wantErr: true},
		{in: "100,", wantErr: true},
		{in: ",100", wantErr: true},
		{in: "1,2,3", wantErr: true},
		{in: "99999999999", wantErr: true},
	} {
		tone, silence, err := ParseToneSilence(tc.in)
		if tc.wantErr {
			if !errors.Is(err, ErrRecording) {
				t.Errorf("%q: err %v, want ErrRecording", tc.in, err)
			}
			continue
		}
		if err != nil || tone != tc.tone || silence != tc.silence {
			t.Errorf("%q: %v, %v, %v; want %v, %v", tc.in, tone, silence, err, tc.tone, tc.silence)
		}
	}
}

func FuzzParseToneSilence(f *testing.F) {
	for _, s := range []string{"30000", "500,1000", "", "-1", "0,0", "1,2,3", " 7 , 8 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tone, silence, err := ParseToneSilence(s)
		if err != nil {
			if !errors.Is(err, ErrRecording) {
				t.Fatalf("%q: error %v does not wrap ErrRecording", s, err)
			}
			return
		}
		if tone < 0 || silence < 0 || tone > math.MaxInt32*time.Millisecond || silence > math.MaxInt32*time.Millisecond {
			t.Fatalf("%q: out of range %v, %v", s, tone, silence)
		}
	})
}

func TestConsentOptions(t *testing.T) {
	no := false
	yes := true
	for _, tc := range []struct {
		name         string
		o            ConsentOptions
		chan1, chan2 bool
		wantErr      bool
	}{
		{name: "defaults: each party's own speech"},
		{name: "says explicitly", o: ConsentOptions{Chan1Source: "recorddnsays", Chan2Source: "OtherDNSays"}},
		{name: "chan1 other hears", o: ConsentOptions{Chan1Source: Chan1OtherDNHears}, chan1: true},
		{name: "chan2 record hears", o: ConsentOptions{Chan2Source: Chan2RecordDNHears}, chan2: true},
		{name: "both hear", o: ConsentOptions{Chan1Source: Chan1OtherDNHears, Chan2Source: Chan2RecordDNHears}, chan1: true, chan2: true},
		{name: "one-party consent: only the record DN hears",
			o:     ConsentOptions{Chan1Source: Chan1OtherDNHears, Chan2Source: Chan2RecordDNHears, OtherDNHearsTone: &no, RecordDNHearsTone: &yes},
			chan2: true},
		{name: "nobody hears", o: ConsentOptions{Chan1Source: Chan1OtherDNHears, Chan2Source: Chan2RecordDNHears, OtherDNHearsTone: &no, RecordDNHearsTone: &no}},
		{name: "bad chan1", o: ConsentOptions{Chan1Source: "otherdnsays"}, wantErr: true},
		{name: "bad chan2", o: ConsentOptions{Chan2Source: "both"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("Validate: %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c1, c2 := tc.o.Recorded(); c1 != tc.chan1 || c2 != tc.chan2 {
				t.Errorf("Recorded() = %v, %v; want %v, %v", c1, c2, tc.chan1, tc.chan2)
			}
		})
	}
}

func TestNewConsentPlan(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tone.wav")
	w, err := wav.Create(good, wav.FormatPCM16, 1, 8000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := audiotest.Tone(600, 0.5, 8000, 400) // 50 ms
	buf := make([]byte, 0, 2*len(pcm))
	for _, s := range pcm {
		buf = append(buf, byte(s), byte(uint16(s)>>8))
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.wav")
	w, err = wav.Create(wide, wav.FormatPCM16, 1, 16000)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	both := ConsentOptions{Chan1Source: Chan1OtherDNHears, Chan2Source: Chan2RecordDNHears}
	withDefaults := both
	withDefaults.AudioSrc, withDefaults.ToneSilence = "http://example.com/tone.wav", "2000"
	for _, tc := range []struct {
		name          string
		o             ConsentOptions
		src, ts       string
		none, wantErr bool
		builtin       bool
		samples       int
		silence       int
		first         []int16 // expected start of the signal
	}{
		{name: "no audiosrc: no tone", o: both, ts: "1000", none: true},
		{name: "audiosrc without tonesilenceduration", o: both, src: "http://example.com/tone.wav", wantErr: true},
		{name: "bad tonesilenceduration", o: both, src: "x", ts: "soon", wantErr: true},
		{name: "seed example: built-in tone, 1 s", o: both, src: "http://example.com/tone.wav", ts: "30000",
			builtin: true, samples: 8000, silence: 240000},
		{name: "tone,silence", o: both, src: "beep", ts: "250,500", builtin: true, samples: 2000, silence: 4000},
		{name: "defaults from the options", o: withDefaults, builtin: true, samples: 8000, silence: 16000},
		{name: "request wins per parameter", o: withDefaults, ts: "100,100", builtin: true, samples: 800, silence: 800},
		{name: "file URI", o: both, src: "file://" + good, ts: "1000", samples: 400, silence: 8000, first: pcm[:10]},
		{name: "file URI looped to the tone length", o: both, src: "file:" + good, ts: "100,0", samples: 800, first: pcm[:10]},
		{name: "missing file is a bad URI", o: both, src: "file://" + filepath.Join(dir, "nope.wav"), ts: "1000", wantErr: true},
		{name: "16 kHz file is refused", o: both, src: "file://" + wide, ts: "1000", wantErr: true},
		{name: "unparsable URI", o: both, src: "http://[::1", ts: "1000", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newConsentPlan(tc.o, Recording{AudioSrc: tc.src, ToneSilence: tc.ts})
			switch {
			case tc.wantErr:
				if p != nil || !errors.Is(err, ErrRecording) {
					t.Fatalf("plan %v, err %v; want ErrRecording", p, err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tc.none:
				if p != nil {
					t.Fatalf("plan %+v, want none", p)
				}
				return
			case p == nil:
				t.Fatal("no plan")
			}
			if p.builtin != tc.builtin || len(p.signal) != tc.samples || p.silence != tc.silence || !p.chan1 || !p.chan2 {
				t.Fatalf("plan builtin=%v samples=%d silence=%d chan=%v,%v", p.builtin, len(p.signal), p.silence, p.chan1, p.chan2)
			}
			if tc.builtin && !audiotest.HasTone(p.signal, 8000, ConsentToneHz, []float64{ConsentToneHz - 200, ConsentToneHz + 200}) {
				t.Error("built-in signal is not a 1400 Hz tone")
			}
			for i, s := range tc.first {
				if p.signal[i] != s {
					t.Fatalf("signal[%d] = %d, want %d (the file's audio)", i, p.signal[i], s)
				}
			}
			if tc.samples > len(pcm) && tc.first != nil && p.signal[len(pcm)] != pcm[0] {
				t.Error("file audio not looped")
			}
		})
	}
}

// TestConsentClockPause drives the cadence directly: tone then silence,
// nothing while paused, a full tone again right after resume.
func TestConsentClockPause(t *testing.T) {
	plan := &consentPlan{signal: []int16{100, 100, 100}, silence: 2}
	var paused atomic.Bool
	var pauses atomic.Uint64
	c := &consentClock{plan: plan, paused: &paused, pauses: &pauses}
	read := func(n int) []int16 {
		b := make([]int16, n)
		c.mix(b)
		return b
	}
	pause := func(p bool) {
		if p {
			pauses.Add(1)
		}
		paused.Store(p)
	}
	type step struct {
		pause *bool
		n     int
		want  []int16
	}
	on, off := true, false
	for i, s := range []step{
		{n: 7, want: []int16{100, 100, 100, 0, 0, 100, 100}},
		{pause: &on, n: 6, want: []int16{0, 0, 0, 0, 0, 0}},          // due tone not played into the pause
		{pause: &off, n: 6, want: []int16{100, 100, 100, 0, 0, 100}}, // restarted on resume
		{pause: &on}, {pause: &off, n: 4, want: []int16{100, 100, 100, 0}}, // a pause between two reads restarts it too
	} {
		if s.pause != nil {
			pause(*s.pause)
		}
		if s.n == 0 {
			continue
		}
		if got := read(s.n); fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
	// Mixing saturates instead of wrapping.
	loud := &consentClock{plan: &consentPlan{signal: []int16{30000, -30000}}, paused: &paused, pauses: &pauses}
	b := []int16{30000, -30000}
	loud.mix(b)
	if b[0] != math.MaxInt16 || b[1] != math.MinInt16 {
		t.Errorf("saturation: %v", b)
	}
}

// toneRuns returns the spans of consecutive 20 ms windows of pcm that carry
// freq, as offsets from the channel's first non-silent window.
func toneRuns(pcm []int16, rate int, freq float64) (runs [][2]time.Duration) {
	const win = 160
	origin := firstSound(pcm)
	at := func(i int) time.Duration { return time.Duration(i-origin) * time.Second / time.Duration(rate) }
	in := false
	for off := origin; off+win <= len(pcm); off += win {
		w := pcm[off : off+win]
		has := audiotest.HasTone(w, rate, freq, nil)
		switch {
		case has && !in:
			runs = append(runs, [2]time.Duration{at(off), at(off + win)})
		case has:
			runs[len(runs)-1][1] = at(off + win)
		}
		in = has
	}
	return runs
}

// firstSound returns the start of the first non-silent 20 ms window.
func firstSound(pcm []int16) int {
	for off := 0; off+160 <= len(pcm); off += 160 {
		if !audiotest.Silent(pcm[off : off+160]) {
			return off
		}
	}
	return len(pcm)
}

func near(d, want, tol time.Duration) bool { return d >= want-tol && d <= want+tol }

// consentCall records one call of about 2.4 s through DialMedia with the
// given consent configuration and returns the recorded WAV.
func consentCall(t *testing.T, o ConsentOptions, rec Recording, during func(MediaSession)) *wav.File {
	t.Helper()
	a := startRecorderApp(t, nil)
	dm := newDialMedia(t)
	dm.Consent = o
	rec.CallUUID, rec.Dest = dial.NewCallUUID(), a.SIPAddr().String()
	ms, err := dm.Start(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "audio at the recorder", func() bool { return receiving(a) })
	during(ms)
	if err := ms.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	r := finished(t, a)
	if r.Status != store.StatusCompleted {
		t.Fatalf("recording %+v", r)
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	if f.Channels != 2 {
		t.Fatalf("%d channels", f.Channels)
	}
	return f
}

// TestDialMediaConsentToneChannels: the 1400 Hz tone lands in the
// channel(s) record_chan1source / record_chan2source (and who hears the
// tone) say, with its cadence, and in no other.
func TestDialMediaConsentToneChannels(t *testing.T) {
	no := false
	both := ConsentOptions{Chan1Source: Chan1OtherDNHears, Chan2Source: Chan2RecordDNHears}
	oneParty := both
	oneParty.OtherDNHearsTone = &no
	profile := both
	profile.AudioSrc, profile.ToneSilence = "http://example.com/tone.wav", "300,700"
	req := Recording{AudioSrc: "http://example.com/tone.wav", ToneSilence: "300,700"}
	for _, tc := range []struct {
		name         string
		o            ConsentOptions
		rec          Recording
		voice        [2]float64 // expected party tones per channel
		chan1, chan2 bool
	}{
		{name: "defaults: tone not recorded", rec: req},
		{name: "chan1 otherdnhears", o: ConsentOptions{Chan1Source: Chan1OtherDNHears}, rec: req, chan1: true},
		{name: "chan2 recorddnhears", o: ConsentOptions{Chan2Source: Chan2RecordDNHears}, rec: req, chan2: true},
		{name: "both channels", o: both, rec: req, chan1: true, chan2: true},
		{name: "other DN does not hear it", o: oneParty, rec: req, chan2: true},
		{name: "not asked for", o: both},
		{name: "IVR-profile defaults", o: profile, chan1: true, chan2: true},
		{name: "party tone at 1400 Hz moves an octave down", o: both, rec: Recording{
			AudioSrc: req.AudioSrc, ToneSilence: req.ToneSilence, Tones: [2]float64{1400, 1000}},
			voice: [2]float64{700, 1000}, chan1: true, chan2: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := tc.rec
			rec.RecordID, rec.ThisDN, rec.OtherDN = "R-CONSENT", "5001", "+15550100"
			if rec.Tones == [2]float64{} {
				rec.Tones = [2]float64{440, 1000}
			}
			voice := tc.voice
			if voice == [2]float64{} {
				voice = rec.Tones
			}
			f := consentCall(t, tc.o, rec, func(MediaSession) { time.Sleep(2200 * time.Millisecond) }) // models time: the call's length
			for ch, want := range []bool{tc.chan1, tc.chan2} {
				pcm := f.Channel(ch)
				o := firstSound(pcm)
				mid := pcm[o+4000 : o+5600] // 0.5..0.7 s: between two tones
				if !audiotest.HasTone(mid, f.SampleRate, voice[ch], nil) {
					t.Errorf("channel %d: no %v Hz party audio", ch+1, voice[ch])
				}
				runs := toneRuns(pcm, f.SampleRate, ConsentToneHz)
				t.Logf("channel %d: consent tone runs %v", ch+1, runs)
				if !want {
					if len(runs) != 0 {
						t.Errorf("channel %d: consent tone at %v, want none", ch+1, runs)
					}
					continue
				}
				// 300 ms tone every second from the start of the audio.
				if len(runs) < 2 {
					t.Fatalf("channel %d: tone runs %v, want at least 2", ch+1, runs)
				}
				tol := 60 * time.Millisecond
				for i, r := range runs[:2] {
					if !near(r[0], time.Duration(i)*time.Second, tol) || !near(r[1]-r[0], 300*time.Millisecond, tol) {
						t.Errorf("channel %d: tone runs %v, want 300 ms at 0 s and 1 s", ch+1, runs)
					}
				}
			}
		})
	}
}

// TestDialMediaConsentToneNotWhilePaused: seed form "S" (1 s built-in tone,
// then S ms of silence). A pause over the time the next tone is due: the
// recording has no tone while paused (and not right before the resume:
// the due tone is not played into the pause), and a full tone starts at
// the resume.
func TestDialMediaConsentToneNotWhilePaused(t *testing.T) {
	o := ConsentOptions{Chan1Source: Chan1OtherDNHears, Chan2Source: Chan2RecordDNHears}
	rec := Recording{RecordID: "R-CONSENT-PAUSE", ThisDN: "5001", OtherDN: "+15550100", Tones: [2]float64{440, 1000},
		AudioSrc: "http://example.com/tone.wav", ToneSilence: "600"}
	f := consentCall(t, o, rec, func(ms MediaSession) {
		time.Sleep(time.Second) // models time: ~1.2 s into the audio: in the silence after the first tone
		ms.Pause(true)
		time.Sleep(1500 * time.Millisecond) // models time: the tone due at 1.6 s falls in here
		ms.Pause(false)
		time.Sleep(1400 * time.Millisecond) // models time: audio after the resume
	})
	for ch := range 2 {
		pcm := f.Channel(ch)
		// The pause: the longest stretch of silent 20 ms windows.
		const win = 160
		gapStart, gapEnd, cur := -1, -1, -1
		for off := 0; off+win <= len(pcm); off += win {
			if audiotest.Silent(pcm[off : off+win]) {
				if cur < 0 {
					cur = off
				}
				if off+win-cur > gapEnd-gapStart {
					gapStart, gapEnd = cur, off+win
				}
			} else {
				cur = -1
			}
		}
		dur := func(n int) time.Duration { return time.Duration(n) * time.Second / time.Duration(f.SampleRate) }
		if g := dur(gapEnd - gapStart); g < 1300*time.Millisecond || g > 1700*time.Millisecond {
			t.Fatalf("channel %d: pause gap %v, want about 1.5 s", ch+1, g)
		}
		runs := toneRuns(pcm, f.SampleRate, ConsentToneHz)
		first := firstSound(pcm)
		pauseAt, resumeAt := dur(gapStart-first), dur(gapEnd-first)
		t.Logf("channel %d: pause %v..%v, consent tone runs %v", ch+1, pauseAt, resumeAt, runs)
		tol := 60 * time.Millisecond
		var after [][2]time.Duration
		for _, r := range runs {
			if r[1] > pauseAt+tol && r[0] < resumeAt-tol {
				t.Errorf("channel %d: tone %v inside the pause %v..%v", ch+1, r, pauseAt, resumeAt)
			}
			if r[0] >= resumeAt-tol {
				after = append(after, r)
			}
		}
		if len(runs) == 0 || !near(runs[0][0], 0, tol) || !near(runs[0][1], min(time.Second, pauseAt), tol) {
			t.Errorf("channel %d: runs %v, want the first tone 0..1 s (pause at %v)", ch+1, runs, pauseAt)
		}
		if len(after) != 1 || !near(after[0][0], resumeAt, tol) || !near(after[0][1]-after[0][0], time.Second, tol) {
			t.Errorf("channel %d: tone after resume %v, want a full 1 s tone at %v (runs %v)", ch+1, after, resumeAt, runs)
		}
	}
}
