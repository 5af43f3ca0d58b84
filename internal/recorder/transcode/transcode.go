// Package transcode decodes what a recording kept raw. When the recorder
// receives a codec this build cannot decode, the mixer keeps that
// channel silent in the media file, appends the payloads to a sidecar
// (<id>.chN.rtpraw, records of arrival time, sequence number, RTP
// timestamp, payload type and payload: mixer.ReadRawRecord) beside the
// negotiated SDP (<id>.sdp), and the recording is flagged needs_transcode.
//
// Transcoder.Transcode replays those sidecars through the live path's own
// code: a mixer.Mixer with the same start, storage format and channel
// count, each record handed to its channel's Track at its recorded arrival
// time with the payload types of the SDP, decoded by internal/media/codec.
// The replayed channels are then laid into the stored file (each sample
// the live path wrote as silence takes the replayed one; pause and hold
// spans stay silent), so the result is the aligned file the live path
// would have written had it had the decoder. The new file replaces the
// old one atomically (mediastore.WriteFile), the recording's row is
// updated (needs_transcode false, size, sha256, duration, codecs) and an
// event "transcoded" is added; a signed manifest is written again when the
// recording had one.
//
// Crash safety: before the new file is renamed over the old one, a
// journal (<id>.transcode.json) records the digests of both. A transcode
// that finds a journal finishes the row from it when the new file is in
// place, or starts again when the old one still is; a media file that
// matches neither its row nor a journal is never mixed again (that would
// add the replayed audio twice).
//
// Queue (queue.go) runs transcodes in the background from the store's
// persisted job table with bounded workers, leases and retries.
package transcode

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
)

// Errors of a transcode, by what the queue does with them.
var (
	// ErrNoDecoder: this build has no decoder for a codec of the
	// recording (the job waits for a build that has one).
	ErrNoDecoder = errors.New("transcode: no decoder in this build")
	// ErrPermanent: retrying cannot help (the files are not what the row
	// says, the recording is encrypted ...): the job fails at once.
	ErrPermanent = errors.New("transcode: cannot transcode")
)

// EventTranscoded is the type of the event added to a transcoded
// recording; its detail names the codecs decoded per channel.
const EventTranscoded = "transcoded"

// Journal is the path of media's transcode journal (see the package doc).
func Journal(media string) string { return mediastore.TranscodeJournal(media) }

// Config configures a Transcoder.
type Config struct {
	// DataDir resolves relative media paths (mediastore.Locate).
	DataDir string
	// Decoders makes the decoder of a codec rendering rate (the stored
	// file's: 8000, or 16000 for a wideband recording); nil means
	// codec.NewDecoderRate (what this build decodes).
	Decoders func(c media.Codec, rate int) (mixer.Decoder, error)
	// DTMF is the key tone treatment of a recording's replayed audio
	// (nil: keep), as the live path would have applied it.
	DTMF func(*store.Recording) mixer.DTMFMode
	// SealKey, when set, signs the new manifest of a recording that had
	// one (store/seal).
	SealKey ed25519.PrivateKey
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // nil discards
}

// Transcoder transcodes one recording at a time per call; it holds no
// state between calls and is safe for concurrent use on different
// recordings.
type Transcoder struct {
	cfg Config
	log *slog.Logger
}

