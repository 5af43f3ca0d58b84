package backend

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/store/postgres"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool/pgtest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		url  string
		kind Kind
		path string
		bad  bool
	}{
		{url: "sqlite:/var/lib/openrec/openrec.db", kind: SQLite, path: "/var/lib/openrec/openrec.db"},
		{url: "sqlite:data/openrec.db", kind: SQLite, path: "data/openrec.db"},
		{url: "sqlite:///abs/openrec.db", kind: SQLite, path: "/abs/openrec.db"},
		{url: "postgres://u@h:5432/db", kind: Postgres},
		{url: "postgresql://u:pw@h/db?sslmode=require", kind: Postgres},
		{url: "sqlite:", bad: true},
		{url: "/var/lib/openrec/openrec.db", bad: true},
		{url: "mysql://u@h/db", bad: true},
		{url: "", bad: true},
	} {
		kind, path, err := Parse(tc.url)
		if tc.bad {
			if !errors.Is(err, ErrBadURL) {
				t.Errorf("Parse(%q) = %v, want ErrBadURL", tc.url, err)
			}
			continue
		}
		if err != nil || kind != tc.kind || path != tc.path {
			t.Errorf("Parse(%q) = %v %q %v", tc.url, kind, path, err)
		}
	}
	if got := Default("/d"); got != "sqlite:/d/openrec.db" {
		t.Errorf("Default = %q", got)
	}
	if _, _, err := Parse("redis://u:secret@h"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a bad URL's message shows its password: %v", err)
	}
}

// Open gives the store the URL names.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sub", "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sqlite.DB); !ok {
		t.Errorf("sqlite: got %T", s)
	}
	s.Close()
	s, err = Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*postgres.DB); !ok {
		t.Errorf("postgres: got %T", s)
	}
	s.Close()
	if _, err := Open(ctx, "file:x.db"); !errors.Is(err, ErrBadURL) {
		t.Errorf("Open(file:) = %v, want ErrBadURL", err)
	}
}
