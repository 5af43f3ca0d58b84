package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
)

// maxMemSessions bounds the sessions kept in memory while the store
// cannot write.
const maxMemSessions = 10000

// degradedSessions is the API's user store with one fallback: a session
// the store cannot write (a full disk, a read-only file system) is kept in
// memory until it expires, so signing in, searching and replaying keep
// working while the disk is full. Such sessions do not survive a restart.
type degradedSessions struct {
	backend.Store
	log *slog.Logger

	mu  sync.Mutex
	mem map[string]store.Session // by token hash
}

func newDegradedSessions(db backend.Store, log *slog.Logger) *degradedSessions {
	return &degradedSessions{Store: db, log: log, mem: map[string]store.Session{}}
}

// CreateSession writes s to the store, or keeps it in memory when the
// store fails to write.
func (d *degradedSessions) CreateSession(ctx context.Context, s store.Session) error {
	err := d.Store.CreateSession(ctx, s)
	if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || ctx.Err() != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for h, m := range d.mem {
		if !s.CreatedAt.Before(m.ExpiresAt) {
			delete(d.mem, h)
		}
	}
	if len(d.mem) >= maxMemSessions {
		return err
	}
	d.mem[s.TokenHash] = s
	d.log.Warn("session kept in memory: the store cannot write it (until it expires or the process restarts)", "user", s.User, "error", err)
	return nil
}

// GetSession finds a session in memory, then in the store.
func (d *degradedSessions) GetSession(ctx context.Context, tokenHash string, now time.Time) (*store.Session, error) {
	d.mu.Lock()
	s, ok := d.mem[tokenHash]
	if ok && !now.Before(s.ExpiresAt) {
		delete(d.mem, tokenHash)
		ok = false
		d.mu.Unlock()
		return nil, store.ErrNotFound
	}
	d.mu.Unlock()
	if ok {
		return &s, nil
	}
	return d.Store.GetSession(ctx, tokenHash, now)
}

// DeleteSession ends a session in memory or in the store.
func (d *degradedSessions) DeleteSession(ctx context.Context, tokenHash string) error {
	d.mu.Lock()
	_, ok := d.mem[tokenHash]
	delete(d.mem, tokenHash)
	d.mu.Unlock()
	if ok {
		return nil
	}
	return d.Store.DeleteSession(ctx, tokenHash)
}

// DeleteUserSessions ends a user's sessions in memory and in the store.
func (d *degradedSessions) DeleteUserSessions(ctx context.Context, name string) (int, error) {
	d.mu.Lock()
	n := 0
	for h, s := range d.mem {
		if s.User == name {
			delete(d.mem, h)
			n++
		}
	}
	d.mu.Unlock()
	m, err := d.Store.DeleteUserSessions(ctx, name)
	return n + m, err
}
