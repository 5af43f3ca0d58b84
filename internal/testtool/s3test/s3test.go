// Package s3test starts a real S3 server for tests: versitygw (v1.8.0,
// POSIX backend) on a free loopback port, over a temporary directory, with
// a bucket made. The binary is found through OPENREC_TEST_VERSITYGW, then
// PATH, then $(go env GOPATH)/bin; without it the test ends through
// testtool.Missing (a skip, a failure under CI=true). Install it with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
package s3test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool"
)

// Credentials of the root user of every test server.
const (
	AccessKey = "openrec-test"
	SecretKey = "openrec-test-secret"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the POSIX root: <Dir>/<bucket>/<key> are the objects
	Bucket   string

	tb   testing.TB
	bin  string
	meta string // metadata sidecar directory (kept across restarts)
	addr string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary returns the versitygw binary, or "".
func Binary() string {
	if p := testtool.Lookup("OPENREC_TEST_VERSITYGW", "versitygw"); p != "" {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Start starts versitygw with bucket made; Stop (or the test's end) stops it.
func Start(tb testing.TB, bucket string) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		testtool.Missing(tb, "versitygw not found (OPENREC_TEST_VERSITYGW, PATH, $(go env GOPATH)/bin): go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{Endpoint: "http://" + addr, Dir: tb.TempDir(), Bucket: bucket, tb: tb, bin: bin, addr: addr, meta: tb.TempDir()}
	if err := os.Mkdir(filepath.Join(s.Dir, bucket), 0o755); err != nil {
		tb.Fatal(err)
	}
	s.Restart()
	tb.Cleanup(s.Stop)
	return s
}

// Restart starts the server again after Stop (same port, same objects)
// and waits until it answers.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "--port", s.addr, "--quiet", "--health", "/health", "posix", "--sidecar", s.meta, s.Dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+AccessKey, "ROOT_SECRET_ACCESS_KEY="+SecretKey) // keys off the command line
	var out bytes.Buffer                                                                                 // the banner and errors: shown when it fails to start
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start versitygw: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	ok := false
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok = true
				break
			}
		}
		select {
		case <-s.done:
			s.tb.Fatalf("versitygw exited at start: %s", out.String())
		case <-time.After(20 * time.Millisecond): // poll interval of a process start-up
		}
	}
	if !ok {
		_ = cmd.Process.Kill()
		<-s.done
		s.tb.Fatalf("versitygw does not answer on %s: %s", s.addr, out.String())
	}
}

// Stop stops the server (the bucket is unreachable until Restart).
// Idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// ObjectPath is the file holding key on the server's disk.
func (s *Server) ObjectPath(key string) string {
	return filepath.Join(s.Dir, s.Bucket, filepath.FromSlash(key))
}
