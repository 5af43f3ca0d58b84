package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

// TestREADMEMediaInS3 runs the README's "Storing media in S3" block as
// written (the generic README test does not: it needs versitygw), in a
// fresh directory holding ./openrec, with versitygw on PATH. Only its
// three ports change, to free ones.
func TestREADMEMediaInS3(t *testing.T) {
	if testing.Short() && !testtool.CI() { // under CI=true it always runs
		t.Skip("starts versitygw and openrec serve (a few seconds); skipped with -short")
	}
	vgw := s3test.Binary()
	if vgw == "" {
		testtool.Missing(t, "versitygw not found (OPENREC_TEST_VERSITYGW, PATH, $(go env GOPATH)/bin): go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		return
	}
	bash := testtool.Find(t, "OPENREC_TEST_BASH", "bash")
	for _, tool := range []string{"curl", "jq"} {
		if testtool.Lookup("", tool) == "" {
			testtool.Missing(t, "the README's example uses %s: install it (Debian: apt-get install %s)", tool, tool)
		}
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- readme-test: not run here — needs versitygw; TestREADMEMediaInS3 (cmd/openrec) runs this block as written -->\n```sh\n"
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatal("README.md has no block marked for TestREADMEMediaInS3")
	}
	block, _, _ := strings.Cut(rest, "\n```")
	ports := map[string]string{}
	for _, p := range []string{"7070", "5070", "8070"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, ports[p], _ = net.SplitHostPort(l.Addr().String())
		l.Close()
	}
	block = strings.NewReplacer("127.0.0.1:7070", "127.0.0.1:"+ports["7070"], "127.0.0.1:5070", "127.0.0.1:"+ports["5070"],
		"127.0.0.1:8070", "127.0.0.1:"+ports["8070"]).Replace(block)

	dir := t.TempDir()
	if err := os.Symlink(binPath, filepath.Join(dir, "openrec")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, bash, "-c", "set -euo pipefail\nset -x\n"+block)
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+filepath.Dir(vgw)+string(os.PathListSeparator)+os.Getenv("PATH"))
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sh.Cancel = func() error { return syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) }
	out, err := sh.CombinedOutput()
	_ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) // whatever the block left running
	if err != nil {
		t.Fatalf("the README's S3 example failed (%v):\n%s", err, out)
	}
	for _, want := range []string{".wav\n", ".manifest.json\n", "s3://recordings/site-a/", "1 intact"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "from-s3.wav")); err != nil || st.Size() < 40000 {
		t.Errorf("exported from S3: %v", err)
	}
}
