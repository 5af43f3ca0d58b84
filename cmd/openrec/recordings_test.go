package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// testRootCmd builds a root command with only the recordings commands, as
// main's root adds them.
func testRootCmd() *cobra.Command {
	root := &cobra.Command{Use: "openrec", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newRecordingsCmd())
	return root
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := testRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

var recT0 = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

// seedDataDir creates recordings in a new data dir and returns the dir.
func seedDataDir(t *testing.T, recs ...*store.Recording) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, r := range recs {
		if err := db.CreateRecording(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func completedRecording() *store.Recording {
	return &store.Recording{
		ID: "rec-done", Mode: store.ModeMSR, Status: store.StatusCompleted, StatusReason: "bye",
		CallUUID: "CALLUUID0000000000000000000000A", RecordID: "r1", SIPCallIDs: []string{"c1@ms", "c2@ms"},
		RecordedDN: "7001", OtherDN: "5551234",
		Parties: []store.Party{
			{Channel: 0, Role: store.RoleRecorded, DN: "7001", SIPCallID: "c1@ms"},
			{Channel: 1, Role: store.RoleOther, DN: "5551234", SIPCallID: "c2@ms"},
		},
		StartedAt: recT0, EndedAt: recT0.Add(61 * time.Second), DurationMS: 61000,
		Channels: 2, Codecs: []string{"PCMU"}, Format: "ulaw",
		MediaPath:    "media/2026/11/03/rec-done.wav",
		Segments:     []store.Segment{{Type: store.SegmentRecording, Channel: store.AllChannels, StartMS: 0, EndMS: 61000}},
		Events:       []store.Event{{Type: "bye", AtMS: 61000, Channel: 0, Detail: "from media server", At: recT0.Add(61 * time.Second)}},
		ExternalData: map[string]string{"GEN_USR_Account": "ACME", "GEN_TEV_ConnID": "006502a8c4e1b001"},
	}
}

func liveRecording() *store.Recording {
	return &store.Recording{
		ID: "rec-live", Mode: store.ModeSIPREC, Status: store.StatusRecording,
		CallUUID: "CALLUUID0000000000000000000000B", SIPRECSessionID: "sess-1", SIPCallIDs: []string{"s1@sbc"},
		RecordedDN: "7002", OtherDN: "7001", StartedAt: recT0.Add(time.Hour),
		Channels: 2, Codecs: []string{"PCMA"}, Format: "alaw",
		MediaPath: "media/2026/11/03/rec-live.wav",
	}
}

func failedRecording() *store.Recording {
	return &store.Recording{ID: "rec-fail", Mode: store.ModeMSR, Status: store.StatusFailed, StatusReason: "no rtp",
		CallUUID: "CALLUUID0000000000000000000000C", RecordedDN: "7003", OtherDN: "5559999", StartedAt: recT0.Add(-time.Hour)}
}

var requiredListKeys = []string{
	"id", "status", "status_reason", "mode", "call_uuid", "record_id", "siprec_session_id", "sip_call_ids",
	"recorded_dn", "other_dn", "parties", "started_at", "ended_at", "duration_ms", "channels", "codecs",
	"format", "sample_rate", "media_path", "size_bytes", "sha256", "needs_transcode", "segments", "couples", "external_data", "correlation",
}

func TestListJSON(t *testing.T) {
	dir := seedDataDir(t, completedRecording(), liveRecording(), failedRecording())
	out, _, err := runCLI(t, "recordings", "list", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json is not a JSON array: %v\n%s", err, out)
	}
	var ids []string
	for _, obj := range list {
		ids = append(ids, obj["id"].(string))
		for _, k := range requiredListKeys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: key %q missing", obj["id"], k)
			}
		}
		for _, k := range []string{"sip_call_ids", "segments", "parties", "codecs"} {
			if _, ok := obj[k].([]any); !ok {
				t.Errorf("%s: %s = %#v, want an array", obj["id"], k, obj[k])
			}
		}
		if _, ok := obj["external_data"].(map[string]any); !ok {
			t.Errorf("%s: external_data = %#v, want an object", obj["id"], obj["external_data"])
		}
	}
	if want := []string{"rec-live", "rec-done", "rec-fail"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids = %v, want newest first %v", ids, want)
	}
	live, done := list[0], list[1]
	if live["ended_at"] != nil {
		t.Errorf("ended_at of a live recording = %v, want null", live["ended_at"])
	}
	if live["mode"] != "siprec" || live["status"] != "recording" {
		t.Errorf("live mode/status = %v/%v", live["mode"], live["status"])
	}
	if got := done["ended_at"]; got != "2026-11-03T10:01:01Z" {
		t.Errorf("ended_at = %v, want RFC 3339 2026-11-03T10:01:01Z", got)
	}
	if got := done["started_at"]; got != "2026-11-03T10:00:00Z" {
		t.Errorf("started_at = %v", got)
	}
	if got := done["sip_call_ids"]; !reflect.DeepEqual(got, []any{"c1@ms", "c2@ms"}) {
		t.Errorf("sip_call_ids = %v", got)
	}
	if got := done["external_data"].(map[string]any)["GEN_USR_Account"]; got != "ACME" {
		t.Errorf("external_data.GEN_USR_Account = %v", got)
	}
	if got := done["duration_ms"]; got != float64(61000) {
		t.Errorf("duration_ms = %v", got)
	}
	seg := done["segments"].([]any)[0].(map[string]any)
	if seg["type"] != "recording" || seg["channel"] != float64(-1) || seg["end_ms"] != float64(61000) {
		t.Errorf("segment = %v", seg)
	}
	// The list view leaves the events to show.
	if _, ok := done["events"]; ok {
		t.Error("list view has events")
	}
}

func TestListFlags(t *testing.T) {
	dir := seedDataDir(t, completedRecording(), liveRecording(), failedRecording())
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutScreen(context.Background(), &store.Screen{RecordingID: "rec-done", Total: -1, Held: store.Ranges{}.Add(0, 99)}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"status", []string{"--status", "failed"}, []string{"rec-fail"}, false},
		{"mode", []string{"--mode", "msr"}, []string{"rec-done", "rec-fail"}, false},
		{"call uuid", []string{"--call-uuid", "CALLUUID0000000000000000000000B"}, []string{"rec-live"}, false},
		{"dn recorded or other", []string{"--dn", "7001"}, []string{"rec-live", "rec-done"}, false},
		{"record id", []string{"--record-id", "r1"}, []string{"rec-done"}, false},
		{"limit", []string{"--limit", "1"}, []string{"rec-live"}, false},
		{"since", []string{"--since", "2026-11-03T10:00:00Z"}, []string{"rec-live", "rec-done"}, false},
		{"until", []string{"--until", "2026-11-03T10:00:00+00:00"}, []string{"rec-fail"}, false},
		{"no match", []string{"--dn", "0000"}, []string{}, false},
		{"has screen", []string{"--has-screen", "true"}, []string{"rec-done"}, false},
		{"has no screen", []string{"--has-screen", "false"}, []string{"rec-live", "rec-fail"}, false},
		{"bad has-screen", []string{"--has-screen", "yes"}, nil, true},
		{"bad status", []string{"--status", "done"}, nil, true},
		{"bad mode", []string{"--mode", "sip"}, nil, true},
		{"bad time", []string{"--since", "yesterday"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"recordings", "list", "--data-dir", dir, "--json"}, tt.args...)
			out, _, err := runCLI(t, args...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var list []store.RecordingView
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, r := range list {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestListEmpty(t *testing.T) {
	dir := seedDataDir(t)
	out, _, err := runCLI(t, "recordings", "list", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list --json = %q, want []", out)
	}
	out, _, err = runCLI(t, "recordings", "list", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "no recordings") {
		t.Errorf("empty table = %q, %v", out, err)
	}
	// No database yet: an empty list, a note on stderr, and nothing created.
	missing := filepath.Join(t.TempDir(), "nothing-here")
	out, errOut, err := runCLI(t, "recordings", "list", "--data-dir", missing, "--json")
	if err != nil || strings.TrimSpace(out) != "[]" || !strings.Contains(errOut, "no recordings database") {
		t.Errorf("list on a missing data dir = %q / %q / %v", out, errOut, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("list created %s", missing)
	}
}

func TestListTable(t *testing.T) {
	dir := seedDataDir(t, completedRecording(), liveRecording())
	out, _, err := runCLI(t, "recordings", "list", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("table:\n%s", out)
	}
	for i, want := range []string{"rec-live", "rec-done"} {
		if !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("row %d = %q, want %s first", i, lines[i+1], want)
		}
	}
	if !strings.Contains(lines[2], "1m1s") || !strings.Contains(lines[2], "completed") {
		t.Errorf("row of rec-done = %q", lines[2])
	}
}

func TestShow(t *testing.T) {
	dir := seedDataDir(t, completedRecording())
	out, _, err := runCLI(t, "recordings", "show", "rec-done", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d store.RecordingDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	want := completedRecording()
	if d.ID != want.ID || len(d.Parties) != 2 || len(d.Events) != 1 || d.Events[0].Type != "bye" ||
		d.Parties[1].DN != "5551234" || d.ExternalData["GEN_TEV_ConnID"] != "006502a8c4e1b001" {
		t.Errorf("show --json = %+v", d)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(out), &raw)
	for _, k := range append(requiredListKeys, "events", "metadata") {
		if _, ok := raw[k]; !ok {
			t.Errorf("show --json: key %q missing", k)
		}
	}

	out, _, err = runCLI(t, "recordings", "show", "rec-done", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"rec-done", "completed (bye)", "Parties (2)", "5551234", "Segments (1)", "Events (1)",
		"from media server", "External data (2)", "GEN_USR_Account", "ACME"} {
		if !strings.Contains(out, s) {
			t.Errorf("show output lacks %q:\n%s", s, out)
		}
	}
}

func TestShowUnknown(t *testing.T) {
	dir := seedDataDir(t, completedRecording())
	for _, args := range [][]string{
		{"recordings", "show", "nope", "--data-dir", dir},
		{"recordings", "show", "nope", "--data-dir", filepath.Join(dir, "missing")},
		{"recordings", "export", "nope", "--data-dir", dir, "--out", filepath.Join(t.TempDir(), "x.wav")},
	} {
		_, _, err := runCLI(t, args...)
		if err == nil {
			t.Errorf("%v: no error", args)
			continue
		}
		if !strings.Contains(err.Error(), "nope") {
			t.Errorf("%v: error %q does not name the id", args, err)
		}
	}
	_, _, err := runCLI(t, "recordings", "show", "nope", "--data-dir", dir)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("show nope = %v, want ErrNotFound", err)
	}
	if _, _, err := runCLI(t, "recordings", "show", "--data-dir", dir); err == nil {
		t.Error("show without id: no error")
	}
}

// wavFile builds a WAV file: fmt (with cbSize for non-PCM), optional fact,
// optional extra chunk before data, then data whose declared size is
// declared (a streaming writer's header may lag the bytes).
type wavFile struct {
	formatTag  uint16
	channels   uint16
	bits       uint16
	fact       bool
	extra      string // id of an extra chunk before data ("" = none)
	declared   uint32
	data       []byte
	sampleRate uint32
}

func (w wavFile) bytes() []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	chunk := func(id string, body []byte) {
		b.WriteString(id)
		le(uint32(len(body)))
		b.Write(body)
		if len(body)%2 == 1 {
			b.WriteByte(0)
		}
	}
	b.WriteString("RIFF")
	le(uint32(0))
	b.WriteString("WAVE")
	rate := w.sampleRate
	if rate == 0 {
		rate = 8000
	}
	align := w.channels * w.bits / 8
	var fmtb bytes.Buffer
	for _, v := range []any{w.formatTag, w.channels, rate, rate * uint32(align), align, w.bits} {
		_ = binary.Write(&fmtb, binary.LittleEndian, v)
	}
	if w.formatTag != 1 {
		_ = binary.Write(&fmtb, binary.LittleEndian, uint16(0))
	}
	chunk("fmt ", fmtb.Bytes())
	if w.fact {
		chunk("fact", make([]byte, 4))
	}
	if w.extra != "" {
		chunk(w.extra, []byte("odd"))
	}
	b.WriteString("data")
	le(w.declared)
	b.Write(w.data)
	return b.Bytes()
}

type wavHeader struct {
	riff, riffSize, wave  string
	riffSizeV, dataSizeV  uint32
	factV                 uint32
	hasFact               bool
	dataOffset            int
	ds64Riff, ds64Data    uint64
	ds64Frames            uint64
	blockAlign, formatTag uint16
}

// parseWAVForTest reads back the header fields independently of the
// export's header repair (wav.Repair).
func parseWAVForTest(t *testing.T, b []byte) wavHeader {
	t.Helper()
	var h wavHeader
	if len(b) < 12 {
		t.Fatalf("%d bytes: too short for a WAV header", len(b))
	}
	h.riff, h.wave = string(b[0:4]), string(b[8:12])
	h.riffSizeV = binary.LittleEndian.Uint32(b[4:8])
	off := 12
	for off+8 <= len(b) {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := off + 8
		switch id {
		case "ds64":
			h.ds64Riff = binary.LittleEndian.Uint64(b[body:])
			h.ds64Data = binary.LittleEndian.Uint64(b[body+8:])
			h.ds64Frames = binary.LittleEndian.Uint64(b[body+16:])
		case "fmt ":
			h.formatTag = binary.LittleEndian.Uint16(b[body:])
			h.blockAlign = binary.LittleEndian.Uint16(b[body+12:])
		case "fact":
			h.hasFact, h.factV = true, binary.LittleEndian.Uint32(b[body:])
		case "data":
			h.dataOffset, h.dataSizeV = body, uint32(size)
			return h
		}
		off = body + size + size%2
	}
	t.Fatal("no data chunk")
	return h
}

func writeMedia(t *testing.T, dir, rel string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExportCompleted(t *testing.T) {
	data := make([]byte, 16000)
	for i := range data {
		data[i] = byte(i)
	}
	media := wavFile{formatTag: 7, channels: 2, bits: 8, fact: true, declared: uint32(len(data)), data: data}.bytes()
	binary.LittleEndian.PutUint32(media[4:8], uint32(len(media)-8))
	sum := sha256.Sum256(media)
	r := completedRecording()
	r.SHA256 = hex.EncodeToString(sum[:])
	bad := completedRecording()
	bad.ID, bad.MediaPath, bad.SHA256 = "rec-bad", "media/bad.wav", r.SHA256
	abs := completedRecording()
	abs.ID, abs.SHA256 = "rec-abs", ""
	dir := seedDataDir(t, r, bad)
	writeMedia(t, dir, r.MediaPath, media)
	writeMedia(t, dir, bad.MediaPath, append(append([]byte{}, media[:100]...), 0xFF))
	// An absolute MediaPath is used as is.
	abs.MediaPath = filepath.Join(dir, r.MediaPath)
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRecording(context.Background(), abs); err != nil {
		t.Fatal(err)
	}
	db.Close()

	outDir := t.TempDir()
	out := filepath.Join(outDir, "call.wav")
	stdout, _, err := runCLI(t, "recordings", "export", "rec-done", "--data-dir", dir, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "finished") {
		t.Errorf("stdout = %q", stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, media) {
		t.Fatal("exported bytes differ from the media file")
	}
	h := parseWAVForTest(t, got)
	if h.riffSizeV != uint32(len(got)-8) || h.dataSizeV != uint32(len(data)) {
		t.Errorf("header sizes %d/%d", h.riffSizeV, h.dataSizeV)
	}

	// Existing --out: refused without --force, replaced with it.
	if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI(t, "recordings", "export", "rec-done", "--data-dir", dir, "--out", out)
	if !errors.Is(err, errOutExists) {
		t.Fatalf("export over an existing file = %v, want errOutExists", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Fatal("existing --out was modified")
	}
	if _, _, err := runCLI(t, "recordings", "export", "rec-done", "--data-dir", dir, "--out", out, "--force"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, media) {
		t.Fatal("--force did not replace --out")
	}

	// Checksum mismatch: error, no output.
	badOut := filepath.Join(outDir, "bad.wav")
	_, _, err = runCLI(t, "recordings", "export", "rec-bad", "--data-dir", dir, "--out", badOut)
	if !errors.Is(err, errChecksum) {
		t.Fatalf("export of a corrupted file = %v, want errChecksum", err)
	}
	if _, err := os.Stat(badOut); !os.IsNotExist(err) {
		t.Error("corrupted export left an output file")
	}

	absOut := filepath.Join(outDir, "abs.wav")
	if _, _, err := runCLI(t, "recordings", "export", "rec-abs", "--data-dir", dir, "--out", absOut); err != nil {
		t.Fatal(err)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(outDir)
	for _, e := range entries {
		if mediastore.IsTemp(e.Name()) {
			t.Errorf("left %s behind", e.Name())
		}
	}
	// Missing --out is an error.
	if _, _, err := runCLI(t, "recordings", "export", "rec-done", "--data-dir", dir); err == nil {
		t.Error("export without --out: no error")
	}
}

func TestExportInProgress(t *testing.T) {
	// A .part file as a writer leaves it between header syncs: the header
	// says 800 bytes, 1603 are on disk (the last frame incomplete).
	data := make([]byte, 1603)
	for i := range data {
		data[i] = byte(i * 3)
	}
	part := wavFile{formatTag: 6, channels: 2, bits: 8, fact: true, declared: 800, data: data}.bytes()
	r := liveRecording()
	dir := seedDataDir(t, r)
	writeMedia(t, dir, r.MediaPath+".part", part)

	out := filepath.Join(t.TempDir(), "live.wav")
	stdout, _, err := runCLI(t, "recordings", "export", "rec-live", "--data-dir", dir, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "in progress") {
		t.Errorf("stdout = %q", stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	h := parseWAVForTest(t, got)
	const frames = 801
	if h.riff != "RIFF" || h.wave != "WAVE" || h.formatTag != 6 || h.blockAlign != 2 {
		t.Errorf("header %+v", h)
	}
	if h.dataSizeV != frames*2 || h.factV != frames || h.riffSizeV != uint32(len(got)-8) {
		t.Errorf("data %d fact %d riff %d, want %d %d %d", h.dataSizeV, h.factV, h.riffSizeV, frames*2, frames, len(got)-8)
	}
	if len(got) != h.dataOffset+frames*2 {
		t.Errorf("export is %d bytes, want %d", len(got), h.dataOffset+frames*2)
	}
	if !bytes.Equal(got[h.dataOffset:], data[:frames*2]) {
		t.Error("samples differ")
	}
	// The source is untouched.
	src, _ := os.ReadFile(filepath.Join(dir, r.MediaPath+".part"))
	if !bytes.Equal(src, part) {
		t.Error("export modified the .part file")
	}

	// Once finalised (renamed), export takes the finished file.
	if err := os.Rename(filepath.Join(dir, r.MediaPath+".part"), filepath.Join(dir, r.MediaPath)); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runCLI(t, "recordings", "export", "rec-live", "--data-dir", dir, "--out", out, "--force")
	if err != nil || !strings.Contains(stdout, "finished") {
		t.Fatalf("export after rename: %q %v", stdout, err)
	}

	// No media at all.
	os.Remove(filepath.Join(dir, r.MediaPath))
	if _, _, err := runCLI(t, "recordings", "export", "rec-live", "--data-dir", dir, "--out", out, "--force"); !errors.Is(err, errNoMedia) {
		t.Errorf("export without media = %v, want errNoMedia", err)
	}
}

func TestMediaSource(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	dataDir := "data"
	writeMedia(t, root, "data/media/done.wav", []byte("x"))
	writeMedia(t, root, "data/media/live.wav.part", []byte("x"))
	writeMedia(t, root, "data/media/both.wav", []byte("x"))
	writeMedia(t, root, "data/media/both.wav.part", []byte("x"))
	abs := filepath.Join(root, "data/media/done.wav")
	tests := []struct {
		name, mediaPath, want string
		inProgress            bool
		err                   error
	}{
		{"relative to cwd (serve's <data-dir>/media/...)", "data/media/done.wav", "data/media/done.wav", false, nil},
		{"relative to data dir", "media/done.wav", "data/media/done.wav", false, nil},
		{"absolute", abs, abs, false, nil},
		{"in progress", "data/media/live.wav", "data/media/live.wav.part", true, nil},
		{"stored with .part, since finalised", "data/media/done.wav.part", "data/media/done.wav", false, nil},
		{"finished file wins over a leftover .part", "media/both.wav", "data/media/both.wav", false, nil},
		{"missing", "media/gone.wav", "", false, errNoMedia},
		{"no path", "", "", false, errNoMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, inProgress, err := mediastore.Locate(&store.Recording{MediaPath: tt.mediaPath}, dataDir)
			if !errors.Is(err, tt.err) || got != tt.want || inProgress != tt.inProgress {
				t.Errorf("MediaFile(%q) = %q, %v, %v; want %q, %v, %v", tt.mediaPath, got, inProgress, err, tt.want, tt.inProgress, tt.err)
			}
		})
	}
}

// list returns every recording unless --limit says otherwise: scripts and
// acceptance tests read the whole array.
func TestListReturnsAllByDefault(t *testing.T) {
	var recs []*store.Recording
	for i := 0; i < 150; i++ {
		recs = append(recs, &store.Recording{ID: fmt.Sprintf("r%03d", i), Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: recT0.Add(time.Duration(i) * time.Second)})
	}
	dir := seedDataDir(t, recs...)
	for _, tt := range []struct {
		args []string
		want int
	}{{nil, 150}, {[]string{"--limit", "7"}, 7}} {
		out, _, err := runCLI(t, append([]string{"recordings", "list", "--data-dir", dir, "--json"}, tt.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != tt.want {
			t.Errorf("list %v: %d recordings (%v), want %d", tt.args, len(got), err, tt.want)
		}
	}
	if _, _, err := runCLI(t, "recordings", "list", "--data-dir", dir, "--limit", "-1"); err == nil {
		t.Error("--limit -1 accepted")
	}
}

// seedRetention returns a data dir with four recordings of three tenants in
// every retention state, as serve leaves them:
//
//	rec-live  tenant acme    pending (deadline 10:05)
//	rec-done  tenant Acme    ordinary
//	rec-fail  tenant Globex  discard
//	rec-kept  no tenant      kept
func seedRetention(t *testing.T) string {
	t.Helper()
	live, done, fail := liveRecording(), completedRecording(), failedRecording()
	live.ExternalData = map[string]string{store.TenantKey: "acme"}
	live.Retention, live.KeepUntil, live.RetentionReason = store.RetentionPending, recT0.Add(65*time.Minute), `rule "vip" (prerecord)`
	done.ExternalData[store.TenantKey] = "Acme"
	fail.ExternalData = map[string]string{store.TenantKey: "Globex"}
	fail.Retention, fail.KeepUntil, fail.RetentionReason = store.RetentionDiscard, recT0, `do-not-record rule "no-ivr"`
	kept := &store.Recording{ID: "rec-kept", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: recT0.Add(-2 * time.Hour),
		Retention: store.RetentionKept, KeepUntil: recT0.Add(-time.Hour), RetentionReason: "kept by request (cti)"}
	return seedDataDir(t, live, done, fail, kept)
}

func listIDsCLI(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	out, _, err := runCLI(t, append([]string{"recordings", "list", "--json"}, args...)...)
	if err != nil {
		return nil, err
	}
	var list []store.RecordingView
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	ids := []string{}
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

func TestRecordingsListTenantRetention(t *testing.T) {
	dir := seedRetention(t)
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"no filter", nil, []string{"rec-live", "rec-done", "rec-fail", "rec-kept"}, false},
		{"tenant, any case", []string{"--tenant", "ACME"}, []string{"rec-live", "rec-done"}, false},
		{"other tenant", []string{"--tenant", "globex"}, []string{"rec-fail"}, false},
		{"unknown tenant", []string{"--tenant", "Initech"}, []string{}, false},
		{"pending", []string{"--retention", "pending"}, []string{"rec-live"}, false},
		{"kept", []string{"--retention", "kept"}, []string{"rec-kept"}, false},
		{"discard", []string{"--retention", "discard"}, []string{"rec-fail"}, false},
		{"tenant and retention", []string{"--tenant", "acme", "--retention", "pending"}, []string{"rec-live"}, false},
		{"tenant and other retention", []string{"--tenant", "acme", "--retention", "discard"}, []string{}, false},
		{"bad retention", []string{"--retention", "later"}, nil, true},
		{"retention is lower case", []string{"--retention", "Pending"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := listIDsCLI(t, append([]string{"--data-dir", dir}, tt.args...)...)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "--retention") {
					t.Fatalf("err = %v, want a --retention error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
	// The JSON view carries the state of pre-recordings only.
	out, _, err := runCLI(t, "recordings", "list", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	byID := map[string]map[string]any{}
	for _, o := range raw {
		byID[o["id"].(string)] = o
	}
	if o := byID["rec-live"]; o["retention"] != "pending" || o["keep_until"] != "2026-11-03T11:05:00Z" || o["retention_reason"] != `rule "vip" (prerecord)` {
		t.Errorf("rec-live retention keys = %v %v %v", o["retention"], o["keep_until"], o["retention_reason"])
	}
	if _, ok := byID["rec-done"]["retention"]; ok {
		t.Error("ordinary recording has a retention key")
	}
}

func TestRecordingsListTableRetention(t *testing.T) {
	dir := seedRetention(t)
	out, _, err := runCLI(t, "recordings", "list", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("table:\n%s", out)
	}
	if f := strings.Fields(lines[0]); f[len(f)-1] != "RETENTION" {
		t.Errorf("header %q does not end with RETENTION", lines[0])
	}
	wantLast := map[string]string{
		"rec-live": "pending", "rec-fail": "discard", "rec-kept": "kept",
		"rec-done": "CALLUUID0000000000000000000000A", // ordinary: the column is empty
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if want := wantLast[f[0]]; f[len(f)-1] != want {
			t.Errorf("row %q ends with %q, want %q", l, f[len(f)-1], want)
		}
	}
}

func TestRecordingsShowRetention(t *testing.T) {
	dir := seedRetention(t)
	out, _, err := runCLI(t, "recordings", "show", "rec-live", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Retention:", "pending", "Keep until:", "2026-11-03T11:05:00Z", "Retention reason:", `rule "vip" (prerecord)`} {
		if !strings.Contains(out, s) {
			t.Errorf("show of a pending recording lacks %q:\n%s", s, out)
		}
	}
	out, _, err = runCLI(t, "recordings", "show", "rec-fail", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Discarded at:") || !strings.Contains(out, "no-ivr") {
		t.Errorf("show of a discarded recording:\n%s", out)
	}
	out, _, err = runCLI(t, "recordings", "show", "rec-done", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "Retention") || strings.Contains(out, "Keep until") {
		t.Errorf("show of an ordinary recording prints retention fields:\n%s", out)
	}
	out, _, err = runCLI(t, "recordings", "show", "rec-live", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d store.RecordingDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Retention != store.RetentionPending || d.KeepUntil == nil || !d.KeepUntil.Equal(recT0.Add(65*time.Minute)) {
		t.Errorf("show --json retention = %q %v", d.Retention, d.KeepUntil)
	}
}

// openServer opens the data dir's database as "openrec serve" holds it
// while the CLI runs.
func openServer(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func serverGet(t *testing.T, db *sqlite.DB, id string) *store.Recording {
	t.Helper()
	r, err := db.GetRecording(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecordingsKeep(t *testing.T) {
	dir := seedRetention(t)
	srv := openServer(t, dir) // the CLI works while serve has the file open

	out, _, err := runCLI(t, "recordings", "keep", "rec-live", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "kept rec-live" {
		t.Errorf("stdout = %q, want %q", out, "kept rec-live")
	}
	r := serverGet(t, srv, "rec-live")
	if r.Retention != store.RetentionKept || r.RetentionReason != defaultKeepReason {
		t.Errorf("after keep: %q (%q), want kept (%q)", r.Retention, r.RetentionReason, defaultKeepReason)
	}
	// Again: no error, nothing changes.
	out, _, err = runCLI(t, "recordings", "keep", "rec-live", "--data-dir", dir, "--reason", "second")
	if err != nil || strings.TrimSpace(out) != "kept rec-live" {
		t.Errorf("second keep = %q, %v", out, err)
	}
	if r := serverGet(t, srv, "rec-live"); r.RetentionReason != defaultKeepReason {
		t.Errorf("second keep changed the reason to %q", r.RetentionReason)
	}
	// --reason is stored.
	if err := srv.SetRetention(context.Background(), "rec-live", store.RetentionPending, recT0, "p"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "recordings", "keep", "rec-live", "--data-dir", dir, "--reason", "customer consent (ticket 42)"); err != nil {
		t.Fatal(err)
	}
	if r := serverGet(t, srv, "rec-live"); r.RetentionReason != "customer consent (ticket 42)" {
		t.Errorf("reason = %q", r.RetentionReason)
	}

	tests := []struct {
		name     string
		args     []string
		wantErr  error
		wantText []string
	}{
		{"ordinary recording", []string{"rec-done"}, store.ErrNotPending, []string{"rec-done", "not a pre-recording awaiting a decision", "ordinary"}},
		{"marked for deletion", []string{"rec-fail"}, store.ErrNotPending, []string{"rec-fail", "not a pre-recording awaiting a decision", "marked for deletion", "no-ivr"}},
		{"unknown id", []string{"nope"}, store.ErrNotFound, []string{"nope", "not found"}},
		{"no database", []string{"rec-live", "--data-dir", filepath.Join(dir, "missing")}, errNoDatabase, []string{"rec-live"}},
		{"no id", nil, nil, nil},
		{"two ids", []string{"rec-live", "rec-done"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"recordings", "keep", "--data-dir", dir}, tt.args...)...)
			if err == nil {
				t.Fatalf("no error (stdout %q)", out)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(out, "kept") {
				t.Errorf("stdout = %q after a failed keep", out)
			}
		})
	}
	// The failed keeps changed nothing.
	for id, want := range map[string]store.Retention{"rec-done": store.RetentionNone, "rec-fail": store.RetentionDiscard} {
		if r := serverGet(t, srv, id); r.Retention != want {
			t.Errorf("%s: retention %q after a failed keep, want %q", id, r.Retention, want)
		}
	}
}

func TestRecordingsDiscard(t *testing.T) {
	dir := seedRetention(t)
	srv := openServer(t, dir)
	before := time.Now().Add(-time.Second)

	for _, tt := range []struct {
		id, reason string
		args       []string
	}{
		{"rec-live", defaultDiscardReason, nil},
		{"rec-done", "wrong number", []string{"--reason", "wrong number"}}, // an ordinary recording
	} {
		out, _, err := runCLI(t, append([]string{"recordings", "discard", tt.id, "--data-dir", dir}, tt.args...)...)
		if err != nil {
			t.Fatalf("discard %s: %v", tt.id, err)
		}
		if !strings.HasPrefix(out, "discarded "+tt.id) || !strings.Contains(out, "recorder") || !strings.Contains(out, "deletes") {
			t.Errorf("stdout = %q, want it to say the recorder deletes %s", out, tt.id)
		}
		r := serverGet(t, srv, tt.id)
		if r.Retention != store.RetentionDiscard || r.RetentionReason != tt.reason {
			t.Errorf("%s after discard: %q (%q), want discard (%q)", tt.id, r.Retention, r.RetentionReason, tt.reason)
		}
		if r.KeepUntil.Before(before) {
			t.Errorf("%s: KeepUntil = %v, want the time of the discard", tt.id, r.KeepUntil)
		}
	}
	// Already marked: no error, nothing changes.
	if _, _, err := runCLI(t, "recordings", "discard", "rec-fail", "--data-dir", dir); err != nil {
		t.Errorf("discard of a discarded recording: %v", err)
	}
	if r := serverGet(t, srv, "rec-fail"); r.RetentionReason != `do-not-record rule "no-ivr"` {
		t.Errorf("second discard changed the reason to %q", r.RetentionReason)
	}

	tests := []struct {
		name     string
		args     []string
		wantErr  error
		wantText []string
	}{
		{"kept", []string{"rec-kept"}, store.ErrNotPending, []string{"rec-kept", "cannot be discarded", "kept", "kept by request (cti)"}},
		{"unknown id", []string{"nope"}, store.ErrNotFound, []string{"nope", "not found"}},
		{"no database", []string{"rec-kept", "--data-dir", filepath.Join(dir, "missing")}, errNoDatabase, []string{"rec-kept"}},
		{"no id", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"recordings", "discard", "--data-dir", dir}, tt.args...)...)
			if err == nil {
				t.Fatalf("no error (stdout %q)", out)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
	if r := serverGet(t, srv, "rec-kept"); r.Retention != store.RetentionKept {
		t.Errorf("rec-kept: retention %q after a refused discard", r.Retention)
	}
}

func TestRecordingsDeletions(t *testing.T) {
	dir := seedRetention(t)
	srv := openServer(t, dir)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	// As the recorder's sweeper logs them: rec-fail 10 minutes ago (fields
	// from the row), rec-kept 3 hours ago, rec-done 3 days ago.
	for _, d := range []store.Deletion{
		{RecordingID: "rec-done", Reason: "old", At: now.Add(-72 * time.Hour)},
		{RecordingID: "rec-fail", Reason: `do-not-record rule "no-ivr"`, At: now.Add(-10 * time.Minute)},
		{RecordingID: "rec-kept", Reason: "retention expired", At: now.Add(-3 * time.Hour)},
	} {
		if err := srv.DeleteRecording(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"all newest first", nil, []string{"rec-fail", "rec-kept", "rec-done"}, false},
		{"since a duration", []string{"--since", "1h"}, []string{"rec-fail"}, false},
		{"since days", []string{"--since", "2d"}, []string{"rec-fail", "rec-kept"}, false},
		{"since a time", []string{"--since", now.Add(-4 * time.Hour).Format(time.RFC3339)}, []string{"rec-fail", "rec-kept"}, false},
		{"limit", []string{"--limit", "1"}, []string{"rec-fail"}, false},
		{"since and limit", []string{"--since", "100h", "--limit", "2"}, []string{"rec-fail", "rec-kept"}, false},
		{"bad since", []string{"--since", "yesterday"}, nil, true},
		{"negative since", []string{"--since", "-1h"}, nil, true},
		{"bad limit", []string{"--limit", "-1"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"recordings", "deletions", "--data-dir", dir, "--json"}, tt.args...)...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ds []store.DeletionView
			if err := json.Unmarshal([]byte(out), &ds); err != nil {
				t.Fatalf("deletions --json: %v\n%s", err, out)
			}
			ids := []string{}
			for _, d := range ds {
				ids = append(ids, d.RecordingID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}

	out, _, err := runCLI(t, "recordings", "deletions", "--data-dir", dir, "--json", "--limit", "1")
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil || len(raw) != 1 {
		t.Fatalf("deletions --json = %s (%v)", out, err)
	}
	want := map[string]any{"recording_id": "rec-fail", "call_uuid": "CALLUUID0000000000000000000000C", "record_id": "",
		"recorded_dn": "7003", "tenant": "Globex", "media_path": "", "reason": `do-not-record rule "no-ivr"`,
		"started_at": "2026-11-03T09:00:00Z", "deleted_at": now.Add(-10 * time.Minute).Format(time.RFC3339)}
	if !reflect.DeepEqual(raw[0], want) {
		t.Errorf("deletion JSON = %v, want %v", raw[0], want)
	}

	out, _, err = runCLI(t, "recordings", "deletions", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "DELETED") {
		t.Fatalf("table:\n%s", out)
	}
	if !strings.Contains(lines[1], "rec-fail") || !strings.Contains(lines[1], "Globex") || !strings.Contains(lines[1], `do-not-record rule "no-ivr"`) {
		t.Errorf("first row = %q", lines[1])
	}
}

func TestRecordingsDeletionsEmpty(t *testing.T) {
	dir := seedDataDir(t, completedRecording())
	out, _, err := runCLI(t, "recordings", "deletions", "--data-dir", dir, "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("deletions --json on an empty log = %q, %v; want []", out, err)
	}
	out, _, err = runCLI(t, "recordings", "deletions", "--data-dir", dir)
	if err != nil || strings.TrimSpace(out) != "no deletions" {
		t.Errorf("deletions table on an empty log = %q, %v", out, err)
	}
	// No database yet: an empty list, a note on stderr, and nothing created.
	missing := filepath.Join(t.TempDir(), "nothing-here")
	out, errOut, err := runCLI(t, "recordings", "deletions", "--data-dir", missing, "--json")
	if err != nil || strings.TrimSpace(out) != "[]" || !strings.Contains(errOut, "no recordings database") {
		t.Errorf("deletions on a missing data dir = %q / %q / %v", out, errOut, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("deletions created %s", missing)
	}
}

func TestRecordingsParseSince(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"0s", now, false},
		{"7d", now.Add(-7 * 24 * time.Hour), false},
		{"0d", now, false},
		{"2026-11-01T08:00:00Z", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), false},
		{"2026-11-01T09:00:00+01:00", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), false},
		{"-1h", time.Time{}, true},
		{"-2d", time.Time{}, true},
		{"1.5d", time.Time{}, true},
		{"d", time.Time{}, true},
		{"+3d", time.Time{}, true},
		{"99999999d", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2026-11-01", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseSinceFlag(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseSinceFlag(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
