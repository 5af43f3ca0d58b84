package sipsrv

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestLibraryLogsQuieterAndShort(t *testing.T) {
	var buf bytes.Buffer
	h := &libHandler{h: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})}
	l := slog.New(h)
	l.Error("failed to parse", "data", strings.Repeat("x", 5000))
	l.Info("noise")
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || strings.Contains(out, "noise") || len(out) > 600 {
		t.Errorf("library log = %q", out)
	}
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("library info lines should be debug")
	}
}

// sipgo's goroutines read its default logger while a recorder starts and
// routes the library's logs: that must not be a data race (it was: the
// routing wrote sipgo's package variable; go test -race caught it in CI).
func TestRouteLibraryLogsWhileSipgoLogs(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				sip.DefaultLogger().Debug("tcp connection closed", "conn", "x")
			}
		}
	}()
	RouteLibraryLogs(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	libTarget.Store(slog.New(&libHandler{h: slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})}))
	sip.DefaultLogger().Error("parse failed", "data", "abc")
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "lib=sipgo") {
		t.Errorf("routed library log = %.300q", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
