package sipsrv

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

var (
	libLogOnce sync.Once
	libTarget  atomic.Pointer[slog.Logger] // nil until RouteLibraryLogs: slog.Default
)

// sipgo keeps its default logger in a package variable that its
// goroutines read without synchronisation, so it is set exactly once, here,
// before any of them can run; RouteLibraryLogs only swaps where that logger
// writes (an atomic), which is safe while sipgo connections are open.
func init() {
	sip.SetDefaultLogger(slog.New(routedHandler{}).With("lib", "sipgo"))
}

// RouteLibraryLogs sends sipgo's own log lines (which otherwise go to
// slog.Default at their own levels, whole SIP messages included) through
// base: one level quieter, long values cut to 256 bytes. The first call in
// a process decides.
func RouteLibraryLogs(base *slog.Logger) {
	libLogOnce.Do(func() {
		libTarget.Store(slog.New(&libHandler{h: base.Handler()}))
	})
}

// routedHandler is sipgo's default log handler: it writes through the
// logger RouteLibraryLogs chose (slog.Default before), replaying the
// attributes and groups sipgo added on top.
type routedHandler struct {
	ops []func(slog.Handler) slog.Handler
}

func (r routedHandler) target() slog.Handler {
	if l := libTarget.Load(); l != nil {
		return l.Handler()
	}
	return slog.Default().Handler()
}

func (r routedHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return r.target().Enabled(ctx, lvl)
}

func (r routedHandler) Handle(ctx context.Context, rec slog.Record) error {
	h := r.target()
	for _, op := range r.ops {
		h = op(h)
	}
	return h.Handle(ctx, rec)
}

// WithAttrs keeps as and hands a copy to every handler it builds (a
// handler owns the slice it is given and may change it).
func (r routedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return routedHandler{ops: append(slices.Clip(r.ops), func(h slog.Handler) slog.Handler { return h.WithAttrs(slices.Clone(as)) })}
}

func (r routedHandler) WithGroup(name string) slog.Handler {
	return routedHandler{ops: append(slices.Clip(r.ops), func(h slog.Handler) slog.Handler { return h.WithGroup(name) })}
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
