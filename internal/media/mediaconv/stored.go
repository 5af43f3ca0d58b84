package mediaconv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Storage formats: the form a finished recording's media file is kept in.
// WAV is what the recorder writes while recording; MP3 and Opus (in Ogg)
// are made from it when the recording ends (StoreCodec.Encode) and read
// back as PCM through a decoded WAV (StoreCodec.Decode).
const (
	StoreWAV  = "wav"
	StoreMP3  = "mp3"
	StoreOpus = "opus"
)

// ErrStoreFormat is returned for a storage format or bitrate this package
// does not make.
var ErrStoreFormat = errors.New("mediaconv: unsupported storage format")

// ParseStoreFormat checks a storage format name ("" is wav).
func ParseStoreFormat(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", StoreWAV:
		return StoreWAV, nil
	case StoreMP3:
		return StoreMP3, nil
	case StoreOpus, "ogg":
		return StoreOpus, nil
	}
	return "", fmt.Errorf("%w: %q (wav, mp3 or opus)", ErrStoreFormat, s)
}

// StoreExt is the file extension of a storage format (".wav", ".mp3",
// ".opus").
func StoreExt(format string) string { return "." + format }

// StoreBitrate returns the bitrate (kbit/s) a recording of channels is
// stored at in format for kbps (0 = the default): MP3 as GIR stores it,
// 8 kbit/s mono (default for one channel), 16 (default) or 32 kbit/s
// stereo; Opus 16 to 32 kbit/s for one or two channels (default 24),
// 12 kbit/s more per further channel. WAV has no bitrate (0). MP3 holds at
// most two channels.
func StoreBitrate(format string, channels, kbps int) (int, error) {
	switch format {
	case StoreWAV:
		return 0, nil
	case StoreMP3:
		if channels > 2 {
			return 0, fmt.Errorf("%w: MP3 of %d channels (at most 2)", ErrStoreFormat, channels)
		}
		return MP3Bitrate(channels, kbps)
	case StoreOpus:
		extra := 12 * max(channels-2, 0)
		if kbps == 0 {
			return 24 + extra, nil
		}
		if kbps < 16+extra || kbps > 32+extra {
			return 0, fmt.Errorf("%w: Opus at %d kbit/s for %d channels (%d-%d)", ErrBitrate, kbps, channels, 16+extra, 32+extra)
		}
		return kbps, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrStoreFormat, format)
}

// StoreCodec encodes finished recordings into a storage format and decodes
// them back with Debian's ffmpeg binary (its libmp3lame and libopus
// encoders, its own decoders), run as a child process: nothing of it is
// linked into openrec. ffmpeg (not the lame binary the MP3 downloads use)
// because it writes the MP3's LAME tag into the file, so that decoders
// trim LAME's encoder delay and a stored MP3 stays aligned with the events
// of its recording.
type StoreCodec struct {
	FFmpeg string // "" = ffmpeg on PATH
}

// tool returns the ffmpeg binary, or an error wrapping ErrNoEncoder.
func (c StoreCodec) tool(format string) (string, error) {
	name := c.FFmpeg
	if name == "" {
		name = "ffmpeg"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: storing %s needs ffmpeg (Debian package ffmpeg; ffmpeg): %w", ErrNoEncoder, format, err)
	}
	return p, nil
}

// Check reports whether format can be stored and read back here: nil for
// WAV; else ffmpeg must be found and have the format's encoder
// (libmp3lame, libopus); the error wraps ErrNoEncoder.
func (c StoreCodec) Check(format string) error {
	if format == StoreWAV {
		return nil
	}
	if _, err := ParseStoreFormat(format); err != nil {
		return err
	}
	bin, err := c.tool(format)
	if err != nil {
		return err
	}
	enc := map[string]string{StoreMP3: "libmp3lame", StoreOpus: "libopus"}[format]
	out, err := exec.Command(bin, "-hide_banner", "-h", "encoder="+enc).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Encoder "+enc) {
		return fmt.Errorf("%w: %s has no %s encoder", ErrNoEncoder, bin, enc)
	}
	return nil
}

// Encode writes the audio of s (all channels) in format at kbps
// (StoreBitrate) to the file dst, which it creates or truncates, and
// syncs it. MP3: CBR, joint stereo for two channels, at 8 kHz (16 kHz for
// a wideband recording at 32 kbit/s per channel, MP3Rate), with a LAME tag
// so that decoders trim the encoder delay. Opus: in Ogg, VBR, voip
// application, complexity 5, each channel its own stream (mapping family
// 255). ctx kills the child.
func (c StoreCodec) Encode(ctx context.Context, s *Source, format string, kbps int, dst string) error {
	kbps, err := StoreBitrate(format, s.h.channels, kbps)
	if err != nil {
		return err
	}
	if format == StoreWAV {
		return fmt.Errorf("%w: WAV is not encoded", ErrStoreFormat)
	}
	bin, err := c.tool(format)
	if err != nil {
		return err
	}
	pcm, err := s.PCM(-1)
	if err != nil {
		return err
	}
	if _, err := pcm.Seek(PCMHeaderLen, io.SeekStart); err != nil {
		return err
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "s16le",
		"-ar", strconv.Itoa(s.h.sampleRate), "-ac", strconv.Itoa(s.h.channels), "-i", "pipe:0",
		"-map_metadata", "-1", "-b:a", strconv.Itoa(kbps) + "k"}
	switch format {
	case StoreMP3:
		args = append(args, "-c:a", "libmp3lame", "-ar", strconv.Itoa(MP3Rate(s.h.sampleRate, s.h.channels, kbps)), "-f", "mp3", dst)
	case StoreOpus:
		// Complexity 5 of 10: half the CPU of libopus's default for
		// speech at these rates (BENCHMARKS.md).
		args = append(args, "-c:a", "libopus", "-application", "voip", "-compression_level", "5")
		if s.h.channels > 1 {
			// Independent streams: coupled stereo at these rates mixes
			// the parties' channels into each other.
			args = append(args, "-mapping_family", "255")
		}
		args = append(args, "-f", "ogg", dst)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = struct{ io.Reader }{pcm}
	stderr := &tailBuffer{max: stderrTail, name: bin}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("mediaconv: storing %s stopped: %w", format, cerr)
		}
		return fmt.Errorf("%w: %s: %w%s", ErrEncoder, bin, err, stderr.suffix())
	}
	return syncFile(dst)
}

// Decode writes the PCM16 WAV of a stored MP3 or Opus file src, at rate
// and channels, to the file dst (created or truncated) and syncs it.
func (c StoreCodec) Decode(ctx context.Context, src, format string, rate, channels int, dst string) error {
	bin, err := c.tool(format)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", src,
		"-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
		"-c:a", "pcm_s16le", "-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels), "-f", "wav", dst)
	stderr := &tailBuffer{max: stderrTail, name: bin}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("mediaconv: decoding %s stopped: %w", src, cerr)
		}
		return fmt.Errorf("%w: decoding %s with %s: %w%s", ErrEncoder, src, bin, err, stderr.suffix())
	}
	return syncFile(dst)
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}
