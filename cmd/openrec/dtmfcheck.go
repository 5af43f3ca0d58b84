package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/openrec/openrec/internal/media/dtmf"
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
	} else {
		f, err = wav.ReadFile(path)
	}
	if err != nil {
		if encrypted && errors.Is(err, mediacrypt.ErrNoKeys) {
			return []string{"dtmf check: the recording is encrypted at rest: pass --decrypt-keys"}
		}
		return []string{fmt.Sprintf("dtmf check: %v", err)}
	}
	if f.SampleRate != dtmf.SampleRate {
		return []string{fmt.Sprintf("dtmf check: %d Hz audio (only %d)", f.SampleRate, dtmf.SampleRate)}
	}
	var problems []string
	for ch := range f.Channels {
		pcm := f.Channel(ch)
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
