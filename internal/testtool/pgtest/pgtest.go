// Package pgtest gives a test its own PostgreSQL database: it finds the
// server (OPENREC_TEST_POSTGRES, a URL, else the default
// postgres://postgres@127.0.0.1:5432/postgres), creates a database with a
// random name and drops it when the test ends. Without a server the test
// is skipped, or fails under CI=true (testtool.Missing).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/testtool"
)

// Env names the server's URL (a database the test user may connect to
// and create databases from).
const Env = "OPENREC_TEST_POSTGRES"

// DefaultURL is the server tried when Env is not set: the local
// PostgreSQL of the project's machines (trust authentication).
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres"

// ServerURL returns the server's URL (Env, else DefaultURL).
func ServerURL() string {
	if u := os.Getenv(Env); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database and returns its URL; the database
// is dropped (connections closed first) at the end of the test.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	server := ServerURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		testtool.Missing(tb, "needs a PostgreSQL server at %s (set %s=postgres://user@host:port/db; on this machine: "+
			"pg_ctlcluster --skip-systemctl-redirect 15 main start): %v", server, Env, err)
		return ""
	}
	defer admin.Close(context.Background())
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "openrec_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, server)
		if err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("pgtest: %s=%q: %v", Env, server, err)
	}
	u.Path = "/" + name
	return u.String()
}
