package link

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// link is the state of one configured SIP Server across connections.
type link struct {
	c   *Client
	srv Server
	log *slog.Logger

	cur atomic.Pointer[conn] // set once RequestRegisterClient is answered
	up  atomic.Bool          // LinkState(true) delivered, false not yet

	// refresh holds one pending Refresh request (buffered 1: requests
	// made before the link goroutine takes it make one pass).
	refresh chan struct{}

	connects, failures, losses, events, overflows, regErr, refreshes atomic.Uint64
	registered                                                       atomic.Int64

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
		Registered: int(l.registered.Load()), Refreshes: l.refreshes.Load(),
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

// dial connects to addr: TCP, or TLS with the server's TLS configuration
// (handshake included, within ctx).
func (l *link) dial(ctx context.Context, addr string) (net.Conn, error) {
	if l.srv.TLS == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	conf := l.srv.TLS.Clone()
	if conf.MinVersion < tls.VersionTLS12 {
		conf.MinVersion = tls.VersionTLS12
	}
	d := tls.Dialer{Config: conf} // ServerName defaults to addr's host
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return nc, nil
}

// session runs one connection to addr until it breaks. wasUp reports
// whether registration and resynchronisation completed.
func (l *link) session(ctx context.Context, addr string) (wasUp bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, l.c.cfg.DialTimeout)
	nc, err := l.dial(dctx, addr)
	cancel()
	if err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrConnect, addr, err)
	}
	cn := newConn(l, nc, addr)
	// A Refresh asked before this point is covered: establish reads the
	// DN list afresh. One asked later is served once establish is done.
	select {
	case <-l.refresh:
	default:
	}
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		cn.kill(fmt.Errorf("%w: %w", ErrLinkDown, context.Cause(ctx)))
		close(killed)
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); cn.readLoop() }()
	go func() { defer wg.Done(); cn.dispatch() }()

	registered, err := l.establish(ctx, cn)
	if err == nil {
		wasUp = true
		l.serve(ctx, cn, registered)
		err = cn.cause()
	} else {
		cn.kill(err)
	}
	l.registered.Store(0)
	l.cur.CompareAndSwap(cn, nil)
	wg.Wait()
	if !stop() {
		<-killed
	}
	return wasUp, err
}

// establish registers the client and the DNs, resynchronises and queues
// LinkState(true) behind the resync answers. It returns the set of DNs
// registered.
func (l *link) establish(ctx context.Context, cn *conn) (map[string]bool, error) {
	name, password := l.srv.identity(&l.c.cfg)
	reg := tlib.New(tlib.RequestRegisterClient).SetStr(tlib.AttrApplicationName, name)
	if password != "" {
		reg.SetList(tlib.AttrExtensions, tlib.KVList(nil).Set("password", password))
	}
	resp, err := cn.request(ctx, reg)
	if err != nil {
		return nil, err
	}
	switch resp.Type {
	case tlib.EventServerConnected:
	case tlib.EventError:
		return nil, fmt.Errorf("RequestRegisterClient: %w", errorOf(resp))
	default:
		return nil, fmt.Errorf("%w: RequestRegisterClient answered by %s", ErrProtocol, resp.Type)
	}
	l.cur.Store(cn)

	registered, err := l.register(ctx, cn, uniq(l.c.cfg.DNs(l.srv.Name)))
	if err != nil {
		return nil, err
	}
	calls, err := l.resync(ctx, cn, registered)
	if err != nil {
		return nil, err
	}
	if !cn.enqueue(item{up: true}) {
		cn.overflow(nil)
		return nil, cn.cause()
	}
	set := make(map[string]bool, len(registered))
	for _, dn := range registered {
		set[dn] = true
	}
	l.registered.Store(int64(len(set)))
	l.connects.Add(1)
	l.log.Info("cti link up", "addr", cn.addr, "dns", len(registered), "calls", calls)
	return set, nil
}

