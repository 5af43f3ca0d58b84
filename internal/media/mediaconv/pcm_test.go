package mediaconv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
)

func TestPCMWholeFile(t *testing.T) {
	formats := []wav.Format{wav.FormatULaw, wav.FormatALaw, wav.FormatPCM16}
	for _, f := range formats {
		for _, channels := range []int{1, 2, 3} {
			path := writeRecording(t, f, tones(channels, 12345))
			for channel := -1; channel < channels; channel++ {
				t.Run(fmt.Sprintf("%v/%dch/channel%d", f, channels, channel), func(t *testing.T) {
					s := openT(t, path)
					if s.Channels() != channels || s.SampleRate() != rate || s.Frames() != 12345 || s.Format() != f {
						t.Fatalf("Open: %d channels, %d Hz, %d frames, %v", s.Channels(), s.SampleRate(), s.Frames(), s.Format())
					}
					if got, want := s.Duration(), 12345*time.Second/rate; got != want {
						t.Errorf("Duration = %v, want %v", got, want)
					}
					r, err := s.PCM(channel)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(r)
					if err != nil {
						t.Fatal(err)
					}
					want := referencePCM(t, path, channel)
					if r.Size() != int64(len(want)) {
						t.Errorf("Size = %d, want %d", r.Size(), len(want))
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("output (%d bytes) differs from the reference decode (%d bytes)", len(got), len(want))
					}
					wf, _ := decodeWAV(t, got)
					outCh := channels
					if channel >= 0 {
						outCh = 1
					}
					if wf.Format != wav.FormatPCM16 || wf.Channels != outCh || wf.SampleRate != rate || wf.Frames != 12345 {
						t.Errorf("wav reader sees %v %d ch %d Hz %d frames", wf.Format, wf.Channels, wf.SampleRate, wf.Frames)
					}
				})
			}
		}
	}
}

func TestPCMSeekWindows(t *testing.T) {
	// 3 s of stereo µ-law: several 32 KiB source blocks.
	path := writeRecording(t, wav.FormatULaw, tones(2, 3*rate))
	for _, channel := range []int{-1, 0, 1} {
		t.Run(fmt.Sprintf("channel%d", channel), func(t *testing.T) {
			s := openT(t, path)
			full := referencePCM(t, path, channel)
			r, err := s.PCM(channel)
			if err != nil {
				t.Fatal(err)
			}
			size := int64(len(full))
			block := int64(s.blockFrames()) * int64(r.Channels()) * 2 // output bytes per block
			type window struct{ off, n int64 }
			windows := []window{
				{0, 1}, {0, 44}, {0, 45}, {3, 10}, {20, 100}, {43, 2}, {44, 1}, {44, 4},
				{PCMHeaderLen + block - 3, 7}, {PCMHeaderLen + 2*block - 1, 2}, {PCMHeaderLen + block, block},
				{PCMHeaderLen + block - 1, 2*block + 5}, {size - 1, 1}, {size - 10, 100}, {size, 5}, {size + 10, 5},
			}
			rng := rand.New(rand.NewPCG(1, uint64(channel+2)))
			for range 200 {
				windows = append(windows, window{rng.Int64N(size), 1 + rng.Int64N(3*block)})
			}
			for _, w := range windows {
				pos, err := r.Seek(w.off, io.SeekStart)
				if err != nil || pos != w.off {
					t.Fatalf("Seek(%d) = %d, %v", w.off, pos, err)
				}
				buf := make([]byte, w.n)
				n, err := io.ReadFull(r, buf)
				end := min(w.off+w.n, size)
				want := full[min(w.off, size):end]
				if n != len(want) || !bytes.Equal(buf[:n], want) {
					t.Fatalf("window %d+%d: read %d bytes (%v), differ from the full output", w.off, w.n, n, err)
				}
				if int64(n) < w.n && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
					t.Fatalf("window %d+%d past the end: err %v", w.off, w.n, err)
				}
			}
			// Seek relative to the current offset and to the end.
			if pos, _ := r.Seek(-500, io.SeekEnd); pos != size-500 {
				t.Fatalf("Seek(-500, End) = %d", pos)
			}
			if pos, _ := r.Seek(-100, io.SeekCurrent); pos != size-600 {
				t.Fatalf("Seek(-100, Current) = %d", pos)
			}
			tail, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(tail, full[size-600:]) {
				t.Fatalf("tail after relative seeks: %d bytes, %v", len(tail), err)
			}
			// Odd-sized sequential reads give the same stream.
			r.Seek(0, io.SeekStart)
			var seq bytes.Buffer
			small := make([]byte, 777)
			for {
				n, err := r.Read(small)
				seq.Write(small[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(seq.Bytes(), full) {
				t.Fatal("sequential 777-byte reads differ from the full output")
			}
		})
	}
}

func TestPCMSeekErrors(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(1, 100)))
	r, err := s.PCM(-1)
	if err != nil {
		t.Fatal(err)
	}
	r.Seek(10, io.SeekStart)
	for _, tc := range []struct {
		off    int64
		whence int
	}{{-1, io.SeekStart}, {-11, io.SeekCurrent}, {-1 - r.Size(), io.SeekEnd}, {0, 7}} {
		pos, err := r.Seek(tc.off, tc.whence)
		if !errors.Is(err, ErrSeek) || pos != 10 {
			t.Errorf("Seek(%d, %d) = %d, %v; want 10, ErrSeek", tc.off, tc.whence, pos, err)
		}
	}
}

