package loader

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/testtool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// doc is a valid configuration of switch SW1 with the given DNs.
func doc(dns ...string) []byte {
	var b strings.Builder
	b.WriteString("tenants: [{dbid: 1, name: Acme}]\nswitches: [{dbid: 11, name: SW1, tenant_dbid: 1}]\ndns:\n")
	for _, dn := range dns {
		fmt.Fprintf(&b, "  - {number: %q, switch: SW1, type: Extension}\n", dn)
	}
	b.WriteString("persons: [{dbid: 21, user_name: ann, tenant_dbid: 1, logins: [{dbid: 31, login_code: \"1001\"}]}]\n")
	return []byte(b.String())
}

// invalidDoc names a switch that does not exist.
var invalidDoc = []byte("dns: [{number: \"5001\", switch: NOPE, type: Extension}]\n")

// numbers lists the DN numbers of a snapshot.
func numbers(s *ccdata.Snapshot) []string {
	var out []string
	for _, dn := range s.DNs("") {
		out = append(out, dn.Number)
	}
	return out
}

// mtimes hands out strictly increasing modification times, so every
// writeFile changes the file's signature whatever the file system's
// timestamp granularity.
var mtimes atomic.Int64

// writeFile replaces path atomically (temp file + rename) with b.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(mtimes.Add(1)) * time.Second)
	if err := os.Chtimes(tmp, at, at); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// change is one OnChange call.
type change struct{ old, new *ccdata.Snapshot }

// fixture is a Source under test with its cache and the changes it reported.
type fixture struct {
	src     *Source
	cache   *ccdata.Cache
	changes chan change
	logs    *syncBuf
	cancel  context.CancelFunc
	done    chan error
}

// newFixture loads cfg once (as start-up does), builds the Source and,
// with run, runs it until the test ends.
func newFixture(t *testing.T, cfg Config, run bool) *fixture {
	t.Helper()
	f := &fixture{changes: make(chan change, 16), logs: &syncBuf{}}
	cfg.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnChange = func(old, new *ccdata.Snapshot) { f.changes <- change{old, new} }
	d, _, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.cache = ccdata.NewCache(d)
	if f.src, err = New(cfg, f.cache); err != nil {
		t.Fatal(err)
	}
	if run {
		f.start(t)
	}
	return f
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.src.Run(ctx) }()
	t.Cleanup(func() { f.stop(t) })
}

// stop cancels Run and checks it returns promptly (idempotent).
func (f *fixture) stop(t *testing.T) {
	t.Helper()
	if f.cancel == nil {
		return
	}
	f.cancel()
	f.cancel = nil
	select {
	case err := <-f.done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Run did not return after its context ended")
	}
}

// nextChange waits for one OnChange call.
func (f *fixture) nextChange(t *testing.T, within time.Duration) change {
	t.Helper()
	select {
	case c := <-f.changes:
		return c
	case <-time.After(within):
		t.Fatalf("no configuration change within %v; stats %+v\nlogs:\n%s", within, f.src.Stats(), f.logs)
		return change{}
	}
}

// noChange checks no OnChange call is pending.
func (f *fixture) noChange(t *testing.T) {
	t.Helper()
	select {
	case c := <-f.changes:
		t.Fatalf("unexpected change to %v", numbers(c.new))
	default:
	}
}

// pendingChange returns the OnChange call that must have happened by now
// (in a synctest bubble, after synctest.Wait).
func (f *fixture) pendingChange(t *testing.T) change {
	t.Helper()
	select {
	case c := <-f.changes:
		return c
	default:
		t.Fatalf("no configuration change; stats %+v\nlogs:\n%s", f.src.Stats(), f.logs)
		return change{}
	}
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testtool.Eventually(t, 5*time.Second, cond, "waiting for %s", what)
}

func tempFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, p, b)
	return p
}

func wantDNs(t *testing.T, s *ccdata.Snapshot, want ...string) {
	t.Helper()
	if got := numbers(s); !slices.Equal(got, want) {
		t.Fatalf("DNs = %q, want %q", got, want)
	}
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
