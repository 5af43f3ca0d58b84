package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// muxProblem is the 501 of a muxed download without ffmpeg: the separate
// files are there.
type muxProblem struct {
	Problem
	Links map[string]string `json:"links"`
}

// serveMuxed answers GET .../media?kind=muxed: the screen video and the
// call's audio in one WebM, made on the fly by ffmpeg (the video copied as
// it is, the audio encoded to Opus), streamed as a download. Without
// ffmpeg: 501 with the links of the separate files.
func (s *Server) serveMuxed(w http.ResponseWriter, r *http.Request, rec *store.Recording) {
	base := "/api/v1/recordings/" + url.PathEscape(rec.ID) + "/media"
	bin := s.cfg.FFmpeg
	if bin == "" {
		bin = "ffmpeg"
	}
	bin, err := exec.LookPath(bin)
	if err != nil {
		p := muxProblem{Problem: Problem{Type: "about:blank", Status: http.StatusNotImplemented, Title: "ffmpeg not available",
			Detail: "a muxed download needs ffmpeg on the server (Debian: apt-get install ffmpeg); the video and the audio are available apart"},
			Links: map[string]string{"video": base + "?kind=screen&download=1", "audio": base + "?format=wav&download=1"}}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(p.Status)
		_ = json.NewEncoder(w).Encode(p)
		return
	}
	video, closeVideo, _, ok := s.openScreen(w, r, rec)
	if !ok {
		return
	}
	defer closeVideo()
	m, ok := s.openMedia(w, r, rec)
	if !ok {
		return
	}
	defer m.src.Close()
	audio, err := m.src.PCM(-1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	vr, vw, err := os.Pipe()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// pipe:3 is the video (ExtraFiles[0]), pipe:0 the audio as PCM WAV.
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "webm", "-i", "pipe:3", "-f", "wav", "-i", "pipe:0",
		"-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "libopus", "-b:a", "32k",
		"-shortest", "-f", "webm", "pipe:1")
	cmd.ExtraFiles = []*os.File{vr}
	cmd.Stdin = audio
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		vr.Close()
		vw.Close()
		s.fail(w, r, err)
		return
	}
	if err := cmd.Start(); err != nil {
		vr.Close()
		vw.Close()
		s.fail(w, r, fmt.Errorf("mux %s: %w", rec.ID, err))
		return
	}
	vr.Close() // the child's copy stays open
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(vw, video)
		vw.Close()
	})
	s.recordOnce(r, store.AuditDownload+"|"+rec.ID+"|muxed", store.AuditEntry{Action: store.AuditDownload, RecordingID: rec.ID, Detail: "kind=muxed"})
	w.Header().Set("Content-Type", "video/webm")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rec.ID+"-muxed.webm"))
	w.Header().Set("Cache-Control", "private, no-store")
	_, copyErr := io.Copy(w, out)
	if copyErr != nil {
		cancel() // the client left: stop ffmpeg
	}
	err = cmd.Wait()
	vw.Close() // ffmpeg may exit before reading all the video
	wg.Wait()
	if err != nil && copyErr == nil && !errors.Is(ctx.Err(), context.Canceled) {
		s.log.Warn("muxed download failed", "recording_id", rec.ID, "error", err, "ffmpeg", stderr.String())
	}
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// maxThumbnailJobs bounds the ffmpeg processes making thumbnails at once
// (a search page asks for up to a page of them).
const maxThumbnailJobs = 2

// serveThumbnail answers GET .../media?kind=thumbnail: a PNG, 160 pixels
// wide, of a representative frame of the start of the screen video (ffmpeg's
// thumbnail filter over its first frames), for the search list. Without
// ffmpeg: 501.
func (s *Server) serveThumbnail(w http.ResponseWriter, r *http.Request, rec *store.Recording) {
	bin := s.cfg.FFmpeg
	if bin == "" {
		bin = "ffmpeg"
	}
	bin, err := exec.LookPath(bin)
	if err != nil {
		writeProblem(w, r, &Problem{Status: http.StatusNotImplemented, Title: "ffmpeg not available",
			Detail: "thumbnails need ffmpeg on the server (Debian: apt-get install ffmpeg)"})
		return
	}
	video, closeVideo, _, ok := s.openScreen(w, r, rec)
	if !ok {
		return
	}
	defer closeVideo()
	select {
	case s.screen.thumbs <- struct{}{}:
		defer func() { <-s.screen.thumbs }()
	case <-r.Context().Done():
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "webm", "-i", "pipe:0",
		"-vf", "thumbnail=10,scale=160:-2", "-frames:v", "1", "-f", "image2", "-c:v", "png", "pipe:1")
	cmd.Stdin = io.LimitReader(video, 32<<20) // the first frames are enough
	var png, stderr strings.Builder
	cmd.Stdout = &limitedWriter{w: &png, n: 1 << 20}
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := cmd.Run(); err != nil || png.Len() == 0 {
		s.log.Warn("screen thumbnail failed", "recording_id", rec.ID, "error", err, "ffmpeg", stderr.String())
		writeProblem(w, r, problemf(http.StatusUnprocessableEntity, "no frame could be decoded from the screen video of "+rec.ID))
		return
	}
	s.recordOnce(r, store.AuditView+"|"+rec.ID+"|thumbnail", store.AuditEntry{Action: store.AuditView, RecordingID: rec.ID, Detail: "kind=thumbnail"})
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = io.WriteString(w, png.String())
}
