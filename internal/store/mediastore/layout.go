package mediastore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Suffixes and names of a recording's files (see the package doc).
const (
	Ext          = ".wav"           // the media
	PartSuffix   = ".part"          // appended while the media is written (media/wav.PartSuffix)
	RewrapSuffix = ".rewrap"        // a key rotation's journal beside the media
	SDPExt       = ".sdp"           // the negotiated SDP
	ManifestExt  = ".manifest.json" // the signed manifest
	// TranscodeExt is the journal of a transcode under way (recorder/transcode).
	TranscodeExt = ".transcode.json"
	rawExt       = ".rtpraw"
	ScreenExt    = ".screen.webm" // the screen video uploaded by the agent's screen client (issue 18)
)

// MP3CacheDir is where the server caches MP3 encodings of recordings,
// relative to the data dir; its files are named "<recording id>-<sha256
// prefix>.<variant>.mp3".
var MP3CacheDir = filepath.Join("cache", "mp3")

// MP3Key is the MP3 cache key of r, "<id>-<sha256>": the id first, so that
// Files finds a recording's cached MP3s, the digest so that a changed
// recording is never served a stale MP3.
func MP3Key(r *store.Recording) string { return r.ID + "-" + r.SHA256 }

// Layout places new recordings under Root (<data-dir>/media).
type Layout struct {
	Root string
}

// NewMedia is the media path of a recording id started at t: the UTC day
// directory under Root and "<id>.wav". The directory is not created.
func (l Layout) NewMedia(t time.Time, id string) string {
	return filepath.Join(l.Root, t.UTC().Format("2006/01/02"), id+Ext)
}

// Part is the file media is written to until it is finished.
func Part(media string) string { return media + PartSuffix }

// Final is the finished media path of a path that may be a .part file.
func Final(path string) string { return strings.TrimSuffix(path, PartSuffix) }

// base is the media path without its extension.
func base(media string) string { return strings.TrimSuffix(Final(media), filepath.Ext(Final(media))) }

// Raw is the sidecar of channel ch's undecodable payloads.
func Raw(media string, ch int) string { return base(media) + ".ch" + strconv.Itoa(ch) + rawExt }

// Raws lists the raw payload sidecars that exist beside media.
func Raws(media string) []string {
	raws, _ := filepath.Glob(base(media) + ".ch*" + rawExt)
	return raws
}

// SDP is the sidecar holding the negotiated SDP.
func SDP(media string) string { return base(media) + SDPExt }

// Screen is the screen video of media: <base>.screen.webm, written as
// Part(Screen(media)) while its upload is incomplete.
func Screen(media string) string { return base(media) + ScreenExt }

// Manifest is the signed manifest of media: <base>.manifest.json.
func Manifest(media string) string { return base(media) + ManifestExt }

// TranscodeJournal is the journal of a transcode of media under way:
// <base>.transcode.json.
func TranscodeJournal(media string) string { return base(media) + TranscodeExt }

// Candidates are the paths a stored MediaPath may name: as given and, when
// relative, under dataDir.
func Candidates(mediaPath, dataDir string) []string {
	out := []string{mediaPath}
	if !filepath.IsAbs(mediaPath) && dataDir != "" {
		out = append(out, filepath.Join(dataDir, mediaPath))
	}
	return out
}

// Resolve is the path r's MediaPath names on this machine: as given when
// it exists (or when dataDir is empty), else relative to dataDir; the
// finished name (never the .part one).
func Resolve(r *store.Recording, dataDir string) string {
	p := r.MediaPath
	if !filepath.IsAbs(p) && dataDir != "" {
		if _, err := os.Stat(p); err != nil {
			if _, err := os.Stat(Part(p)); err != nil {
				p = filepath.Join(dataDir, p)
			}
		}
	}
	return Final(p)
}

