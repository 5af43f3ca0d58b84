package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Issue 13: no example puts a password or a bearer token on a command
// line, where every local account reads it in the process list: passwords
// come from a file or standard input (printf is built into the shell),
// tokens from a header file (curl -H @FILE).
func TestDocsKeepSecretsOffCommandLines(t *testing.T) {
	bad := []struct {
		re   *regexp.Regexp
		why  string
		curl bool // only on curl command lines
	}{
		{re: regexp.MustCompile(`--(api-)?password[ =]([^-\s]|-\S)`), why: "a password flag with a value (use --password-file FILE or --password -)"},
		{re: regexp.MustCompile(`(?i)bearer\s+[$A-Za-z0-9]`), why: "a bearer token in an argument (use -H @FILE)", curl: true},
		{re: regexp.MustCompile(`(?i)password`), why: "a password in an argument (pipe it in: printf ... | curl -d @-)", curl: true},
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := false
		for i, line := range strings.Split(string(b), "\n") {
			switch s := strings.TrimSpace(line); {
			case !in && (s == "```sh" || s == "```bash" || s == "```console"):
				in = true
				continue
			case in && s == "```":
				in = false
				continue
			}
			if !in {
				continue
			}
			code, _, _ := strings.Cut(line, " # ") // comments may talk about passwords
			for _, seg := range strings.Split(code, "|") {
				fields := strings.Fields(seg)
				isCurl := len(fields) > 0 && strings.HasSuffix(strings.TrimPrefix(fields[0], "$("), "curl")
				for _, c := range bad {
					if (!c.curl || isCurl) && c.re.MatchString(seg) {
						t.Errorf("%s:%d: %s:\n%s", filepath.Base(f), i+1, c.why, line)
					}
				}
			}
		}
	}
}
