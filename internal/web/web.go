// Package web serves openrec's browser UI: a single page application of plain
// HTML, CSS and JavaScript modules embedded in the binary (no build step).
//
// The page talks only to the REST API described in docs/api.md. Assets are
// served under /ui/<version>/ with a year of immutable caching, where version
// is a hash of every asset, so a new binary changes every asset URL at once
// (relative module imports inherit the versioned prefix). index.html is served
// for / and every other non-API path without an extension, always revalidated.
// README.md in this directory lists the DOM ids and attributes browser tests
// may rely on.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// assetPrefix is the URL prefix of every asset; index.html refers to assets
// as "/ui/<file>" and is rewritten to "/ui/<version>/<file>" when served.
const assetPrefix = "/ui/"

// indexFile is the page served for / and the single page app's paths.
const indexFile = "index.html"

// versionLen is the number of hex digits of the asset version.
const versionLen = 12

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// contentTypes maps the extensions the UI uses to their Content-Type; an
// embedded file with another extension is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one file ready to serve: its bytes, a gzip variant when that is
// smaller, and strong ETags for both.
type asset struct {
	ctype  string
	body   []byte
	etag   string
	gz     []byte
	gzEtag string
}

// site is the handler: every asset by path relative to static/, the version
// and the rewritten index page.
type site struct {
	version string
	assets  map[string]*asset
	index   *asset
}

var loadSite = sync.OnceValues(func() (*site, error) { return newSite(static) })

// Handler serves the UI: assets under /ui/ (long-lived caching when the URL
// carries the current version, revalidation with ETags otherwise) and
// index.html for / (the UI routes by the URL's hash); every other path is
// 404. The caller mounts the API, /healthz
// and /metrics first; this handler answers 404 for them anyway.
func Handler() http.Handler {
	s, err := loadSite()
	if err != nil {
		// The files are embedded at build time; a failure here is a broken
		// build, which the package tests catch.
		panic(fmt.Sprintf("web: %v", err))
	}
	return s
}

// newSite reads every file of fsys (rooted at "static") and prepares it.
func newSite(fsys fs.FS) (*site, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	s := &site{assets: map[string]*asset{}}
	var indexBody []byte
	var names []string
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if p == indexFile {
			indexBody = b
			return nil
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		s.assets[p] = newAsset(ctype, b)
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	if indexBody == nil {
		return nil, fmt.Errorf("%w: no %s", ErrAssets, indexFile)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(s.assets[n].body))
		h.Write(s.assets[n].body)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:versionLen]
	page := bytes.ReplaceAll(indexBody, []byte(`"`+assetPrefix), []byte(`"`+assetPrefix+s.version+"/"))
	s.index = newAsset(contentTypes[".html"], page)
	return s, nil
}

func newAsset(ctype string, body []byte) *asset {
	sum := sha256.Sum256(body)
	a := &asset{ctype: ctype, body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	if strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml" || ctype == "application/json" {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			a.gz = buf.Bytes()
			a.gzEtag = `"` + hex.EncodeToString(sum[:16]) + `-gz"`
		}
	}
	return a
}

// reserved reports whether p belongs to the API or the operational
// endpoints, which this handler never serves.
func reserved(p string) bool {
	for _, r := range []string{"/api", "/healthz", "/metrics"} {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if reserved(p) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if rest, ok := strings.CutPrefix(p, assetPrefix); ok {
		s.serveAsset(w, r, rest)
		return
	}
	if p != "/" && p != "/"+indexFile {
		// The UI routes by the URL's hash (#/search, #/live ...): only the
		// page itself is served, so no other path looks like a resource.
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp(r.Host))
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	serve(w, r, s.index, cacheRevalidate)
}

// serveAsset serves /ui/<rest>: rest starts with the current version for
// immutable URLs; an older version (a page loaded before an upgrade) or no
// version gets the current file, revalidated.
func (s *site) serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	cache := cacheRevalidate
	if first, tail, ok := strings.Cut(rest, "/"); ok && isVersion(first) {
		rest = tail
		if first == s.version {
			cache = cacheImmutable
		}
	}
	a := s.assets[rest]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	serve(w, r, a, cache)
}

func isVersion(s string) bool {
	if len(s) != versionLen {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// serve writes a with its type, caching headers and ETag; http.ServeContent
// answers If-None-Match (304), HEAD and Range.
func serve(w http.ResponseWriter, r *http.Request, a *asset, cache string) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, a.gzEtag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header value allows gzip.
func acceptsGzip(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// csp is the Content-Security-Policy of the page: only its own scripts,
// styles and media (no inline code), WebSockets to the same host.
func csp(host string) string {
	connect := "'self'"
	if safeHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"media-src 'self' blob:; connect-src " + connect + "; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'; frame-ancestors 'none'"
}

// safeHost reports whether a Host header can be copied into the policy.
func safeHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}
