package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/openrec/openrec/internal/media/dtmf"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/media/resample"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// dtmfChecker reads a stored recording back and reports every DTMF digit
// still readable in it (`openrec verify --dtmf`): the proof that masking
// worked. It runs openrec's own detector on each channel of the file as
// stored (not the masker's view of it), and, with --dtmf-decoder, an
// external decoder as well (multimon-ng, a program that shares no code
// with openrec).
type dtmfChecker struct {
	external string // multimon-ng binary, or ""
	ffmpeg   string // decodes recordings stored as MP3 or Opus ("" = ffmpeg on PATH)
	tmpDir   string
	keys     *mediacrypt.Keys // identities for recordings encrypted at rest
}

// check returns one problem per channel that still holds digits. Digits
// themselves are never printed (they may be card numbers): only counts.
// A recording encrypted at rest is decrypted in memory (--decrypt-keys);
// the external decoder, which reads a file, is not run on it.
func (c dtmfChecker) check(path string) []string {
	var (
		f   *wav.File
		err error
	)
	encrypted := mediacrypt.IsEncryptedFile(path)
	if encrypted {
		var m *mediacrypt.Media
		if m, err = c.keys.OpenMedia(path); err == nil {
			f, err = wav.Decode(io.NewSectionReader(m, 0, m.Size()))
			m.Close()
		}
		c.external = ""
	} else if format := storedFormat(path); format != "" {
		// Stored compressed (media_format): what a listener gets is
		// ffmpeg's decode of it; channels and rate come from the file.
		f, err = c.decodeStored(path, format)
	} else {
		f, err = wav.ReadFile(path)
	}
	if err != nil {
		if encrypted && errors.Is(err, mediacrypt.ErrNoKeys) {
			return []string{"dtmf check: the recording is encrypted at rest: pass --decrypt-keys"}
		}
		return []string{fmt.Sprintf("dtmf check: %v", err)}
	}
	if f.SampleRate != dtmf.SampleRate && f.SampleRate != 2*dtmf.SampleRate {
		return []string{fmt.Sprintf("dtmf check: %d Hz audio (8000 or 16000)", f.SampleRate)}
	}
	var problems []string
	for ch := range f.Channels {
		pcm := f.Channel(ch)
		if f.SampleRate == 2*dtmf.SampleRate {
			// A wideband recording: checked at 8 kHz, as the masker
			// sees it (the key tones are far below 4 kHz).
			var h resample.Halver
			pcm = h.Halve(pcm, nil)
		}
		// As sensitive as the masker: what it would mask, it finds.
		d := dtmf.NewDetector(dtmf.Config{MaxReverseTwist: dtmf.MaskReverseTwist, MinBlocks: dtmf.MaskMinBlocks}, nil)
		d.Write(pcm)
		if n := len(d.Close()); n > 0 {
			problems = append(problems, fmt.Sprintf("channel %d: %d DTMF digit(s) readable (openrec's detector)", ch, n))
		}
		if c.external == "" {
			continue
		}
		n, err := c.multimon(pcm, ch)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("channel %d: dtmf decoder: %v", ch, err))
		case n > 0:
			problems = append(problems, fmt.Sprintf("channel %d: %d DTMF digit(s) readable (%s)", ch, n, filepath.Base(c.external)))
		}
	}
	return problems
}

// storedFormat is the storage format of a compressed media file, "" for
// a WAV.
func storedFormat(path string) string {
	switch filepath.Ext(path) {
	case ".mp3":
		return mediaconv.StoreMP3
	case ".opus":
		return mediaconv.StoreOpus
	}
	return ""
}

// audioStreamRE finds the channel layout of ffmpeg's description of an
// audio stream ("Audio: opus, 48000 Hz, stereo, fltp").
var audioStreamRE = regexp.MustCompile(`Audio: [^,\n]+, \d+ Hz, (mono|stereo|(\d+) channels)`)

// decodeStored decodes a recording stored as MP3 or Opus with ffmpeg (on
// PATH, or c.ffmpeg) at 8 kHz and reads it.
func (c dtmfChecker) decodeStored(path, format string) (*wav.File, error) {
	bin := c.ffmpeg
	if bin == "" {
		bin = "ffmpeg"
	}
	// ffmpeg -i without an output describes the input and exits 1.
	probe, _ := exec.Command(bin, "-hide_banner", "-i", path).CombinedOutput()
	m := audioStreamRE.FindSubmatch(probe)
	if m == nil {
		return nil, fmt.Errorf("stored as %s: reading it needs ffmpeg (Debian package ffmpeg): %s", format, strings.TrimSpace(string(probe)))
	}
	channels := 1
	switch {
	case string(m[1]) == "stereo":
		channels = 2
	case len(m[2]) > 0:
		channels, _ = strconv.Atoi(string(m[2]))
	}
	dir, err := os.MkdirTemp(c.tmpDir, "dtmf-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "decoded.wav")
	if err := (mediaconv.StoreCodec{FFmpeg: c.ffmpeg}).Decode(context.Background(), path, format, dtmf.SampleRate, channels, out); err != nil {
		return nil, err
	}
	return wav.ReadFile(out)
}

// multimon counts the digits multimon-ng decodes in one channel. Its raw
// input is fixed at 22,050 Hz, so the channel goes to it as an 8 kHz WAV
// file (multimon-ng converts that with sox).
func (c dtmfChecker) multimon(pcm []int16, ch int) (int, error) {
	dir, err := os.MkdirTemp(c.tmpDir, "dtmf-check-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, fmt.Sprintf("channel-%d.wav", ch))
	w, err := wav.Create(path, wav.FormatPCM16, 1, dtmf.SampleRate)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		buf[2*i], buf[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	if _, err := w.Write(buf); err != nil {
		_ = w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	out, err := exec.Command(c.external, "-q", "-a", "DTMF", "-t", "wav", path).Output()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.external, err)
	}
	return strings.Count(string(out), "DTMF: "), nil
}
