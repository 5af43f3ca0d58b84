package loader

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim"
)

// service is the simulator's Configuration Server on an httptest server,
// with a log of the requests it answered.
type service struct {
	sim *sim.Sim
	srv *httptest.Server

	mu      sync.Mutex
	arrived []string // "GET ?query" as requests come
	seen    []string // "GET ?query status" as they are answered
}

func newService(t *testing.T, initial []byte) *service {
	t.Helper()
	d, err := ccdata.Parse(initial)
	if err != nil {
		t.Fatal(err)
	}
	csim, err := sim.New(sim.Config{Switch: "SW1", Config: d, ConfigSource: initial})
	if err != nil {
		t.Fatal(err)
	}
	sv := &service{sim: csim}
	h := csim.ConfigHandler()
	sv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sv.mu.Lock()
		sv.arrived = append(sv.arrived, r.Method+" ?"+r.URL.RawQuery)
		sv.mu.Unlock()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		sv.mu.Lock()
		sv.seen = append(sv.seen, r.Method+" ?"+r.URL.RawQuery+" "+strconv.Itoa(rec.status))
		sv.mu.Unlock()
	}))
	t.Cleanup(func() {
		_ = csim.Close() // ends the long polls in progress
		sv.srv.Close()
	})
	return sv
}

func (sv *service) url() string { return sv.srv.URL + "/config" }

// count returns how many answered requests contain all of parts.
func (sv *service) count(parts ...string) int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return countIn(sv.seen, parts)
}

// pending returns how many requests that arrived contain all of parts.
func (sv *service) pending(parts ...string) int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return countIn(sv.arrived, parts)
}

func countIn(list, parts []string) int {
	n := 0
next:
	for _, s := range list {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				continue next
			}
		}
		n++
	}
	return n
}

// put replaces the configuration with PUT /config, as an operator would.
func (sv *service) put(t *testing.T, b []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, sv.url(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sv.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT /config: %s", res.Status)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func TestLoadURL(t *testing.T) {
	sv := newService(t, doc("5001", "5002"))
	d, ver, err := Load(context.Background(), Config{URL: sv.url()})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.DNs) != 2 || ver != "1" {
		t.Fatalf("got %d DNs, version %q", len(d.DNs), ver)
	}

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/invalid" {
			_, _ = w.Write(invalidDoc)
			return
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/config"
	dead.Close()
	tests := []struct {
		name string
		url  string
		want error
		text string
	}{
		{"status", broken.URL + "/config", ErrStatus, "config_url " + broken.URL + "/config: unexpected HTTP status: 503"},
		{"invalid", broken.URL + "/invalid", ccdata.ErrInvalid, "config_url " + broken.URL + "/invalid: configuration data: dns[0]"},
		{"unreachable", deadURL, nil, "config_url: Get "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(context.Background(), Config{URL: tt.url})
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.HasPrefix(err.Error(), tt.text) {
				t.Fatalf("err = %v, want %v starting %q", err, tt.want, tt.text)
			}
		})
	}
}

// TestURLLongPoll: a PUT on the service reaches the cache through the long
// poll, well before the periodic reload (off) or the poll's timeout; a
// long poll that times out (304) changes nothing.
func TestURLLongPoll(t *testing.T) {
	sv := newService(t, doc("5001"))
	const longPoll = 100 * time.Millisecond
	f := newFixture(t, Config{URL: sv.url(), Reload: -1, LongPoll: longPoll}, true)
	eventually(t, "two long polls timed out", func() bool { return sv.count("wait=1", "304") >= 2 })
	f.noChange(t)
	if st := f.src.Stats(); st.Version != "1" || st.Reloads != 1 || st.Failures != 0 {
		t.Errorf("stats %+v", st)
	}

	// A long poll waiting much longer than the test tolerates (a minute;
	// nextChange gives up after 5 s): the change must come through it,
	// not through its timeout.
	f.stop(t)
	f = newFixture(t, Config{URL: sv.url(), Reload: -1, LongPoll: time.Minute}, true)
	eventually(t, "long poll in flight", func() bool { return sv.pending("wait=1", "timeout=1m0s") == 1 })
	sv.put(t, doc("5001", "5002"))
	c := f.nextChange(t, 5*time.Second)
	wantDNs(t, c.old, "5001")
	wantDNs(t, c.new, "5001", "5002")
	if st := f.src.Stats(); st.Version != "2" || st.Changes != 1 {
		t.Errorf("stats %+v", st)
	}
	// The next poll waits past version 2.
	eventually(t, "poll for version 2", func() bool { return f.src.seenVersion() == "2" })
	sv.put(t, doc("5003"))
	wantDNs(t, f.nextChange(t, 5*time.Second).new, "5003")
	if sv.count("GET ?timeout=1m0s&wait=2 200") != 1 {
		sv.mu.Lock()
		t.Errorf("requests: %q", sv.seen)
		sv.mu.Unlock()
	}
}

