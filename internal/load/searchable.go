package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Searchable polling: after a call hangs up its recordings are asked for
// every pollInterval until none is still "recording", for at most
// pollBound.
const (
	pollInterval = 20 * time.Millisecond
	pollBound    = 30 * time.Second
	// DefaultAPIConcurrency bounds the API requests in flight.
	DefaultAPIConcurrency = 16
)

// apiClient talks to the recorder's REST API with a bearer token.
type apiClient struct {
	base  string // http://host:port, no trailing slash
	http  *http.Client
	token string
}

// newAPIClient signs in (POST /api/v1/auth/token) and returns a client
// whose connections are kept for conc parallel requests.
func newAPIClient(ctx context.Context, base, user, password string, conc int) (*apiClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc
	a := &apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	body, err := json.Marshal(map[string]string{"username": user, "password": password})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/api/v1/auth/token", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	req.Header.Set("Content-Type", "application/json")
	b, err := a.do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in as %q: %w", user, err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.Token == "" {
		return nil, fmt.Errorf("%w: sign in: no token in the answer", ErrAPI)
	}
	a.token = tok.Token
	return a, nil
}

func (a *apiClient) close() { a.http.CloseIdleConnections() }

// do sends req and returns the body of a 200 answer.
func (a *apiClient) do(req *http.Request) ([]byte, error) {
	req.Header.Set("Accept", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s %s: HTTP %d: %s", ErrAPI, req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 200)]))
	}
	return b, nil
}

// recordings asks for the recordings matching key=value (record_id or
// call_uuid) and reports whether they are all finished.
func (a *apiClient) recordings(ctx context.Context, key, value string) (bool, error) {
	q := url.Values{key: {value}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1/recordings?"+q.Encode(), nil)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	b, err := a.do(req)
	if err != nil {
		return false, err
	}
	_, final, err := RecordingsFinal(b)
	return final, err
}

// poller measures hang-up → searchable per call: one goroutine per ended
// call, at most conc requests in flight.
type poller struct {
	api             *apiClient
	sem             chan struct{}
	interval, bound time.Duration // pollInterval, pollBound
	wg              sync.WaitGroup

	mu       sync.Mutex
	ms       []float64 // hang-up → every recording final, per call
	timeouts int
	errs     int
	firstErr error
	maxWait  time.Duration // longest wait for a request slot
}

func newPoller(api *apiClient, conc int) *poller {
	return &poller{api: api, sem: make(chan struct{}, conc), interval: pollInterval, bound: pollBound}
}

// watch polls the recordings of one call (key=value) that hung up at
// ended until they are final, p.bound passes or ctx is done.
func (p *poller) watch(ctx context.Context, key, value string, ended time.Time) {
	p.wg.Go(func() {
		timer := time.NewTimer(0)
		defer timer.Stop()
		<-timer.C
		for {
			t0 := time.Now()
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wait := time.Since(t0)
			final, err := p.api.recordings(ctx, key, value)
			<-p.sem
			now := time.Now()
			p.mu.Lock()
			p.maxWait = max(p.maxWait, wait)
			switch {
			case ctx.Err() != nil:
				p.mu.Unlock()
				return
			case err != nil:
				p.errs++
				if p.firstErr == nil {
					p.firstErr = err
				}
			case final:
				p.ms = append(p.ms, float64(now.Sub(ended).Microseconds())/1000)
				p.mu.Unlock()
				return
			}
			if now.Sub(ended) >= p.bound {
				p.timeouts++
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			timer.Reset(p.interval)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
	})
}

// wait waits for every watch and fills the report's searchable figures.
func (p *poller) wait(rep *Report, warn func(string, ...any)) {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	rep.SearchableCalls = len(p.ms)
	rep.SearchableTimeouts = p.timeouts
	if v, ok := Percentile(p.ms, 50); ok {
		rep.SearchableMSP50 = &v
	}
	if v, ok := Percentile(p.ms, 99); ok {
		rep.SearchableMSP99 = &v
	}
	if v, ok := Percentile(p.ms, 100); ok {
		rep.SearchableMSMax = &v
	}
	if p.errs > 0 {
		warn("recordings API: %d failed requests, first: %v", p.errs, p.firstErr)
	}
	if p.timeouts > 0 {
		warn("recordings API: %d calls not searchable as ended within %v", p.timeouts, p.bound)
	}
	if p.maxWait > p.interval {
		warn("recordings API: polls waited up to %v for one of %d request slots (searchable times include it)",
			p.maxWait.Round(time.Millisecond), cap(p.sem))
	}
}
