package mixer

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
)

// counters is the part of TrackStats the single-channel table compares.
type counters struct {
	Packets, Late, Duplicates, Reordered, LostPackets, ConcealedSamples uint64
}

func countersOf(s TrackStats) counters {
	return counters{s.Packets, s.Late, s.Duplicates, s.Reordered, s.LostPackets, s.ConcealedSamples}
}

func TestSingleChannelTimeline(t *testing.T) {
	l := leg{ssrc: 0xA, seq0: 100, ts0: 5000}
	without := func(steps []step, drop ...int) []step {
		return slices.DeleteFunc(steps, func(s step) bool {
			return slices.Contains(drop, int(s.p.Seq-l.seq0))
		})
	}
	delay := func(steps []step, d time.Duration, which ...int) []step {
		for i := range steps {
			if slices.Contains(which, int(steps[i].p.Seq-l.seq0)) {
				steps[i].arr += d
			}
		}
		return steps
	}
	tests := []struct {
		name   string
		steps  []step
		end    time.Duration
		want   expect
		stats  counters
		events []Event
	}{
		{
			name:  "in order",
			steps: l.packets(0, 50),
			end:   ms(1000),
			want:  newExpect(8000).frames(0, 50, 0),
			stats: counters{Packets: 50},
		},
		{
			name: "every fourth packet 30 ms late (reordered in window)",
			steps: func() []step {
				s := l.packets(0, 50)
				for i := 1; i < 50; i += 4 {
					s[i].arr += ms(30)
				}
				return s
			}(),
			end:   ms(1100),
			want:  newExpect(8800).frames(0, 50, 0),
			stats: counters{Packets: 50, Reordered: 12},
		},
		{
			name:  "one packet 150 ms late",
			steps: delay(l.packets(0, 50), ms(150), 10),
			end:   ms(1000),
			want:  newExpect(8000).frames(0, 50, 0),
			stats: counters{Packets: 50, Reordered: 1},
		},
		{
			name:  "duplicate",
			steps: append(l.packets(0, 50), l.packet(7, ms(5))),
			end:   ms(1000),
			want:  newExpect(8000).frames(0, 50, 0),
			stats: counters{Packets: 51, Duplicates: 1},
		},
		{
			name:  "late packet after its flush is dropped, concealment stays",
			steps: delay(l.packets(0, 50), time.Second, 10),
			end:   ms(1300),
			want:  newExpect(10400).frames(0, 50, 0).conceal(1600, 1440),
			stats: counters{Packets: 50, Late: 1, Reordered: 1, ConcealedSamples: 160},
		},
		{
			name:  "single loss concealed",
			steps: without(l.packets(0, 50), 10),
			end:   ms(1000),
			want:  newExpect(8000).frames(0, 50, 0).conceal(1600, 1440),
			stats: counters{Packets: 49, LostPackets: 1, ConcealedSamples: 160},
		},
		{
			name:  "double loss is silence",
			steps: without(l.packets(0, 50), 10, 11),
			end:   ms(1000),
			want: func() expect {
				e := newExpect(8000).frames(0, 50, 0)
				copy(e[1600:1920], silence(320))
				return e
			}(),
			stats: counters{Packets: 48, LostPackets: 2},
		},
		{
			name: "timestamp gap without loss is silence",
			steps: func() []step {
				s := l.packets(0, 20)
				for j := 20; j < 40; j++ {
					s = append(s, l.at1(j, int64(j+20)*160, ms((j+20)*20), 0, nil))
				}
				return s
			}(),
			end:   ms(1200),
			want:  newExpect(9600).frames(0, 20, 0).frames(40, 60, 0),
			stats: counters{Packets: 40},
		},
		{
			name:  "sequence and timestamp wrap",
			steps: leg{ssrc: 0xA, seq0: 65530, ts0: 1<<32 - 160*25}.packets(0, 50),
			end:   ms(1000),
			want:  newExpect(8000).frames(0, 50, 0),
			stats: counters{Packets: 50},
		},
		{
			name: "comfort noise span is silence, no loss",
			steps: func() []step {
				s := l.packets(0, 20)
				s = append(s, l.at1(20, 20*160, ms(400), 13, []byte{0x40}))
				for j := 21; j < 41; j++ {
					s = append(s, l.at1(j, int64(j+19)*160, ms((j+19)*20), 0, nil))
				}
				return s
			}(),
			end:    ms(1200),
			want:   newExpect(9600).frames(0, 20, 0).frames(40, 60, 0),
			stats:  counters{Packets: 41},
			events: []Event{{Type: EventComfortNoise, AtMS: 400, DurationMS: 400}},
		},
		{
			name: "timestamp jump forward re-anchors at arrival",
			steps: func() []step {
				s := l.packets(0, 25)
				for j := 25; j < 50; j++ {
					s = append(s, l.at1(j, int64(j)*160+80000, ms(j*20), 0, nil))
				}
				return s
			}(),
			end: ms(1000),
			want: func() expect {
				e := newExpect(8000).frames(0, 25, 0)
				for j := int64(25); j < 50; j++ {
					e.frame(j*160, j*160+80000)
				}
				return e
			}(),
			stats: counters{Packets: 50},
		},
		{
			name: "timestamp jump backward re-anchors at arrival",
			steps: func() []step {
				s := l.packets(0, 50)
				for j := 50; j < 100; j++ {
					s = append(s, l.at1(j, int64(j)*160-40000, ms(j*20), 0, nil))
				}
				return s
			}(),
			end: ms(2000),
			want: func() expect {
				e := newExpect(16000).frames(0, 50, 0)
				for j := int64(50); j < 100; j++ {
					e.frame(j*160, j*160-40000)
				}
				return e
			}(),
			stats: counters{Packets: 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, w := newTestMixer(t, Config{})
			drive(t, m, tc.steps, tc.end)
			got := w.bytes()
			if i := firstDiff(got, tc.want); i >= 0 {
				t.Fatalf("output differs at sample %d (len got %d want %d)", i, len(got), len(tc.want))
			}
			if got := countersOf(m.Stats(0)); got != tc.stats {
				t.Errorf("stats = %+v, want %+v", got, tc.stats)
			}
			if got := m.Events(); !slices.Equal(got, tc.events) {
				t.Errorf("events = %+v, want %+v", got, tc.events)
			}
			if m.Frames() != int64(len(tc.want)) {
				t.Errorf("Frames = %d, want %d", m.Frames(), len(tc.want))
			}
		})
	}
}

