package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool"
)

// The README is executable documentation. Every ```sh block in it carries
// a marker on the line before its fence:
//
//	<!-- readme-test -->                    run by TestREADMEExamples
//	<!-- readme-test: not run here — WHY --> not run, and why
//
// A block with no marker fails the test, so a new example is a decision.
// The marked blocks run in order in ONE bash shell (variables such as ID
// and TOKEN carry over), with `set -euo pipefail` and curl failing on HTTP
// errors, in a fresh directory holding ./openrec, against `openrec demo`
// started there by the test with no flags (the recorder, the simulated
// contact center, the web UI and API). The only change made to the text:
// 127.0.0.1:5060 and localhost:8080 become the addresses the demo really
// listens on (it falls back to free ports when those are taken).
// OPENREC_PASSWORD is the admin password the demo printed.

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line int    // of the fence
	text string // the commands
}

var markerRE = regexp.MustCompile(`^<!-- readme-test(: not run here — .+)? -->$`)

// readmeBlocks returns the README's blocks to run; it fails the test for
// a ```sh block without a marker.
func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []readmeBlock
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		prev := ""
		if i > 0 {
			prev = strings.TrimSpace(lines[i-1])
		}
		m := markerRE.FindStringSubmatch(prev)
		if m == nil {
			t.Errorf("README.md:%d: a ```sh block without a marker: put <!-- readme-test --> (run it) or <!-- readme-test: not run here — why --> on the line before", i+1)
		}
		var body []string
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			body = append(body, lines[j])
		}
		if m != nil && m[1] == "" {
			out = append(out, readmeBlock{line: i + 1, text: strings.Join(body, "\n")})
		}
		i = j
	}
	return out
}

func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README against the demo (about 20 s); skipped with -short")
	}
	blocks := readmeBlocks(t, "../../README.md")
	if len(blocks) < 2 {
		t.Fatalf("%d runnable blocks in README.md, want the quick tour and the API examples", len(blocks))
	}
	bash := testtool.Find(t, "OPENREC_TEST_BASH", "bash")
	for _, tool := range []string{"curl", "jq"} {
		if testtool.Lookup("", tool) == "" {
			testtool.Missing(t, "the README's examples use %s: install it (Debian: apt-get install %s)", tool, tool)
		}
	}
	lame := testtool.Lookup("OPENREC_TEST_LAME", "lame")
	if lame == "" && testtool.CI() {
		t.Fatal("CI=true: the README's MP3 example needs lame on PATH or OPENREC_TEST_LAME")
	}

	dir := t.TempDir()
	if err := os.Symlink(binPath, filepath.Join(dir, "openrec")); err != nil {
		t.Fatal(err)
	}
	path := dir + string(os.PathListSeparator) + os.Getenv("PATH")
	if lame != "" {
		path = filepath.Dir(lame) + string(os.PathListSeparator) + path
	}
	env := append(os.Environ(), "PATH="+path)

	demo := exec.Command(binPath, "demo")
	demo.Dir, demo.Env = dir, env
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var demoErr syncBuffer
	demo.Stderr = &demoErr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = demo.Process.Kill() })
	var demoOut syncBuffer
	open := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			demoOut.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "the contact center is open") {
				close(open)
			}
		}
		exited <- demo.Wait()
	}()
	select {
	case <-open:
	case err := <-exited:
		t.Fatalf("demo exited (%v):\n%s\n%s", err, demoOut.String(), demoErr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("demo did not open its contact center:\n%s\n%s", demoOut.String(), demoErr.String())
	}
	sip := regexp.MustCompile(`recorder on sip:(\S+) `).FindStringSubmatch(demoOut.String())
	web := regexp.MustCompile(`web UI: http://(\S+)/  sign in as admin / (\S+)`).FindStringSubmatch(demoOut.String())
	if sip == nil || web == nil {
		t.Fatalf("demo did not print its addresses and the admin password:\n%s", demoOut.String())
	}

	var script strings.Builder
	script.WriteString(`set -euo pipefail
# curl fails on HTTP errors, so a broken example fails the test; without
# lame the MP3 example answers 501 (said so in the README) and is let pass.
curl() {
  case "$*" in
    *format=mp3*) if ! command -v lame >/dev/null; then command curl "$@"; return; fi ;;
  esac
  command curl --fail-with-body "$@"
}
`)
	for _, b := range blocks {
		text := strings.NewReplacer("127.0.0.1:5060", sip[1], "localhost:8080", web[1]).Replace(b.text)
		script.WriteString("\n# README.md:" + strconv.Itoa(b.line) + "\nset -x\n" + text + "\nset +x\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, bash, "-c", script.String())
	sh.Dir, sh.Env = dir, append(env, "OPENREC_PASSWORD="+web[2])
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's examples failed (%v):\n%s\n--- demo log ---\n%s", err, out, demoErr.String())
	}
	// The audit example lists the downloads made just before.
	if !strings.Contains(string(out), `"action":"download"`) {
		t.Errorf("the audit example shows no download:\n%s", out)
	}
	// The screen-upload example completes a video and reads it back.
	for _, want := range []string{`{"type":"video/webm","url":"/api/v1/recordings/`, "first-bytes", `"complete":true`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the screen example's output lacks %q:\n%s", want, out)
		}
	}
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("demo after SIGINT: %v\n%s", err, demoOut.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatal("demo did not exit after SIGINT")
	}
}
