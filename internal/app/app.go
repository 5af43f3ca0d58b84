// Package app wires the recorder process: store, RTP ports, recorder, SIP
// server and HTTP endpoints (health, metrics). `openrec serve`, `openrec demo`
// and the end-to-end tests start it the same way.
package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/callcore"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/recorder/resources"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/expire"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/web/api"
)

// App is one running recorder process.
type App struct {
	cfg       config.Serve
	log       *slog.Logger
	db        backend.Store
	rec       *recorder.Recorder
	shared    *rtpin.Shared // media_ports: shared (nil: per-leg)
	sip       *sipsrv.Server
	http      *http.Server
	hl        net.Listener
	apiSrv    *api.Server // the REST API (closed after the HTTP server: its encrypted screen uploads)
	cti       *ctiSide
	pprof     *http.Server
	pprofAddr string
	certs     *certs // tls_cert/tls_key, nil without TLS
	// sealed is the recorder's store: it signs each finished recording's
	// manifest (tamper evidence, openrec verify).
	sealed       *sealingStore
	fpKey        []byte // keys the audit log's fingerprints (seal.FingerprintKey)
	sealFailures atomic.Int64
	auditHeadID  atomic.Int64 // last audit head logged
	// metrics_listen: /metrics on its own listener.
	metrics     *http.Server
	metricsAddr string
	guard       *resources.Guard                // resources behind admission and health
	hub         *live.Hub                       // live audio of recordings in progress (listen live)
	mp3         *mediaconv.Cache                // MP3s made for downloads
	stored      mediaconv.StoreCodec            // media_format mp3/opus: encoder and decoder
	keys        atomic.Pointer[mediacrypt.Keys] // encryption at rest (nil: off, no identities); SIGHUP reloads
	transcode   *transcode.Queue                // background transcoding (transcode_workers; nil: off)
	dataDir     string
	media       mediaPlace        // media: local files, or the S3 bucket
	uploader    *s3media.Uploader // media in S3: spool → bucket (nil without)
	capture     *capture.Engine   // serve --capture-interface, nil without
	stopCapture func()            // stops it and waits (Close, Shutdown); idempotent

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// DBPath is where the metadata database of a data directory lives.
func DBPath(dataDir string) string { return filepath.Join(dataDir, backend.DBFile) }

// StoreURL is the metadata store of cfg: its store setting, else the
// SQLite file of dataDir.
func StoreURL(cfg config.Serve, dataDir string) string {
	if cfg.Store != "" {
		return cfg.Store
	}
	return backend.Default(dataDir)
}

// StartWith is Start with injected resource sources (tests).
func StartWith(ctx context.Context, cfg config.Serve, log *slog.Logger, opt Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	warnReadableSecrets(cfg, log)
	if err := raiseFileLimit(cfg.MaxCalls, cfg.FDReserve); err != nil {
		return nil, err
	}
	low, high, err := cfg.PortRange()
	if err != nil {
		return nil, err
	}
	sharedLow, sharedPairs := 0, 0
	if cfg.MediaPorts == config.MediaPortsShared {
		// One pair per core at the start of rtp_ports. The allocator
		// keeps the whole range but no leg asks it for a pair.
		sharedLow, sharedPairs = low+low%2, runtime.GOMAXPROCS(0)
		if have := max(0, (high-sharedLow+1)/2); have < sharedPairs {
			return nil, fmt.Errorf("rtp_ports %s holds %d RTP/RTCP pairs but media_ports shared needs %d (one per core): widen --rtp-ports or use --media-ports per-leg", cfg.RTPPorts, have, sharedPairs)
		}
	}
	ports, err := rtpin.NewPortAllocator(low, high, cfg.PortQuarantine, time.Now)
	if err != nil {
		return nil, fmt.Errorf("rtp_ports: %w", err)
	}
	if need := 2 * cfg.MaxCalls; sharedPairs == 0 && ports.Capacity() < need {
		return nil, fmt.Errorf("rtp_ports %s holds %d RTP/RTCP pairs but max_calls %d needs %d (two legs per call): widen --rtp-ports or lower --max-calls", cfg.RTPPorts, ports.Capacity(), cfg.MaxCalls, need)
	}
	format, err := wav.ParseFormat(cfg.StorageFormat)
	if err != nil {
		return nil, fmt.Errorf("storage_format: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	perms, err := newDataPerms(cfg.DataGroup)
	if err != nil {
		return nil, err
	}
	if err := perms.dataDir(dataDir); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	db, err := backend.Open(ctx, StoreURL(cfg, dataDir))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// One unwind: each step that acquires something pushes its release;
	// a failed start releases them in reverse order.
	var undo []func()
	started := false
	defer func() {
		if started {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}()
	undo = append(undo, func() { _ = db.Close() })
	keys, err := loadEncryption(cfg.Encryption, log)
	if err != nil {
		return nil, err
	}
	media, err := openMediaPlace(cfg)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, db: db, hub: live.NewHub(), dataDir: dataDir, media: media}
	a.newUploader()
	a.keys.Store(keys)
	if cfg.TLSCert != "" {
		if a.certs, err = newCerts(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			return nil, err
		}
	}
	sealKey, err := seal.LoadOrCreateKey(filepath.Join(dataDir, KeysDir))
	if err != nil {
		return nil, err
	}
	a.fpKey = seal.FingerprintKey(sealKey)
	if err := recordDecryptKeys(dataDir, cfg.Encryption.DecryptKeys); err != nil {
		log.Warn("could not record where decrypt_keys is for the command line", "error", err)
	}
	a.sealed = &sealingStore{Store: db, key: sealKey, log: log, now: time.Now, failed: func() { a.sealFailures.Add(1) }}
	// A settled transcode releases its recording to the S3 uploader
	// (started after recovery, before the queue: see startUploads).
	settled := func(id string) {
		if a.uploader != nil {
			a.uploader.Enqueue(id)
		}
	}
	if a.transcode = newTranscodeQueue(cfg, db, dataDir, sealKey, settled, log); a.transcode != nil {
		q := a.transcode
		a.sealed.finished = func(r *store.Recording) {
			if r.NeedsTranscode {
				q.Wake()
			}
		}
		undo = append(undo, func() { _ = q.Close() })
	}
	// The CTI side comes first: the recorder is built with its correlator,
	// and the CTI side's Run gets the recorder (no setter closes a cycle).
	var cor recorder.Correlator
	a.cti, cor, err = startCTI(ctx, cfg, db, a.expireMedia(), a.certs, log)
	if err != nil {
		return nil, err
	}
	if a.cti != nil {
		undo = append(undo, a.cti.close)
	}
	if perms.shared() {
		a.sealed.share = func(r *store.Recording) error { return perms.shareRecording(dataDir, r) }
	}
	rtpIP, err := netip.ParseAddr(cfg.RTPIP)
	if err != nil {
		return nil, fmt.Errorf("rtp_ip: %w", err)
	}
	var adv netip.Addr
	if cfg.AdvertiseIP != "" {
		if adv, err = netip.ParseAddr(cfg.AdvertiseIP); err != nil {
			return nil, fmt.Errorf("advertise_ip: %w", err)
		}
	}
	var shared recorder.MediaListener
	if sharedPairs > 0 {
		a.shared, err = rtpin.NewShared(rtpin.SharedConfig{IP: rtpIP, Port: sharedLow, Pairs: sharedPairs, Quarantine: cfg.PortQuarantine, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("media_ports shared: %w", err)
		}
		a.shared.Start()
		undo = append(undo, func() { _ = a.shared.Close() })
		shared = a.shared
		log.Info("shared media sockets", "rtp_ports", a.shared.Ports())
	}
	codec, err := storeCodec(cfg)
	if err != nil {
		return nil, err
	}
	a.stored = codec
	a.rec, err = recorder.New(recorder.Config{
		DataDir:         dataDir,
		MediaDir:        media.dir,
		Format:          format,
		MaxCalls:        cfg.MaxCalls,
		RetryAfter:      cfg.RetryAfter,
		MediaTimeout:    cfg.MediaTimeout,
		LegWindow:       cfg.LegWindow,
		ReorderWindow:   cfg.ReorderWindow,
		FlushInterval:   cfg.FlushInterval,
		FsyncInterval:   cfg.FsyncInterval,
		RTPIP:           rtpIP,
		AdvertiseIP:     adv,
		Ports:           ports,
		Shared:          shared,
		StrictRTPSource: cfg.StrictRTPSource,
		DTMF:            dtmfBySource(cfg),
		Correlator:      cor,
		LiveHub:         a.hub,
		Encryption:      keys,
		Tenant:          sourceTenantName(cfg),
		Decoders:        opt.LiveDecoders,
		MediaFormat:     mediaFormatBySource(cfg),
		Encoder:         codec,
		Logger:          log,
	}, a.sealed)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = a.rec.Close() })
	if n, err := a.rec.Recover(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("recovered recordings left by an unclean shutdown", "count", n)
	}
	if n, err := a.rec.RecoverStored(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("storage formats left undone by a stop or crash: being made now", "count", n)
	}
	if err := a.startUploads(); err != nil {
		return nil, err
	}
	if a.uploader != nil {
		undo = append(undo, func() { _ = a.uploader.Close() })
	}
	sipsrv.RouteLibraryLogs(log)
	sc := sipConfig(cfg, adv, log)
	if sc.TLS, sc.TLSClient, err = sipTLS(cfg, a.certs); err != nil {
		return nil, err
	}
	a.sip, err = sipsrv.New(sc, a.rec)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = a.sip.Close() })
	if err := a.newGuard(ctx, ports, opt); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	started = true // from here a.Close releases everything
	if a.cti != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_ = a.cti.run(runCtx, a.rec, log) // each part's error is logged
		}()
	}
	a.wg.Add(3)
	go func() {
		defer a.wg.Done()
		_ = a.rec.Run(runCtx)
	}()
	go func() {
		defer a.wg.Done()
		_ = a.guard.Run(runCtx)
	}()
	go func() {
		defer a.wg.Done()
		a.sessionSweep(runCtx, 10*time.Minute)
	}()
	if perms.shared() {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			perms.shareExisting(runCtx, a.rec.MediaDir(), log)
		}()
	}
	// Retention runs whether or not a CTI link is configured.
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		(&expire.Sweeper{Store: db, DataDir: dataDir, Objects: a.expireMedia().Objects, Now: time.Now, Log: log,
			Policy: expire.Policy{Default: cfg.RetentionPeriod, Tenants: cfg.TenantRetention},
			Rules:  a.rulePeriods()}).Run(runCtx)
	}()
	a.sip.Start()
	if a.transcode != nil {
		a.transcode.Start()
	}
	if opt.Capture != nil {
		a.startCapture(runCtx, opt.Capture)
	}
	if cfg.PprofListen != "" {
		if err := a.startPprof(cfg.PprofListen); err != nil {
			a.Close()
			return nil, err
		}
	}
	if cfg.HTTPListen != "" {
		if err := a.startHTTP(); err != nil {
			a.Close()
			return nil, err
		}
	}
	if n, err := db.CountUsers(ctx); err == nil && n == 0 && cfg.HTTPListen != "" {
		log.Warn("no users yet: the web UI and API need one; create the first admin",
			"command", "openrec admin create-user --data-dir "+dataDir+" --name admin --password - --role admin")
	}
	a.logAuditHead(ctx)
	ready := []any{"sip", "udp+tcp " + a.sip.Addr().String()}
	if addr := a.SIPTLSAddr(); addr != "" {
		ready = append(ready, "sip_tls", addr)
	}
	log.Info("openrec recorder ready", append(ready, "http", a.HTTPAddr(), "data_dir", dataDir,
		"rtp_ports", cfg.RTPPorts, "max_calls", cfg.MaxCalls, "format", format.String(),
		"encryption_at_rest", keys.Encrypts(), "decrypt_keys", keys.CanDecrypt())...)
	return a, nil
}