func TestPCMChannelTones(t *testing.T) {
	for _, f := range []wav.Format{wav.FormatULaw, wav.FormatALaw, wav.FormatPCM16} {
		t.Run(f.String(), func(t *testing.T) {
			s := openT(t, writeRecording(t, f, tones(2, 2*rate)))
			for _, tc := range []struct {
				channel int
				want    []float64 // tone per output channel
			}{{-1, toneFreqs[:2]}, {0, toneFreqs[:1]}, {1, toneFreqs[1:2]}} {
				r, err := s.PCM(tc.channel)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				_, chans := decodeWAV(t, b)
				if len(chans) != len(tc.want) {
					t.Fatalf("PCM(%d): %d channels, want %d", tc.channel, len(chans), len(tc.want))
				}
				for c, freq := range tc.want {
					if !audiotest.HasTone(chans[c], rate, freq, toneFreqs[:2]) {
						t.Errorf("PCM(%d) channel %d: no dominant %v Hz tone", tc.channel, c, freq)
					}
				}
			}
		})
	}
}

func TestPCMBadChannel(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 10)))
	for _, ch := range []int{-2, 2, 100} {
		if _, err := s.PCM(ch); !errors.Is(err, ErrChannel) {
			t.Errorf("PCM(%d) = %v, want ErrChannel", ch, err)
		}
	}
}

func TestPCMEmptyRecording(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, [][]int16{{}, {}}))
	r, err := s.PCM(-1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil || len(b) != PCMHeaderLen || r.Size() != PCMHeaderLen {
		t.Fatalf("empty recording: %d bytes, size %d, %v", len(b), r.Size(), err)
	}
	if f, _ := decodeWAV(t, b); f.Frames != 0 || f.Channels != 2 {
		t.Errorf("empty recording decodes as %d frames of %d channels", f.Frames, f.Channels)
	}
}

func TestPCMReadDoesNotAllocate(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 4*rate)))
	for _, channel := range []int{-1, 1} {
		r, err := s.PCM(channel)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		allocs := testing.AllocsPerRun(20, func() {
			r.Seek(0, io.SeekStart)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		})
		if allocs != 0 {
			t.Errorf("PCM(%d): reading the whole file allocates %v times", channel, allocs)
		}
	}
}

func TestClose(t *testing.T) {
	s, err := Open(writeRecording(t, wav.FormatULaw, tones(2, 1000)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.PCM(-1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s.PCM(0); !errors.Is(err, ErrClosed) {
		t.Errorf("PCM after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Peaks(10); !errors.Is(err, ErrClosed) {
		t.Errorf("Peaks after Close = %v, want ErrClosed", err)
	}
	r.Seek(PCMHeaderLen, io.SeekStart)
	if _, err := r.Read(make([]byte, 100)); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
}

func BenchmarkPCMRead(b *testing.B) {
	path := writeRecording(b, wav.FormatULaw, tones(2, 60*rate))
	s := openT(b, path)
	r, err := s.PCM(-1)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	b.SetBytes(r.Size())
	b.ReportAllocs()
	for b.Loop() {
		r.Seek(0, io.SeekStart)
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
