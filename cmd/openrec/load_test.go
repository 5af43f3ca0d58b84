package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 13: the API password of `openrec load` comes from a file, standard
// input or $OPENREC_API_PASSWORD; one on the command line warns.
func TestLoadAPIPassword(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "api.pw")
	if err := os.WriteFile(pw, []byte("from-file\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pw")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// --mode raw without --ports stops the run once the password is read.
	base := []string{"--mode", "raw", "--target", "127.0.0.1", "--api-url", "http://127.0.0.1:1", "--api-user", "bench"}
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     error
		wantMsg     string
		wantWarning bool
	}{
		{name: "file", args: []string{"--api-password-file", pw}, wantMsg: "needs --ports"},
		{name: "stdin", stdin: "typed\n", args: []string{"--api-password", "-"}, wantMsg: "needs --ports"},
		{name: "missing file", args: []string{"--api-password-file", filepath.Join(dir, "nope")}, wantMsg: "--api-password-file"},
		{name: "empty file", args: []string{"--api-password-file", empty}, wantErr: errEmptyPwFile},
		{name: "empty stdin", args: []string{"--api-password", "-"}, wantErr: errEmptyPassword},
		{name: "both", args: []string{"--api-password", "x", "--api-password-file", pw}, wantErr: errTwoPasswords},
		{name: "command line", args: []string{"--api-password", "visible"}, wantMsg: "needs --ports", wantWarning: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newLoadCmd()
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			var stderr bytes.Buffer
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&stderr)
			cmd.SetIn(strings.NewReader(tc.stdin))
			cmd.SetArgs(append(append([]string{}, base...), tc.args...))
			err := cmd.Execute()
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err %v, want %v", err, tc.wantErr)
			case tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg):
				t.Errorf("err %v, want %q", err, tc.wantMsg)
			}
			if got := strings.Contains(stderr.String(), "visible in the process list"); got != tc.wantWarning {
				t.Errorf("warning %v, want %v: %q", got, tc.wantWarning, stderr.String())
			}
		})
	}
}

func TestLoadAPIPasswordSources(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "api.pw")
	if err := os.WriteFile(pw, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPENREC_API_PASSWORD", "from-env")
	for _, tc := range []struct {
		name, stdin, flag, file, want string
		noURL                         bool
	}{
		{name: "file", file: pw, want: "from-file"},
		{name: "stdin", flag: "-", stdin: "typed\n", want: "typed"},
		{name: "environment", want: "from-env"},
		{name: "no API", noURL: true, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newLoadCmd()
			cmd.SetIn(strings.NewReader(tc.stdin))
			cmd.SetErr(&bytes.Buffer{})
			f := loadFlags{apiURL: "http://127.0.0.1:1", apiPassword: tc.flag, apiPasswordFile: tc.file}
			if tc.noURL {
				f.apiURL = ""
			}
			got, err := loadAPIPassword(cmd, f)
			if err != nil || got != tc.want {
				t.Errorf("%q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