func TestSSRCChange(t *testing.T) {
	a := leg{ssrc: 0xA, seq0: 100, ts0: 5000}
	b := leg{ssrc: 0xB, seq0: 40000, ts0: 3_000_000_000, arr0: ms(530)}
	steps := append(a.packets(0, 25), b.packets(0, 20)...)
	steps = append(steps, a.packet(25, ms(50))) // straggler of the old SSRC after the change
	m, w := newTestMixer(t, Config{})
	drive(t, m, steps, ms(1000))
	want := newExpect(8000).frames(0, 25, 0).frames(0, 20, 4240)
	if i := firstDiff(w.bytes(), want); i >= 0 {
		t.Fatalf("output differs at sample %d", i)
	}
	wantEv := []Event{{Type: EventSSRCChange, AtMS: 530, Detail: "0000000a->0000000b"}}
	if got := m.Events(); !slices.Equal(got, wantEv) {
		t.Errorf("events = %+v, want %+v", got, wantEv)
	}
	st := m.Stats(0)
	if st.SSRC != 0xB || st.Packets != 46 || st.Late != 1 || st.LostPackets != 0 || st.Codec != media.PCMU {
		t.Errorf("stats = %+v", st)
	}
}

func TestSequenceRestartSameSSRC(t *testing.T) {
	a := leg{ssrc: 0xA, seq0: 100, ts0: 5000}
	b := leg{ssrc: 0xA, seq0: 30000, ts0: 900_000, arr0: ms(500)}
	m, w := newTestMixer(t, Config{})
	drive(t, m, append(a.packets(0, 25), b.packets(0, 25)...), ms(1000))
	want := newExpect(8000).frames(0, 25, 0).frames(0, 25, 4000)
	if i := firstDiff(w.bytes(), want); i >= 0 {
		t.Fatalf("output differs at sample %d", i)
	}
	if st := m.Stats(0); st.LostPackets != 0 || st.Late != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestTwoChannelAlignment checks arrival alignment without RTCP and
// alignment on the sender clock with it. Both legs carry the same content
// by sender time; lag is where channel 1 has channel 0's samples.
func TestTwoChannelAlignment(t *testing.T) {
	senderT0 := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC) // sender clock is not ours
	a := leg{ch: 0, ssrc: 0xA, seq0: 1, ts0: 1000, arr0: ms(20)}
	b := leg{ch: 1, ssrc: 0xB, seq0: 7000, ts0: 5_000_000, arr0: ms(80)}
	sr := func(l leg, arr time.Duration) step {
		// The sender's clock says RTP ts0+8000 of every leg is senderT0+1s.
		return step{arr: arr, ch: l.ch, sr: &media.SenderReport{
			SSRC: l.ssrc, NTPTime: media.TimeToNTP(senderT0.Add(time.Second)), RTPTime: l.ts0 + 8000,
		}}
	}
	uptimeSR := func(l leg, arr time.Duration) step {
		// A sender whose NTP field counts seconds since it booted.
		return step{arr: arr, ch: l.ch, sr: &media.SenderReport{
			SSRC: l.ssrc, NTPTime: 3600<<32 | 1<<31, RTPTime: l.ts0 + 4000,
		}}
	}
	tests := []struct {
		name    string
		b       leg
		extra   []step
		from    int // region measured (samples)
		wantLag int
	}{
		{name: "second leg 500 ms later by arrival", b: leg{ch: 1, ssrc: 0xB, seq0: 7000, ts0: 5_000_000, arr0: ms(520)},
			from: 8000, wantLag: 4000},
		{name: "no RTCP: arrival delay difference stays", b: b, from: 8000, wantLag: 480},
		{name: "RTCP from one leg only", b: b, extra: []step{sr(a, ms(300))}, from: 8000, wantLag: 480},
		{name: "RTCP before the first flush", b: b, extra: []step{sr(a, ms(300)), sr(b, ms(310))}, from: 2400, wantLag: 0},
		{name: "RTCP before the first packet", b: b, extra: []step{sr(a, 0), sr(b, 0)}, from: 800, wantLag: 0},
		{name: "RTCP with a sender clock far from ours", b: b, extra: []step{uptimeSR(a, ms(300)), uptimeSR(b, ms(310))}, from: 2400, wantLag: 0},
		{name: "RTCP after data was written", b: b, extra: []step{sr(b, ms(1500)), sr(a, ms(1510))}, from: 16000, wantLag: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, w := newTestMixer(t, Config{Channels: 2})
			steps := append(a.packets(0, 150), tc.b.packets(0, 150)...)
			steps = append(steps, tc.extra...)
			drive(t, m, steps, ms(3600))
			data := w.bytes()
			c0, c1 := channel(data, 2, 0), channel(data, 2, 1)
			if len(c0) != 8000*36/10 {
				t.Fatalf("frames = %d", len(c0))
			}
			// Search around 0 and around the expected lag (the content is
			// not periodic, so a wrong alignment cannot match).
			got := lag(c0, c1, tc.from, tc.from+8000, -600, 600)
			if tc.wantLag > 600 {
				got = lag(c0, c1, tc.from, tc.from+8000, tc.wantLag-100, tc.wantLag+100)
			}
			if d := got - tc.wantLag; d < -8 || d > 8 {
				t.Errorf("channel 1 lags channel 0 by %d samples, want %d ±8 (1 ms)", got, tc.wantLag)
			}
			// Where both channels have audio they must agree sample by sample
			// once aligned: no drift, no gaps.
			n := 0
			for p := tc.from; p < tc.from+8000; p++ {
				if q := p + got; q < len(c1) && c0[p] != c1[q] {
					n++
				}
			}
			if n != 0 {
				t.Errorf("%d samples differ after alignment", n)
			}
		})
	}
}

