package backend

import (
	"errors"
	"strings"
	"testing"
)

// Parse on any text: no panic; a known prefix gives its kind (SQLite with
// a path), anything else ErrBadURL.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"sqlite:/var/lib/openrec/openrec.db", "sqlite://x.db", "sqlite:", "postgres://u:p@h/db",
		"postgresql://h/db", "mysql://u:p@h/db", "", "SQLITE:x", "postgres:/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, url string) {
		kind, path, err := Parse(url)
		switch {
		case err != nil:
			if !errors.Is(err, ErrBadURL) || kind != 0 || path != "" {
				t.Fatalf("Parse(%q) = %v %q %v", url, kind, path, err)
			}
		case kind == SQLite:
			if !strings.HasPrefix(url, "sqlite:") || path == "" {
				t.Fatalf("Parse(%q) = SQLite %q", url, path)
			}
		case kind == Postgres:
			if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") || path != "" {
				t.Fatalf("Parse(%q) = Postgres %q", url, path)
			}
		default:
			t.Fatalf("Parse(%q) = kind %v without error", url, kind)
		}
	})
}
