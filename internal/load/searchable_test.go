package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI answers sign-in for bench/pw and reports the recording of each
// record_id as "recording" for its first polls[id] searches, then
// "completed"; ids not in polls never finish.
type fakeAPI struct {
	mu       sync.Mutex
	polls    map[string]int
	searches map[string]int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/auth/token":
		var in struct{ Username, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Username != "bench" || in.Password != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"title":"wrong user name or password"}`)
			return
		}
		fmt.Fprint(w, `{"token":"tok","token_type":"Bearer"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/recordings":
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.URL.Query().Get("record_id")
		f.mu.Lock()
		f.searches[id]++
		n, known := f.polls[id]
		done := known && f.searches[id] > n
		f.mu.Unlock()
		status := "recording"
		if done {
			status = "completed"
		}
		fmt.Fprintf(w, `{"items":[{"record_id":%q,"status":%q}],"next_cursor":null}`, id, status)
	default:
		http.NotFound(w, r)
	}
}

func TestPoller(t *testing.T) {
	fake := &fakeAPI{polls: map[string]int{"A": 0, "B": 3}, searches: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()

	if _, err := newAPIClient(ctx, srv.URL, "bench", "wrong", 4); !errors.Is(err, ErrAPI) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("sign-in with a wrong password: %v", err)
	}
	api, err := newAPIClient(ctx, srv.URL+"/", "bench", "pw", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer api.close()
	p := newPoller(api, 2)
	p.interval, p.bound = time.Millisecond, 300*time.Millisecond
	ended := time.Now()
	for _, id := range []string{"A", "B", "never"} {
		p.watch(ctx, "record_id", id, ended)
	}
	var rep Report
	var warnings []string
	p.wait(&rep, func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) })

	if rep.SearchableCalls != 2 || rep.SearchableTimeouts != 1 {
		t.Errorf("calls %d timeouts %d", rep.SearchableCalls, rep.SearchableTimeouts)
	}
	if rep.SearchableMSP50 == nil || rep.SearchableMSMax == nil || *rep.SearchableMSMax < *rep.SearchableMSP50 {
		t.Errorf("p50 %v max %v", rep.SearchableMSP50, rep.SearchableMSMax)
	}
	fake.mu.Lock()
	if fake.searches["A"] != 1 || fake.searches["B"] != 4 || fake.searches["never"] < 2 {
		t.Errorf("searches %v", fake.searches)
	}
	fake.mu.Unlock()
	if len(warnings) == 0 || !strings.Contains(strings.Join(warnings, "\n"), "1 calls not searchable") {
		t.Errorf("warnings %q", warnings)
	}
}