// TestFirstSampleByArrival checks the exact start of a leg that starts
// 500 ms after the recording.
func TestFirstSampleByArrival(t *testing.T) {
	a := leg{ch: 0, ssrc: 0xA}
	b := leg{ch: 1, ssrc: 0xB, arr0: ms(500)}
	m, w := newTestMixer(t, Config{Channels: 2})
	drive(t, m, append(a.packets(0, 50), b.packets(0, 25)...), ms(1000))
	data := w.bytes()
	c1 := channel(data, 2, 1)
	if i := bytes.IndexFunc(c1, func(r rune) bool { return r != 0xFF }); i != -1 && !bytes.Equal(c1[:4000], silence(4000)) {
		t.Fatalf("channel 1 not silent before 500 ms")
	}
	want1 := newExpect(8000).frames(0, 25, 4000)
	if i := firstDiff(c1, want1); i >= 0 {
		t.Fatalf("channel 1 differs at %d", i)
	}
	if i := firstDiff(channel(data, 2, 0), newExpect(8000).frames(0, 50, 0)); i >= 0 {
		t.Fatalf("channel 0 differs at %d", i)
	}
}

// TestLossAndReorderTwoTones sends 1 kHz on channel 0 and 1.5 kHz on
// channel 1 with 5% loss and up to 60 ms jitter, and checks length,
// placement of every received packet, and the tones.
func TestLossAndReorderTwoTones(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	freqs := []float64{1000, 1500}
	const frames = 150 // 3 s
	var steps []step
	sent := make([][]bool, 2)
	for ch, f := range freqs {
		l := leg{ch: ch, ssrc: uint32(0x100 + ch), seq0: uint16(rng.Uint32()), ts0: rng.Uint32(),
			content: func(s int64, n int) []byte { return tone(f, s, n) }}
		sent[ch] = make([]bool, frames)
		for i := range frames {
			if i > 0 && rng.Float64() < 0.05 {
				continue
			}
			sent[ch][i] = true
			jitter := time.Duration(0)
			if i > 0 {
				jitter = time.Duration(rng.Int64N(int64(ms(60))))
			}
			steps = append(steps, l.packet(i, jitter))
		}
	}
	m, w := newTestMixer(t, Config{Channels: 2})
	drive(t, m, steps, ms(frames*20))
	data := w.bytes()
	if m.Frames() != frames*160 || len(data) != 2*frames*160 {
		t.Fatalf("frames = %d, bytes = %d; want %d frames", m.Frames(), len(data), frames*160)
	}
	for ch, f := range freqs {
		c := channel(data, 2, ch)
		lost := 0
		for i := range frames {
			got := c[i*160 : (i+1)*160]
			if !sent[ch][i] {
				lost++
				continue
			}
			if !bytes.Equal(got, tone(f, int64(i)*160, 160)) {
				t.Fatalf("channel %d frame %d not at its place", ch, i)
			}
		}
		st := m.Stats(ch)
		if st.LostPackets != uint64(lost) || st.Late != 0 || st.Reordered == 0 || st.ConcealedSamples > uint64(lost*160) {
			t.Errorf("channel %d: stats %+v, lost %d", ch, st, lost)
		}
		pcm := make([]int16, len(c))
		g711.DecodeULawTo(pcm, c)
		other := freqs[1-ch]
		if !audiotest.HasTone(pcm, 8000, f, []float64{other}) || audiotest.HasTone(pcm, 8000, other, []float64{f}) {
			t.Errorf("channel %d: %v Hz power %.4f, %v Hz power %.4f", ch, f,
				audiotest.Goertzel(pcm, 8000, f), other, audiotest.Goertzel(pcm, 8000, other))
		}
	}
}