// TestURLInvalidVersion: a version whose document does not load is counted
// once and kept out of the cache; the poll then waits past it, and the
// next good version is applied.
func TestURLInvalidVersion(t *testing.T) {
	sv := newService(t, doc("5001"))
	f := newFixture(t, Config{URL: sv.url(), Reload: -1, LongPoll: time.Minute, Retry: 5 * time.Millisecond}, true)
	eventually(t, "first load", func() bool { return f.src.seenVersion() == "1" })
	good, err := ccdata.Parse(doc("5001"))
	if err != nil {
		t.Fatal(err)
	}
	sv.sim.SetConfig(good, invalidDoc) // served verbatim: version 2 is broken
	eventually(t, "failure", func() bool { return f.src.Stats().Failures == 1 })
	wantDNs(t, f.cache.Snapshot(), "5001")
	eventually(t, "poll past version 2", func() bool { return sv.pending("wait=2") == 1 })
	if st := f.src.Stats(); st.Failures != 1 || st.Version != "1" {
		t.Errorf("stats %+v", st)
	}
	sv.put(t, doc("5004"))
	wantDNs(t, f.nextChange(t, 5*time.Second).new, "5004")
	if st := f.src.Stats(); st.Version != "3" || st.Failures != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestURLServiceDown: the first load fails (the service is down), Run
// retries with back-off and applies the configuration once it answers.
func TestURLServiceDown(t *testing.T) {
	var (
		mu   sync.Mutex
		up   bool
		hits int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits++
		if !up {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Query().Get("wait") == "7" {
			w.Header().Set(VersionHeader, "7")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set(VersionHeader, "7")
		_, _ = w.Write(doc("5005"))
	}))
	defer srv.Close()
	cache := ccdata.NewCache(nil)
	changes := make(chan *ccdata.Snapshot, 4)
	src, err := New(Config{URL: srv.URL + "/config", Reload: -1, LongPoll: 50 * time.Millisecond, Retry: 5 * time.Millisecond,
		OnChange: func(_, n *ccdata.Snapshot) { changes <- n }}, cache)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "failures", func() bool { return src.Stats().Failures >= 3 })
	mu.Lock()
	up = true
	mu.Unlock()
	select {
	case n := <-changes:
		wantDNs(t, n, "5005")
	case <-time.After(5 * time.Second):
		t.Fatalf("no change; stats %+v", src.Stats())
	}
	// Back-off: failures did not hammer the service.
	mu.Lock()
	n := hits
	mu.Unlock()
	if st := src.Stats(); n > 40 || st.Version != "7" {
		t.Errorf("%d requests, stats %+v", n, st)
	}
}

