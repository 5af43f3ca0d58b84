package loader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
)

func TestNewValidates(t *testing.T) {
	cache := ccdata.NewCache(nil)
	tests := []struct {
		name  string
		cfg   Config
		cache *ccdata.Cache
	}{
		{"nil cache", Config{}, nil},
		{"file and url", Config{File: "x.yaml", URL: "http://h/config"}, cache},
		{"url scheme", Config{URL: "ftp://h/config"}, cache},
		{"url without host", Config{URL: "http:///config"}, cache},
		{"url unparsable", Config{URL: "http://h/%zz"}, cache},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, tt.cache); !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
			if tt.cache != nil {
				if _, _, err := Load(context.Background(), tt.cfg); !errors.Is(err, ErrConfig) {
					t.Fatalf("Load = %v, want ErrConfig", err)
				}
			}
		})
	}
	s, err := New(Config{File: "x.yaml"}, cache)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Reload != DefaultReload || s.cfg.Watch != DefaultWatch || s.cfg.LongPoll != DefaultLongPoll || s.cfg.Retry != DefaultRetry {
		t.Errorf("defaults: %+v", s.cfg)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := tempFile(t, doc("5001", "5002"))
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, invalidDoc, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		dns     int
		wantErr error
		text    string
	}{
		{"file", Config{File: good}, 2, nil, ""},
		{"neither", Config{}, 0, nil, ""},
		{"missing", Config{File: filepath.Join(dir, "none.yaml")}, 0, os.ErrNotExist, "config_file: "},
		{"invalid", Config{File: bad}, 0, ccdata.ErrInvalid, "config_file " + bad + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ver, err := Load(context.Background(), tt.cfg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), tt.text) {
					t.Fatalf("err = %v, want %v prefixed %q", err, tt.wantErr, tt.text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.DNs) != tt.dns || ver != "" {
				t.Fatalf("got %d DNs, version %q", len(d.DNs), ver)
			}
		})
	}
}

// TestFileWatch: an edit is applied within two Watch periods (the first
// poll sees the new signature, the next one finds it settled); an invalid
// edit, an emptied file or a deleted file keep the snapshot and count one
// failure each, not one per poll; rewriting the same content changes
// nothing. It runs in a synctest bubble: time passes only when every
// goroutine waits, so the bounds below are exact, not wall-clock guesses.
func TestFileWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := tempFile(t, doc("5001"))
		const watch = 10 * time.Millisecond
		f := newFixture(t, Config{File: path, Watch: watch, Reload: -1}, true)
		synctest.Wait()
		if n := f.src.Stats().Reloads; n != 1 {
			t.Fatalf("reloads = %d after start, want 1", n)
		}
		// settle lets the watcher poll twice (first sight, then settled)
		// and waits until it has handled both polls.
		settle := func() {
			time.Sleep(2 * watch) // synctest (virtual time): two polls
			synctest.Wait()
		}

		writeFile(t, path, doc("5001", "5002"))
		settle()
		c := f.pendingChange(t)
		wantDNs(t, c.old, "5001")
		wantDNs(t, c.new, "5001", "5002")
		if f.cache.Snapshot() != c.new {
			t.Error("OnChange's new snapshot is not the cache's")
		}
		if st := f.src.Stats(); st.Changes != 1 || st.Failures != 0 || st.LastReload.IsZero() || st.Version != "" {
			t.Errorf("stats %+v", st)
		}

		steps := []struct {
			name  string
			write func()
			log   string
		}{
			{"invalid", func() { writeFile(t, path, invalidDoc) }, "names no tenant"},
			{"emptied", func() { writeFile(t, path, nil) }, ErrEmpty.Error()},
			{"deleted", func() { _ = os.Remove(path) }, "no such file"},
		}
		for _, st := range steps {
			before := f.src.Stats().Failures
			st.write()
			settle()
			if n := f.src.Stats().Failures; n != before+1 {
				t.Fatalf("%s: failures = %d, want %d", st.name, n, before+1)
			}
			wantDNs(t, f.cache.Snapshot(), "5001", "5002")
			f.noChange(t)
			if !strings.Contains(f.logs.String(), st.log) {
				t.Errorf("%s: log lacks %q", st.name, st.log)
			}
			// The same broken file is not retried on every poll.
			time.Sleep(5 * watch) // synctest (virtual time): five more polls
			synctest.Wait()
			if n := f.src.Stats().Failures; n != before+1 {
				t.Errorf("%s: failures = %d after 5 more polls, want %d", st.name, n, before+1)
			}
		}

		// Same content as the snapshot, new mtime: reloaded, no change.
		reloads := f.src.Stats().Reloads
		writeFile(t, path, doc("5001", "5002"))
		settle()
		if n := f.src.Stats().Reloads; n != reloads+1 {
			t.Errorf("reloads = %d, want %d", n, reloads+1)
		}
		f.noChange(t)

		writeFile(t, path, doc("5003"))
		settle()
		c = f.pendingChange(t)
		wantDNs(t, c.old, "5001", "5002")
		wantDNs(t, c.new, "5003")
		if st := f.src.Stats(); st.Changes != 2 || st.Failures != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestFileSettles: a file whose signature changes on every poll (still
// being written) is not read until it stays the same for one poll.
func TestFileSettles(t *testing.T) {
	path := tempFile(t, doc("5001"))
	f := newFixture(t, Config{File: path, Watch: -1, Reload: -1}, false)
	if err := f.src.ReloadNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	writeFile(t, path, doc("5001", "5002"))
	f.src.checkFile(ctx) // first sight of the new signature
	f.noChange(t)
	writeFile(t, path, doc("5001", "5002", "5003"))
	f.src.checkFile(ctx) // changed again: still being written
	f.noChange(t)
	f.src.checkFile(ctx) // stable: read
	wantDNs(t, f.nextChange(t, time.Second).new, "5001", "5002", "5003")
	f.src.checkFile(ctx) // nothing new
	f.noChange(t)
	if st := f.src.Stats(); st.Reloads != 2 || st.Changes != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestPeriodicReload: with the file watch off, the periodic reload picks
// up an edit at the next period (synctest: exact periods).
func TestPeriodicReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := tempFile(t, doc("5001"))
		const period = 20 * time.Millisecond
		f := newFixture(t, Config{File: path, Watch: -1, Reload: period}, true)
		synctest.Wait()
		time.Sleep(2*period + period/2) // synctest (virtual time): two and a half periods
		synctest.Wait()
		if n := f.src.Stats().Reloads; n != 3 { // start + 2 periods
			t.Errorf("reloads = %d after 2.5 periods, want 3", n)
		}
		f.noChange(t)
		writeFile(t, path, doc("5002"))
		time.Sleep(period) // synctest (virtual time): one period
		synctest.Wait()
		wantDNs(t, f.pendingChange(t).new, "5002")
	})
}