// TestConcealmentUndone: a packet concealed when its successor arrived
// turns up inside the window and replaces the concealment.
func TestConcealmentUndone(t *testing.T) {
	l := leg{ssrc: 1}
	steps := l.packets(0, 50)
	steps[10].arr += ms(50)
	m, w := newTestMixer(t, Config{})
	drive(t, m, steps, ms(1000))
	if i := firstDiff(w.bytes(), newExpect(8000).frames(0, 50, 0)); i >= 0 {
		t.Fatalf("differs at %d", i)
	}
	if st := m.Stats(0); st.ConcealedSamples != 0 || st.Reordered != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestCodecConversion checks payload conversion into each storage format
// against golden files and the g711 tables.
func TestCodecConversion(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name   string
		pt     uint8
		format Format
		golden string
		want   func(b byte) []byte
	}{
		{"ulaw into alaw", 0, FormatALaw, "pcmu_to_alaw.golden", func(b byte) []byte { return []byte{g711.ULawToALaw(b)} }},
		{"alaw into ulaw", 8, FormatULaw, "pcma_to_ulaw.golden", func(b byte) []byte { return []byte{g711.ALawToULaw(b)} }},
		{"ulaw into ulaw", 0, FormatULaw, "pcmu_to_ulaw.golden", func(b byte) []byte { return []byte{b} }},
		{"alaw into alaw", 8, FormatALaw, "pcma_to_alaw.golden", func(b byte) []byte { return []byte{b} }},
		{"ulaw into pcm16", 0, FormatPCM16, "pcmu_to_pcm16.golden", func(b byte) []byte {
			v := uint16(g711.DecodeULaw(b))
			return []byte{byte(v), byte(v >> 8)}
		}},
		{"alaw into pcm16", 8, FormatPCM16, "pcma_to_pcm16.golden", func(b byte) []byte {
			v := uint16(g711.DecodeALaw(b))
			return []byte{byte(v), byte(v >> 8)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, w := newTestMixer(t, Config{Format: tc.format})
			l := leg{ssrc: 1}
			drive(t, m, []step{l.at1(0, 0, 0, tc.pt, all)}, 0)
			got := w.bytes()
			var want []byte
			for _, b := range all {
				want = append(want, tc.want(b)...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("conversion differs at byte %d", firstDiff(got, want))
			}
			golden(t, tc.golden, got)
		})
	}
}

// TestCodecChangeMidCall: a re-INVITE switches the leg from PCMU to PCMA
// (dynamic map), the storage stays µ-law.
func TestCodecChangeMidCall(t *testing.T) {
	m, w := newTestMixer(t, Config{})
	tr := m.Track(0)
	tr.SetCodecs([]media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}}, nil, nil)
	l := leg{ssrc: 1}
	steps := l.packets(0, 25)
	alaw := func(s int64) []byte {
		b := ramp(s, 160)
		for i := range b {
			b[i] = g711.ULawToALaw(b[i])
		}
		return b
	}
	steps = append(steps, step{arr: ms(490), fn: func(m *Mixer, _ time.Time) {
		m.Track(0).SetCodecs([]media.Codec{{PT: 8, Name: media.PCMA, ClockRate: 8000}}, nil, nil)
	}})
	for i := 25; i < 50; i++ {
		steps = append(steps, l.at1(i, int64(i)*160, ms(i*20), 8, alaw(int64(i)*160)))
	}
	drive(t, m, steps, ms(1000))
	got := w.bytes()
	want := newExpect(8000).frames(0, 25, 0)
	for i := 25; i < 50; i++ {
		for j, b := range alaw(int64(i) * 160) {
			want[i*160+j] = g711.ALawToULaw(b)
		}
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("differs at %d", i)
	}
	wantEv := []Event{{Type: EventCodecChange, AtMS: 500, Detail: "PCMU->PCMA"}}
	if ev := m.Events(); !slices.Equal(ev, wantEv) {
		t.Errorf("events = %+v, want %+v", ev, wantEv)
	}
	if st := m.Stats(0); st.Codec != media.PCMA {
		t.Errorf("codec = %q", st.Codec)
	}
}

// dtmfSteps returns the RFC 4733 packets of one tone of digit code ev
// starting at frame f of l: updates every 20 ms and three end packets (the
// last one repeating the sequence number of the one before), using
// sequence indexes seqIdx .. seqIdx+updates+1.
func dtmfSteps(l leg, pt uint8, seqIdx, frame int, ev byte, updates int) []step {
	var out []step
	s := int64(frame) * 160
	for k := 1; k <= updates; k++ {
		d := uint16(k * 160)
		out = append(out, l.at1(seqIdx, s, ms((frame+k-1)*20), pt, []byte{ev, 10, byte(d >> 8), byte(d)}))
		seqIdx++
	}
	d := uint16((updates + 1) * 160)
	end := []byte{ev, 0x80 | 10, byte(d >> 8), byte(d)}
	for k := range 3 {
		out = append(out, l.at1(seqIdx, s, ms((frame+updates+k)*20), pt, end))
		if k < 1 {
			seqIdx++
		}
	}
	return out
}