// inProcess is an HTTP client whose requests are served by h in the
// calling goroutine, without sockets: inside a synctest bubble a long poll
// waiting in h is then a durably blocked goroutine, and time can pass.
func inProcess(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

const inProcessURL = "http://config.test/config"

// TestURLWithoutVersion: a plain web server (no X-Config-Version, ignores
// the query) is loaded at start and then only periodically, never in a
// tight long-poll loop.
func TestURLWithoutVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu   sync.Mutex
			hits int
			body = doc("5001")
		)
		client := inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			hits++
			_, _ = w.Write(body)
		}))
		f := newFixture(t, Config{URL: inProcessURL, HTTPClient: client, Reload: -1, LongPoll: 10 * time.Millisecond}, true)
		synctest.Wait()
		if !strings.Contains(f.logs.String(), "no long poll") {
			t.Fatalf("the watcher did not give up:\n%s", f.logs)
		}
		time.Sleep(50 * time.Millisecond) // synctest (virtual time): five long-poll timeouts
		synctest.Wait()
		mu.Lock()
		n := hits
		body = doc("5002")
		mu.Unlock()
		if n != 2 { // Load at start-up + Run's first reload
			t.Errorf("%d requests, want 2", n)
		}
		if err := f.src.ReloadNow(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantDNs(t, f.pendingChange(t).new, "5002")
	})
}

// TestURLIgnoredWait: a service that answers the long poll at once with
// the same version is polled with back-off (Retry, doubled up to
// LongPoll), not in a tight loop.
func TestURLIgnoredWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu   sync.Mutex
			hits int
		)
		client := inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits++
			mu.Unlock()
			w.Header().Set(VersionHeader, "4")
			_, _ = w.Write(doc("5001"))
		}))
		const longPoll, retry = 40 * time.Millisecond, 10 * time.Millisecond
		f := newFixture(t, Config{URL: inProcessURL, HTTPClient: client, Reload: -1, LongPoll: longPoll, Retry: retry}, true)
		hitCount := func() int {
			mu.Lock()
			defer mu.Unlock()
			return hits
		}
		// Load, Run's first load, the first poll; then polls after 10,
		// 20 and 40 ms (back-off reaches LongPoll at 70 ms).
		synctest.Wait()
		if n := hitCount(); n != 3 {
			t.Errorf("%d requests at start, want 3", n)
		}
		time.Sleep(100 * time.Millisecond) // synctest (virtual time): back-off reaches LongPoll
		synctest.Wait()
		// ... then one per 40 ms.
		n0 := hitCount()
		time.Sleep(200 * time.Millisecond) // synctest (virtual time)
		synctest.Wait()
		if n := hitCount() - n0; n != 5 {
			t.Errorf("%d requests in 200 ms, want 5 (one per %v)", n, longPoll)
		}
		f.stop(t)
		f.noChange(t)
		if st := f.src.Stats(); st.Failures != 0 || st.Version != "4" {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestURLRunStopsDuringLongPoll: cancelling Run ends a long poll in flight
// at once (no time passes in the bubble), not at the poll's timeout.
func TestURLRunStopsDuringLongPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := ccdata.Parse(doc("5001"))
		if err != nil {
			t.Fatal(err)
		}
		csim, err := sim.New(sim.Config{Switch: "SW1", Config: d, ConfigSource: doc("5001")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = csim.Close() })
		var mu sync.Mutex
		var waiting int
		h := csim.ConfigHandler()
		client := inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			poll := r.URL.Query().Get("wait") != ""
			if poll {
				mu.Lock()
				waiting++
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
			if poll {
				mu.Lock()
				waiting--
				mu.Unlock()
			}
		}))
		f := newFixture(t, Config{URL: inProcessURL, HTTPClient: client, LongPoll: time.Minute}, true)
		synctest.Wait()
		mu.Lock()
		n := waiting
		mu.Unlock()
		if f.src.seenVersion() != "1" || n != 1 {
			t.Fatalf("version %q, %d long polls in flight; want 1, 1", f.src.seenVersion(), n)
		}
		start := time.Now()
		f.stop(t)
		if took := time.Since(start); took != 0 {
			t.Errorf("Run took %v to return", took)
		}
		if st := f.src.Stats(); st.Failures != 0 {
			t.Errorf("cancelled long poll counted as a failure: %+v", st)
		}
	})
}
