package mediacrypt_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

const rate = 8000

var tones = []float64{440, 1000, 1700}

// frames returns secs seconds of interleaved frames in f: channel c
// carries tones[c].
func frames(f wav.Format, channels int, secs float64) []byte {
	n := int(secs * rate)
	ch := make([][]int16, channels)
	for c := range ch {
		ch[c] = audiotest.Tone(tones[c], 0.5, rate, n)
	}
	out := make([]byte, 0, n*channels*f.BytesPerSample())
	for i := range n {
		for c := range ch {
			s := ch[c][i]
			switch f {
			case wav.FormatPCM16:
				out = binary.LittleEndian.AppendUint16(out, uint16(s))
			case wav.FormatALaw:
				out = append(out, g711.EncodeALaw(s))
			case wav.FormatULaw:
				out = append(out, g711.EncodeULaw(s))
			}
		}
	}
	return out
}

// record writes data through a wav.Writer in one-second writes, each
// followed by Sync as the recorder does, onto ws.
func record(t tb, ws io.WriteSeeker, f wav.Format, channels int, data []byte) *wav.Writer {
	t.Helper()
	w, err := wav.NewWith(ws, f, channels, rate)
	if err != nil {
		t.Fatal(err)
	}
	step := rate * channels * f.BytesPerSample()
	for p := data; len(p) > 0; {
		k := min(step, len(p))
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	return w
}

// encryptedWAV records data through wav.Writer → mediacrypt.Writer and
// returns the ciphertext and the plaintext WAV the same wav.Writer makes on
// a plain file.
func encryptedWAV(t tb, f wav.Format, channels int, data []byte, rs ...age.Recipient) (ct, plain []byte) {
	t.Helper()
	var dst bytes.Buffer
	ew, err := mediacrypt.NewWriter(&dst, rs, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := record(t, ew, f, channels, data).Close(); err != nil {
		t.Fatal(err)
	}
	if err := ew.Close(); err != nil {
		t.Fatal(err)
	}
	var pf memFile
	if err := record(t, &pf, f, channels, data).Close(); err != nil {
		t.Fatal(err)
	}
	return dst.Bytes(), pf.b
}

// The WAV served from an encrypted recording is byte for byte the WAV the
// same writer makes on a plain file, though its header was never patched.
func TestWAVServedEqualsPlaintext(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	for _, tc := range []struct {
		f        wav.Format
		channels int
		secs     float64
	}{
		{wav.FormatPCM16, 2, 5.5},
		{wav.FormatALaw, 2, 9},
		{wav.FormatULaw, 1, 3.000125}, // odd data size: pad byte
		{wav.FormatPCM16, 1, 0.1},     // shorter than a chunk
	} {
		t.Run(fmt.Sprintf("%v-%dch-%gs", tc.f, tc.channels, tc.secs), func(t *testing.T) {
			ct, plain := encryptedWAV(t, tc.f, tc.channels, frames(tc.f, tc.channels, tc.secs), ra)
			w, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), a)
			if err != nil {
				t.Fatal(err)
			}
			if w.Truncated() || w.Size() != int64(len(plain)) {
				t.Fatalf("Truncated %v Size %d, want false %d", w.Truncated(), w.Size(), len(plain))
			}
			if got := readAll(t, w, w.Size()); !bytes.Equal(got, plain) {
				t.Fatalf("served WAV differs from the plaintext WAV (header %x vs %x)", got[:min(60, len(got))], plain[:min(60, len(plain))])
			}
		})
	}
}

