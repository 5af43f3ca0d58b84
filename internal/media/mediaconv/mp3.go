package mediaconv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MP3SampleRate is the sample rate of the MP3s EncodeMP3 writes (MPEG 2.5
// Layer III), except MP3WideRate (MPEG 2 Layer III) for a wideband
// recording given 32 kbit/s per channel (see MP3Rate).
const (
	MP3SampleRate = 8000
	MP3WideRate   = 16000
)

// MP3Rate is the sample rate of the MP3 of a recording at sourceRate made
// at kbps for outChannels: 16 kHz when the recording is wideband and its
// one channel gets 32 kbit/s (at less per channel, LAME's 16 kHz output
// is worse to listen to than 8 kHz: it spends the bits on the upper
// band), else 8 kHz.
func MP3Rate(sourceRate, outChannels, kbps int) int {
	if sourceRate >= MP3WideRate && kbps/max(outChannels, 1) >= 32 {
		return MP3WideRate
	}
	return MP3SampleRate
}

// Encoder encodes MP3 with an external LAME binary (Debian package
// "lame"), so that the module builds without cgo. The zero value looks up
// "lame" on PATH and has no time limit beyond the context's.
type Encoder struct {
	// Path is the lame binary; "" looks up "lame" on PATH.
	Path string
	// Timeout bounds one encode (0 = no limit but the context's): the
	// child is killed when it passes.
	Timeout time.Duration
}

// waitDelay bounds how long EncodeMP3 waits for the child's pipes after
// killing it.
const waitDelay = 5 * time.Second

// stderrTail is how much of the encoder's standard error an error keeps.
const stderrTail = 2 << 10

// MP3Bitrate checks kbps for an output of outChannels channels (1 or 2)
// and returns the bitrate to use: 8 (the default, 0) and 16 or 32 kbit/s
// for mono; 16 (the default, 0) or 32 kbit/s for stereo. Anything else
// returns ErrBitrate.
func MP3Bitrate(outChannels, kbps int) (int, error) {
	switch {
	case outChannels == 1 && (kbps == 8 || kbps == 16 || kbps == 32),
		outChannels == 2 && (kbps == 16 || kbps == 32):
		return kbps, nil
	case kbps == 0 && outChannels == 1:
		return 8, nil
	case kbps == 0 && outChannels == 2:
		return 16, nil
	}
	mode := "mono"
	if outChannels == 2 {
		mode = "stereo"
	}
	return 0, fmt.Errorf("%w: %d kbit/s %s (valid: 8, 16 or 32 mono; 16 or 32 stereo; 0 = default)", ErrBitrate, kbps, mode)
}

// MP3Bitrate returns the bitrate the MP3 of channel (-1 = all) of s is
// made at for kbps (0 = the default), or the error Cache.MP3 returns.
func (s *Source) MP3Bitrate(channel, kbps int) (int, error) {
	outCh, err := mp3Channels(s, channel)
	if err != nil {
		return 0, err
	}
	return MP3Bitrate(outCh, kbps)
}

// mp3Channels returns the channel count of the MP3 of channel.
func mp3Channels(s *Source, channel int) (int, error) {
	if err := s.checkChannel(channel); err != nil {
		return 0, err
	}
	switch {
	case channel >= 0 || s.h.channels == 1:
		return 1, nil
	case s.h.channels == 2:
		return 2, nil
	}
	return 0, fmt.Errorf("%w: an MP3 holds at most 2 channels, the recording has %d: choose one", ErrChannel, s.h.channels)
}

// lookPath returns the lame binary to run, or an error wrapping
// ErrNoEncoder.
func (e Encoder) lookPath() (string, error) {
	name := e.Path
	if name == "" {
		name = "lame"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoEncoder, err)
	}
	return p, nil
}

// EncodeMP3 writes the MP3 of channel (-1 = all channels) of s to w: CBR
// at kbps (see MP3Bitrate; 0 = 8 kbit/s for mono output, 16 for stereo),
// MPEG 2.5 Layer III at 8 kHz (MPEG 2 at 16 kHz for a wideband recording,
// see MP3Rate), mono for one channel or a mono recording,
// joint stereo for both channels of a stereo one. A recording of more than
// two channels must name one (ErrChannel).
//
// The samples go to lame as raw PCM16 on its standard input. Argument
// errors, ErrNoEncoder and ErrBitrate are returned before anything is
// written to w. The child is killed when ctx is done or Timeout passes
// (the error then wraps ctx's error, context.DeadlineExceeded for the
// Timeout); a failing encoder returns ErrEncoder with the end of its
// standard error. On any error w may hold a partial MP3.
//
// LAME starts the stream with its encoder delay and ends it with a flush
// frame, so the MP3 plays about 1152 samples (144 ms at 8 kHz) longer
// than the recording, rounded up to a 576-sample frame.
func (e Encoder) EncodeMP3(ctx context.Context, s *Source, channel, kbps int, w io.Writer) error {
	outCh, err := mp3Channels(s, channel)
	if err != nil {
		return err
	}
	if kbps, err = MP3Bitrate(outCh, kbps); err != nil {
		return err
	}
	bin, err := e.lookPath()
	if err != nil {
		return err
	}
	pcm, err := s.PCM(channel)
	if err != nil {
		return err
	}
	if _, err := pcm.Seek(PCMHeaderLen, io.SeekStart); err != nil {
		return err
	}
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	mode := "m"
	if outCh == 2 {
		mode = "j"
	}
	args := []string{
		"-r", "-s", khz(s.h.sampleRate), "--bitwidth", "16", "--signed", "--little-endian",
		"-m", mode, "-b", strconv.Itoa(kbps), "--cbr", "--resample", khz(MP3Rate(s.h.sampleRate, outCh, kbps)),
		"-t",       // no LAME tag: it cannot be patched into a pipe
		"--silent", // only errors on stderr
		"-", "-",
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = struct{ io.Reader }{pcm} // hide Seek: exec copies from the current offset
	cmd.Stdout = w
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("mediaconv: encoding MP3 stopped: %w%s", cerr, stderr.suffix())
		}
		return fmt.Errorf("%w: %s: %w%s", ErrEncoder, bin, err, stderr.suffix())
	}
	return nil
}

// khz formats a sample rate in kHz the way lame's -s and --resample take it.
func khz(rate int) string {
	return strconv.FormatFloat(float64(rate)/1000, 'f', -1, 64)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	name string // the tool, "" = lame
	mu   sync.Mutex
	max  int
	buf  []byte
	drop bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.drop = true
	}
	return len(p), nil
}

// suffix returns ": stderr: ..." or "" when nothing was written.
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	msg := string(bytes.TrimSpace(t.buf))
	if msg == "" {
		return ""
	}
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " | ")), " ")
	if t.drop {
		msg = "..." + msg
	}
	name := t.name
	if name == "" {
		name = "lame"
	}
	return ": " + filepath.Base(name) + " stderr: " + msg
}
