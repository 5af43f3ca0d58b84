package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/openrec/openrec/internal/testtool"
)

func testSite(t *testing.T) (*site, *httptest.Server) {
	t.Helper()
	s, err := loadSite()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

// fetch makes one request without transparent gzip (so Content-Encoding is visible).
func fetch(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestIndexServedForAppPaths(t *testing.T) {
	s, srv := testSite(t)
	for _, p := range []string{"/", "/index.html"} {
		t.Run(p, func(t *testing.T) {
			res, body := fetch(t, http.MethodGet, srv.URL+p, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache (the page names the versioned assets)", cc)
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			want := `src="/ui/` + s.version + `/js/app.js"`
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("index does not load %s", want)
			}
			if bytes.Contains(body, []byte(`"/ui/js/`)) {
				t.Error("index still has unversioned asset URLs")
			}
		})
	}
}

func TestAssets(t *testing.T) {
	s, srv := testSite(t)
	v := s.version
	tests := []struct {
		path, ctype, cache string
	}{
		{"/ui/" + v + "/js/app.js", "text/javascript; charset=utf-8", cacheImmutable},
		{"/ui/" + v + "/app.css", "text/css; charset=utf-8", cacheImmutable},
		{"/ui/" + v + "/favicon.svg", "image/svg+xml", cacheImmutable},
		{"/ui/js/api.js", "text/javascript; charset=utf-8", cacheRevalidate},
		{"/ui/000000000000/js/api.js", "text/javascript; charset=utf-8", cacheRevalidate},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, body := fetch(t, http.MethodGet, srv.URL+tc.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			rel := strings.TrimPrefix(tc.path, "/ui/")
			if first, rest, _ := strings.Cut(rel, "/"); isVersion(first) {
				rel = rest
			}
			want, err := fs.ReadFile(static, "static/"+rel)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, want) {
				t.Error("body differs from the embedded file")
			}
		})
	}
}