// The raw ciphertext carries no WAV structure and no detectable tone, read
// as PCM16, A-law or µ-law, while the same check finds the tones in the
// plaintext.
func TestCiphertextHasNoPlaintext(t *testing.T) {
	ra := recipient(t, recipientA)
	ct, plain := encryptedWAV(t, wav.FormatPCM16, 2, frames(wav.FormatPCM16, 2, 10), ra)
	for _, s := range []string{"RIFF", "WAVE", "fmt ", "data", "fact"} {
		if bytes.Contains(ct, []byte(s)) {
			t.Errorf("ciphertext contains %q", s)
		}
	}
	found := func(b []byte) []float64 {
		var hits []float64
		views := map[string][]int16{}
		for ch := range 2 {
			var pcm, alaw, ulaw []int16
			for i := 2 * ch; i+1 < len(b); i += 4 {
				pcm = append(pcm, int16(binary.LittleEndian.Uint16(b[i:])))
			}
			for i := ch; i < len(b); i += 2 {
				alaw = append(alaw, g711.DecodeALaw(b[i]))
				ulaw = append(ulaw, g711.DecodeULaw(b[i]))
			}
			views[fmt.Sprint("pcm", ch)], views[fmt.Sprint("alaw", ch)], views[fmt.Sprint("ulaw", ch)] = pcm, alaw, ulaw
		}
		for _, v := range views {
			for _, f := range tones {
				// Whole file and one-second windows.
				if audiotest.HasTone(v, rate, f, tones) {
					hits = append(hits, f)
				}
				for w := 0; w+rate <= len(v); w += rate {
					if audiotest.HasTone(v[w:w+rate], rate, f, tones) {
						hits = append(hits, f)
					}
				}
			}
		}
		return hits
	}
	if hits := found(plain[44:]); len(hits) == 0 {
		t.Fatal("the detector finds no tone in the plaintext: the scan proves nothing")
	}
	if hits := found(ct); len(hits) > 0 {
		t.Fatalf("tones %v detectable in the ciphertext", hits)
	}

	// While recording: a file-like destination with checkpoint records,
	// snapshot before Close (as a kill -9 would leave it).
	var live memFile
	ew, err := mediacrypt.NewWriter(&live, []age.Recipient{ra}, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	record(t, ew, wav.FormatPCM16, 2, frames(wav.FormatPCM16, 2, 10.5))
	for _, s := range []string{"RIFF", "WAVE", "fmt ", "data"} {
		if bytes.Contains(live.b, []byte(s)) {
			t.Errorf("file being recorded contains %q", s)
		}
	}
	if hits := found(live.b); len(hits) > 0 {
		t.Fatalf("tones %v detectable in the file being recorded", hits)
	}
	r, err := mediacrypt.OpenWAV(bytes.NewReader(live.b), int64(len(live.b)), identity(t, identityA))
	if err != nil || r.DataSize() != int64(len(frames(wav.FormatPCM16, 2, 10.5))) {
		t.Fatalf("file being recorded: %v, %d bytes of samples served (every second was checkpointed)", err, sizeOfWAV(r))
	}
}

func sizeOfWAV(w *mediacrypt.WAV) int64 {
	if w == nil {
		return -1
	}
	return w.DataSize()
}

// Range replay: any byte range of the served WAV equals the plaintext's.
func TestWAVRange(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	ct, plain := encryptedWAV(t, wav.FormatPCM16, 2, frames(wav.FormatPCM16, 2, 7.3), ra)
	w, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), a)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(plain))
	for _, r := range [][2]int64{{0, 1}, {0, 44}, {3, 6}, {40, 10}, {0, size}, {size - 1, 1}, {cs - 5, 10}, {cs, cs}, {2*cs - 1, cs + 2}, {size - 100, 100}} {
		got := make([]byte, r[1])
		n, err := w.ReadAt(got, r[0])
		if (err != nil && err != io.EOF) || int64(n) != r[1] || !bytes.Equal(got, plain[r[0]:r[0]+r[1]]) {
			t.Errorf("range %d+%d: n %d err %v or bytes differ", r[0], r[1], n, err)
		}
	}
	// Past the end: fewer bytes and io.EOF, like *os.File.
	n, err := w.ReadAt(make([]byte, 10), size-4)
	if n != 4 || err != io.EOF {
		t.Errorf("read over the end: %d, %v", n, err)
	}
	if n, err := w.ReadAt(make([]byte, 1), size); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d, %v", n, err)
	}
	if _, err := w.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset accepted")
	}
}

func TestOpenWAVNotWAV(t *testing.T) {
	a, ra := identity(t, identityA), recipient(t, recipientA)
	for name, plain := range map[string][]byte{
		"empty":   nil,
		"mp3":     []byte("ID3\x04\x00\x00\x00\x00\x00\x00"),
		"no data": append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), make([]byte, 16)...),
	} {
		ct := encrypt(t, plain, 100, true, ra)
		if _, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), a); !errors.Is(err, mediacrypt.ErrNotWAV) {
			t.Errorf("%s: %v, want ErrNotWAV", name, err)
		}
	}
}

// kill -9 of a recording process: the file decrypts up to its last sealed
// chunk, as a valid WAV with the right tone on each channel.
func TestKilledRecorder(t *testing.T) {
	if os.Getenv("MEDIACRYPT_RECORD_TO") != "" {
		recordForever(t, os.Getenv("MEDIACRYPT_RECORD_TO"))
		return
	}
	path := filepath.Join(t.TempDir(), "call.wav.part")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRecorder$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MEDIACRYPT_RECORD_TO="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	sc := bufio.NewScanner(out)
	written := 0
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "synced "); ok {
			written, _ = strconv.Atoi(s)
			if written >= 6*rate*4 { // six seconds of stereo PCM16
				break
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	w, err := mediacrypt.OpenWAV(f, st.Size(), identity(t, identityA))
	if err != nil {
		t.Fatal(err)
	}
	if !w.Truncated() {
		t.Fatal("a killed recording reads as complete")
	}
	// Every Sync checkpointed: all that was synced before the progress line
	// is there (the child may have written more before the kill).
	if w.DataSize() < int64(written) {
		t.Fatalf("served %d bytes of samples, %d were synced before the kill", w.DataSize(), written)
	}
	dec, err := wav.Decode(io.NewSectionReader(w, 0, w.Size()))
	if err != nil {
		t.Fatal(err)
	}
	if dec.Frames != w.DataSize()/4 || dec.Frames < 4*rate {
		t.Fatalf("decoded %d frames, data %d", dec.Frames, w.DataSize())
	}
	for c := range 2 {
		if !audiotest.HasTone(dec.Channel(c), rate, tones[c], tones) {
			t.Errorf("channel %d: no %g Hz tone after recovery", c, tones[c])
		}
	}
}

// recordForever is the child of TestKilledRecorder: it records a stereo
// tone to path, one second per write + Sync, and reports progress.
func recordForever(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	ew, err := mediacrypt.NewWriter(f, []age.Recipient{recipient(t, recipientA)}, mediacrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ww, err := wav.NewWith(ew, wav.FormatPCM16, 2, rate)
	if err != nil {
		t.Fatal(err)
	}
	sec := frames(wav.FormatPCM16, 2, 1)
	for n := 0; ; {
		if _, err := ww.Write(sec); err != nil {
			t.Fatal(err)
		}
		if err := ww.Sync(); err != nil {
			t.Fatal(err)
		}
		n += len(sec)
		fmt.Printf("synced %d\n", n)
		time.Sleep(10 * time.Millisecond) // models time: paces the child (a writer at work); the parent kills it
	}
}
