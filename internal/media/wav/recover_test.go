package wav

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

const helperEnv = "WAV_TEST_KILLED_WRITER_DIR"

// TestHelperKilledWriter is not a test: TestRecoverAfterKill runs the test
// binary with it selected. It writes one synced second, one unsynced
// second and half a frame, then exits without closing, like a process
// killed mid-write.
func TestHelperKilledWriter(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return // only as TestRecoverAfterKill's child process
	}
	path := filepath.Join(dir, "rec.wav")
	w, err := Create(path, FormatPCM16, 2, 8000)
	if err != nil {
		panic(err)
	}
	if _, err := w.Write(frames(FormatPCM16, 2, 8000, 1)); err != nil {
		panic(err)
	}
	if err := w.Sync(); err != nil {
		panic(err)
	}
	if _, err := w.Write(frames(FormatPCM16, 2, 8000, 2)); err != nil {
		panic(err)
	}
	f, err := os.OpenFile(path+PartSuffix, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		panic(err)
	}
	if _, err := f.Write([]byte{1, 2, 3}); err != nil { // 3 of a 4-byte frame
		panic(err)
	}
	os.Exit(0) // no Close, no final header
}

func TestRecoverAfterKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledWriter$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	part := filepath.Join(dir, "rec.wav.part")
	// Before recovery the header only describes the synced second.
	if f, err := ReadFile(part); err != nil || f.Frames != 8000 {
		t.Fatalf("before Recover: %v, %v; want 8000 synced frames", f, err)
	}
	rec, err := Recover(part)
	if err != nil {
		t.Fatal(err)
	}
	want := Recovered{Path: filepath.Join(dir, "rec.wav"), Frames: 16000, TruncatedBytes: 3}
	if rec != want {
		t.Errorf("Recover = %+v, want %+v", rec, want)
	}
	if _, err := os.Stat(part); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".part still exists: %v", err)
	}
	f, err := ReadFile(rec.Path)
	if err != nil {
		t.Fatal(err)
	}
	wantData := append(frames(FormatPCM16, 2, 8000, 1), frames(FormatPCM16, 2, 8000, 2)...)
	if f.Frames != 16000 || !bytes.Equal(f.Data, wantData) {
		t.Errorf("recovered %d frames, data equal %v", f.Frames, bytes.Equal(f.Data, wantData))
	}
	raw, _ := os.ReadFile(rec.Path)
	checkHeader(t, raw, FormatPCM16, 2, 8000, len(wantData))
}

// abandoned creates a .part file the way a killed writer leaves it: synced
// frames, unsynced frames, and extra raw bytes appended behind the writer.
func abandoned(t *testing.T, dir, name string, f Format, channels, synced, unsynced int, extra []byte) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := Create(path, f, channels, 8000)
	if err != nil {
		t.Fatal(err)
	}
	a, b := frames(f, channels, synced, 1), frames(f, channels, unsynced, 2)
	if _, err := w.Write(a); err != nil {
		t.Fatal(err)
	}
	if synced > 0 {
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	// Abandon w: copy its bytes to where a killed process would have left
	// them, then finish w so that its descriptor is released.
	raw, err := os.ReadFile(path + PartSuffix)
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, extra...)
	w.Close()
	os.Remove(path)
	part := filepath.Join(dir, "killed-"+name+PartSuffix)
	if err := os.WriteFile(part, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return part, append(a, b...)
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name              string
		f                 Format
		channels          int
		synced, unsynced  int
		extra             []byte
		frames, truncated int64
	}{
		{"ulaw stereo synced+unsynced+partial", FormatULaw, 2, 800, 160, []byte{0xFF}, 960, 1},
		{"alaw mono odd, never synced", FormatALaw, 1, 0, 161, nil, 161, 0},
		{"pcm16 3ch partial frame", FormatPCM16, 3, 10, 10, []byte{1, 2, 3, 4, 5}, 20, 5},
		{"header only", FormatULaw, 1, 0, 0, nil, 0, 0},
		{"ulaw mono odd synced, one more frame", FormatULaw, 1, 7, 1, nil, 8, 0},
		{"ulaw 3ch odd synced, one stray byte", FormatULaw, 3, 1, 0, []byte{7}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			part, want := abandoned(t, dir, "r.wav", tt.f, tt.channels, tt.synced, tt.unsynced, tt.extra)
			rec, err := Recover(part)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Frames != tt.frames || rec.TruncatedBytes != tt.truncated || rec.Path != part[:len(part)-len(PartSuffix)] {
				t.Errorf("Recover = %+v, want %d frames, %d truncated", rec, tt.frames, tt.truncated)
			}
			f, err := ReadFile(rec.Path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Frames != tt.frames || !bytes.Equal(f.Data, want) {
				t.Errorf("recovered file has %d frames, data equal %v", f.Frames, bytes.Equal(f.Data, want))
			}
			raw, _ := os.ReadFile(rec.Path)
			checkHeader(t, raw, tt.f, tt.channels, 8000, len(want))
		})
	}
}