// register sends RequestRegisterAddress for dns (Window in flight) and
// returns those the server registered; refusals are logged and counted.
func (l *link) register(ctx context.Context, cn *conn, dns []string) ([]string, error) {
	msgs := make([]*tlib.Message, len(dns))
	for i, dn := range dns {
		msgs[i] = tlib.New(tlib.RequestRegisterAddress).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrRegisterMode, 0)
	}
	registered := make([]string, 0, len(dns))
	err := cn.requestAll(ctx, msgs, func(i int, r *tlib.Message) error {
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
	return registered, err
}

// resync asks which calls are on each DN, then each call's parties; the
// answers go to the Handler. It returns the number of calls queried.
func (l *link) resync(ctx context.Context, cn *conn, dns []string) (int, error) {
	msgs := make([]*tlib.Message, len(dns))
	for i, dn := range dns {
		msgs[i] = tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrAddressInfoType, AddressInfoDNStatus)
	}
	var calls []*tlib.Message
	err := cn.requestAll(ctx, msgs, func(i int, r *tlib.Message) error {
		if r.Type == tlib.EventError {
			l.log.Warn("cti RequestQueryAddress failed", "dn", dns[i], "err", errorOf(r))
			return nil
		}
		for _, id := range CallsOf(r) {
			calls = append(calls, tlib.New(tlib.RequestQueryCall).SetStr(tlib.AttrThisDN, dns[i]).SetConn(tlib.AttrConnID, id))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = cn.requestAll(ctx, calls, func(i int, r *tlib.Message) error {
		if r.Type == tlib.EventError {
			// The call may have ended between the two queries.
			l.log.Info("cti RequestQueryCall failed", "dn", calls[i].ThisDN(), "connid", calls[i].ConnID(), "err", errorOf(r))
		}
		return nil
	})
	return len(calls), err
}

func (l *link) requestRefresh() {
	select {
	case l.refresh <- struct{}{}:
	default: // one is pending already
	}
}

// serve waits, on an established connection, until it breaks, serving the
// Refresh requests meanwhile. registered is the connection's set of
// registered DNs; only this goroutine touches it.
func (l *link) serve(ctx context.Context, cn *conn, registered map[string]bool) {
	for {
		select {
		case <-cn.dead:
			return
		case <-l.refresh:
			if err := l.refreshDNs(ctx, cn, registered); err != nil {
				// As at connect: the reconnect registers the whole list.
				cn.kill(fmt.Errorf("cti: refreshing the DNs: %w", err))
			}
		}
	}
}

// refreshDNs unregisters the DNs of registered that Config.DNs no longer
// lists, registers and resynchronises those it lists in addition, and
// updates registered.
func (l *link) refreshDNs(ctx context.Context, cn *conn, registered map[string]bool) error {
	want := uniq(l.c.cfg.DNs(l.srv.Name))
	listed := make(map[string]bool, len(want))
	var add, drop []string
	for _, dn := range want {
		listed[dn] = true
		if !registered[dn] {
			add = append(add, dn)
		}
	}
	for dn := range registered {
		if !listed[dn] {
			drop = append(drop, dn)
		}
	}
	if len(add) == 0 && len(drop) == 0 {
		l.refreshes.Add(1)
		return nil
	}
	slices.Sort(drop)
	msgs := make([]*tlib.Message, len(drop))
	for i, dn := range drop {
		msgs[i] = tlib.New(tlib.RequestUnregisterAddress).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrRegisterMode, 0)
	}
	err := cn.requestAll(ctx, msgs, func(i int, r *tlib.Message) error {
		switch r.Type {
		case tlib.EventUnregistered:
		case tlib.EventError:
			// The server no longer knows the DN (removed from its
			// configuration): it is not registered any more either way.
			l.log.Info("cti RequestUnregisterAddress refused", "dn", drop[i], "err", errorOf(r))
		default:
			return fmt.Errorf("%w: RequestUnregisterAddress %s answered by %s", ErrProtocol, drop[i], r.Type)
		}
		delete(registered, drop[i])
		return nil
	})
	l.registered.Store(int64(len(registered)))
	if err != nil {
		return err
	}
	added, err := l.register(ctx, cn, add)
	for _, dn := range added {
		registered[dn] = true
	}
	l.registered.Store(int64(len(registered)))
	if err != nil {
		return err
	}
	calls, err := l.resync(ctx, cn, added)
	if err != nil {
		return err
	}
	l.refreshes.Add(1)
	l.log.Info("cti DNs refreshed", "registered", len(added), "refused", len(add)-len(added),
		"unregistered", len(drop), "calls", calls, "dns", len(registered))
	return nil
}

// uniq returns dns without duplicates, in order.
func uniq(dns []string) []string {
	seen := make(map[string]bool, len(dns))
	out := dns[:0:0]
	for _, dn := range dns {
		if !seen[dn] {
			seen[dn] = true
			out = append(out, dn)
		}
	}
	return out
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