// TestReloadNow works without Run: it returns the load's error and keeps
// the snapshot on failure.
func TestReloadNow(t *testing.T) {
	path := tempFile(t, doc("5001"))
	f := newFixture(t, Config{File: path}, false)
	ctx := context.Background()
	if err := f.src.ReloadNow(ctx); err != nil {
		t.Fatal(err)
	}
	f.noChange(t)
	writeFile(t, path, doc("5001", "5009"))
	if err := f.src.ReloadNow(ctx); err != nil {
		t.Fatal(err)
	}
	wantDNs(t, f.nextChange(t, time.Second).new, "5001", "5009")
	writeFile(t, path, invalidDoc)
	if err := f.src.ReloadNow(ctx); !errors.Is(err, ccdata.ErrInvalid) {
		t.Fatalf("ReloadNow = %v, want ErrInvalid", err)
	}
	wantDNs(t, f.cache.Snapshot(), "5001", "5009")
	if st := f.src.Stats(); st.Reloads != 2 || st.Changes != 1 || st.Failures != 1 {
		t.Errorf("stats %+v", st)
	}

	none, err := New(Config{}, f.cache)
	if err != nil {
		t.Fatal(err)
	}
	if err := none.ReloadNow(ctx); err != nil {
		t.Errorf("ReloadNow without a source = %v", err)
	}
}

// TestRunStops: Run returns when its context ends, with or without a
// source; a second concurrent Run is refused.
func TestRunStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := tempFile(t, doc("5001"))
		for _, cfg := range []Config{{}, {File: path, Watch: time.Millisecond, Reload: time.Millisecond}} {
			f := newFixture(t, cfg, true)
			synctest.Wait()
			if !f.src.running.Load() {
				t.Fatal("Run is not running")
			}
			if err := f.src.Run(context.Background()); !errors.Is(err, ErrRunning) {
				t.Errorf("second Run = %v, want ErrRunning", err)
			}
			time.Sleep(10 * time.Millisecond) // synctest (virtual time): ten rounds of watch and reload
			f.stop(t)
			// Run may be called again after it returned.
			f.start(t)
			f.stop(t)
		}
	})
}

func TestSameData(t *testing.T) {
	base := func() *ccdata.Data {
		d, err := ccdata.Parse(doc("5001", "5002"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name string
		mod  func(d *ccdata.Data)
		same bool
	}{
		{"identical", func(*ccdata.Data) {}, true},
		{"snapshot copy", func(d *ccdata.Data) { *d = *ccdata.NewSnapshot(d).Data() }, true},
		{"empty options", func(d *ccdata.Data) { d.DNs[0].Options = map[string]string{} }, true},
		{"empty skills", func(d *ccdata.Data) { d.Persons[0].Skills = []ccdata.Skill{} }, true},
		{"option", func(d *ccdata.Data) { d.DNs[0].Options = map[string]string{"record": "true"} }, false},
		{"dn order", func(d *ccdata.Data) { d.DNs[0], d.DNs[1] = d.DNs[1], d.DNs[0] }, false},
		{"wrap-up", func(d *ccdata.Data) { d.Persons[0].Logins[0].WrapupTime = 5 }, false},
		{"person name", func(d *ccdata.Data) { d.Persons[0].LastName = "Lee" }, false},
		{"tenant", func(d *ccdata.Data) { d.Tenants[0].Name = "Other" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.mod(d)
			if got := sameData(base(), d); got != tt.same {
				t.Fatalf("sameData = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestOlder(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1", "2", true}, {"2", "2", false}, {"3", "2", false},
		{"", "2", false}, {"2", "", false}, {"abc", "abd", false}, {"9", "10", true},
	}
	for _, tt := range tests {
		if got := older(tt.a, tt.b); got != tt.want {
			t.Errorf("older(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
