package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/web/api"
)

// controlErr is a Controller that fails every request with err.
type controlErr struct{ err error }

func (c controlErr) Control(context.Context, api.ControlRequest) (api.ControlResult, error) {
	return api.ControlResult{}, c.err
}

// An adapter classifies its domain's errors (api.NotFound, Conflict,
// BadRequest, Unprocessable) and the API alone turns them into problems:
// the status, the error's own text as detail, and for a refusal the audit
// entry says why; an unclassified error is a 500 that shows nothing.
func TestAdapterErrorKinds(t *testing.T) {
	cause := errors.New("callcore: no such live call")
	for _, c := range []struct {
		name   string
		err    error
		status int
		detail string
	}{
		{"not found", api.NotFound(cause), 404, "callcore: no such live call"},
		{"wrapped not found", fmt.Errorf("control: %w", api.NotFound(cause)), 404, "control: callcore: no such live call"},
		{"conflict", api.Conflict(errors.New("do-not-record rule no-5004")), 409, "do-not-record rule no-5004"},
		{"bad request", api.BadRequest(errors.New("unknown op")), 400, "unknown op"},
		{"unprocessable", api.Unprocessable(errors.New("bad value")), 422, "bad value"},
		{"unclassified", errors.New("disk on fire at /secret/path"), 500, "see its log"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *api.Config) { cfg.Control = controlErr{c.err} })
			var prob api.Problem
			code := e.do(e.token("root"), "POST", "/api/v1/calls/control", map[string]string{"op": "start", "dn": "5001"}, &prob)
			if code != c.status || prob.Status != c.status || !strings.Contains(prob.Detail, c.detail) {
				t.Fatalf("status %d problem %+v, want %d with detail %q", code, prob, c.status, c.detail)
			}
			if strings.Contains(prob.Detail, "/secret") {
				t.Errorf("a 500 shows its cause: %q", prob.Detail)
			}
			var audit struct {
				Items []struct{ Action, Detail string }
			}
			if code := e.do(e.token("root"), "GET", "/api/v1/audit?limit=100", nil, &audit); code != 200 {
				t.Fatal(code)
			}
			found := false
			for _, it := range audit.Items {
				if it.Action == "control" {
					found = true
					if refused := strings.Contains(it.Detail, "refused: "+c.detail); refused != (c.status < 500) {
						t.Errorf("audit detail %q: refusal reason shown=%v, want %v", it.Detail, refused, c.status < 500)
					}
				}
			}
			if !found {
				t.Error("no control entry in the audit log")
			}
		})
	}
}
