package cfgsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/cfgcache"
)

func TestNewValidates(t *testing.T) {
	cache := cfgcache.NewCache(nil)
	tests := []struct {
		name  string
		cfg   Config
		cache *cfgcache.Cache
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
		{"invalid", Config{File: bad}, 0, cfgcache.ErrInvalid, "config_file " + bad + ": "},
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

// TestFileWatch: an edit is applied within a few Watch periods; an invalid
// edit, an emptied file or a deleted file keep the snapshot and count
// failures; rewriting the same content changes nothing.
func TestFileWatch(t *testing.T) {
	path := tempFile(t, doc("5001"))
	const watch = 10 * time.Millisecond
	f := newFixture(t, Config{File: path, Watch: watch, Reload: -1}, true)
	eventually(t, "first load", func() bool { return f.src.Stats().Reloads == 1 })

	writeFile(t, path, doc("5001", "5002"))
	start := time.Now()
	c := f.nextChange(t, 5*time.Second)
	if took := time.Since(start); took > 100*watch {
		t.Errorf("change seen after %v (watch %v)", took, watch)
	}
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
		t.Run(st.name, func(t *testing.T) {
			before := f.src.Stats().Failures
			st.write()
			eventually(t, "failure counted", func() bool { return f.src.Stats().Failures == before+1 })
			wantDNs(t, f.cache.Snapshot(), "5001", "5002")
			f.noChange(t)
			if !strings.Contains(f.logs.String(), st.log) {
				t.Errorf("log lacks %q", st.log)
			}
			// The same broken file is not retried on every poll.
			time.Sleep(5 * watch)
			if n := f.src.Stats().Failures; n != before+1 {
				t.Errorf("failures = %d after more polls, want %d", n, before+1)
			}
		})
	}

	// Same content as the snapshot, new mtime: reloaded, no change.
	reloads := f.src.Stats().Reloads
	writeFile(t, path, doc("5001", "5002"))
	eventually(t, "reload", func() bool { return f.src.Stats().Reloads > reloads })
	f.noChange(t)

	writeFile(t, path, doc("5003"))
	c = f.nextChange(t, 5*time.Second)
	wantDNs(t, c.old, "5001", "5002")
	wantDNs(t, c.new, "5003")
	if st := f.src.Stats(); st.Changes != 2 || st.Failures != 3 {
		t.Errorf("stats %+v", st)
	}
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
// up an edit.
func TestPeriodicReload(t *testing.T) {
	path := tempFile(t, doc("5001"))
	f := newFixture(t, Config{File: path, Watch: -1, Reload: 20 * time.Millisecond}, true)
	eventually(t, "periodic reloads", func() bool { return f.src.Stats().Reloads >= 3 })
	f.noChange(t)
	writeFile(t, path, doc("5002"))
	wantDNs(t, f.nextChange(t, 5*time.Second).new, "5002")
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
	if err := f.src.ReloadNow(ctx); !errors.Is(err, cfgcache.ErrInvalid) {
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
	path := tempFile(t, doc("5001"))
	for _, cfg := range []Config{{}, {File: path, Watch: time.Millisecond, Reload: time.Millisecond}} {
		f := newFixture(t, cfg, true)
		eventually(t, "running", func() bool { return f.src.running.Load() })
		if err := f.src.Run(context.Background()); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
		time.Sleep(10 * time.Millisecond)
		f.stop(t)
		// Run may be called again after it returned.
		f.start(t)
		f.stop(t)
	}
}

func TestSameData(t *testing.T) {
	base := func() *cfgcache.Data {
		d, err := cfgcache.Parse(doc("5001", "5002"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name string
		mod  func(d *cfgcache.Data)
		same bool
	}{
		{"identical", func(*cfgcache.Data) {}, true},
		{"snapshot copy", func(d *cfgcache.Data) { *d = *cfgcache.NewSnapshot(d).Data() }, true},
		{"empty options", func(d *cfgcache.Data) { d.DNs[0].Options = map[string]string{} }, true},
		{"empty skills", func(d *cfgcache.Data) { d.Persons[0].Skills = []cfgcache.Skill{} }, true},
		{"option", func(d *cfgcache.Data) { d.DNs[0].Options = map[string]string{"record": "true"} }, false},
		{"dn order", func(d *cfgcache.Data) { d.DNs[0], d.DNs[1] = d.DNs[1], d.DNs[0] }, false},
		{"wrap-up", func(d *cfgcache.Data) { d.Persons[0].Logins[0].WrapupTime = 5 }, false},
		{"person name", func(d *cfgcache.Data) { d.Persons[0].LastName = "Lee" }, false},
		{"tenant", func(d *cfgcache.Data) { d.Tenants[0].Name = "Other" }, false},
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
