package cti

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/tlib"
)

// link is the state of one configured SIP Server across connections.
type link struct {
	c   *Client
	srv Server
	log *slog.Logger

	cur atomic.Pointer[conn] // set once RequestRegisterClient is answered
	up  atomic.Bool          // LinkState(true) delivered, false not yet

	connects, failures, losses, events, overflows, regErr atomic.Uint64

	mu        sync.Mutex
	changedAt time.Time
}

func (l *link) connected() bool {
	cn := l.cur.Load()
	return l.up.Load() && cn != nil && !cn.isDead()
}

func (l *link) stats() Stats {
	l.mu.Lock()
	at := l.changedAt
	l.mu.Unlock()
	return Stats{
		Server: l.srv.Name, Connected: l.connected(),
		Connects: l.connects.Load(), Failures: l.failures.Load(), LinkLosses: l.losses.Load(),
		Events: l.events.Load(), Overflows: l.overflows.Load(), RegisterErr: l.regErr.Load(),
		ChangedAt: at,
	}
}

func (l *link) setUp(up bool) {
	l.up.Store(up)
	l.mu.Lock()
	l.changedAt = l.c.cfg.Now()
	l.mu.Unlock()
}

// loop connects and reconnects until ctx ends (or, with reconnect off,
// until the first round fails or the link drops).
//
// Attempts go in rounds: a round tries each address once, starting with
// the one after the address tried last (the primary at first), and goes on
// to the next address at once when a connect or registration fails. A
// round ends when a link that came up drops, or when every address failed;
// the next round starts after Config.Reconnect. So addresses alternate
// primary, backup, primary, ... and a lost primary is retried via the
// backup first.
func (l *link) loop(ctx context.Context) {
	addrs := []string{l.srv.Primary}
	if l.srv.Backup != "" {
		addrs = append(addrs, l.srv.Backup)
	}
	next := 0
	for first := true; ; first = false {
		if !first {
			if l.c.cfg.Reconnect < 0 {
				l.log.Warn("cti link ended; reconnect is off")
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-l.c.cfg.After(l.c.cfg.Reconnect):
			}
		}
		start := next
		for i := range addrs {
			idx := (start + i) % len(addrs)
			next = (idx + 1) % len(addrs)
			wasUp, err := l.session(ctx, addrs[idx])
			if ctx.Err() != nil {
				return
			}
			if wasUp {
				l.losses.Add(1)
				l.log.Warn("cti link lost", "addr", addrs[idx], "err", err, "reconnect", l.c.cfg.Reconnect)
				break
			}
			l.failures.Add(1)
			l.log.Warn("cti connect failed", "addr", addrs[idx], "err", err)
		}
	}
}

// session runs one connection to addr until it breaks. wasUp reports
// whether registration and resynchronisation completed.
func (l *link) session(ctx context.Context, addr string) (wasUp bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, l.c.cfg.DialTimeout)
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrConnect, addr, err)
	}
	cn := newConn(l, nc, addr)
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		cn.kill(fmt.Errorf("%w: %w", ErrLinkDown, context.Cause(ctx)))
		close(killed)
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); cn.readLoop() }()
	go func() { defer wg.Done(); cn.dispatch() }()

	err = l.establish(ctx, cn)
	if err == nil {
		wasUp = true
		<-cn.dead
		err = cn.cause()
	} else {
		cn.kill(err)
	}
	l.cur.CompareAndSwap(cn, nil)
	wg.Wait()
	if !stop() {
		<-killed
	}
	return wasUp, err
}

// establish registers the client and the DNs, resynchronises and queues
// LinkState(true) behind the resync answers.
func (l *link) establish(ctx context.Context, cn *conn) error {
	reg := tlib.New(tlib.RequestRegisterClient).SetStr(tlib.AttrApplicationName, l.c.cfg.ClientName)
	if l.c.cfg.Password != "" {
		reg.SetList(tlib.AttrExtensions, tlib.KVList(nil).Set("password", l.c.cfg.Password))
	}
	resp, err := cn.request(ctx, reg)
	if err != nil {
		return err
	}
	switch resp.Type {
	case tlib.EventServerConnected:
	case tlib.EventError:
		return fmt.Errorf("RequestRegisterClient: %w", errorOf(resp))
	default:
		return fmt.Errorf("%w: RequestRegisterClient answered by %s", ErrProtocol, resp.Type)
	}
	l.cur.Store(cn)

	dns := l.c.cfg.DNs(l.srv.Name)
	msgs := make([]*tlib.Message, len(dns))
	for i, dn := range dns {
		msgs[i] = tlib.New(tlib.RequestRegisterAddress).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrRegisterMode, 0)
	}
	registered := make([]string, 0, len(dns))
	err = cn.requestAll(ctx, msgs, func(i int, r *tlib.Message) error {
		switch r.Type {
		case tlib.EventRegistered:
			registered = append(registered, dns[i])
		case tlib.EventError:
			l.regErr.Add(1)
			l.log.Warn("cti DN not registered", "dn", dns[i], "err", errorOf(r))
		default:
			return fmt.Errorf("%w: RequestRegisterAddress %s answered by %s", ErrProtocol, dns[i], r.Type)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Resynchronise: which calls are on each DN, then each call's parties.
	msgs = make([]*tlib.Message, len(registered))
	for i, dn := range registered {
		msgs[i] = tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrAddressInfoType, AddressInfoDNStatus)
	}
	var calls []*tlib.Message
	err = cn.requestAll(ctx, msgs, func(i int, r *tlib.Message) error {
		if r.Type == tlib.EventError {
			l.log.Warn("cti RequestQueryAddress failed", "dn", registered[i], "err", errorOf(r))
			return nil
		}
		for _, id := range CallsOf(r) {
			calls = append(calls, tlib.New(tlib.RequestQueryCall).SetStr(tlib.AttrThisDN, registered[i]).SetConn(tlib.AttrConnID, id))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = cn.requestAll(ctx, calls, func(i int, r *tlib.Message) error {
		if r.Type == tlib.EventError {
			// The call may have ended between the two queries.
			l.log.Info("cti RequestQueryCall failed", "dn", calls[i].ThisDN(), "connid", calls[i].ConnID(), "err", errorOf(r))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !cn.enqueue(item{up: true}) {
		cn.overflow(nil)
		return cn.cause()
	}
	l.connects.Add(1)
	l.log.Info("cti link up", "addr", cn.addr, "dns", len(registered), "calls", len(calls))
	return nil
}

// isPureAnswer reports types that only answer a request and are not
// delivered to the Handler when they match one.
func isPureAnswer(t tlib.MessageType) bool {
	switch t {
	case tlib.EventACK, tlib.EventError, tlib.EventRegistered, tlib.EventUnregistered, tlib.EventServerConnected:
		return true
	}
	return false
}
