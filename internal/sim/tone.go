package sim

// The Media Server's consent tone (seed 001, "Applying Audio Tones During
// the Recording"):
//
//   - The request's Extensions audiosrc / tonesilenceduration ask for it;
//     DialMedia.Consent.AudioSrc / ToneSilence stand for the "IVR Profile"
//     service parameters, used per parameter when the request carries none.
//   - audiosrc empty or not defined, or a bad URI: no tone (logged, no other
//     notification). tonesilenceduration is mandatory: missing or malformed,
//     no tone.
//   - Who hears it: [conference] record_recorddnhearstone /
//     record_otherdnhearstone. What is recorded: record_chan1source
//     (recorddnsays | otherdnhears) for the recording's channel 1 (the
//     recorded DN's MSR leg) and record_chan2source (otherdnsays |
//     recorddnhears) for channel 2 (the other party's leg). A channel that
//     records what a party hears carries the tone if that party hears it.
//   - Paused recording: no tone. On resume the tone is applied again.
//
// Interpretation (the seed leaves these open, the simulator fixes them):
//
//   - audiosrc "file:PATH" / "file://PATH" plays that 8 kHz WAV file (its
//     first channel); a file that cannot be read is a bad URI. Any other
//     non-empty value (http://..., a bare name) plays the built-in consent
//     signal: ConsentToneHz at ConsentToneAmp for DefaultConsentToneLength.
//     The simulator fetches nothing over the network.
//   - tonesilenceduration "S" is the silence in ms between two plays (the
//     seed's "length of time between playing the audio tone"): the tone is
//     played at once when the recording starts, then again S ms after each
//     play ends. The simulator also accepts "T,S": the tone lasts T ms (the
//     audio looped or cut to T ms), then S ms of silence. S may be 0 (a
//     continuous tone); T must be positive.
//   - Pause: the cadence stops while paused (a tone in progress is cut
//     off, a tone due during the pause is not played then) and restarts
//     on resume with a full tone ("when the recording is resumed, the audio
//     tone is applied"): a due tone is deferred to the resume, never played
//     into the pause.
//   - Defaults: record_chan1source = recorddnsays, record_chan2source =
//     otherdnsays (each party's own speech, so the tone is not recorded
//     unless configured), record_recorddnhearstone and
//     record_otherdnhearstone = true (all-party consent). The seed states no
//     defaults; these are the first value it lists and its "all parties get
//     the consent" setting.

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
)

// The built-in consent signal.
const (
	ConsentToneHz            = 1400.0
	ConsentToneAmp           = 0.3
	DefaultConsentToneLength = time.Second
)

// Values of record_chan1source and record_chan2source.
const (
	Chan1RecordDNSays  = "recorddnsays"  // channel 1: what the recorded DN says (default)
	Chan1OtherDNHears  = "otherdnhears"  // channel 1: what the other DN hears
	Chan2OtherDNSays   = "otherdnsays"   // channel 2: what the other DN says (default)
	Chan2RecordDNHears = "recorddnhears" // channel 2: what the recorded DN hears
)

// ConsentOptions are the Media Server's consent-tone settings (seed 001's
// [conference] options) and its default tone parameters. The zero value
// is the seed's defaults with no default tone.
type ConsentOptions struct {
	// Chan1Source is record_chan1source: Chan1RecordDNSays ("" too) or
	// Chan1OtherDNHears.
	Chan1Source string `yaml:"record_chan1source"`
	// Chan2Source is record_chan2source: Chan2OtherDNSays ("" too) or
	// Chan2RecordDNHears.
	Chan2Source string `yaml:"record_chan2source"`
	// RecordDNHearsTone is record_recorddnhearstone (nil: true).
	RecordDNHearsTone *bool `yaml:"record_recorddnhearstone"`
	// OtherDNHearsTone is record_otherdnhearstone (nil: true).
	OtherDNHearsTone *bool `yaml:"record_otherdnhearstone"`
	// AudioSrc and ToneSilence are used when a recording's request carries
	// no audiosrc / tonesilenceduration (each on its own), like the IVR
	// Profile's service parameters.
	AudioSrc    string `yaml:"audiosrc"`
	ToneSilence string `yaml:"tonesilenceduration"`
}

