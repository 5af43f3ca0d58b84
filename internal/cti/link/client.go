// Package link is openrec's CTI client: it keeps one T-Library link (tlib
// frames over TCP) to each configured SIP Server, registers as a client,
// registers the monitored DNs, resynchronises the calls in progress after
// every (re)connect, delivers events in order to a Handler and correlates
// requests with their answers by AttributeReferenceID.
//
// Per server the client runs one link goroutine (connect, register,
// resynchronise, reconnect), and per connection a reader goroutine that
// fills a bounded event queue and a dispatcher goroutine that empties it
// into the Handler. A full queue resets the link (logged and counted): the
// resynchronisation after the reconnect restores the state, so memory stays
// bounded and no event is lost without a trace.
//
// Sequence on every connection (docs/cti-link.md):
//
//	RequestRegisterClient  AttributeApplicationName  → EventServerConnected
//	RequestRegisterAddress AttributeThisDN, AttributeRegisterMode 0 → EventRegistered  (per DN)
//	RequestQueryAddress    AttributeThisDN, AttributeAddressInfoType → EventAddressInfo (per DN)
//	RequestQueryCall       AttributeThisDN, AttributeConnID → EventPartyInfo (per call listed)
//	Handler.LinkState(server, true)
//
// EventAddressInfo lists the calls on a DN in AttributeExtensions as pairs
// "conn-1", "conn-2", ... whose values are ConnIDs as 16 hex digits (see
// CallsOf).
//
// The client identification (AttributeApplicationName, Extensions
// "password") is Config's or the server's own (Server.ClientName,
// Server.Password: one per tenant). When the DN list changes (a
// configuration reload), Refresh makes the link goroutine of an up link
// bring the registrations in line without reconnecting:
//
//	RequestUnregisterAddress AttributeThisDN → EventUnregistered  (per DN no longer listed)
//	RequestRegisterAddress, RequestQueryAddress, RequestQueryCall   (per DN newly listed, as above)
package link

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// Defaults.
const (
	DefaultReconnect      = 30 * time.Second
	DefaultQueueSize      = 10000
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	// Window is how many registration/resync requests are in flight at once.
	Window       = 64
	writeTimeout = 10 * time.Second
)

// AddressInfoDNStatus is the AttributeAddressInfoType the client sends in
// RequestQueryAddress (T-Library's AddressInfoDNStatus; the number is
// openrec's, a bridge maps it by name).
const AddressInfoDNStatus = 17

// Server is one SIP Server (T-Server): a name used in the API and logs,
// its switch, its primary and optional backup address (host:port), and
// optionally its own client identification.
type Server struct {
	Name, Switch, Primary, Backup string
	// ClientName and Password override Config.ClientName and
	// Config.Password for this server (multi-tenancy: each tenant has its
	// own Client Identification and Tenant Password, shared by the tenant's
	// SIP Servers). A server with its own ClientName uses its own Password
	// too, even when empty: another tenant's password is never sent to it.
	// Password alone (no ClientName) overrides only the password.
	ClientName, Password string
	// TLS, when set, makes the connections to this server TLS (1.2 or
	// later) with this client configuration: RootCAs (nil: the system
	// roots), ServerName (empty: the host of the address dialled) and,
	// for mutual TLS, a client certificate. The handshake counts in
	// Config.DialTimeout.
	TLS *tls.Config
}

// identity returns the AttributeApplicationName and the password the
// client registers with at s.
func (s Server) identity(cfg *Config) (name, password string) {
	switch {
	case s.ClientName != "":
		return s.ClientName, s.Password
	case s.Password != "":
		return cfg.ClientName, s.Password
	}
	return cfg.ClientName, cfg.Password
}