// rulePeriods gives the sweeper the retention periods of the recording
// rules in force: those the CTI side reloads, or without a CTI link those
// of the configuration file (recordings made with CTI earlier still name
// their rule).
func (a *App) rulePeriods() func() map[string]time.Duration {
	if a.cti != nil {
		return func() map[string]time.Duration { return a.cti.rules.Set().Retentions() }
	}
	set, err := rules.Compile(a.cfg.Rules)
	if err != nil {
		return nil // not reached: Start validated the rules
	}
	m := set.Retentions()
	return func() map[string]time.Duration { return m }
}

// SIPAddr is the bound SIP address (UDP and TCP).
func (a *App) SIPAddr() netip.AddrPort { return a.sip.Addr() }

// SIPTLSAddr is the bound SIP TLS address, or "" when sip_tls_listen is off.
func (a *App) SIPTLSAddr() string {
	if ap := a.sip.TLSAddr(); ap.IsValid() {
		return ap.String()
	}
	return ""
}

// HTTPAddr is the bound HTTP address, or "" when disabled.
func (a *App) HTTPAddr() string {
	if a.hl == nil {
		return ""
	}
	return a.hl.Addr().String()
}

// KeysDir is the directory under the data dir holding the manifest
// signing key (seal.key, 0600) and its public key (seal.pub).
const KeysDir = "keys"

