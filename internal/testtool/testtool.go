// Package testtool finds what some tests need from outside the Go module —
// external programs (chromium, lame, sipp) — in one way everywhere: the
// named environment variable first, then PATH. When the tool is missing a
// test is skipped with a message saying how to enable it, except under
// CI=true, where a missing tool fails the test: CI runs every test, and a
// silent skip would hide that it did not.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run in continuous integration (CI=true, as
// .ci/run and most CI services set it).
func CI() bool { return os.Getenv("CI") == "true" }

// Lookup returns the program named by the environment variable env, else
// the first of names found on PATH, else "".
func Lookup(env string, names ...string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Find returns the program as Lookup does; when there is none it skips the
// test (or, under CI=true, fails it) saying how to provide it.
func Find(tb testing.TB, env string, names ...string) string {
	tb.Helper()
	if p := Lookup(env, names...); p != "" {
		return p
	}
	Missing(tb, "needs %v on PATH or %s=/path/to/it", names, env)
	return ""
}

// Missing ends a test whose prerequisite is absent: a failure under
// CI=true, a skip with the message elsewhere.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if CI() {
		tb.Fatalf("CI=true and a prerequisite is missing: "+format, args...)
	}
	tb.Skipf(format, args...)
}