// New returns a Transcoder.
func New(cfg Config) *Transcoder {
	if cfg.Decoders == nil {
		cfg.Decoders = func(c media.Codec, rate int) (mixer.Decoder, error) {
			d, err := codec.NewDecoderRate(c, rate)
			if err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Transcoder{cfg: cfg, log: cfg.Logger}
}

// Outcome is a finished transcode: the row's new values and what was
// decoded.
type Outcome struct {
	RecordingID string
	Result      store.TranscodeResult
	Decoded     map[int][]string // channel → codec names decoded into it
	Recovered   bool             // finished from a journal (a crash after the new file was in place)
	Seconds     float64          // recorded seconds transcoded
}

// journal is the crash journal's content.
type journal struct {
	From   string                `json:"from_sha256"`
	Result store.TranscodeResult `json:"result"`
}

// Transcode decodes rec's raw sidecars into its media file and returns
// the new row values; the caller stores them (Store.FinishTranscode) and
// then calls Done. Errors wrap ErrNoDecoder or ErrPermanent when retrying
// cannot help now.
func (t *Transcoder) Transcode(ctx context.Context, rec *store.Recording) (*Outcome, error) {
	if !rec.NeedsTranscode {
		return nil, fmt.Errorf("%w: %s does not need transcoding", ErrPermanent, rec.ID)
	}
	if rec.Status != store.StatusCompleted && rec.Status != store.StatusPartial {
		return nil, fmt.Errorf("%w: %s is %s", ErrPermanent, rec.ID, rec.Status)
	}
	path, inProgress, err := mediastore.Locate(rec, t.cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	if inProgress {
		return nil, fmt.Errorf("%w: %s is still a .part file", ErrPermanent, path)
	}
	if mediacrypt.IsEncryptedFile(path) {
		return nil, fmt.Errorf("%w: %s is encrypted at rest (transcoding encrypted recordings is not supported)", ErrPermanent, path)
	}
	sum, _, err := seal.HashFile(path)
	if err != nil {
		return nil, fmt.Errorf("transcode %s: %w", rec.ID, err)
	}
	if j, err := readJournal(Journal(path)); err == nil {
		switch sum {
		case j.Result.SHA256: // the new file is in place: only the row is missing
			return &Outcome{RecordingID: rec.ID, Result: j.Result, Recovered: true, Decoded: decodedFrom(j.Result.Events),
				Seconds: float64(j.Result.DurationMS) / 1000}, nil
		case j.From: // the crash came before the rename: start again
		default:
			return nil, fmt.Errorf("%w: %s matches neither side of its journal %s", ErrPermanent, path, Journal(path))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: journal: %v", ErrPermanent, err)
	}
	if rec.SHA256 != "" && sum != rec.SHA256 {
		return nil, fmt.Errorf("%w: %s has sha256 %s, its row %s: not mixed again", ErrPermanent, path, sum, rec.SHA256)
	}
	return t.transcode(ctx, rec, path, sum)
}

// Done removes the journal once the row is stored.
func (t *Transcoder) Done(rec *store.Recording) {
	path, _, err := mediastore.Locate(rec, t.cfg.DataDir)
	if err == nil {
		_ = os.Remove(Journal(path))
	}
}

// Discard removes what a transcode of rec wrote (the media file and the
// journal) when rec was deleted while it ran.
func (t *Transcoder) Discard(rec *store.Recording) {
	for _, p := range mediastore.Candidates(rec.MediaPath, t.cfg.DataDir) {
		final := mediastore.Final(p)
		_ = os.Remove(Journal(final))
		_ = os.Remove(final)
	}
}

func readJournal(path string) (journal, error) {
	var j journal
	b, err := os.ReadFile(path)
	if err != nil {
		return j, err
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}

func decodedFrom(events []store.Event) map[int][]string {
	out := map[int][]string{}
	for _, e := range events {
		if e.Type == EventTranscoded {
			out[e.Channel] = strings.Split(e.Detail, ",")
		}
	}
	return out
}

// rawChannel is one channel's sidecar.
type rawChannel struct {
	ch      int
	records []mixer.RawRecord
	pm      payloadMap
	names   []string // codecs seen, in order
}

func (t *Transcoder) transcode(ctx context.Context, rec *store.Recording, path, fromSum string) (*Outcome, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("transcode %s: %w", rec.ID, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("transcode %s: %w", rec.ID, err)
	}
	chunks, err := wav.ParseChunks(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrPermanent, path, err)
	}
	fm := chunks.Fmt
	rate := int64(fm.SampleRate)
	if rate != codec.Rate && rate != codec.WideRate || fm.Channels < 1 || fm.Channels > mixer.MaxChannels {
		return nil, fmt.Errorf("%w: %s: %d channels at %d Hz (the mixer replays 8000 or 16000 Hz)", ErrPermanent, path, fm.Channels, fm.SampleRate)
	}
	dataLen := st.Size() - chunks.DataOffset
	if chunks.DataSize != wav.SizeUnknown {
		dataLen = min(dataLen, int64(chunks.DataSize))
	} else if chunks.DS64Offset >= 0 {
		dataLen = min(dataLen, int64(chunks.DS64Data))
	}
	frames := dataLen / int64(fm.BlockAlign)

	sidecar, _ := os.ReadFile(mediastore.SDP(path)) // none: static payload types only
	maps := channelMaps(sidecar, fm.Channels)
	raws, err := readRaws(path, fm.Channels, maps)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%w: %s has no raw payload sidecar", ErrPermanent, path)
	}
	var missing []string
	for _, rc := range raws {
		for _, n := range rc.names {
			c, ok := rc.pm.codecOfName(n)
			if !ok {
				missing = append(missing, fmt.Sprintf("ch%d %s (not in the SDP)", rc.ch, n))
				continue
			}
			if _, err := t.cfg.Decoders(c, int(rate)); err != nil {
				missing = append(missing, fmt.Sprintf("ch%d %s: %v", rc.ch, n, err))
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoDecoder, strings.Join(missing, "; "))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+rec.ID+".replay-*") // mediastore.IsTemp: garbage if a crash leaves it
	if err != nil {
		return nil, fmt.Errorf("transcode %s: %w", rec.ID, err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	dtmf := mixer.DTMFKeep
	if t.cfg.DTMF != nil {
		dtmf = t.cfg.DTMF(rec)
	}
	replayed, events, err := t.replay(ctx, rec, mixer.Format(fm.Format), int(rate), fm.Channels, frames, raws, dtmf, tmp)
	if err != nil {
		return nil, err
	}
	out := frames
	if replayed > out {
		out = replayed
	}
	segs := silentSpans(rec.Segments)
	rawChs := make([]bool, fm.Channels)
	for _, rc := range raws {
		rawChs[rc.ch] = true
	}
	res := store.TranscodeResult{DurationMS: out * 1000 / rate, StatusReason: clearNote(rec.StatusReason)}
	res.Codecs = slices.Clone(rec.Codecs)
	decoded := map[int][]string{}
	for _, rc := range raws {
		decoded[rc.ch] = rc.names
		for _, n := range rc.names {
			if !slices.Contains(res.Codecs, n) {
				res.Codecs = append(res.Codecs, n)
			}
		}
	}
	now := t.cfg.Now().UTC()
	var evs []store.Event
	for _, rc := range raws {
		evs = append(evs, store.Event{Type: EventTranscoded, Channel: rc.ch, AtMS: 0, Detail: strings.Join(rc.names, ","), At: now})
	}
	for _, e := range events {
		if e.Type == mixer.EventDTMF {
			evs = append(evs, store.Event{Type: e.Type, AtMS: e.AtMS, Channel: e.Channel, Detail: e.Detail,
				At: rec.StartedAt.Add(time.Duration(e.AtMS) * time.Millisecond).UTC()})
		}
	}
	res.Events = evs
	merge := merger{format: wav.Format(fm.Format), channels: fm.Channels, raw: rawChs, segs: segs}
	err = mediastore.WriteFile(path, mediastore.Options{Perm: st.Mode().Perm()}, func(nf *os.File) error {
		w, err := wav.NewWith(nf, wav.Format(fm.Format), fm.Channels, int(rate))
		if err != nil {
			return err
		}
		orig := io.NewSectionReader(f, chunks.DataOffset, frames*int64(fm.BlockAlign))
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := merge.run(ctx, w, orig, tmp, frames, replayed, out); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if _, err := nf.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, nf)
		if err != nil {
			return err
		}
		res.SHA256, res.SizeBytes = hex.EncodeToString(h.Sum(nil)), n
		// The journal is in place before the rename (WriteFile renames
		// when this returns).
		jb, _ := json.Marshal(journal{From: fromSum, Result: res})
		return mediastore.WriteFile(Journal(path), mediastore.Options{}, func(jf *os.File) error {
			_, err := jf.Write(jb)
			return err
		})
	})
	if err != nil {
		_ = os.Remove(Journal(path))
		return nil, fmt.Errorf("transcode %s: %w", rec.ID, err)
	}
	if err := t.reseal(rec, path, res); err != nil {
		t.log.Error("transcoded recording's manifest not written", "recording_id", rec.ID, "error", err)
	}
	return &Outcome{RecordingID: rec.ID, Result: res, Decoded: decoded, Seconds: float64(out) / float64(rate)}, nil
}

// reseal writes the signed manifest again for the new media, when the
// recording has one and a key is configured.
func (t *Transcoder) reseal(rec *store.Recording, path string, res store.TranscodeResult) error {
	mp := mediastore.Manifest(path)
	if t.cfg.SealKey == nil {
		return nil
	}
	if _, err := os.Stat(mp); err != nil {
		return nil
	}
	r := *rec
	r.NeedsTranscode, r.SizeBytes, r.SHA256, r.DurationMS, r.Codecs, r.StatusReason = false, res.SizeBytes, res.SHA256, res.DurationMS, res.Codecs, res.StatusReason
	m := seal.New(&r, t.cfg.Now())
	m.Sign(t.cfg.SealKey)
	return seal.Write(mp, m)
}

// clearNote drops the recorder's needs_transcode note from a status
// reason.
func clearNote(reason string) string {
	i := strings.Index(reason, "needs_transcode:")
	if i < 0 {
		return reason
	}
	end := len(reason)
	if j := strings.Index(reason[i:], "; "); j >= 0 {
		end = i + j + 2
	}
	out := reason[:i] + reason[end:]
	out = strings.TrimSuffix(strings.TrimSuffix(out, " "), ";")
	return strings.TrimSpace(out)
}

// readRaws reads every channel's sidecar.
func readRaws(path string, channels int, maps []payloadMap) ([]rawChannel, error) {
	var out []rawChannel
	for ch := range channels {
		b, err := os.ReadFile(mediastore.Raw(path, ch))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("transcode: %w", err)
		}
		if mediacrypt.Encrypted(bytesReaderAt(b)) {
			return nil, fmt.Errorf("%w: %s is encrypted", ErrPermanent, mediastore.Raw(path, ch))
		}
		rc := rawChannel{ch: ch, pm: maps[ch]}
		var named [128]bool
		for len(b) > 0 {
			r, rest, err := mixer.ReadRawRecord(b)
			if err != nil {
				// A crash may cut the last record: what came before is kept.
				break
			}
			rc.records = append(rc.records, r)
			b = rest
			if named[r.PayloadType&0x7F] {
				continue
			}
			named[r.PayloadType&0x7F] = true
			name := fmt.Sprintf("PT%d", r.PayloadType)
			if c, ok := rc.pm.codecOf(r.PayloadType); ok {
				name = c.Name
			}
			if !slices.Contains(rc.names, name) {
				rc.names = append(rc.names, name)
			}
		}
		if len(rc.records) > 0 {
			out = append(out, rc)
		}
	}
	return out, nil
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// codecOfName is the codec named name (or "PTn") in pm.
func (pm payloadMap) codecOfName(name string) (media.Codec, bool) {
	for _, c := range pm.codecs {
		if c.Name == name {
			return c, true
		}
	}
	return media.Codec{}, false
}

// replaySSRC is the SSRC every replayed channel's packets carry (the
// sidecar does not keep the sender's; a sequence restart still
// re-anchors).
const replaySSRC = 0x7C0DEC00

// frameSink is the replay mixer's FrameWriter: a buffered temporary file.
type frameSink struct {
	w *bufio.Writer
}

func (s frameSink) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s frameSink) Sync() error                 { return nil }

// replay hands every record to a mixer at its arrival time and writes the
// mixer's frames to tmp. It returns how many frames were written and the
// mixer's events.
func (t *Transcoder) replay(ctx context.Context, rec *store.Recording, f mixer.Format, rate, channels int, frames int64,
	raws []rawChannel, dtmf mixer.DTMFMode, tmp *os.File) (int64, []mixer.Event, error) {
	start := rec.StartedAt
	if start.IsZero() {
		start = time.Unix(0, 0)
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	mix, err := mixer.New(mixer.Config{
		Channels: channels, Format: f, SampleRate: rate, Start: start, Logger: t.log, DTMF: dtmf,
		Decoders: func(c media.Codec) (mixer.Decoder, error) { return t.cfg.Decoders(c, rate) },
	}, frameSink{bw})
	if err != nil {
		return 0, nil, fmt.Errorf("%w: mixer: %v", ErrPermanent, err)
	}
	for _, rc := range raws {
		mix.Track(rc.ch).SetCodecs(rc.pm.codecs, rc.pm.te, rc.pm.cn)
	}
	// Every channel's records in arrival order (stable: a channel's own
	// order is kept for equal times).
	type ref struct {
		ms  uint32
		ch  int
		rec *mixer.RawRecord
	}
	var all []ref
	for _, rc := range raws {
		for i := range rc.records {
			all = append(all, ref{rc.records[i].ArrivalMS, rc.ch, &rc.records[i]})
		}
	}
	slices.SortStableFunc(all, func(a, b ref) int { return int(int64(a.ms) - int64(b.ms)) })
	var lastFlush uint32
	var pkt media.Packet // one for every record: the mixer copies what it keeps
	for i, r := range all {
		if i%4096 == 0 && ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		at := start.Add(time.Duration(r.ms) * time.Millisecond)
		if r.ms >= lastFlush+100 {
			if err := mix.Flush(at); err != nil {
				return 0, nil, fmt.Errorf("transcode: replay: %w", err)
			}
			lastFlush = r.ms
		}
		pkt = media.Packet{SSRC: replaySSRC + uint32(r.ch), Seq: r.rec.Seq, Timestamp: r.rec.Timestamp,
			PayloadType: r.rec.PayloadType, Payload: r.rec.Payload, Arrival: at}
		mix.Track(r.ch).HandleRTP(&pkt)
	}
	end := start.Add(time.Duration(frames) * time.Second / time.Duration(rate))
	if err := mix.Close(end); err != nil {
		return 0, nil, fmt.Errorf("transcode: replay: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, nil, fmt.Errorf("transcode: replay: %w", err)
	}
	return mix.Frames(), mix.Events(), nil
}

// silentSpan is a span (in frames) that stays as the live path wrote it.
type silentSpan struct {
	ch         int // -1 = all
	start, end int64
}

func silentSpans(segs []store.Segment) []silentSpan {
	var out []silentSpan
	for _, s := range segs {
		if s.Type != store.SegmentPause && s.Type != store.SegmentHold {
			continue
		}
		end := s.EndMS
		if end < 0 {
			end = 1 << 40
		}
		out = append(out, silentSpan{ch: s.Channel, start: s.StartMS * 8, end: end * 8})
	}
	return out
}

// merger lays the replayed channels into the stored frames.
type merger struct {
	format   wav.Format
	channels int
	raw      []bool // channels that take replayed audio
	segs     []silentSpan
}

func (m merger) kept(ch int, frame int64) bool {
	for _, s := range m.segs {
		if (s.ch < 0 || s.ch == ch) && frame >= s.start && frame < s.end {
			return true
		}
	}
	return false
}

func (m merger) linear(b []byte) int16 {
	switch m.format {
	case wav.FormatULaw:
		return g711.DecodeULaw(b[0])
	case wav.FormatALaw:
		return g711.DecodeALaw(b[0])
	}
	return int16(uint16(b[0]) | uint16(b[1])<<8)
}

func (m merger) put(dst []byte, v int16) {
	switch m.format {
	case wav.FormatULaw:
		dst[0] = g711.EncodeULaw(v)
	case wav.FormatALaw:
		dst[0] = g711.EncodeALaw(v)
	default:
		dst[0], dst[1] = byte(v), byte(uint16(v)>>8)
	}
}

// run writes out frames: orig (frames long) with, in raw channels, the
// replayed samples (replayed frames long) wherever the original is
// silent; both sounding (concealment at a codec change) adds them.
func (m merger) run(ctx context.Context, w io.Writer, orig, replay io.Reader, frames, replayed, out int64) error {
	bps := m.format.BytesPerSample()
	fb := bps * m.channels
	const block = 4096
	ob := make([]byte, block*fb)
	rb := make([]byte, block*fb)
	silence := m.format.AppendSilence(nil, m.channels)
	origR := bufio.NewReaderSize(orig, 64<<10)
	repR := bufio.NewReaderSize(replay, 64<<10)
	for pos := int64(0); pos < out; pos += block {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n := min(int64(block), out-pos)
		o, r := ob[:n*int64(fb)], rb[:n*int64(fb)]
		if err := readFrames(origR, o, silence, max(0, min(n, frames-pos))*int64(fb)); err != nil {
			return fmt.Errorf("read media: %w", err)
		}
		if err := readFrames(repR, r, silence, max(0, min(n, replayed-pos))*int64(fb)); err != nil {
			return fmt.Errorf("read replay: %w", err)
		}
		for i := range n {
			frame := pos + i
			for ch := range m.channels {
				if !m.raw[ch] || m.kept(ch, frame) {
					continue
				}
				off := int(i)*fb + ch*bps
				rv := m.linear(r[off:])
				if rv == 0 {
					continue
				}
				ov := m.linear(o[off:])
				if ov == 0 {
					copy(o[off:off+bps], r[off:off+bps])
					continue
				}
				m.put(o[off:], int16(max(-32768, min(32767, int32(ov)+int32(rv)))))
			}
		}
		if _, err := w.Write(o); err != nil {
			return err
		}
	}
	return nil
}

// readFrames fills dst: its first have bytes from r, the rest silence.
func readFrames(r io.Reader, dst, silence []byte, have int64) error {
	if _, err := io.ReadFull(r, dst[:have]); err != nil {
		return err
	}
	for i := have; i < int64(len(dst)); i += int64(len(silence)) {
		copy(dst[i:], silence)
	}
	return nil
}