func TestNotServed(t *testing.T) {
	s, srv := testSite(t)
	for _, p := range []string{
		"/ui/nope.js", "/ui/" + s.version + "/js/nope.js", "/ui/", "/ui/index.html", "/ui/" + s.version + "/",
		"/api", "/api/", "/api/v1/recordings", "/api/v1/auth/me", "/healthz", "/metrics", "/metrics/x",
		"/favicon.ico", "/robots.txt",
		// The UI routes by the URL's hash: other paths are not the page
		// (a profiler or another tool mounted elsewhere must not look served).
		"/search", "/recording/01HX", "/debug/pprof/", "/admin/users/",
	} {
		t.Run(p, func(t *testing.T) {
			res, body := fetch(t, http.MethodGet, srv.URL+p, nil)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", res.StatusCode)
			}
			if bytes.Contains(body, []byte("<html")) {
				t.Error("answered with the page")
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	_, srv := testSite(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		res, _ := fetch(t, m, srv.URL+"/", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: status %d, Allow %q", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
	res, body := fetch(t, http.MethodHead, srv.URL+"/ui/app.css", nil)
	if res.StatusCode != http.StatusOK || len(body) != 0 || res.ContentLength <= 0 {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %d", res.StatusCode, len(body), res.ContentLength)
	}
}

func TestConditionalRequests(t *testing.T) {
	s, srv := testSite(t)
	for _, p := range []string{"/", "/ui/" + s.version + "/js/app.js"} {
		t.Run(p, func(t *testing.T) {
			res, _ := fetch(t, http.MethodGet, srv.URL+p, nil)
			etag := res.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag %q is not a strong validator", etag)
			}
			res, body := fetch(t, http.MethodGet, srv.URL+p, map[string]string{"If-None-Match": etag})
			if res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match: status %d with %d bytes, want 304", res.StatusCode, len(body))
			}
			res, _ = fetch(t, http.MethodGet, srv.URL+p, map[string]string{"If-None-Match": `"other"`})
			if res.StatusCode != http.StatusOK {
				t.Errorf("stale ETag: status %d, want 200", res.StatusCode)
			}
		})
	}
}

func TestGzip(t *testing.T) {
	s, srv := testSite(t)
	url := srv.URL + "/ui/" + s.version + "/js/recording.js"
	plain, want := fetch(t, http.MethodGet, url, nil)
	res, body := fetch(t, http.MethodGet, url, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	if res.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("the gzip variant shares the identity ETag")
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("gunzipped body differs")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{
		"":                  false,
		"gzip":              true,
		"GZIP":              true,
		"br, gzip":          true,
		"gzip;q=0":          false,
		"gzip; q=0.000":     false,
		"gzip;q=0.5":        true,
		"deflate, identity": false,
		"x-gzip":            false,
	} {
		if got := acceptsGzip(v); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCSPHost(t *testing.T) {
	for host, want := range map[string]bool{
		"rec.example.com:8080": true,
		"[::1]:8080":           true,
		"evil.com; script-src": false,
		"":                     false,
	} {
		got := strings.Contains(csp(host), "ws://")
		if got != want {
			t.Errorf("csp(%q) has ws:// = %v, want %v", host, got, want)
		}
	}
}

func TestNewSiteNeedsIndex(t *testing.T) {
	_, err := newSite(fstest.MapFS{"static/app.css": {Data: []byte("body{}")}})
	if !errors.Is(err, ErrAssets) {
		t.Errorf("err = %v, want ErrAssets", err)
	}
}

var attrRef = regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`)

// TestIndexReferencesExist checks that every asset index.html names is
// embedded and served.
func TestIndexReferencesExist(t *testing.T) {
	_, srv := testSite(t)
	index, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := attrRef.FindAllStringSubmatch(string(index), -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d assets; the pattern is broken", len(refs))
	}
	for _, m := range refs {
		rel := strings.TrimPrefix(m[1], "/ui/")
		if _, err := fs.Stat(static, "static/"+rel); err != nil {
			t.Errorf("index.html references %s: not embedded", m[1])
			continue
		}
		if res, _ := fetch(t, http.MethodGet, srv.URL+m[1], nil); res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", m[1], res.StatusCode)
		}
	}
}

// jsFiles returns every embedded JavaScript file by path under static/.
func jsFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(static, p)
		out[strings.TrimPrefix(p, "static/")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no JavaScript embedded")
	}
	return out
}

var importRef = regexp.MustCompile(`(?:from|import)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]`)

// TestModuleImportsResolve checks every relative import of every module, and
// that every module is reachable from app.js (so modulepreload and the app
// agree).
func TestModuleImportsResolve(t *testing.T) {
	files := jsFiles(t)
	reached := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		if reached[p] {
			return
		}
		reached[p] = true
		for _, m := range importRef.FindAllStringSubmatch(files[p], -1) {
			target := path.Join(path.Dir(p), m[1])
			if _, ok := files[target]; !ok {
				t.Errorf("%s imports %s: no such file", p, m[1])
				continue
			}
			walk(target)
		}
	}
	walk("js/app.js")
	for p := range files {
		if !reached[p] {
			t.Errorf("%s is not imported by app.js or its imports", p)
		}
	}
	index, _ := fs.ReadFile(static, "static/index.html")
	for p := range files {
		if p != "js/app.js" && !bytes.Contains(index, []byte(`rel="modulepreload" href="/ui/`+p+`"`)) {
			t.Errorf("index.html does not preload %s", p)
		}
	}
}

var (
	templateExpr = regexp.MustCompile(`\$\{[^}]*\}`)
	apiPath      = regexp.MustCompile(`/api/v1/[A-Za-z0-9_\-./{}]*`)
	docParam     = regexp.MustCompile(`\{[^}/]*\}`)
)

func normalizeAPIPath(p string) string {
	p = docParam.ReplaceAllString(p, "{}")
	return strings.TrimRight(p, "/.")
}

// TestJSAPIPathsDocumented checks that every /api/v1 path in the JavaScript
// (template expressions count as path parameters) is in docs/api.md.
func TestJSAPIPathsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, p := range apiPath.FindAllString(string(doc), -1) {
		documented[normalizeAPIPath(p)] = true
	}
	used := map[string][]string{}
	for name, src := range jsFiles(t) {
		src = templateExpr.ReplaceAllString(src, "{}")
		for _, p := range apiPath.FindAllString(src, -1) {
			n := normalizeAPIPath(p)
			used[n] = append(used[n], name)
		}
	}
	if len(used) < 10 {
		t.Fatalf("found only %d API paths in the JavaScript; the pattern is broken", len(used))
	}
	var paths []string
	for p := range used {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if !documented[p] {
			t.Errorf("%s (used in %v) is not in docs/api.md", p, used[p])
		}
	}
}

// TestNoHTMLInjection keeps data out of the HTML parser: the UI builds its
// DOM with createElement and textContent only.
func TestNoHTMLInjection(t *testing.T) {
	banned := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment|DOMParser`)
	for name, src := range jsFiles(t) {
		for _, m := range banned.FindAllString(src, -1) {
			t.Errorf("%s uses %s", name, m)
		}
	}
}

// TestStableIDs checks that the ids and attributes browser tests rely on
// (README.md) are still produced by the page or the scripts.
func TestStableIDs(t *testing.T) {
	var all strings.Builder
	for _, src := range jsFiles(t) {
		all.WriteString(src)
	}
	index, _ := fs.ReadFile(static, "static/index.html")
	all.Write(index)
	text := all.String()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile("`#([a-z][a-z0-9-]*)`").FindAllStringSubmatch(string(readme), -1)
	if len(ids) < 20 {
		t.Fatalf("README.md lists %d ids; the pattern is broken", len(ids))
	}
	for _, m := range ids {
		id := m[1]
		if !strings.Contains(text, `id: '`+id+`'`) && !strings.Contains(text, `id="`+id+`"`) {
			t.Errorf("README.md promises #%s but nothing creates it", id)
		}
	}
	for _, attr := range []string{"recordingId", "channel", "audio", "failed", "state", "callUuid", "user", "action"} {
		if !strings.Contains(text, attr+":") {
			t.Errorf("no element gets data-%s", attr)
		}
	}
}

// node finds Node.js (Debian package nodejs): OPENREC_TEST_NODE, else PATH;
// under CI=true a missing node fails the test.
func node(t *testing.T) string {
	t.Helper()
	return testtool.Find(t, "OPENREC_TEST_NODE", "node", "nodejs")
}

// TestJSSyntax parses every module with node. `node --check file.js` accepts
// a syntax error in a file it takes for an ES module, so the source goes
// through stdin with --input-type=module.
func TestJSSyntax(t *testing.T) {
	bin := node(t)
	files := jsFiles(t)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		cmd := exec.Command(bin, "--check", "--input-type=module")
		cmd.Stdin = strings.NewReader(files[name])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
	cmd := exec.Command(bin, "--check", "--input-type=module")
	cmd.Stdin = strings.NewReader("export const x = ;\n")
	if err := cmd.Run(); err == nil {
		t.Error("node accepted a syntax error: the check is broken")
	}
}

// TestJSUnit runs testdata/unit.test.mjs (the pure modules: formatting,
// search query, failed-call judgement, PCM frames, jitter scheduling) with
// node's test runner.
func TestJSUnit(t *testing.T) {
	bin := node(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, src := range jsFiles(t) {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unit, err := os.ReadFile(filepath.Join("testdata", "unit.test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "unit.test.mjs"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tz := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		cmd := exec.Command(bin, "--test", "unit.test.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TZ="+tz, "NODE_OPTIONS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("TZ=%s: %v\n%s", tz, err, out)
		}
	}
}
