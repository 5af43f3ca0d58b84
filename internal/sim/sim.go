package sim

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/sim/rm"
)

// What the SIP Server does when a recorder holding a recording is lost
// (Config.RecorderLoss).
const (
	RecorderLossStop    = "stop"
	RecorderLossRestart = "restart"
)

// Default private service ids (GSIP_RECORD_START/STOP/PAUSE/RESUME).
const (
	PrivateRecordStart  = tlib.PrivateMsgRecordStart
	PrivateRecordStop   = tlib.PrivateMsgRecordStop
	PrivateRecordPause  = tlib.PrivateMsgRecordPause
	PrivateRecordResume = tlib.PrivateMsgRecordResume
)

// DefaultQueue is the number of frames queued per client before the
// client is disconnected as too slow.
const DefaultQueue = 4096

// Config configures a Sim.
type Config struct {
	// Listen is the SIP Server's T-Library address (default 127.0.0.1:0).
	Listen string
	// TLS, when set, serves the T-Library port over TLS (the recorder's
	// CTI link with tls: true).
	TLS *tls.Config
	// Switch is the switch name; DNs are looked up in Config for it.
	Switch string
	// Config is the configuration data (DNs with options, persons).
	Config *ccdata.Data
	// ConfigSource is served verbatim by the Configuration Server when set
	// (the YAML file Config was loaded from); otherwise Config is marshalled.
	ConfigSource []byte
	// ConfigListen, when set, serves ConfigHandler on this HTTP address.
	ConfigListen string
	// Recorders are the MSR destinations (host:port): the Resource
	// Manager's Logical Resource Group (see ResourceManager). A request
	// naming dest/dest2 goes there instead.
	Recorders []string
	// ResourceManager configures the group over Recorders: load balancing
	// (round-robin, least-used), port capacity per recorder, OPTIONS
	// health (internal/sim/rm). Its Members are Recorders; its Pinger
	// defaults to Media when Media can ping (DialMedia), its Logger to the
	// Sim's (its clock is its own: the Sim's events keep their stamps).
	ResourceManager rm.Config
	// RecorderLoss is what the SIP Server does when the recorder holding a
	// recording went down and its sessions were torn down:
	// RecorderLossStop (default; GSIP_RECORD becomes OFF and the core's
	// RequestPrivateService start places a new pair on another recorder)
	// or RecorderLossRestart (the Sim places a new pair on another
	// recorder of the group itself, same record id).
	RecorderLoss string
	// Media is the Media Server (nil: recordings are tracked in the call
	// model and GSIP_RECORD, but no SIP session is placed).
	Media MediaServer
	// Misbehave applies to every recording started (scenarios can
	// override per call).
	Misbehave Misbehaviour
	// PrivateIDs are the PrivateMsgIDs of start, stop, pause, resume
	// (default 3013-3016).
	PrivateIDs [4]int
	// Seed makes ConnIDs, CallUUIDs and record ids reproducible (0: random).
	Seed uint64
	// ReleasedGrace is how long a released call still accepts user data
	// (wrap-up; default 10 min).
	ReleasedGrace time.Duration
	// QueueSize bounds each client's outgoing queue (default DefaultQueue).
	QueueSize int
	// OnEvent, when set, sees every event the SIP Server emits (stamped,
	// before distribution), with the Sim's lock held: it must not block
	// nor call the Sim.
	OnEvent func(m *tlib.Message)
	Now     func() time.Time
	Logger  *slog.Logger
}

// Sim is the simulator. New builds it, Start opens the sockets, Close
// stops everything.
type Sim struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	group *rm.Group // the recorders' Logical Resource Group

	mu        sync.Mutex
	started   bool
	closed    bool
	refuse    bool // RefuseClients: new connections are closed at once
	ln        net.Listener
	httpSrv   *http.Server
	httpLn    net.Listener
	clients   map[*client]struct{}
	snap      *ccdata.Snapshot
	data      *ccdata.Data
	source    []byte
	cfgVer    int64
	cfgWake   chan struct{} // closed and replaced on every config change
	rng       *rand.Rand
	seq       int64
	callSeq   uint64
	calls     map[tlib.ConnID]*call
	order     []*call                // creation order, for EventAddressInfo
	agents    map[string]string      // DN -> logged-in agent login code
	handles   map[string]tlib.ConnID // scenario call handles
	stopping  sync.WaitGroup         // media Stop calls in flight
	wg        sync.WaitGroup         // accept loop, client goroutines, HTTP
	closeOnce sync.Once
}

