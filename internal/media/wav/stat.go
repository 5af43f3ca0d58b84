package wav

import (
	"fmt"
	"os"
	"time"
)

// Info describes a WAV file without reading its samples.
type Info struct {
	Format     Format
	Channels   int
	SampleRate int
	// Frames are the whole frames the file holds: what its data chunk
	// claims when the file was closed cleanly, else what its size holds (a
	// file whose writer stopped, e.g. on a full disk, before its header was
	// rewritten).
	Frames int64
}

// Duration of the frames at the sample rate.
func (i Info) Duration() time.Duration { return duration(i.Frames, i.SampleRate) }

// Stat reads the header of the WAV file at path (a .wav or a .wav.part
// file) and counts its frames from its size. Errors wrap ErrInvalid for a
// file that is not a WAV file this package reads.
func Stat(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	h, err := readHeader(f, st.Size())
	if err != nil {
		return Info{}, fmt.Errorf("wav: stat %s: %w", path, err)
	}
	ba := int64(h.l.blockAlign)
	avail := max(st.Size()-h.dataOff, 0)
	claimed := int64(h.dataSize)
	frames := avail / ba
	if claimed%ba == 0 && claimed <= avail && avail-claimed <= 1 {
		frames = claimed / ba // closed cleanly: a trailing byte is the pad
	}
	return Info{Format: h.l.format, Channels: h.l.channels, SampleRate: h.l.sampleRate, Frames: frames}, nil
}