func TestDTMF(t *testing.T) {
	l := leg{ssrc: 1}
	te := &media.Codec{PT: 101, Name: media.TelephoneEvent, ClockRate: 8000}
	var steps []step
	steps = append(steps, l.packets(0, 10)...)
	steps = append(steps, dtmfSteps(l, 101, 10, 10, 5, 5)...)  // '5' at 200 ms, 120 ms: seq 10-16
	steps = append(steps, l.at1(17, 20*160, ms(400), 0, nil))  // audio resumes
	steps = append(steps, dtmfSteps(l, 101, 18, 30, 11, 3)...) // '#' at 600 ms, 80 ms: seq 18-22
	steps = append(steps, dtmfSteps(l, 101, 23, 40, 16, 3)...) // flash: not a digit
	steps = append(steps, step{arr: ms(1000), fn: func(m *Mixer, now time.Time) { m.SetPaused(true, now) }})
	steps = append(steps, dtmfSteps(l, 101, 28, 55, 1, 3)...) // '1' while paused
	steps = append(steps, step{arr: ms(1400), fn: func(m *Mixer, now time.Time) { m.SetPaused(false, now) }})
	steps = append(steps, dtmfSteps(l, 101, 33, 75, 15, 3)...) // 'D' at 1500 ms
	m, w := newTestMixer(t, Config{})
	m.Track(0).SetCodecs([]media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}}, te, nil)
	drive(t, m, steps, ms(2000))
	want := []Event{
		{Type: EventDTMF, AtMS: 200, DurationMS: 120, Detail: "5"},
		{Type: EventDTMF, AtMS: 600, DurationMS: 80, Detail: "#"},
		{Type: EventDTMF, AtMS: 1500, DurationMS: 80, Detail: "D"},
	}
	if got := m.Events(); !slices.Equal(got, want) {
		t.Errorf("events = %+v\nwant %+v", got, want)
	}
	// Event packets write no audio and are not concealed over.
	exp := newExpect(16000).frames(0, 10, 0).frame(20*160, 20*160)
	if i := firstDiff(w.bytes(), exp); i >= 0 {
		t.Fatalf("output differs at %d", i)
	}
	if st := m.Stats(0); st.Duplicates != 0 || st.ConcealedSamples != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPauseAndHold(t *testing.T) {
	a := leg{ch: 0, ssrc: 0xA}
	b := leg{ch: 1, ssrc: 0xB}
	// Control steps first: at equal times they happen before packets.
	steps := []step{
		{arr: ms(300), fn: func(m *Mixer, now time.Time) { m.Track(1).SetHeld(true, now) }},
		{arr: ms(800), fn: func(m *Mixer, now time.Time) { m.Track(1).SetHeld(false, now) }},
		{arr: ms(1000), fn: func(m *Mixer, now time.Time) { m.SetPaused(true, now) }},
		{arr: ms(1200), fn: func(m *Mixer, now time.Time) { m.SetPaused(true, now) }}, // repeated: no-op
		{arr: ms(1500), fn: func(m *Mixer, now time.Time) { m.SetPaused(false, now) }},
		{arr: ms(1700), fn: func(m *Mixer, now time.Time) { m.Track(0).SetHeld(true, now) }}, // open at Close
	}
	steps = append(steps, append(a.packets(0, 100), b.packets(0, 100)...)...)
	m, w := newTestMixer(t, Config{Channels: 2})
	drive(t, m, steps, ms(2000))
	data := w.bytes()
	want0 := newExpect(16000).frames(0, 100, 0)
	copy(want0[8000:12000], silence(4000))
	copy(want0[13600:], silence(2400))
	want1 := newExpect(16000).frames(0, 100, 0)
	copy(want1[2400:6400], silence(4000))
	copy(want1[8000:12000], silence(4000))
	if i := firstDiff(channel(data, 2, 0), want0); i >= 0 {
		t.Errorf("channel 0 differs at %d", i)
	}
	if i := firstDiff(channel(data, 2, 1), want1); i >= 0 {
		t.Errorf("channel 1 differs at %d", i)
	}
	wantSeg := []Segment{
		{Type: SegmentHold, Channel: 1, StartMS: 300, EndMS: 800},
		{Type: SegmentPause, Channel: -1, StartMS: 1000, EndMS: 1500},
		{Type: SegmentHold, Channel: 0, StartMS: 1700, EndMS: 2000},
	}
	if got := m.Segments(); !slices.Equal(got, wantSeg) {
		t.Errorf("segments = %+v\nwant %+v", got, wantSeg)
	}
}

