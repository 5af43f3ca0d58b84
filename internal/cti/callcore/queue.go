package callcore

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/openrec/openrec/internal/cti/conversation"
)

// job is one unit of work for the dispatcher: an engine action or one of
// Core's own follow-ups. Each kind carries itself out.
type job interface {
	do(ctx context.Context, d *dispatcher)
}

// queue is the bounded queue of jobs between Core's callers (the CTI
// reader, the recorder's SIP and RTP paths, the API) and the dispatcher.
// Nothing waits on it once closed is: every send is abandoned then.
type queue struct {
	ch      chan job
	closed  <-chan struct{}
	dropped atomic.Uint64
	log     *slog.Logger
}

func newQueue(size int, closed <-chan struct{}, log *slog.Logger) *queue {
	return &queue{ch: make(chan job, size), closed: closed, log: log}
}

// put queues j, waiting for room (back-pressure) until ctx ends or the
// queue is closed.
func (q *queue) put(ctx context.Context, j job) error {
	select {
	case <-q.closed:
		return ErrClosed
	default:
	}
	select {
	case q.ch <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-q.closed:
		return ErrClosed
	}
}

// putActions queues the engine's actions in order (put); it stops at the
// first that cannot be queued and returns how many were.
func (q *queue) putActions(ctx context.Context, acts []conversation.Action) (int, error) {
	for i, a := range acts {
		if err := q.put(ctx, action{a}); err != nil {
			return i, err
		}
	}
	return len(acts), nil
}

// offer queues j without waiting (the recorder's SIP and RTP paths must
// never block): with the queue full, j is dropped, counted and logged.
func (q *queue) offer(j job) {
	select {
	case <-q.closed:
		return
	default:
	}
	select {
	case q.ch <- j:
	default:
		n := q.dropped.Add(1)
		if n&(n-1) == 0 { // 1, 2, 4, 8 ...: an overload does not flood the log
			q.log.Warn("cti action queue full: action dropped", "action", jobName(j), "dropped", n)
		}
	}
}

// offerActions offers the engine's actions in order.
func (q *queue) offerActions(acts []conversation.Action) {
	for _, a := range acts {
		q.offer(action{a})
	}
}

// jobName names a job's kind for the log.
func jobName(j job) string {
	if a, ok := j.(action); ok {
		return fmt.Sprintf("%T", a.Action)
	}
	return fmt.Sprintf("%T", j)
}

// sendActions queues the engine's actions (putActions); the recording
// requests among those that could not be queued were never sent, so the
// engine is told they failed (else it would wait for their answer for
// ever) and its follow-ups (alerts, notification) are offered.
func (c *Core) sendActions(ctx context.Context, acts []conversation.Action) error {
	n, err := c.jobs.putActions(ctx, acts)
	if err == nil {
		return nil
	}
	for _, a := range acts[n:] {
		if ps, ok := a.(conversation.PrivateService); ok {
			for _, f := range c.eng.ServiceResult(ps, fmt.Errorf("not sent: %w", err), c.cfg.Now()) {
				c.jobs.offer(action{f})
			}
		}
	}
	return err
}
