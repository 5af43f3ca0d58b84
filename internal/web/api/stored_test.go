package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/web/api"
)

// storeAs re-stores recording id of e as format (ffmpeg), as the recorder
// does when a recording ends.
func storeAs(t *testing.T, e *env, ff, id, format string) {
	t.Helper()
	rec := e.recs[id]
	src, err := mediaconv.Open(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(rec.MediaPath, ".wav") + mediaconv.StoreExt(format)
	if err := (mediaconv.StoreCodec{FFmpeg: ff}).Encode(context.Background(), src, format, 32, out); err != nil {
		t.Fatal(err)
	}
	src.Close()
	os.Remove(rec.MediaPath)
	rec.MediaPath, rec.Format, rec.SHA256 = out, format, "0123456789abcdef"+format
	if err := e.db.UpdateRecording(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

// A recording stored as MP3 or Opus is replayed as WAV (its channels'
// tones, the recording's length), by Range, and as peaks, through one
// decoded WAV in the cache; without a decoder the answer is 501 naming
// ffmpeg.
func TestStoredFormatsReplayAsWAV(t *testing.T) {
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	e := newEnv(t, func(c *api.Config) { c.Stored = mediaconv.StoreCodec{FFmpeg: ff} })
	storeAs(t, e, ff, "rec-a1", mediaconv.StoreMP3)
	storeAs(t, e, ff, "rec-a2", mediaconv.StoreOpus)
	tok := e.token("root")
	for _, id := range []string{"rec-a1", "rec-a2"} {
		f := e.readWAV(tok, "/api/v1/recordings/"+id+"/media?format=wav")
		want := e.recs[id].DurationMS
		if f.SampleRate != 8000 || f.Channels != 2 || absMS(f.Duration().Milliseconds()-want) > 60 {
			t.Errorf("%s: %d Hz %d ch %v, want 8000 Hz 2 ch %d ms", id, f.SampleRate, f.Channels, f.Duration(), want)
		}
		for ch, freq := range []float64{toneCh0, toneCh1} {
			pcm := f.Channel(ch)
			if !audiotest.HasTone(pcm[len(pcm)/4:len(pcm)*3/4], 8000, freq, []float64{toneCh0, toneCh1}) {
				t.Errorf("%s channel %d: no %g Hz", id, ch, freq)
			}
		}
		resp := e.raw(tok, "GET", "/api/v1/recordings/"+id+"/media?format=wav", nil, map[string][]string{"Range": {"bytes=44-1043"}})
		resp.Body.Close()
		if resp.StatusCode != 206 || resp.ContentLength != 1000 {
			t.Errorf("%s Range: %d, %d bytes", id, resp.StatusCode, resp.ContentLength)
		}
		var pk struct {
			DurationMS int64 `json:"duration_ms"`
		}
		if code := e.do(tok, "GET", "/api/v1/recordings/"+id+"/peaks?buckets=20", nil, &pk); code != 200 || absMS(pk.DurationMS-want) > 60 {
			t.Errorf("%s peaks: %d, %d ms", id, code, pk.DurationMS)
		}
	}
	cached, _ := filepath.Glob(filepath.Join(e.dir, "cache", "pcm", "*.wav"))
	if len(cached) != 2 {
		t.Errorf("decoded cache holds %v, want one WAV per recording", cached)
	}

	noff := newEnv(t, nil)
	storeAs(t, noff, ff, "rec-a1", mediaconv.StoreOpus)
	var p api.Problem
	if code := noff.do(noff.token("root"), "GET", "/api/v1/recordings/rec-a1/media?format=wav", nil, &p); code != 501 || !strings.Contains(p.Detail, "ffmpeg") {
		t.Errorf("no decoder: %d %+v", code, p)
	}
}

func absMS(v int64) int64 { return max(v, -v) }
