package transcode_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
)

// A codec change mid-call on one channel (PCM16 storage): the first
// second was PCMU, decoded live; the second G.722 (dynamic payload type
// 96 after a re-INVITE), kept raw. After transcoding the channel holds
// both, the G.722 part where it arrived (±20 ms), nothing doubled; a hold
// span on the channel stays silent.
func TestTranscodeAfterACodecChangeKeepsBothParts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "R2.wav")
	const frames = 2 * 8000
	first := audiotest.Tone(440, 0.25, 8000, 8000)
	second := audiotest.Tone(1000, 0.25, 8000, 8000)
	// Live part: channel 0's first second, channel 1 silent.
	w, err := wav.Create(path, wav.FormatPCM16, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4*frames)
	for i := range 8000 {
		binary.LittleEndian.PutUint16(buf[4*i:], uint16(first[i]))
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Raw part: G.722 from 1000 ms, same SSRC's sequence numbers going on.
	enc := codec.NewG722Encoder()
	var raw []byte
	payload := make([]byte, 160)
	for i := range 50 {
		n := enc.Encode(second[i*160:(i+1)*160], payload)
		raw = binary.BigEndian.AppendUint32(raw, uint32(1000+20*i))
		raw = binary.BigEndian.AppendUint16(raw, uint16(50+i))
		raw = binary.BigEndian.AppendUint32(raw, uint32(8000+160*i))
		raw = append(raw, 96)
		raw = binary.BigEndian.AppendUint16(raw, uint16(n))
		raw = append(raw, payload[:n]...)
	}
	if err := os.WriteFile(mediastore.Raw(path, 0), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 96 0\r\na=rtpmap:96 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
		"m=audio 4002 RTP/AVP 0\r\n"
	if err := os.WriteFile(mediastore.SDP(path), []byte(sdp), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, size, _ := seal.HashFile(path)
	rec := &store.Recording{ID: "R2", Status: store.StatusCompleted, StartedAt: t0, Channels: 2, Format: "pcm16",
		MediaPath: path, SizeBytes: size, SHA256: sum, NeedsTranscode: true, DurationMS: 2000, Codecs: []string{"PCMU", "G722"},
		Segments: []store.Segment{{Type: store.SegmentHold, Channel: 0, StartMS: 1500, EndMS: 1700}}}
	if _, err := transcode.New(transcode.Config{DataDir: dir}).Transcode(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c0 := f.Channel(0)
	s1, e1 := audiotest.ToneSpan(c0, 8000, 440, 80)
	s2, e2 := audiotest.ToneSpan(c0, 8000, 1000, 80)
	t.Logf("440 Hz [%d, %d), 1000 Hz [%d, %d)", s1, e1, s2, e2)
	if s1 != 0 || e1 < 7840 || e1 > 8160 {
		t.Errorf("the live PCMU part moved: 440 Hz over [%d, %d)", s1, e1)
	}
	if s2 < 7840 || s2 > 8160 || e2 < 15840 {
		t.Errorf("the G.722 part: 1000 Hz over [%d, %d), want from 8000 (±160) to the end", s2, e2)
	}
	if !audiotest.Silent(c0[12000+80 : 13600-80]) {
		t.Error("the hold span (1.5-1.7 s) is not silent")
	}
	if !audiotest.HasTone(c0[8800:11200], 8000, 1000, []float64{440}) || !audiotest.HasTone(c0[800:7200], 8000, 440, []float64{1000}) {
		t.Error("the parts overlap")
	}
	if !audiotest.Silent(f.Channel(1)) {
		t.Error("channel 1 got audio")
	}
}