// New validates cfg and builds a Sim. It opens no socket and starts no
// goroutine.
func New(cfg Config) (*Sim, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Switch == "" {
		return nil, fmt.Errorf("%w: switch name is empty", ErrConfig)
	}
	if cfg.Config == nil {
		cfg.Config = &ccdata.Data{}
	}
	if cfg.PrivateIDs == [4]int{} {
		cfg.PrivateIDs = [4]int{PrivateRecordStart, PrivateRecordStop, PrivateRecordPause, PrivateRecordResume}
	}
	if cfg.ReleasedGrace == 0 {
		cfg.ReleasedGrace = 10 * time.Minute
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueue
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch cfg.RecorderLoss {
	case "":
		cfg.RecorderLoss = RecorderLossStop
	case RecorderLossStop, RecorderLossRestart:
	default:
		return nil, fmt.Errorf("%w: recorder_loss %q (stop or restart)", ErrConfig, cfg.RecorderLoss)
	}
	rmc := cfg.ResourceManager
	rmc.Members = cfg.Recorders
	if rmc.Pinger == nil {
		if p, ok := cfg.Media.(rm.Pinger); ok {
			rmc.Pinger = p
		}
	}
	if rmc.Logger == nil {
		rmc.Logger = cfg.Logger.With("component", "resource-manager")
	}
	group, err := rm.New(rmc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	s := &Sim{
		cfg:     cfg,
		group:   group,
		log:     cfg.Logger,
		now:     cfg.Now,
		clients: make(map[*client]struct{}),
		data:    cfg.Config,
		source:  cfg.ConfigSource,
		snap:    ccdata.NewSnapshot(cfg.Config),
		cfgVer:  1,
		cfgWake: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		calls:   make(map[tlib.ConnID]*call),
		agents:  make(map[string]string),
		handles: make(map[string]tlib.ConnID),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start opens the T-Library listener (and the Configuration Server when
// Config.ConfigListen is set) and serves them.
func (s *Sim) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w: listen %s: %w", ErrConfig, s.cfg.Listen, err)
	}
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	if s.cfg.ConfigListen != "" {
		hl, err := net.Listen("tcp", s.cfg.ConfigListen)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("%w: configuration server listen %s: %w", ErrConfig, s.cfg.ConfigListen, err)
		}
		s.httpLn = hl
		s.httpSrv = &http.Server{Handler: s.ConfigHandler(), ReadHeaderTimeout: 10 * time.Second}
		s.wg.Go(func() {
			if err := s.httpSrv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("configuration server stopped", "error", err)
			}
		})
	}
	s.ln = ln
	s.started = true
	s.group.Start()
	s.wg.Go(s.accept)
	s.log.Info("SIP Server simulator listening", "addr", ln.Addr().String(), "switch", s.cfg.Switch)
	return nil
}

// Addr is the T-Library listen address ("" before Start).
func (s *Sim) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// ConfigAddr is the Configuration Server's HTTP address ("" if not served).
func (s *Sim) ConfigAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Close disconnects the clients, stops every recording (BYE) and waits
// for all goroutines. It is idempotent.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		ln := s.ln
		for c := range s.clients {
			c.shutdown()
		}
		var sessions []MediaSession
		for _, c := range s.calls {
			for _, r := range c.recs {
				sessions = append(sessions, r.sessions...)
			}
			c.recs = nil
		}
		s.mu.Unlock()
		if ln != nil {
			_ = ln.Close()
		}
		if s.httpSrv != nil {
			_ = s.httpSrv.Close()
		}
		for _, m := range sessions {
			if err := m.Stop(); err != nil {
				s.log.Warn("stopping recording", "error", err)
			}
		}
		s.stopping.Wait()
		_ = s.group.Close()
		for _, st := range s.group.Stats() {
			s.log.Info("recorder totals", "recorder", st.Addr, "state", st.State.String(), "placed", st.Placed,
				"failed", st.Failed, "lost", st.Lost, "pings_ok", st.PingsOK, "pings_failed", st.PingsFailed)
		}
		s.cancel()
		s.wg.Wait()
	})
	return nil
}

func (s *Sim) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &client{sim: s, conn: conn, out: make(chan []byte, s.cfg.QueueSize),
			dns: make(map[string]bool), done: make(chan struct{})}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		if s.refuse {
			s.mu.Unlock()
			_ = conn.Close()
			s.log.Debug("T-Library client refused", "remote", conn.RemoteAddr().String())
			continue
		}
		s.clients[c] = struct{}{}
		s.mu.Unlock()
		s.log.Debug("T-Library client connected", "remote", conn.RemoteAddr().String())
		s.wg.Go(c.writeLoop)
		s.wg.Go(c.readLoop)
	}
}

