package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/web/api"
)

// liveFake is one recording in progress (rec-a1, TenantA) fed by a real
// live.Hub with a frame every 20 ms.
type liveFake struct{ hub *live.Hub }

func (f *liveFake) Live() []api.LiveCall {
	return []api.LiveCall{{RecordingID: "rec-a1", Tenant: "TenantA", Channels: []api.LiveChannel{{Channel: 0}, {Channel: 1}}}}
}
func (f *liveFake) LiveCTI() []api.CTICall { return nil }
func (f *liveFake) Subscribe(id string, ch int) (*live.Subscription, bool) {
	if id != "rec-a1" {
		return nil, false
	}
	return f.hub.Subscribe(id, ch, 0), true
}
func (f *liveFake) IsLive(id string) bool { return id == "rec-a1" }

// Issue 13: live listening went on after the user was disabled and after
// the token expired (audio kept flowing until the client hung up). It must
// end within a few seconds of sign-out, disable or expiry.
func TestLiveListeningEndsWhenAccessEnds(t *testing.T) {
	for _, c := range []struct {
		name   string
		revoke func(e *env, tok string, clock *atomic.Int64)
	}{
		{"sign-out", func(e *env, tok string, _ *atomic.Int64) {
			if code := e.do(tok, "POST", "/api/v1/auth/logout", nil, nil); code != 204 {
				t.Errorf("logout: %d", code)
			}
		}},
		{"user disabled", func(e *env, _ string, _ *atomic.Int64) {
			if code := e.do(e.token("root"), "PUT", "/api/v1/admin/users/supa", map[string]any{"disabled": true}, nil); code != 200 {
				t.Errorf("disable: %d", code)
			}
		}},
		{"rights withdrawn", func(e *env, _ string, _ *atomic.Int64) {
			if code := e.do(e.token("root"), "PUT", "/api/v1/admin/users/supa", map[string]any{"role": "agent", "agent_id": "1001"}, nil); code != 200 {
				t.Errorf("demote: %d", code)
			}
		}},
		{"moved to another tenant", func(e *env, _ string, _ *atomic.Int64) {
			if code := e.do(e.token("root"), "PUT", "/api/v1/admin/users/supa", map[string]any{"tenant": "TenantB"}, nil); code != 200 {
				t.Errorf("move: %d", code)
			}
		}},
		{"token expired", func(_ *env, _ string, clock *atomic.Int64) {
			clock.Add(int64(25 * time.Hour))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var clock atomic.Int64
			clock.Store(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).UnixNano())
			hub := live.NewHub()
			f := &liveFake{hub: hub}
			e := newEnv(t, func(cfg *api.Config) {
				cfg.Live, cfg.Listen = f, f
				cfg.Now = func() time.Time { return time.Unix(0, clock.Load()) }
			})
			stream := hub.Open("rec-a1")
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the recorder's side: audio keeps coming
				defer wg.Done()
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				pcm := make([]int16, 160)
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						stream.Publish(0, time.Now(), pcm)
					}
				}
			}()
			t.Cleanup(func() { cancel(); wg.Wait(); stream.Close() })

			tok := e.token("supa")
			dctx, dcancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer dcancel()
			ws, _, err := websocket.Dial(dctx, strings.Replace(e.srv.URL, "http", "ws", 1)+"/api/v1/live/rec-a1/listen?channel=0",
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			defer ws.CloseNow()
			if _, _, err := ws.Read(dctx); err != nil {
				t.Fatalf("first frame: %v", err)
			}
			c.revoke(e, tok, &clock)
			revokedAt := time.Now()
			for {
				_, _, err := ws.Read(dctx)
				if err == nil {
					continue
				}
				if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
					t.Fatalf("listening ended with %v, want a policy-violation close", err)
				}
				var ce websocket.CloseError
				errors.As(err, &ce)
				if took := time.Since(revokedAt); took > 5*time.Second {
					t.Errorf("listening ended %v after access ended, want within a few seconds", took)
				}
				t.Logf("ended: %q", ce.Reason)
				return
			}
		})
	}
}
