package sipsrv

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
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
