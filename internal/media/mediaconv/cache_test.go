package mediaconv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/testtool"
)

// gatedLame wraps lame in a script that appends a line to the returned
// count file at every run, then waits until the gate file exists.
func gatedLame(t *testing.T, lame, gate string) (script, count string) {
	t.Helper()
	count = filepath.Join(t.TempDir(), "runs")
	return fakeEncoder(t, "echo run >> "+count+"\nwhile [ ! -e "+gate+" ]; do sleep 0.01; done\nexec "+lame+` "$@"`+"\n"), count
}

func runs(t *testing.T, count string) int {
	t.Helper()
	b, err := os.ReadFile(count)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCacheConcurrentCallersShareOneEncode(t *testing.T) {
	lame := lamePath(t)
	src := writeRecording(t, wav.FormatULaw, tones(2, 5*rate))
	// The encoder waits for the gate: every caller must have joined the
	// encode in flight before it can end, so the callers are concurrent
	// for certain (without the gate, a fast encode could finish before the
	// next caller comes, which then finds the file: one run, nothing
	// shared, and the test would pass all the same).
	gate := filepath.Join(t.TempDir(), "gate")
	script, count := gatedLame(t, lame, gate)
	c := &Cache{Dir: filepath.Join(t.TempDir(), "mp3"), Place: mediastore.Put, Enc: Encoder{Path: script}}
	defer c.Close()
	defer func() { _ = os.WriteFile(gate, nil, 0o644) }() // on failure too: Close waits for the encodes

	const callers = 8
	paths := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			// kbps 0 and 16 are the same variant for stereo output.
			kbps := 0
			if i%2 == 1 {
				kbps = 16
			}
			paths[i], errs[i] = c.MP3(context.Background(), "01HREC-abc123", src, -1, kbps)
		})
	}
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := 0
		for _, call := range c.inflight {
			n += call.waiters
		}
		return len(c.inflight) == 1 && n == callers, fmt.Sprintf("%d encodes in flight, %d waiters", len(c.inflight), n)
	}, "all %d callers waiting for one encode", callers)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if paths[i] != paths[0] {
			t.Fatalf("caller %d got %s, caller 0 %s", i, paths[i], paths[0])
		}
	}
	if n := runs(t, count); n != 1 {
		t.Errorf("lame ran %d times for one variant, want 1", n)
	}
	if got := dirNames(t, c.Dir); len(got) != 1 || got[0] != "01HREC-abc123.all.16k.mp3" {
		t.Errorf("cache dir holds %v, want one file 01HREC-abc123.all.16k.mp3", got)
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	walkMP3(t, b, 16, "joint")

	// The same MP3 as a direct encode.
	s := openT(t, src)
	var direct bytes.Buffer
	if err := (Encoder{Path: lame}).EncodeMP3(context.Background(), s, -1, 16, &direct); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, direct.Bytes()) {
		t.Error("cached MP3 differs from a direct encode")
	}

	// Served from the file from now on; another variant is another file.
	if p, err := c.MP3(context.Background(), "01HREC-abc123", src, -1, 16); err != nil || p != paths[0] {
		t.Fatalf("repeat: %s, %v", p, err)
	}
	p1, err := c.MP3(context.Background(), "01HREC-abc123", src, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p1) != "01HREC-abc123.ch1.8k.mp3" {
		t.Errorf("channel 1 variant: %s", p1)
	}
	if n := runs(t, count); n != 2 {
		t.Errorf("lame ran %d times for two variants, want 2", n)
	}
}

func TestCacheErrors(t *testing.T) {
	src := writeRecording(t, wav.FormatULaw, tones(2, 100))
	dir := t.TempDir()
	c := &Cache{Dir: dir, Place: mediastore.Put, Enc: Encoder{Path: filepath.Join(dir, "no-lame")}}
	defer c.Close()
	ctx := context.Background()
	tests := []struct {
		name    string
		key     string
		src     string
		channel int
		kbps    int
		want    error
	}{
		{"no encoder", "rec1", src, -1, 0, ErrNoEncoder},
		{"bad bitrate", "rec1", src, -1, 8, ErrBitrate},
		{"bad channel", "rec1", src, 5, 0, ErrChannel},
		{"key with a slash", "rec/1", src, -1, 0, ErrKey},
		{"key starting with a dot", ".rec1", src, -1, 0, ErrKey},
		{"empty key", "", src, -1, 0, ErrKey},
		{"key too long", strings.Repeat("a", maxKeyLen+1), src, -1, 0, ErrKey},
		{"missing source", "rec1", filepath.Join(dir, "missing.wav"), -1, 0, os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.MP3(ctx, tc.key, tc.src, tc.channel, tc.kbps); !errors.Is(err, tc.want) {
				t.Errorf("MP3 = %v, want %v", err, tc.want)
			}
		})
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("failed encodes left %v", got)
	}
}

func TestCacheCancelStopsEncode(t *testing.T) {
	src := writeRecording(t, wav.FormatULaw, tones(2, 10*rate))
	pidFile := filepath.Join(t.TempDir(), "pid")
	dir := t.TempDir()
	c := &Cache{Dir: dir, Place: mediastore.Put, Enc: Encoder{Path: fakeEncoder(t, "echo $$ > "+pidFile+"\nexec sleep 600\n")}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.MP3(ctx, "rec1", src, -1, 0)
		done <- err
	}()
	pid := waitForPID(t, pidFile, done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("MP3 after cancel = %v, want context.Canceled", err)
	}
	// The only caller left: the encode is stopped. Close waits for it.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pid)
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("stopped encode left %v", got)
	}
	if _, err := c.MP3(context.Background(), "rec1", src, -1, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("MP3 after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCacheCloseStopsRunningEncode(t *testing.T) {
	src := writeRecording(t, wav.FormatULaw, tones(2, 10*rate))
	pidFile := filepath.Join(t.TempDir(), "pid")
	c := &Cache{Dir: t.TempDir(), Place: mediastore.Put, Enc: Encoder{Path: fakeEncoder(t, "echo $$ > "+pidFile+"\nexec sleep 600\n")}}
	done := make(chan error, 1)
	go func() {
		_, err := c.MP3(context.Background(), "rec1", src, 0, 0)
		done <- err
	}()
	pid := waitForPID(t, pidFile, done)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("waiting caller after Close = %v, want context.Canceled", err)
	}
	assertGone(t, pid)
}