func TestRecoverClosedNotRenamed(t *testing.T) {
	// Close wrote the pad byte and final header, then the process died
	// before the rename: nothing is truncated.
	dir := t.TempDir()
	var ws memWS
	w, _ := NewWith(&ws, FormatULaw, 1, 8000)
	w.Write(frames(FormatULaw, 1, 7, 0))
	w.Close()
	part := filepath.Join(dir, "c.wav.part")
	os.WriteFile(part, ws.buf, 0o644)
	rec, err := Recover(part)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Frames != 7 || rec.TruncatedBytes != 0 {
		t.Errorf("Recover = %+v, want 7 frames, 0 truncated", rec)
	}
	raw, _ := os.ReadFile(rec.Path)
	if !bytes.Equal(raw, ws.buf) {
		t.Errorf("recovered bytes changed:\n% x\n% x", raw, ws.buf)
	}
}

func TestRecoverErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.wav.part")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Recover(empty); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty file: %v, want ErrInvalid", err)
	}
	if _, err := os.Stat(empty); err != nil {
		t.Errorf("empty .part was not left in place: %v", err)
	}
	if _, err := Recover(filepath.Join(dir, "x.wav")); err == nil {
		t.Error("Recover of a name without .part succeeded")
	}
	part, _ := abandoned(t, dir, "d.wav", FormatULaw, 1, 1, 1, nil)
	os.WriteFile(part[:len(part)-len(PartSuffix)], []byte("keep"), 0o644)
	if _, err := Recover(part); !errors.Is(err, fs.ErrExist) {
		t.Errorf("final name exists: %v, want fs.ErrExist", err)
	}
	if _, err := Recover(filepath.Join(dir, "missing.wav.part")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestRecoverDir(t *testing.T) {
	root := t.TempDir()
	day := filepath.Join(root, "media", "2026", "03", "04")
	os.MkdirAll(day, 0o755)
	p1, _ := abandoned(t, day, "a.wav", FormatULaw, 2, 100, 50, nil)
	p2, _ := abandoned(t, filepath.Join(root, "media"), "b.wav", FormatPCM16, 1, 0, 30, []byte{9})
	bad := filepath.Join(day, "bad.wav.part")
	os.WriteFile(bad, []byte("RIFF"), 0o644)
	other := filepath.Join(day, "notes.txt.part")
	os.WriteFile(other, []byte("x"), 0o644)

	recs, err := RecoverDir(root)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("RecoverDir error = %v, want the bad file's ErrInvalid", err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Path < recs[j].Path })
	want := []Recovered{
		{Path: p2[:len(p2)-len(PartSuffix)], Frames: 30, TruncatedBytes: 1},
		{Path: p1[:len(p1)-len(PartSuffix)], Frames: 150},
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Path < want[j].Path })
	if len(recs) != len(want) {
		t.Fatalf("RecoverDir = %+v, want %+v", recs, want)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("RecoverDir[%d] = %+v, want %+v", i, recs[i], want[i])
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("non-WAV .part file touched: %v", err)
	}
	if recs, err := RecoverDir(root); len(recs) != 0 || !errors.Is(err, ErrInvalid) {
		t.Errorf("second RecoverDir = %v, %v; want nothing new and the bad file again", recs, err)
	}
}