// DataDir is the absolute data directory.
func (a *App) DataDir() string { return a.dataDir }

// PprofAddr is the profiling address, or "" when off.
func (a *App) PprofAddr() string { return a.pprofAddr }

// MetricsAddr is the address of the metrics_listen listener ("" when
// /metrics is served on the HTTP address).
func (a *App) MetricsAddr() string { return a.metricsAddr }

// CTIUp reports whether every configured CTI link is up (false without CTI).
func (a *App) CTIUp() bool {
	if a.cti == nil {
		return false
	}
	for _, st := range a.cti.client.Stats() {
		if !st.Connected {
			return false
		}
	}
	return true
}

// CTIStats returns the CTI bridge's counters (zero without CTI).
func (a *App) CTIStats() callcore.Stats {
	if a.cti == nil {
		return callcore.Stats{}
	}
	return a.cti.core.Stats()
}

// SIPStats returns the SIP server's counters (hostile input, TCP/TLS).
func (a *App) SIPStats() sipsrv.Stats { return a.sip.Stats() }

// Recorder gives tests access to stats.
func (a *App) Recorder() *recorder.Recorder { return a.rec }

// Store returns the metadata store.
func (a *App) Store() backend.Store { return a.db }

func (a *App) startHTTP() error {
	l, err := net.Listen("tcp", a.cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("http_listen: %w", err)
	}
	if a.cfg.HTTPTLS {
		tc, err := a.certs.serverConfig("", nil)
		if err != nil {
			return err
		}
		l = tls.NewListener(l, tc)
	}
	a.hl = l
	reg := prometheus.NewRegistry()
	registerMetrics(reg, a.rec, a.sealFailures.Load)
	if a.shared != nil {
		registerSharedMetrics(reg, a.shared)
	}
	if a.uploader != nil {
		registerUploadMetrics(reg, a.uploader)
	}
	registerSIPMetrics(reg, a.sip)
	if a.cti != nil {
		registerCTIMetrics(reg, a.cti)
	}
	registerResourceMetrics(reg, a.guard, a.rec)
	if a.transcode != nil {
		registerTranscodeMetrics(reg, a.transcode)
	}
	if a.capture != nil {
		registerCaptureMetrics(reg, a.capture)
	}
	health := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body := a.health()
		w.Header().Set("Content-Type", "application/json")
		if code != http.StatusOK {
			w.Header().Set("Retry-After", strconv.Itoa(a.cfg.RetryAfter))
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	token, err := a.metricsToken()
	if err != nil {
		return err
	}
	var metrics http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if a.cfg.MetricsListen != "" {
		if err := a.startMetrics(api.RequireToken(token, metrics)); err != nil {
			return err
		}
		metrics, token = nil, ""
	}
	srv := a.newAPI(health, metrics, token)
	a.apiSrv = srv
	a.http = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// metricsToken is the bearer token /metrics asks for ("" = none).
func (a *App) metricsToken() (string, error) {
	if a.cfg.MetricsTokenFile == "" {
		return a.cfg.MetricsToken, nil
	}
	b, err := os.ReadFile(a.cfg.MetricsTokenFile)
	if err != nil {
		return "", fmt.Errorf("metrics_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("metrics_token_file %s is empty", a.cfg.MetricsTokenFile)
	}
	return tok, nil
}

// startMetrics serves /metrics on its own listener (metrics_listen).
func (a *App) startMetrics(h http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv, addr, err := a.serveOwn("metrics_listen", a.cfg.MetricsListen, mux)
	if err != nil {
		return err
	}
	a.metrics, a.metricsAddr = srv, addr
	a.log.Info("metrics endpoint", "addr", addr)
	return nil
}

// startPprof serves the Go profiler on its own listener (never on the
// public HTTP port).
func (a *App) startPprof(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv, bound, err := a.serveOwn("pprof_listen", addr, mux)
	if err != nil {
		return err
	}
	a.pprof, a.pprofAddr = srv, bound
	a.log.Info("profiling endpoints", "addr", bound)
	return nil
}

// serveOwn serves h on its own listener at addr (setting names the
// configuration key in errors) until Close, which shuts it down.
func (a *App) serveOwn(setting, addr string, h http.Handler) (*http.Server, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", setting, err)
	}
	srv := &http.Server{Handler: api.SecurityHeaders(h), ReadHeaderTimeout: 10 * time.Second}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		_ = srv.Serve(l)
	}()
	return srv, l.Addr().String(), nil
}

// Reload reads the recording rules (from the configuration file), the
// configuration data and the encryption key files again: what SIGHUP
// does. A key file that no longer loads keeps the keys in force.
func (a *App) Reload(ctx context.Context) error {
	if a.certs != nil {
		if err := a.certs.Reload(); err != nil {
			return err
		}
	}
	if err := a.reloadEncryption(); err != nil {
		return err
	}
	if a.cti == nil {
		return nil
	}
	return a.cti.reload(ctx)
}

// Shutdown is the SIGTERM path: refuse new calls, let active ones finish
// until ctx ends, then end and finalise the rest.
func (a *App) Shutdown(ctx context.Context) error {
	a.log.Info("shutting down: draining active calls", "active_calls", a.rec.Active())
	if a.stopCapture != nil {
		a.stopCapture() // passive calls cannot be drained: they end now, finalised by the capture
	}
	err := a.rec.Shutdown(ctx)
	a.Close()
	return err
}

// Close is the SIGINT path: stop at once, finalising every open recording
// so its file is playable. Idempotent.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.stopCapture != nil {
			a.stopCapture()
		}
		_ = a.rec.Close()
		if a.shared != nil {
			_ = a.shared.Close() // after the legs: they drain through it
		}
		_ = a.sip.Close()
		if a.cti != nil {
			a.cti.close()
		}
		for _, srv := range []*http.Server{a.http, a.pprof, a.metrics} {
			if srv != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = srv.Shutdown(ctx)
				cancel()
			}
		}
		if a.apiSrv != nil {
			_ = a.apiSrv.Close() // encrypted screen uploads in progress: their sealed prefix stays
		}
		a.cancel()
		a.wg.Wait()
		if a.transcode != nil {
			_ = a.transcode.Close() // a transcode in progress is queued again
		}
		if a.uploader != nil {
			_ = a.uploader.Close() // an upload under way is done again after a restart
		}
		if a.media.bucket != nil {
			a.media.bucket.Close()
		}
		if a.mp3 != nil {
			_ = a.mp3.Close() // stops encodes still running
		}
		_ = a.db.Close()
		a.log.Info("openrec stopped")
	})
}

// raiseFileLimit raises RLIMIT_NOFILE to what max_calls needs: per call two
// legs × (RTP + RTCP socket) plus the WAV file and sidecars, plus headroom.
func raiseFileLimit(maxCalls, reserve int) error {
	need := uint64(maxCalls)*8 + 256 + uint64(max(reserve, 0))
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // not supported here: nothing to raise
	}
	if lim.Cur >= need {
		return nil
	}
	if lim.Max < need {
		return fmt.Errorf("max_calls %d needs %d open files but the hard limit is %d: raise it (ulimit -Hn, LimitNOFILE=) or lower --max-calls", maxCalls, need, lim.Max)
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise open-file limit to %d for max_calls %d: %w", need, maxCalls, err)
	}
	return nil
}
