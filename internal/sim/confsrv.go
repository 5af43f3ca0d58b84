package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim/rm"
)

// maxConfigBody bounds PUT /config.
const maxConfigBody = 16 << 20

// maxLongPoll bounds GET /config?wait=N.
const maxLongPoll = 5 * time.Minute

// SetConfig replaces the configuration data (DN options, persons) the SIP
// Server uses and the Configuration Server serves, and wakes its long
// polls. source, when not nil, is served verbatim.
func (s *Sim) SetConfig(d *ccdata.Data, source []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data, s.source = d, source
	s.snap = ccdata.NewSnapshot(d)
	s.cfgVer++
	close(s.cfgWake)
	s.cfgWake = make(chan struct{})
	s.log.Info("configuration replaced", "version", s.cfgVer)
}

// ConfigVersion is the configuration's version (1 at start, +1 per SetConfig).
func (s *Sim) ConfigVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfgVer
}

// ConfigHandler is the Configuration Server (see the package doc).
func (s *Sim) ConfigHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config", s.getConfig)
	mux.HandleFunc("PUT /config", s.putConfig)
	mux.HandleFunc("GET /recorders", s.getRecorders)
	return mux
}

// recordersView is the JSON of GET /recorders.
type recordersView struct {
	LB        string           `json:"lb"`
	Recorders []rm.MemberStats `json:"recorders"`
}

// getRecorders serves the Resource Manager's group: each recorder's state
// and counters (sessions placed, active, failed, lost, pings).
func (s *Sim) getRecorders(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(recordersView{LB: string(s.group.Policy()), Recorders: s.group.Stats()})
}

func (s *Sim) getConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ws := q.Get("wait"); ws != "" {
		known, err := strconv.ParseInt(ws, 10, 64)
		if err != nil {
			http.Error(w, "wait: want the version number you have", http.StatusBadRequest)
			return
		}
		timeout := 30 * time.Second
		if ts := q.Get("timeout"); ts != "" {
			if timeout, err = time.ParseDuration(ts); err != nil || timeout <= 0 || timeout > maxLongPoll {
				http.Error(w, "timeout: want a duration up to 5m", http.StatusBadRequest)
				return
			}
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		for {
			s.mu.Lock()
			ver, wake := s.cfgVer, s.cfgWake
			s.mu.Unlock()
			if ver != known {
				break
			}
			select {
			case <-wake:
				continue
			case <-t.C:
				w.Header().Set("X-Config-Version", strconv.FormatInt(ver, 10))
				w.WriteHeader(http.StatusNotModified)
				return
			case <-r.Context().Done():
				return
			case <-s.ctx.Done():
				http.Error(w, "shutting down", http.StatusServiceUnavailable)
				return
			}
		}
	}
	s.mu.Lock()
	ver, data, source := s.cfgVer, s.data, s.source
	s.mu.Unlock()
	var body []byte
	var err error
	ctype := "application/yaml"
	switch {
	case q.Get("format") == "json":
		body, err = json.Marshal(data)
		ctype = "application/json"
	case source != nil:
		body = source
	default:
		body, err = yaml.Marshal(data)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Config-Version", strconv.FormatInt(ver, 10))
	_, _ = w.Write(body)
}

func (s *Sim) putConfig(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil || len(b) > maxConfigBody {
		http.Error(w, "body unreadable or too large", http.StatusBadRequest)
		return
	}
	d, err := ccdata.Parse(b)
	if err != nil {
		http.Error(w, fmt.Sprintf("configuration: %v", err), http.StatusBadRequest)
		return
	}
	s.SetConfig(d, b)
	w.Header().Set("X-Config-Version", strconv.FormatInt(s.ConfigVersion(), 10))
	w.WriteHeader(http.StatusNoContent)
}