// TestPauseOpenSegment: a pause stays open (-1) until resumed, and packets
// arriving while paused are silence even when placed before the pause.
func TestPauseOpenSegment(t *testing.T) {
	m, w := newTestMixer(t, Config{})
	l := leg{ssrc: 1}
	m.SetPaused(true, at(ms(100)))
	if got := m.Segments(); !slices.Equal(got, []Segment{{Type: SegmentPause, Channel: -1, StartMS: 100, EndMS: -1}}) {
		t.Fatalf("segments = %+v", got)
	}
	// Frame 0 arrives at 150 ms (delayed): its place is before the pause
	// but it arrived during it.
	tr := m.Track(0)
	p := l.packet(0, ms(150)).p
	p.Arrival = at(ms(150))
	tr.HandleRTP(p)
	if err := m.Flush(at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := w.bytes(); !bytes.Equal(got, silence(6400)) {
		t.Errorf("paused output not silent at %d", bytes.IndexFunc(got, func(r rune) bool { return r != 0xFF }))
	}
}

func TestUndecodableCodec(t *testing.T) {
	var raw [2]bytes.Buffer
	opened := 0
	m, w := newTestMixer(t, Config{Channels: 2, Raw: func(ch int) (io.Writer, error) {
		opened++
		return &raw[ch], nil
	}})
	m.Track(1).SetCodecs([]media.Codec{{PT: 18, Name: "G729", ClockRate: 8000}}, nil, nil)
	a := leg{ch: 0, ssrc: 0xA}
	b := leg{ch: 1, ssrc: 0xB, seq0: 500, ts0: 9999}
	steps := a.packets(0, 100)
	for i := range 100 {
		payload := bytes.Repeat([]byte{byte(i)}, 20)
		steps = append(steps, b.at1(i, int64(i)*160, ms(i*20), 18, payload))
	}
	if m.NeedsTranscode() {
		t.Fatal("NeedsTranscode before any payload")
	}
	drive(t, m, steps, ms(2000))
	if !m.NeedsTranscode() {
		t.Error("NeedsTranscode = false")
	}
	if opened != 1 || raw[0].Len() != 0 {
		t.Errorf("opened %d sidecars, channel 0 has %d bytes", opened, raw[0].Len())
	}
	data := w.bytes()
	if c1 := channel(data, 2, 1); !bytes.Equal(c1, silence(16000)) {
		t.Error("undecodable channel is not silent")
	}
	if i := firstDiff(channel(data, 2, 0), newExpect(16000).frames(0, 100, 0)); i >= 0 {
		t.Errorf("channel 0 differs at %d", i)
	}
	rest := raw[1].Bytes()
	for i := range 100 {
		r, next, err := ReadRawRecord(rest)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want := RawRecord{ArrivalMS: uint32(i * 20), Seq: 500 + uint16(i), Timestamp: 9999 + uint32(i*160), PayloadType: 18}
		if r.ArrivalMS != want.ArrivalMS || r.Seq != want.Seq || r.Timestamp != want.Timestamp ||
			r.PayloadType != 18 || !bytes.Equal(r.Payload, bytes.Repeat([]byte{byte(i)}, 20)) {
			t.Fatalf("record %d = %+v", i, r)
		}
		rest = next
	}
	if len(rest) != 0 {
		t.Errorf("%d bytes after the last record", len(rest))
	}
	if st := m.Stats(1); st.Codec != "G729" || st.Packets != 100 || st.LostPackets != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestUndecodableWithoutSidecar(t *testing.T) {
	m, w := newTestMixer(t, Config{})
	l := leg{ssrc: 1}
	drive(t, m, []step{l.at1(0, 0, 0, 96, []byte{1, 2, 3})}, ms(100))
	if !m.NeedsTranscode() || !bytes.Equal(w.bytes(), silence(800)) {
		t.Errorf("needs transcode %v, output %x", m.NeedsTranscode(), w.bytes())
	}
}

func TestRawSidecarError(t *testing.T) {
	boom := errors.New("disk full")
	m, _ := newTestMixer(t, Config{Raw: func(int) (io.Writer, error) { return nil, boom }})
	l := leg{ssrc: 1}
	for i := range 10 {
		s := l.at1(i, int64(i)*160, ms(i*20), 18, []byte{1})
		s.p.Arrival = at(s.arr)
		m.Track(0).HandleRTP(s.p)
	}
	err := m.Flush(at(time.Second))
	if !errors.Is(err, ErrRaw) || !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want ErrRaw wrapping the cause", err)
	}
	s := l.at1(10, 1600, ms(1000), 18, []byte{1})
	s.p.Arrival = at(s.arr)
	m.Track(0).HandleRTP(s.p)
	if err := m.Flush(at(2 * time.Second)); err != nil {
		t.Errorf("second Flush = %v: the failed sidecar is reported once", err)
	}
}

func TestFlushOneWritePerCall(t *testing.T) {
	m, w := newTestMixer(t, Config{Channels: 2, Format: FormatPCM16})
	a, b := leg{ch: 0, ssrc: 1}, leg{ch: 1, ssrc: 2}
	steps := append(a.packets(0, 150), b.packets(0, 150)...)
	slices.SortStableFunc(steps, func(x, y step) int { return int(x.arr - y.arr) })
	k := 0
	for sec := 1; sec <= 3; sec++ {
		for ; k < len(steps) && steps[k].arr < time.Duration(sec)*time.Second; k++ {
			p := *steps[k].p
			p.Arrival = at(steps[k].arr)
			m.Track(steps[k].ch).HandleRTP(&p)
		}
		if err := m.Flush(at(time.Duration(sec) * time.Second)); err != nil {
			t.Fatal(err)
		}
		if writes, syncs := w.counts(); writes != sec || syncs != sec {
			t.Fatalf("after flush %d: %d writes, %d syncs", sec, writes, syncs)
		}
	}
	// Nothing new to write: no Write, no Sync.
	if err := m.Flush(at(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if writes, _ := w.counts(); writes != 3 {
		t.Errorf("empty flush wrote")
	}
	want := []int{6400 * 4, 8000 * 4, 8000 * 4}
	if !slices.Equal(w.sizes, want) {
		t.Errorf("write sizes = %v, want %v", w.sizes, want)
	}
}

func TestWriteErrors(t *testing.T) {
	boom := errors.New("io")
	for _, tc := range []struct {
		name string
		w    *fakeWriter
	}{
		{"write", &fakeWriter{writeErr: boom}},
		{"sync", &fakeWriter{syncErr: boom}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Channels: 1, Format: FormatULaw, Start: t0}, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Flush(at(time.Second))
			if !errors.Is(err, ErrWrite) || !errors.Is(err, boom) {
				t.Fatalf("Flush = %v", err)
			}
			if m.Frames() != 6400 {
				t.Errorf("Frames = %d", m.Frames())
			}
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	m, w := newTestMixer(t, Config{Channels: 2})
	l := leg{ssrc: 1}
	drive(t, m, l.packets(0, 10), ms(500))
	frames := m.Frames()
	writes, _ := w.counts()
	if frames != 4000 {
		t.Errorf("Frames = %d, want 4000", frames)
	}
	for range 2 {
		if err := m.Close(at(ms(900))); err != nil {
			t.Fatal(err)
		}
		if err := m.Flush(at(ms(900))); err != nil {
			t.Fatal(err)
		}
	}
	p := l.packet(30, 0).p
	p.Arrival = at(ms(600))
	m.Track(0).HandleRTP(p)
	m.Track(0).HandleSenderReport(&media.SenderReport{SSRC: 1})
	if w2, _ := w.counts(); w2 != writes || m.Frames() != frames || m.Stats(0).Packets != 10 {
		t.Errorf("after Close: writes %d->%d, frames %d->%d, packets %d", writes, w2, frames, m.Frames(), m.Stats(0).Packets)
	}
	// Close after a failed close returns the same error.
	boom := errors.New("boom")
	m2, _ := New(Config{Channels: 1, Format: FormatULaw, Start: t0}, &fakeWriter{writeErr: boom})
	e1, e2 := m2.Close(at(time.Second)), m2.Close(at(2*time.Second))
	if !errors.Is(e1, boom) || e1 != e2 {
		t.Errorf("Close errors %v, %v", e1, e2)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{Channels: 2, Format: FormatALaw, Start: t0}
	tests := []struct {
		name string
		mod  func(c *Config)
		w    FrameWriter
	}{
		{"nil writer", func(c *Config) {}, nil},
		{"no channels", func(c *Config) { c.Channels = 0 }, &fakeWriter{}},
		{"too many channels", func(c *Config) { c.Channels = MaxChannels + 1 }, &fakeWriter{}},
		{"format", func(c *Config) { c.Format = 3 }, &fakeWriter{}},
		{"sample rate", func(c *Config) { c.SampleRate = 16000 }, &fakeWriter{}},
		{"zero start", func(c *Config) { c.Start = time.Time{} }, &fakeWriter{}},
		{"window >= max ahead", func(c *Config) { c.ReorderWindow = 5 * time.Second }, &fakeWriter{}},
		{"negative window", func(c *Config) { c.ReorderWindow = -1 }, &fakeWriter{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			if _, err := New(c, tc.w); !errors.Is(err, ErrConfig) {
				t.Errorf("New = %v, want ErrConfig", err)
			}
		})
	}
	m, err := New(ok, &fakeWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Track(-1) != nil || m.Track(2) != nil || m.Track(1) == nil {
		t.Error("Track range")
	}
	if m.cfg.ReorderWindow != DefaultReorderWindow || m.cfg.MaxAhead != DefaultMaxAhead || m.cfg.SampleRate != 8000 {
		t.Errorf("defaults not applied: %+v", m.cfg)
	}
}

// TestSilenceBytes: gaps are filled with each format's silence, never a
// full-scale byte.
func TestSilenceBytes(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		want []byte
	}{
		{FormatULaw, []byte{0xFF}},
		{FormatALaw, []byte{0xD5}},
		{FormatPCM16, []byte{0, 0}},
	} {
		m, w := newTestMixer(t, Config{Format: tc.f, Channels: 2})
		if err := m.Close(at(ms(10))); err != nil {
			t.Fatal(err)
		}
		if want := bytes.Repeat(tc.want, 160); !bytes.Equal(w.bytes(), want) {
			t.Errorf("%s: silence = %x", tc.f, w.bytes()[:4])
		}
	}
}

// TestConcurrent runs two receive goroutines, an RTCP goroutine and a
// flusher at once (meaningful with -race). The flush due at the middle of
// the streams waits until both receivers are there, and they wait for it:
// at least one flush runs between packets of both channels for certain,
// whatever the scheduler does with the rest.
func TestConcurrent(t *testing.T) {
	m, w := newTestMixer(t, Config{Channels: 2})
	const n = 500
	const midFlush = 50 // the flush at 5 s, the time of packet n/2
	var atMid sync.WaitGroup
	atMid.Add(2)
	flushedMid := make(chan struct{})
	done := make(chan struct{})
	for ch := range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			l := leg{ch: ch, ssrc: uint32(ch + 1)}
			for i := range n {
				if i == n/2 {
					atMid.Done()
					<-flushedMid
				}
				s := l.packet(i, 0)
				s.p.Arrival = at(s.arr)
				m.Track(ch).HandleRTP(s.p)
				if i%100 == 0 {
					m.Track(ch).HandleSenderReport(&media.SenderReport{
						SSRC: l.ssrc, NTPTime: media.TimeToNTP(at(s.arr)), RTPTime: s.p.Timestamp, Arrival: at(s.arr)})
				}
			}
		}()
	}
	midPackets := make([]uint64, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		for i := range 100 {
			if i == midFlush {
				atMid.Wait()
			}
			if err := m.Flush(at(ms(i * 100))); err != nil {
				t.Error(err)
			}
			if i == midFlush {
				midPackets[0], midPackets[1] = m.Stats(0).Packets, m.Stats(1).Packets
				close(flushedMid)
			}
			_ = m.Stats(i % 2)
			_ = m.Events()
			_ = m.Segments()
		}
	}()
	for range 3 {
		<-done
	}
	if err := m.Close(at(ms(n * 20))); err != nil {
		t.Fatal(err)
	}
	for ch := range 2 {
		if st := m.Stats(ch); st.Packets != n {
			t.Errorf("channel %d: %d packets", ch, st.Packets)
		}
		if midPackets[ch] != n/2 {
			t.Errorf("channel %d: %d packets at the middle flush, want %d", ch, midPackets[ch], n/2)
		}
	}
	if m.Frames() < n*160 || int64(len(w.bytes())) != 2*m.Frames() {
		t.Errorf("frames %d, bytes %d", m.Frames(), len(w.bytes()))
	}
}

func TestHandleRTPAllocs(t *testing.T) {
	m, _ := newTestMixer(t, Config{Channels: 2})
	l := leg{ssrc: 1}
	s := l.packet(0, 0)
	p := *s.p
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		p.Seq = uint16(i)
		p.Timestamp = uint32(i * 160)
		p.Arrival = at(time.Duration(i) * 20 * time.Millisecond)
		m.Track(0).HandleRTP(&p)
		if i%50 == 49 {
			_ = m.Flush(p.Arrival)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("HandleRTP+Flush allocate %v times per packet", allocs)
	}
}

// TestPartlyLatePacket: a packet straddling the written position keeps its
// unwritten part, replacing that part of its concealment.
func TestPartlyLatePacket(t *testing.T) {
	l := leg{ssrc: 1, arr0: ms(10)} // anchored at sample 80: packets straddle flush points
	steps := l.packets(0, 50)
	steps[39].arr += ms(500) // arrives after the flush at 1 s wrote up to 6400
	m, w := newTestMixer(t, Config{})
	drive(t, m, steps, ms(1010))
	want := newExpect(8080).frames(0, 50, 80)
	for i := int64(0); i < 80; i++ {
		want[6320+i] = halfULaw(want[6160+i])
	}
	if i := firstDiff(w.bytes(), want); i >= 0 {
		t.Fatalf("differs at %d", i)
	}
	if st := m.Stats(0); st.ConcealedSamples != 80 || st.Late != 0 || st.Reordered != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestFlushBehind: when nobody flushes for longer than MaxAhead, packets
// that do not fit the ring are dropped as late and the next Flush writes
// silence for them.
func TestFlushBehind(t *testing.T) {
	m, w := newTestMixer(t, Config{})
	l := leg{ssrc: 1}
	for _, s := range l.packets(0, 300) { // 6 s, no flush
		s.p.Arrival = at(s.arr)
		m.Track(0).HandleRTP(s.p)
	}
	if err := m.Close(at(6 * time.Second)); err != nil {
		t.Fatal(err)
	}
	st := m.Stats(0)
	got := w.bytes()
	if len(got) != 48000 || st.Late == 0 || st.Late+200 < 300 {
		t.Fatalf("%d frames, stats %+v", len(got), st)
	}
	// What fitted is in place.
	if i := firstDiff(got[:32000], newExpect(32000).frames(0, 200, 0)); i >= 0 {
		t.Errorf("differs at %d", i)
	}
}

// TestRingWrapAllFormats runs 17 s of 90-sample packets (not a divisor of
// the ring) with one loss through every storage format.
func TestRingWrapAllFormats(t *testing.T) {
	const n, count, lost = 90, 1500, 700
	for _, f := range []Format{FormatULaw, FormatALaw, FormatPCM16} {
		t.Run(f.String(), func(t *testing.T) {
			l := leg{ssrc: 1, seq0: 65000, frame: n}
			var steps []step
			for i := range count {
				if i == lost {
					continue
				}
				s := l.packet(i, 0)
				s.arr = time.Duration(i) * n * time.Second / 8000
				steps = append(steps, s)
			}
			m, w := newTestMixer(t, Config{Format: f})
			drive(t, m, steps, time.Duration(count)*n*time.Second/8000)
			bps := f.bytesPerSample()
			src := ramp(0, count*n)
			want := make([]byte, len(src)*bps)
			decodeInto(want, src, kindPCMU, f)
			for i := range n {
				o := (lost*n + i) * bps
				attenuate(want[o:o+bps], want[o-n*bps:o-n*bps+bps], f)
			}
			if i := firstDiff(w.bytes(), want); i >= 0 {
				t.Fatalf("differs at byte %d of %d", i, len(want))
			}
			if st := m.Stats(0); st.ConcealedSamples != n || st.LostPackets != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// TestAttenuate pins the concealment gain: half amplitude in every format.
func TestAttenuate(t *testing.T) {
	for _, tc := range []struct {
		f       Format
		in, out []byte
	}{
		{FormatULaw, []byte{g711.EncodeULaw(8000)}, []byte{g711.EncodeULaw(g711.DecodeULaw(g711.EncodeULaw(8000)) / 2)}},
		{FormatALaw, []byte{g711.EncodeALaw(-8000)}, []byte{g711.EncodeALaw(g711.DecodeALaw(g711.EncodeALaw(-8000)) / 2)}},
		{FormatPCM16, []byte{0x40, 0x1f}, []byte{0xa0, 0x0f}}, // 8000 -> 4000
	} {
		got := make([]byte, len(tc.in))
		attenuate(got, tc.in, tc.f)
		if !bytes.Equal(got, tc.out) {
			t.Errorf("%s: attenuate(%x) = %x, want %x", tc.f, tc.in, got, tc.out)
		}
	}
}

// TestRawBufferBound: undecodable payloads beyond the per-flush buffer
// bound are dropped, not buffered without limit.
func TestRawBufferBound(t *testing.T) {
	var raw bytes.Buffer
	m, _ := newTestMixer(t, Config{Raw: func(int) (io.Writer, error) { return &raw, nil }})
	l := leg{ssrc: 1}
	big := make([]byte, 60000)
	for i := range 20 {
		s := l.at1(i, int64(i)*160, ms(i*20), 96, big)
		s.p.Arrival = at(s.arr)
		m.Track(0).HandleRTP(s.p)
	}
	if err := m.Close(at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if want := 17 * (rawHeaderLen + 60000); raw.Len() != want {
		t.Errorf("sidecar has %d bytes, want %d", raw.Len(), want)
	}
}

// Arrival alignment follows the least-delayed packet of a stream's first
// second, not its first packet: packets held up by a busy receiver and
// then handed over in a burst no longer move the whole channel late;
// packets that are only late (jitter) move nothing.
func TestArrivalAnchorFollowsEarliestPacket(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extra   func(i int) time.Duration // extra delay of frame i
		wantLag int                       // samples channel 1 lags channel 0
	}{
		{"receiver busy 100 ms at the first packet, then a burst", func(i int) time.Duration {
			return max(0, ms(100)-time.Duration(i)*ms(20))
		}, 4000},
		{"first three packets late, then on time", func(i int) time.Duration {
			return max(0, ms(60)-time.Duration(i)*ms(20))
		}, 4000},
		{"jitter after an on-time first packet", func(i int) time.Duration { return time.Duration(i%5) * ms(7) }, 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := leg{ch: 0, ssrc: 0xA}
			b := leg{ch: 1, ssrc: 0xB, seq0: 900, ts0: 77_000, arr0: ms(500)}
			steps := a.packets(0, 150)
			for i := range 125 {
				steps = append(steps, b.packet(i, tc.extra(i)))
			}
			m, w := newTestMixer(t, Config{Channels: 2, ReorderWindow: 200 * time.Millisecond})
			drive(t, m, steps, ms(3600))
			data := w.bytes()
			c0, c1 := channel(data, 2, 0), channel(data, 2, 1)
			got := lag(c0, c1, 8000, 16000, 3000, 5000)
			if d := got - tc.wantLag; d < -8 || d > 8 {
				t.Errorf("channel 1 lags channel 0 by %d samples, want %d ±8", got, tc.wantLag)
			}
		})
	}
}