// Locate finds the file holding r's media: the finished file, or the .part
// file while it is being written (inProgress). A relative MediaPath is tried
// as given (serve stores <data-dir>/media/..., relative to its working
// directory when --data-dir is) and then relative to dataDir. A recording
// without media gives store.ErrNoMedia.
func Locate(r *store.Recording, dataDir string) (path string, inProgress bool, err error) {
	if r.MediaPath == "" {
		return "", false, store.ErrNoMedia
	}
	var tried []string
	for _, p := range Candidates(r.MediaPath, dataDir) {
		final := Final(p)
		// Prefer the finished file: the row may lag the rename by a moment.
		for _, c := range []string{final, Part(final)} {
			if _, err := os.Stat(c); err == nil {
				return c, c != final, nil
			}
			tried = append(tried, c)
		}
	}
	return "", false, fmt.Errorf("%w: none of %s exists", store.ErrNoMedia, strings.Join(tried, ", "))
}

// StoredExts are the extensions a recording's media file has in each
// storage format (media_format): WAV while recording, and MP3 or Opus
// (in Ogg) once compressed.
var StoredExts = []string{Ext, ".mp3", ".opus"}

// PCMCacheDir is where the API keeps the decoded WAV of a recording stored
// compressed, "<id>-<sha256>.wav" (relative to the data dir).
var PCMCacheDir = filepath.Join("cache", "pcm")

// DeletingSuffix marks a file set aside by a deletion under way.
const DeletingSuffix = ".deleting"

// Files returns the files of recording r: the media (finished and in
// progress), its screen video (complete and in upload), its SDP and raw
// RTP sidecars, its rotation and transcode journals, its signed
// manifest and, when dataDir is known, its cached MP3s. A relative media
// path is taken as given when it exists, else relative to dataDir. Not all
// of them need exist.
func Files(r *store.Recording, dataDir string) []string {
	var mp3s []string
	if dataDir != "" && r.ID != "" && !strings.ContainsAny(r.ID, `*?[\/`) {
		all, _ := filepath.Glob(filepath.Join(dataDir, MP3CacheDir, r.ID+"-*"))
		pcm, _ := filepath.Glob(filepath.Join(dataDir, PCMCacheDir, r.ID+"-*"))
		for _, p := range append(all, pcm...) {
			if !strings.HasSuffix(p, DeletingSuffix) { // a copy, re-encoded at will: never put back
				mp3s = append(mp3s, p)
			}
		}
	}
	if r.MediaPath == "" {
		return mp3s
	}
	p := r.MediaPath
	if !filepath.IsAbs(p) && dataDir != "" {
		if _, err := os.Stat(p); err != nil {
			p = filepath.Join(dataDir, p)
		}
	}
	files := []string{p, Part(p), SDP(p), Manifest(p), p + RewrapSuffix, TranscodeJournal(p), Screen(p), Part(Screen(p))}
	// The media in its other storage formats (a WAV being compressed, a
	// compression's .part, a leftover of either).
	for _, ext := range StoredExts {
		if o := base(p) + ext; o != p {
			files = append(files, o, Part(o))
		}
	}
	return append(append(files, Raws(p)...), mp3s...)
}

// ObjectName is the layout name of the recording file at path relative to
// the media root, "YYYY/MM/DD/<file>" with forward slashes: the key of its
// object in a bucket, after the bucket's prefix (store/s3media).
func ObjectName(path string) string {
	dir, file := filepath.Split(filepath.Clean(path))
	parts := strings.Split(filepath.ToSlash(filepath.Clean(dir)), "/")
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	var out []string
	for _, p := range parts {
		if p != "" && p != "." && p != "/" {
			out = append(out, p)
		}
	}
	return strings.Join(append(out, file), "/")
}

// Finished lists the files of the finished recording whose media is at
// media that exist now: the media, its SDP and raw payload sidecars and its
// signed manifest — what moves to an object store after finalise. Nothing
// while the media is still a .part file or a key rotation's journal is
// beside it (the files are about to change).
func Finished(media string) []string {
	media = Final(media)
	if exists(Part(media)) || exists(media+RewrapSuffix) {
		return nil
	}
	var out []string
	for _, f := range append([]string{media, SDP(media), Manifest(media)}, Raws(media)...) {
		if exists(f) {
			out = append(out, f)
		}
	}
	return out
}

func exists(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular()
}
