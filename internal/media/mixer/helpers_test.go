package mixer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/g711"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// t0 is the recording start of every test.
var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// fakeWriter records what the mixer writes.
type fakeWriter struct {
	mu       sync.Mutex
	data     []byte
	writes   int
	syncs    int
	sizes    []int
	writeErr error
	syncErr  error
}

func (w *fakeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	w.sizes = append(w.sizes, len(p))
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	w.data = append(w.data, p...)
	return len(p), nil
}

func (w *fakeWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncs++
	return w.syncErr
}

func (w *fakeWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.data)
}

func (w *fakeWriter) counts() (writes, syncs int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.syncs
}

// newTestMixer builds a mixer with test defaults (1 channel µ-law, Start t0).
func newTestMixer(t testing.TB, cfg Config) (*Mixer, *fakeWriter) {
	t.Helper()
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Format == 0 {
		cfg.Format = FormatULaw
	}
	if cfg.Start.IsZero() {
		cfg.Start = t0
	}
	w := &fakeWriter{}
	m, err := New(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return m, w
}

// ramp is the test content: sample s of a sender is rampByte(s), a hash of
// s (not periodic, so alignment can be measured), never 0xFF (µ-law
// silence).
func rampByte(s int64) byte {
	b := byte((uint64(s) * 0x9E3779B97F4A7C15) >> 56)
	if b == 0xFF {
		b = 0xFE
	}
	return b
}

func ramp(from int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = rampByte(from + int64(i))
	}
	return b
}

// tone returns n µ-law samples of a sine of freq Hz starting at sample s.
func tone(freq float64, s int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		v := 8000 * math.Sin(2*math.Pi*freq*float64(s+int64(i))/8000)
		b[i] = g711.EncodeULaw(int16(v))
	}
	return b
}

// channel extracts one channel of interleaved 1-byte samples.
func channel(data []byte, chans, ch int) []byte {
	out := make([]byte, 0, len(data)/chans)
	for i := ch; i < len(data); i += chans {
		out = append(out, data[i])
	}
	return out
}

func silence(n int) []byte { return bytes.Repeat([]byte{0xFF}, n) }

// halfULaw is the expected concealment of one µ-law sample.
func halfULaw(b byte) byte { return g711.EncodeULaw(g711.DecodeULaw(b) / 2) }

// step is one thing that happens at time arr after t0.
type step struct {
	arr time.Duration
	ch  int
	p   *media.Packet
	sr  *media.SenderReport
	fn  func(m *Mixer, now time.Time)
}

// drive runs steps in order of arr (stable), flushing at every whole
// second like the recorder, and closes at end. Payloads are handed over in
// a scratch buffer that is scribbled over after each call, as the receiver
// does.
func drive(t testing.TB, m *Mixer, steps []step, end time.Duration) {
	t.Helper()
	slices.SortStableFunc(steps, func(a, b step) int { return int(a.arr - b.arr) })
	next := time.Second
	scratch := make([]byte, 2048)
	flushUntil := func(d time.Duration) {
		for next <= d {
			if err := m.Flush(at(next)); err != nil {
				t.Fatalf("Flush(%v): %v", next, err)
			}
			next += time.Second
		}
	}
	for _, s := range steps {
		flushUntil(s.arr)
		switch {
		case s.p != nil:
			p := *s.p
			p.Arrival = at(s.arr)
			n := copy(scratch, s.p.Payload)
			p.Payload = scratch[:n]
			m.Track(s.ch).HandleRTP(&p)
			for i := range scratch[:n] {
				scratch[i] = 0x5A
			}
		case s.sr != nil:
			sr := *s.sr
			sr.Arrival = at(s.arr)
			m.Track(s.ch).HandleSenderReport(&sr)
		case s.fn != nil:
			s.fn(m, at(s.arr))
		}
	}
	flushUntil(end)
	if err := m.Close(at(end)); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// leg describes an RTP stream for tests.
type leg struct {
	ch    int
	ssrc  uint32
	seq0  uint16
	ts0   uint32
	pt    uint8
	arr0  time.Duration // arrival of frame 0
	frame int           // samples per packet, default 160
	// content returns the payload of the packet starting at sender sample
	// s; default ramp.
	content func(s int64, n int) []byte
}

// packet returns the step of frame i of l (seq and timestamp i frames on),
// arriving at arr0 + i*20ms + extra.
func (l leg) packet(i int, extra time.Duration) step {
	n := l.frame
	if n == 0 {
		n = 160
	}
	content := l.content
	if content == nil {
		content = ramp
	}
	s := int64(i) * int64(n)
	return step{
		arr: l.arr0 + time.Duration(i)*20*time.Millisecond + extra,
		ch:  l.ch,
		p: &media.Packet{
			SSRC: l.ssrc, Seq: l.seq0 + uint16(i), Timestamp: l.ts0 + uint32(s),
			PayloadType: l.pt, Payload: content(s, n),
		},
	}
}

func (l leg) packets(from, to int) []step {
	var out []step
	for i := from; i < to; i++ {
		out = append(out, l.packet(i, 0))
	}
	return out
}

// golden compares got with testdata/name (hex dump), rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	dump := hex.Dump(got)
	if *update {
		if err := os.WriteFile(path, []byte(dump), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s missing: run go test -update", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != dump {
		t.Errorf("%s differs (run with -update after checking):\n got:\n%s", path, firstLines(dump, 8))
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	return strings.Join(l[:min(n, len(l))], "\n")
}

// firstDiff returns the first index where a and b differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// lag returns the shift L in [lo, hi] for which b[p+L] == a[p] holds for
// the most non-silent samples p of a in [from, to).
func lag(a, b []byte, from, to, lo, hi int) int {
	best, bestL := -1, 0
	for L := lo; L <= hi; L++ {
		n := 0
		for p := from; p < to; p++ {
			if q := p + L; q >= 0 && q < len(b) && a[p] != 0xFF && a[p] == b[q] {
				n++
			}
		}
		if n > best {
			best, bestL = n, L
		}
	}
	return bestL
}

// at1 returns a step of l with sequence index seqIdx, sender sample s
// (timestamp ts0+s), arriving at arr, with the given payload type and
// payload (nil = ramp content of 160 samples at s).
func (l leg) at1(seqIdx int, s int64, arr time.Duration, pt uint8, payload []byte) step {
	if payload == nil {
		payload = ramp(s, 160)
	}
	return step{arr: arr, ch: l.ch, p: &media.Packet{
		SSRC: l.ssrc, Seq: l.seq0 + uint16(seqIdx), Timestamp: l.ts0 + uint32(s),
		PayloadType: pt, Payload: payload,
	}}
}

// expect is an expected single channel of µ-law output.
type expect []byte

func newExpect(n int) expect { return expect(silence(n)) }

// frame puts the ramp content of sender sample s at pos (160 samples).
func (e expect) frame(pos, s int64) expect {
	copy(e[pos:], ramp(s, 160))
	return e
}

// frames puts frames [from, to) at their own positions plus shift.
func (e expect) frames(from, to int, shift int64) expect {
	for i := from; i < to; i++ {
		e.frame(int64(i)*160+shift, int64(i)*160)
	}
	return e
}

// conceal puts the half-amplitude copy of the 160 samples at src at dst.
func (e expect) conceal(dst, src int64) expect {
	for i := range int64(160) {
		e[dst+i] = halfULaw(e[src+i])
	}
	return e
}
