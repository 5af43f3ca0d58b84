package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Every form a password takes in a connection string is hidden: an
// unescaped @ in it (the host starts after the last @), a password query
// parameter, a key/value connection string.
func TestRedactHidesEveryPasswordForm(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@ss@h:5432/db":                                        "postgres://u:xxxxx@h:5432/db",
		"postgres://u:Sec@ret@h/db?sslmode=require":                          "postgres://u:xxxxx@h/db?sslmode=require",
		"postgres://u@h/db?password=Secret&sslmode=require":                  "postgres://u@h/db?password=xxxxx&sslmode=require",
		"postgresql://h/db?sslmode=disable&PASSWORD=Secret":                  "postgresql://h/db?sslmode=disable&PASSWORD=xxxxx",
		"host=h user=u password=Secret dbname=db":                            "host=h user=u password=xxxxx dbname=db",
		"host=h password = 'Se cret' dbname=db":                              "host=h password=xxxxx dbname=db",
		"postgres://u:pw@h/db?application_name=a@b":                          "postgres://u:xxxxx@h/db?application_name=a@b",
		"postgres://u@h/db?application_name=a:b@c":                           "postgres://u@h/db?application_name=a:b@c",
		"redis://u:Secret@h":                                                 "redis://u:xxxxx@h",
		"postgres://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write": "postgres://u:xxxxx@h1:5432,h2:5433/db?target_session_attrs=read-write",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedact: whatever password pgx reads from a connection string, the
// redacted string does not show it.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"postgres://u:secret@h:5432/db", "postgres://u:p@ss@h/db", "postgres://u@h/db?password=secret",
		"host=h password=secret", "host=h password='se cret'", "postgresql://u:a%40b@h/db",
	} {
		f.Add(s)
	}
	f.Setenv("PGPASSWORD", "")
	f.Setenv("PGPASSFILE", "/nonexistent")
	f.Setenv("PGSERVICEFILE", "/nonexistent")
	f.Fuzz(func(t *testing.T, url string) {
		got := Redact(url)
		cfg, err := pgconn.ParseConfig(url)
		if err != nil || len(cfg.Password) < 4 || !strings.Contains(url, cfg.Password) {
			return
		}
		if strings.Contains(got, cfg.Password) {
			t.Fatalf("Redact(%q) = %q shows the password %q", url, got, cfg.Password)
		}
	})
}