// Validate checks the channel source values.
func (o ConsentOptions) Validate() error {
	switch strings.ToLower(o.Chan1Source) {
	case "", Chan1RecordDNSays, Chan1OtherDNHears:
	default:
		return fmt.Errorf("%w: record_chan1source %q (want %s or %s)", ErrConfig, o.Chan1Source, Chan1RecordDNSays, Chan1OtherDNHears)
	}
	switch strings.ToLower(o.Chan2Source) {
	case "", Chan2OtherDNSays, Chan2RecordDNHears:
	default:
		return fmt.Errorf("%w: record_chan2source %q (want %s or %s)", ErrConfig, o.Chan2Source, Chan2OtherDNSays, Chan2RecordDNHears)
	}
	return nil
}

// Recorded reports whether the tone lands in channel 1 (the recorded DN's
// leg) and channel 2 (the other party's leg) of the recording.
func (o ConsentOptions) Recorded() (chan1, chan2 bool) {
	hears := func(b *bool) bool { return b == nil || *b }
	chan1 = strings.EqualFold(o.Chan1Source, Chan1OtherDNHears) && hears(o.OtherDNHearsTone)
	chan2 = strings.EqualFold(o.Chan2Source, Chan2RecordDNHears) && hears(o.RecordDNHearsTone)
	return chan1, chan2
}

// ParseToneSilence parses tonesilenceduration: "S" (silence ms between
// plays; tone is 0, meaning the audio's own length) or "T,S" (tone ms,
// silence ms). S >= 0, T > 0.
func ParseToneSilence(s string) (tone, silence time.Duration, err error) {
	s = strings.TrimSpace(s)
	ts, ss, pair := strings.Cut(s, ",")
	num := func(v string) (int64, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: tonesilenceduration %q", ErrRecording, s)
		}
		return n, nil
	}
	if !pair {
		n, err := num(s)
		return 0, time.Duration(n) * time.Millisecond, err
	}
	t, err := num(ts)
	if err != nil {
		return 0, 0, err
	}
	if t == 0 {
		return 0, 0, fmt.Errorf("%w: tonesilenceduration %q: tone length 0", ErrRecording, s)
	}
	n, err := num(ss)
	if err != nil {
		return 0, 0, err
	}
	return time.Duration(t) * time.Millisecond, time.Duration(n) * time.Millisecond, nil
}

// consentPlan is the consent tone of one recording.
type consentPlan struct {
	signal       []int16 // one play, 8 kHz
	silence      int     // samples between plays
	builtin      bool    // signal is the ConsentToneHz sine
	chan1, chan2 bool    // mixed into channel 1 / channel 2
}

// newConsentPlan resolves the tone parameters of rec with the defaults of
// o. It returns nil, nil when no tone is asked for, and nil and the reason
// when the parameters make the tone impossible (no tone is applied).
func newConsentPlan(o ConsentOptions, rec Recording) (*consentPlan, error) {
	src := firstSet(rec.AudioSrc, o.AudioSrc)
	if src == "" {
		return nil, nil
	}
	ts := firstSet(rec.ToneSilence, o.ToneSilence)
	if ts == "" {
		return nil, fmt.Errorf("%w: audiosrc without tonesilenceduration", ErrRecording)
	}
	toneLen, silence, err := ParseToneSilence(ts)
	if err != nil {
		return nil, err
	}
	p := &consentPlan{silence: int(silence * dial.SampleRate / time.Second)}
	p.chan1, p.chan2 = o.Recorded()
	n := int(toneLen * dial.SampleRate / time.Second)
	path, isFile, err := filePath(src)
	if err != nil {
		return nil, err
	}
	if !isFile {
		if n == 0 {
			n = int(DefaultConsentToneLength * dial.SampleRate / time.Second)
		}
		p.signal, p.builtin = sine(ConsentToneHz, ConsentToneAmp, n), true
		return p, nil
	}
	f, err := wav.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: audiosrc %q: %w", ErrRecording, src, err)
	}
	pcm := f.Channel(0)
	if f.SampleRate != dial.SampleRate || len(pcm) == 0 {
		return nil, fmt.Errorf("%w: audiosrc %q: want 8 kHz audio, got %d Hz, %d samples", ErrRecording, src, f.SampleRate, len(pcm))
	}
	if n == 0 {
		n = len(pcm)
	}
	p.signal = make([]int16, n)
	for i := range p.signal {
		p.signal[i] = pcm[i%len(pcm)]
	}
	return p, nil
}