// Config configures a Client.
type Config struct {
	Servers []Server
	// ClientName is AttributeApplicationName in RequestRegisterClient;
	// required unless every server has its own (Server.ClientName).
	ClientName string
	Password   string // sent as Extensions "password" when not empty
	// DNs returns the DNs to register at a server (already filtered).
	// Called from the server's link goroutine on every (re)connect and on
	// Refresh, so a changed configuration or filter applies then.
	DNs       func(server string) []string
	Reconnect time.Duration // default 30 s; 0 = default; negative = off
	QueueSize int           // bounded event queue per connection (default 10000)
	Now       func() time.Time
	Logger    *slog.Logger

	// Additions to the issue-3 contract.

	// DialTimeout bounds one TCP connect (default 5 s).
	DialTimeout time.Duration
	// RequestTimeout bounds a request whose context has no deadline
	// (default 30 s); a registration or resync answer that does not come
	// in time resets the link.
	RequestTimeout time.Duration
	// After returns a channel that fires after d; it times the reconnect
	// wait. Default time.After. Tests inject their own.
	After func(d time.Duration) <-chan time.Time
}

// Handler receives what the links report. Both methods are called from
// one goroutine per server (per connection), in order; a slow Handler
// fills the queue and resets the link.
type Handler interface {
	// HandleEvent gets every event of a server: unsolicited events, the
	// resynchronisation answers (EventAddressInfo, EventPartyInfo) and
	// answers to requests that are also call events (for example
	// EventAttachedDataChanged). Pure answers (EventACK, EventError,
	// EventRegistered, EventUnregistered, EventServerConnected) that match
	// a request are not delivered. The message must not be modified.
	HandleEvent(server string, m *tlib.Message)
	// LinkState reports the link up after registration and
	// resynchronisation completed, and down after it dropped (only after
	// an up, and after the events received before the drop).
	LinkState(server string, up bool)
}

// Stats are the counters of one server's link.
type Stats struct {
	Server      string
	Connected   bool
	Connects    uint64 // sessions that reached LinkState up
	Failures    uint64 // connect or registration attempts that failed
	LinkLosses  uint64 // established links that dropped
	Events      uint64 // messages read
	Overflows   uint64 // link resets because the event queue was full
	RegisterErr uint64 // DNs the server refused to register
	Registered  int    // DNs registered on the current connection (0 while down)
	Refreshes   uint64 // Refresh passes completed on an up link (changes or not)
	ChangedAt   time.Time
}

// Client keeps the links to the configured SIP Servers.
type Client struct {
	cfg   Config
	h     Handler
	log   *slog.Logger
	links []*link
	byID  map[string]*link
	ref   atomic.Int64

	mu      sync.Mutex
	running bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New validates cfg and returns a client. It starts nothing; call Run.
func New(cfg Config, h Handler) (*Client, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrConfig)
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("%w: no servers", ErrConfig)
	}
	if cfg.Reconnect == 0 {
		cfg.Reconnect = DefaultReconnect
	}
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("%w: negative queue size", ErrConfig)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.DNs == nil {
		cfg.DNs = func(string) []string { return nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, h: h, log: cfg.Logger, byID: make(map[string]*link)}
	for _, s := range cfg.Servers {
		if s.Name == "" || s.Primary == "" {
			return nil, fmt.Errorf("%w: server %q needs a name and a primary address", ErrConfig, s.Name)
		}
		if _, dup := c.byID[s.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate server %q", ErrConfig, s.Name)
		}
		if name, _ := s.identity(&cfg); name == "" {
			return nil, fmt.Errorf("%w: empty client name for server %q", ErrConfig, s.Name)
		}
		l := &link{c: c, srv: s, log: c.log.With("server", s.Name), refresh: make(chan struct{}, 1)}
		c.links = append(c.links, l)
		c.byID[s.Name] = l
	}
	return c, nil
}

// Run keeps the links until ctx ends or Close is called (then it returns
// nil), or until every link ended because reconnect is off (ErrGaveUp).
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.running {
		c.mu.Unlock()
		return ErrRunning
	}
	c.running = true
	ctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	ended := make(chan struct{})
	var left atomic.Int32
	left.Store(int32(len(c.links)))
	c.wg.Add(len(c.links))
	c.mu.Unlock()
	defer cancel()

	for _, l := range c.links {
		go func() {
			defer c.wg.Done()
			l.loop(ctx)
			if left.Add(-1) == 0 {
				close(ended)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case <-ended:
		if ctx.Err() == nil {
			err = ErrGaveUp
		}
	}
	cancel()
	c.wg.Wait()
	return err
}

// Close stops Run, drops the links (pending requests fail with
// ErrLinkDown) and waits for every goroutine. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	return nil
}

