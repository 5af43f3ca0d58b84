package dial

import (
	"fmt"

	"github.com/openrec/openrec/internal/media/wav"
)

// WAVFile loads an 8 kHz WAV file (PCM16, µ-law or A-law; mono, or the
// first channel of a multi-channel file) into memory and returns a Source
// that loops it. Each call returns an independent Source.
func WAVFile(path string) (Source, error) {
	f, err := wav.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWAV, path, err)
	}
	if f.SampleRate != SampleRate {
		return nil, fmt.Errorf("%w: %s: sample rate %d, want %d", ErrWAV, path, f.SampleRate, SampleRate)
	}
	pcm := f.Channel(0)
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%w: %s: no samples", ErrWAV, path)
	}
	return &loop{pcm: pcm}, nil
}