// filePath reports whether audiosrc names a local file (file: URI) and
// which.
func filePath(src string) (path string, isFile bool, err error) {
	u, err := url.Parse(src)
	if err != nil {
		return "", false, fmt.Errorf("%w: audiosrc %q: %w", ErrRecording, src, err)
	}
	if !strings.EqualFold(u.Scheme, "file") {
		return "", false, nil
	}
	switch {
	case u.Opaque != "": // file:relative/path
		path = u.Opaque
	case u.Host != "" && u.Host != "localhost": // file://relative/path
		path = u.Host + u.Path
	default:
		path = u.Path
	}
	if path == "" {
		return "", false, fmt.Errorf("%w: audiosrc %q: no path", ErrRecording, src)
	}
	return path, true, nil
}

func firstSet(v ...string) string {
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func sine(freq, amp float64, n int) []int16 {
	out := make([]int16, n)
	w := 2 * math.Pi * freq / dial.SampleRate
	for i := range out {
		out[i] = int16(math.Round(amp * 32767 * math.Sin(w*float64(i))))
	}
	return out
}

// avoidConsentTone moves a party's tone an octave down when it is within
// 100 Hz of the built-in consent tone, so the two stay distinguishable.
func avoidConsentTone(f float64) float64 {
	if math.Abs(f-ConsentToneHz) < 100 {
		return f / 2
	}
	return f
}

// consentClock is the tone cadence of one channel of a recording. It is
// shared by the channel's successive sources (a re-INVITE with new media
// replaces the other party's source, not the cadence).
type consentClock struct {
	plan   *consentPlan
	paused *atomic.Bool   // the session's pause state
	pauses *atomic.Uint64 // counts Pause(true): a pause between two reads still restarts the cadence

	mu  sync.Mutex
	pos int // position in the tone+silence period, in samples
	gen uint64
	was bool // the previous read was paused
}

// mix adds the tone due over the next len(samples) samples to samples,
// or nothing while paused (the cadence waits and restarts on resume).
func (c *consentClock) mix(samples []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused.Load() {
		c.was = true
		return
	}
	if g := c.pauses.Load(); c.was || g != c.gen {
		c.pos, c.was, c.gen = 0, false, g
	}
	sig := c.plan.signal
	period := len(sig) + c.plan.silence
	for i := range samples {
		if c.pos < len(sig) {
			v := int32(samples[i]) + int32(sig[c.pos])
			samples[i] = int16(max(math.MinInt16, min(math.MaxInt16, v)))
		}
		if c.pos++; c.pos >= period {
			c.pos = 0
		}
	}
}

// consentSource is a party's audio with the consent tone mixed in.
type consentSource struct {
	voice dial.Source
	clock *consentClock
}

func (s *consentSource) Read(samples []int16) {
	s.voice.Read(samples)
	s.clock.mix(samples)
}

// withConsent wraps src with clock's tone (src itself when clock is nil).
func withConsent(src dial.Source, clock *consentClock) dial.Source {
	if clock == nil {
		return src
	}
	return &consentSource{voice: src, clock: clock}
}