// client is one T-Library connection. Its fields other than the channels
// are guarded by Sim.mu.
type client struct {
	sim  *Sim
	conn net.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once

	name       string
	password   string // Extensions "password" of RequestRegisterClient
	registered bool
	dns        map[string]bool
}

// shutdown closes the connection; the loops exit. Called with Sim.mu held
// or not (idempotent).
func (c *client) shutdown() {
	c.once.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
}

func (c *client) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			if _, err := c.conn.Write(b); err != nil {
				c.sim.dropClient(c)
				return
			}
		}
	}
}

func (c *client) readLoop() {
	defer c.sim.dropClient(c)
	r := bufio.NewReader(c.conn)
	for {
		m, err := tlib.ReadMessage(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-c.done:
				return
			default:
			}
			c.sim.log.Warn("undecodable T-Library frame; closing the connection", "remote", c.conn.RemoteAddr().String(), "error", err)
			e := tlib.New(tlib.EventError).SetInt(tlib.AttrErrorCode, ErrCodeBadFrame).SetStr(tlib.AttrErrorMessage, err.Error())
			if b, err := tlib.AppendFrame(nil, e); err == nil {
				// A direct write: net.Conn writes do not interleave with
				// the writer goroutine's.
				_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.conn.Write(b)
			}
			return
		}
		c.sim.handle(c, m)
	}
}

// enqueue queues one frame; a client whose queue is full is disconnected.
// Called with Sim.mu held.
func (c *client) enqueue(b []byte) {
	select {
	case <-c.done:
	case c.out <- b:
	default:
		c.sim.log.Warn("T-Library client too slow; disconnecting", "remote", c.conn.RemoteAddr().String(), "queue", cap(c.out))
		delete(c.sim.clients, c)
		c.shutdown()
	}
}

func (s *Sim) dropClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	c.shutdown()
}

// send queues m to one client. Called with s.mu held.
func (s *Sim) send(c *client, m *tlib.Message) {
	b, err := tlib.AppendFrame(nil, m)
	if err != nil {
		s.log.Error("encoding T-Library message", "type", m.Type.String(), "error", err)
		return
	}
	c.enqueue(b)
}

// distribute queues m to every client registered for dn. Called with s.mu held.
func (s *Sim) distribute(dn string, m *tlib.Message) {
	var b []byte
	for c := range s.clients {
		if !c.dns[dn] {
			continue
		}
		if b == nil {
			var err error
			if b, err = tlib.AppendFrame(nil, m); err != nil {
				s.log.Error("encoding T-Library message", "type", m.Type.String(), "error", err)
				return
			}
		}
		c.enqueue(b)
	}
}

// stamp adds EventSequenceNumber and TimeStamp. Called with s.mu held.
func (s *Sim) stamp(m *tlib.Message) *tlib.Message {
	s.seq++
	now := s.now()
	m.SetInt(tlib.AttrEventSequenceNumber, s.seq)
	m.SetInt(tlib.AttrTimeStamp, now.Unix())
	m.SetInt(tlib.AttrTimeStampUSec, int64(now.Nanosecond()/1000))
	return m
}

// errorEvent answers req with EventError.
func errorEvent(req *tlib.Message, code int, msg string) *tlib.Message {
	e := tlib.New(tlib.EventError)
	if ref := req.ReferenceID(); ref != 0 {
		e.SetInt(tlib.AttrReferenceID, ref)
	}
	if dn := req.ThisDN(); dn != "" {
		e.SetStr(tlib.AttrThisDN, dn)
	}
	if id := req.ConnID(); id != 0 {
		e.SetConn(tlib.AttrConnID, id)
	}
	return e.SetInt(tlib.AttrErrorCode, int64(code)).SetStr(tlib.AttrErrorMessage, msg)
}

// DisconnectClients closes every T-Library connection (a link loss, for
// tests of reconnection and resynchronisation); calls go on and clients
// may connect again. It returns how many were disconnected.
func (s *Sim) DisconnectClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.clients)
	for c := range s.clients {
		delete(s.clients, c)
		c.shutdown()
	}
	return n
}

// RefuseClients makes the SIP Server unreachable (on) or reachable again
// (off): while on, a new T-Library connection is closed as soon as it is
// accepted. With DisconnectClients it makes a link loss that lasts until
// RefuseClients(false), whatever the client's reconnect interval; calls go
// on meanwhile.
func (s *Sim) RefuseClients(on bool) {
	s.mu.Lock()
	s.refuse = on
	s.mu.Unlock()
}