// Connected reports whether the link to server is up (registered and
// resynchronised, LinkState true delivered) and not known to be broken.
func (c *Client) Connected(server string) bool {
	l, ok := c.byID[server]
	return ok && l.connected()
}

// Request sends a copy of m to server with a fresh AttributeReferenceID and
// returns the answer that carries the same ReferenceID (EventACK,
// EventRegistered, EventPartyInfo, ...). An EventError answer is returned
// as *Error (together with the message). m itself is not modified.
// ctx cancellation and link loss fail the request; without a
// ctx deadline Config.RequestTimeout applies.
func (c *Client) Request(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", ErrProtocol)
	}
	l, ok := c.byID[server]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownServer, server)
	}
	cn := l.cur.Load()
	if cn == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotConnected, server)
	}
	resp, err := cn.request(ctx, m.Clone())
	if err != nil {
		return nil, err
	}
	if resp.Type == tlib.EventError {
		return resp, errorOf(resp)
	}
	return resp, nil
}

// Refresh brings the DNs registered at server in line with what
// Config.DNs(server) lists now: on a link that is up, DNs not registered
// yet are registered (RequestRegisterAddress) and resynchronised like at
// connect (RequestQueryAddress, then RequestQueryCall per call listed, the
// answers delivered to the Handler), and DNs no longer listed are
// unregistered (RequestUnregisterAddress). It returns at once: the
// server's link goroutine does the work, after the registration in
// progress if any; several calls before it starts make one pass. On a link
// that is down it does nothing: the next connect registers the current
// list. A request that fails or times out resets the link, as at connect.
// Safe for concurrent use; an unknown server is logged and ignored.
func (c *Client) Refresh(server string) {
	l, ok := c.byID[server]
	if !ok {
		c.log.Warn("cti refresh of an unknown server", "server", server)
		return
	}
	l.requestRefresh()
}

// RefreshAll calls Refresh for every server (after a configuration change).
func (c *Client) RefreshAll() {
	for _, l := range c.links {
		l.requestRefresh()
	}
}

// Stats returns the counters of every server, in configuration order.
func (c *Client) Stats() []Stats {
	out := make([]Stats, 0, len(c.links))
	for _, l := range c.links {
		out = append(out, l.stats())
	}
	return out
}

func (c *Client) nextRef() int64 {
	for {
		v := c.ref.Add(1) & 0x7fffffff
		if v != 0 {
			return v
		}
	}
}

func errorOf(m *tlib.Message) *Error {
	code, _ := m.Int(tlib.AttrErrorCode)
	return &Error{Code: int(code), Message: m.Str(tlib.AttrErrorMessage)}
}

// CallsOf returns the ConnIDs an EventAddressInfo lists: the values of the
// AttributeExtensions pairs "conn-1", "conn-2", ... (String holding up to
// 16 hex digits), then AttributeConnID and AttributePreviousConnID (the
// AddressInfoCallsQuery form), without duplicates, in that order.
func CallsOf(m *tlib.Message) []tlib.ConnID {
	var out []tlib.ConnID
	add := func(id tlib.ConnID) {
		if id == 0 {
			return
		}
		for _, x := range out {
			if x == id {
				return
			}
		}
		out = append(out, id)
	}
	for _, kv := range m.List(tlib.AttrExtensions) {
		if len(kv.Key) < 6 || kv.Key[:5] != "conn-" {
			continue
		}
		if id, err := tlib.ParseConnID(kv.Text()); err == nil {
			add(id)
		}
	}
	add(m.ConnID())
	add(m.Conn(tlib.AttrPreviousConnID))
	return out
}

// CallsList builds the AttributeExtensions pairs that list calls in an
// EventAddressInfo (the inverse of CallsOf), for servers and tests.
func CallsList(ids []tlib.ConnID) tlib.KVList {
	l := make(tlib.KVList, 0, len(ids))
	for i, id := range ids {
		l = append(l, tlib.KV{Key: fmt.Sprintf("conn-%d", i+1), Type: tlib.KVString, Str: id.String()})
	}
	return l
}
