package sipsrv

import (
	"context"
	"log/slog"
	"sync"

	"github.com/emiago/sipgo/sip"
)

var libLogOnce sync.Once

// RouteLibraryLogs sends sipgo's own log lines (which otherwise go to
// slog.Default at their own levels, whole SIP messages included) through
// base: one level quieter, long values cut to 256 bytes. It takes effect
// once per process, before the first user agent is created.
func RouteLibraryLogs(base *slog.Logger) {
	libLogOnce.Do(func() {
		sip.SetDefaultLogger(slog.New(&libHandler{h: base.Handler()}).With("lib", "sipgo"))
	})
}

type libHandler struct{ h slog.Handler }

func quieter(l slog.Level) slog.Level {
	switch {
	case l >= slog.LevelError:
		return slog.LevelWarn
	case l >= slog.LevelWarn:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

func (l *libHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return l.h.Enabled(ctx, quieter(lvl))
}

func (l *libHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, quieter(r.Level), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(shorten(a))
		return true
	})
	return l.h.Handle(ctx, out)
}

func (l *libHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i := range as {
		as[i] = shorten(as[i])
	}
	return &libHandler{h: l.h.WithAttrs(as)}
}

func (l *libHandler) WithGroup(name string) slog.Handler { return &libHandler{h: l.h.WithGroup(name)} }

func shorten(a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindString {
		if s := a.Value.String(); len(s) > 256 {
			return slog.String(a.Key, s[:256]+"…")
		}
	}
	return a
}
