package main

import (
	"bytes"
	"encoding/json"
	"github.com/openrec/openrec/internal/testtool"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var httpRE = regexp.MustCompile(` http=([0-9.]+:[0-9]+)`)

// The path an operator (and an acceptance test) takes: `openrec admin
// create-user` on a fresh data directory, `openrec serve` on it, a call,
// then the REST API with a bearer token — search with a cursor, one
// recording, its media as WAV (Range) and MP3, live calls, the OpenAPI
// document, health, metrics and the UI at /.
func TestServeAdminUserAndAPI(t *testing.T) {
	data := t.TempDir()
	if out, err := run(t, "admin", "create-user", "--data-dir", data, "--name", "ops", "--password", "a-long-password", "--role", "admin"); err != nil {
		t.Fatalf("create-user: %v\n%s", err, out)
	}
	if out, err := run(t, "admin", "create-user", "--data-dir", data, "--name", "sup", "--password", "a-long-password", "--role", "supervisor"); err == nil {
		t.Errorf("a supervisor without --tenant was created:\n%s", out)
	}
	s := startServe(t, data, "33800-33899")
	if s.httpAddr == "" {
		t.Fatal("no http address in serve's ready line")
	}
	base := "http://" + s.httpAddr
	for i := 0; i < 2; i++ {
		if out, err := run(t, "dial", "--target", s.sipAddr, "--mode", "msr", "--duration", "1s", "--tones", "440,1000", "--dn", "5001"); err != nil {
			t.Fatalf("dial: %v\n%s", err, out)
		}
	}
	call := func(method, path, token string, body any, hdr map[string]string) (int, http.Header, []byte) {
		t.Helper()
		return apiCall(t, base, method, path, token, body, hdr)
	}
	code, _, b := call("POST", "/api/v1/auth/token", "", map[string]string{"username": "ops", "password": "a-long-password"}, nil)
	var tok struct{ Token string }
	if code != 200 || json.Unmarshal(b, &tok) != nil || tok.Token == "" {
		t.Fatalf("token: %d %s", code, b)
	}
	var page struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		_, _, b = call("GET", "/api/v1/recordings?limit=1", tok.Token, nil, nil)
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("recordings: %v %s", err, b)
		}
		return len(page.Items) == 1 && page.Items[0].Status == "completed" && page.NextCursor != nil, string(b)
	}, "a completed recording and a next page")
	id := page.Items[0].ID
	if code, _, b := call("GET", "/api/v1/recordings?limit=1&cursor="+*page.NextCursor, tok.Token, nil, nil); code != 200 || bytes.Contains(b, []byte(id)) {
		t.Errorf("second page: %d, repeats the first: %v", code, bytes.Contains(b, []byte(id)))
	}
	if code, _, _ := call("GET", "/api/v1/recordings/"+id, tok.Token, nil, nil); code != 200 {
		t.Errorf("recording: %d", code)
	}
	code, hdr, b := call("GET", "/api/v1/recordings/"+id+"/media?format=wav", tok.Token, nil, map[string]string{"Range": "bytes=0-43"})
	if code != 206 || hdr.Get("Content-Type") != "audio/wav" || len(b) != 44 || string(b[:4]) != "RIFF" {
		t.Errorf("media Range: %d %s %d bytes", code, hdr.Get("Content-Type"), len(b))
	}
	code, hdr, b = call("GET", "/api/v1/recordings/"+id+"/media?format=mp3", tok.Token, nil, nil)
	if _, err := exec.LookPath("lame"); err == nil {
		if code != 200 || hdr.Get("Content-Type") != "audio/mpeg" || len(b) < 1000 {
			t.Errorf("mp3: %d %s %d bytes", code, hdr.Get("Content-Type"), len(b))
		}
	} else if code != 501 {
		t.Errorf("mp3 without lame on PATH: %d, want 501", code)
	}
	for _, c := range []struct {
		path, want string
		auth       bool
	}{
		{"/api/v1/live", `"items"`, true},
		{"/api/v1/openapi.json", `"openapi"`, false},
		{"/healthz", `"status"`, false},
		{"/metrics", "openrec_rtp_packets_received_total", false},
		{"/", "<html", false},
	} {
		token := ""
		if c.auth {
			token = tok.Token
		}
		if code, _, b := call("GET", c.path, token, nil, nil); code != 200 || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s: %d, want 200 with %s", c.path, code, c.want)
		}
	}
	if code, _, _ := call("GET", "/api/v1/recordings", "", nil, nil); code != 401 {
		t.Errorf("recordings without a token: %d, want 401", code)
	}
	s.stop(t, syscall.SIGTERM)
}

// apiCall sends one API request (body as JSON when not nil, a bearer
// token when not empty, extra headers) and returns the status, headers and
// body.
func apiCall(t *testing.T, base, method, path, token string, body any, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}
