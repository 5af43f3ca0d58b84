package loader

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
)

// VersionHeader is the HTTP header carrying the configuration's version in
// every answer of the configuration service.
const VersionHeader = "X-Config-Version"

// Load reads the configuration once, from cfg.File or cfg.URL (neither: an
// empty configuration), and returns it with the service's version ("" for
// a file or a service without VersionHeader). It is what start-up uses
// before a Source takes over. Errors read "config_file: ..." or
// "config_url: ..."; the data is validated (ccdata.Parse).
func Load(ctx context.Context, cfg Config) (*ccdata.Data, string, error) {
	if err := cfg.check(); err != nil {
		return nil, "", err
	}
	switch {
	case cfg.File != "":
		b, _, err := readFile(cfg.File)
		if err != nil {
			return nil, "", err
		}
		d, err := parseFile(cfg.File, b)
		return d, "", err
	case cfg.URL != "":
		client := cfg.HTTPClient
		if client == nil {
			client = newHTTPClient()
			defer client.CloseIdleConnections()
		}
		a, err := get(ctx, client, cfg.URL, LoadTimeout, false)
		if err != nil {
			return nil, "", err
		}
		d, err := parseURL(cfg.URL, a.body)
		if err != nil {
			return nil, "", err
		}
		return d, a.version, nil
	}
	return &ccdata.Data{}, "", nil
}

func parseFile(path string, b []byte) (*ccdata.Data, error) {
	d, err := ccdata.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config_file %s: %w", path, err)
	}
	return d, nil
}

func parseURL(u string, b []byte) (*ccdata.Data, error) {
	d, err := ccdata.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config_url %s: %w", u, err)
	}
	return d, nil
}

// fileSig is what the file watch compares: a change of size or
// modification time (or the file appearing or vanishing) is a change.
type fileSig struct {
	missing bool
	size    int64
	mtime   int64 // UnixNano
}

func statSig(path string) (fileSig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileSig{missing: true}, err
	}
	return fileSig{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}

// readFile returns the file's bytes and its signature taken before the
// read: a write that lands during the read changes the signature again,
// so the watch reads the file once more.
func readFile(path string) ([]byte, fileSig, error) {
	sig, err := statSig(path)
	if err != nil {
		return nil, sig, fmt.Errorf("config_file: %w", err)
	}
	if sig.size > MaxBody {
		return nil, sig, fmt.Errorf("config_file %s: %w (%d bytes, limit %d)", path, ErrTooLarge, sig.size, MaxBody)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, sig, fmt.Errorf("config_file: %w", err)
	}
	return b, sig, nil
}

// answer is one answer of the configuration service.
type answer struct {
	body        []byte
	version     string
	notModified bool // 304 to a long poll
}

// get fetches rawURL within timeout; with poll, 304 is a valid answer.
func get(ctx context.Context, client *http.Client, rawURL string, timeout time.Duration, poll bool) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{}, fmt.Errorf("config_url: %w", err)
	}
	req.Header.Set("Accept", "application/yaml")
	res, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("config_url: %w", err)
	}
	defer res.Body.Close()
	a := answer{version: res.Header.Get(VersionHeader)}
	switch {
	case res.StatusCode == http.StatusOK:
	case res.StatusCode == http.StatusNotModified && poll:
		a.notModified = true
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return a, nil
	default:
		return answer{}, fmt.Errorf("config_url %s: %w: %s", rawURL, ErrStatus, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return answer{}, fmt.Errorf("config_url: %w", err)
	}
	if len(b) > MaxBody {
		return answer{}, fmt.Errorf("config_url %s: %w (limit %d bytes)", rawURL, ErrTooLarge, MaxBody)
	}
	a.body = b
	return a, nil
}

// pollURL is base with the long-poll parameters: wait for a version other
// than ver, at most timeout.
func pollURL(base *url.URL, ver string, timeout time.Duration) string {
	u := *base
	q := u.Query()
	q.Set("wait", ver)
	q.Set("timeout", timeout.String())
	u.RawQuery = q.Encode()
	return u.String()
}

// newHTTPClient is the default client: its own transport, so closing its
// idle connections at the end touches nobody else's.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}
