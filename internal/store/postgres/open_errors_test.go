package postgres

import (
	"context"
	"strings"
	"testing"
)

// Open's errors never show the password, whatever is wrong with the URL
// (pgx itself reads an unescaped @ in a password as the host's start and
// prints that part in its errors: refused before pgx sees it).
func TestOpenErrorsHidePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://u:S3cretPW@h:notaport/db",
		"postgres://u:S3cretPW@h/db?sslmode=bogus",
		"postgres://u:S3c@retPW@127.0.0.1:1/db?connect_timeout=1",
		"postgres://u@127.0.0.1:1/db?password=S3cretPW&connect_timeout=1",
		"postgres://u:S3cretPW@h/db?connect_timeout=x",
		"postgres://u:S3cretPW@h/%zz",
		"postgres://u:S3cretPW@[::1/db",
	} {
		_, err := Open(context.Background(), u)
		if err == nil || strings.Contains(err.Error(), "S3cretPW") || strings.Contains(err.Error(), "retPW") {
			t.Errorf("Open(%q): %v, want an error without the password", u, err)
		}
	}
}
