package app

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type probeFunc func(context.Context) error

func (p probeFunc) Probe(ctx context.Context) error { return p(ctx) }

// The guard's store probe checks the data directory, then a store that can
// say it takes writes (PostgreSQL); a store without Probe (SQLite, whose
// file the directory probe covers) adds nothing.
func TestStoreProbe(t *testing.T) {
	ctx := context.Background()
	dirOK := func(context.Context) error { return nil }
	dirFull := func(context.Context) error { return errors.New("no space left on device") }
	standby := probeFunc(func(context.Context) error { return errors.New("the database is a read-only standby") })
	up := probeFunc(func(context.Context) error { return nil })
	for _, tc := range []struct {
		name string
		dir  func(context.Context) error
		db   any
		want string // "" = no error
	}{
		{"sqlite, dir ok", dirOK, struct{}{}, ""},
		{"sqlite, dir full", dirFull, struct{}{}, "no space"},
		{"postgres up", dirOK, up, ""},
		{"postgres standby", dirOK, standby, "metadata store: the database is a read-only standby"},
		{"dir full first", dirFull, standby, "no space"},
	} {
		err := storeProbe(tc.dir, tc.db)(ctx)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
