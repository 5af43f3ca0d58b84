package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/sip/dial"
)

// dialFlags are the options of `openrec dial`.
type dialFlags struct {
	target, mode, transport, codec                string
	dn, otherDN, recordID, callUUID               string
	tones, wavs                                   string
	dtmf, localIP, logLevel                       string
	srtp                                          string
	tlsCA, tlsCert, tlsKey                        string
	tlsInsecure                                   bool
	duration, jitter, skew                        time.Duration
	loss, reorder                                 float64
	calls, concurrency                            int
	seed                                          int64
	singleSession, singleLeg, rtcp, jsonOut, ping bool
}

// dialCallJSON is one element of `openrec dial --json`.
type dialCallJSON struct {
	Call           int       `json:"call"`
	RecordID       string    `json:"record_id"`
	CallUUID       string    `json:"call_uuid"`
	CallIDs        []string  `json:"call_ids"`
	Statuses       []int     `json:"statuses"`
	SetupMS        []float64 `json:"setup_ms"`
	PacketsSent    []int     `json:"packets_sent"`
	PacketsDropped []int     `json:"packets_dropped"`
	RemoteBye      []bool    `json:"remote_bye"`
	Error          string    `json:"error,omitempty"`
}

func newDialCmd() *cobra.Command {
	var f dialFlags
	cmd := &cobra.Command{
		Use:   "dial --target HOST:PORT",
		Short: "Place recording sessions to a recorder like a Genesys Media Server (MSR) or a SIPREC SBC",
		Long: `Place recording calls to a recording server and stream paced G.711 RTP, the way a Genesys
Media Server does in MSR mode (two INVITEs per call, one per party, Request-URI
record=<id>;calluuid=..;dn=..;recordDN=..) or an SBC does with SIPREC (one INVITE, multipart
SDP + rs-metadata). Each call sends --duration of audio per party and hangs up with BYE.

One line is printed per call, then a summary (or a JSON array with --json). The exit status
is non-zero when any call failed; the message carries the SIP status.`,
		Example: `  openrec dial --target 127.0.0.1:5060
  openrec dial --target rec1:5060 --mode siprec --transport tcp --codec PCMA --duration 30s
  openrec dial --target rec1:5061 --transport tls --tls-ca ca.pem [--tls-cert me.pem --tls-key me.key]
  openrec dial --target rec1:5060 --calls 200 --concurrency 50 --loss 0.02 --jitter 10ms --json
  openrec dial --target rec1:5060 --srtp
  openrec dial --target rec1:5060 --ping`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runDial(ctx, f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "recorder SIP address host:port (required)")
	fl.StringVar(&f.mode, "mode", dial.ModeMSR, "msr (one INVITE per party) or siprec")
	fl.StringVar(&f.transport, "transport", dial.TransportUDP, "udp, tcp or tls (tls needs --tls-ca or --tls-insecure)")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "tls: PEM CA file the recorder's certificate must chain to")
	fl.BoolVar(&f.tlsInsecure, "tls-insecure", false, "tls: do not verify the recorder's certificate (tests only)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "tls: PEM client certificate for mutual TLS (also served for the recorder's BYE)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "tls: PEM private key of --tls-cert")
	fl.DurationVar(&f.duration, "duration", dial.DefaultDuration, "audio per party")
	fl.StringVar(&f.tones, "tones", "", "tone per party in Hz, recorded DN first (default 440,1000)")
	fl.StringVar(&f.wavs, "wav", "", "8 kHz WAV file per party, recorded DN first: a.wav,b.wav (looped)")
	fl.StringVar(&f.codec, "codec", dial.DefaultCodec, "PCMU, PCMA or G722")
	fl.StringVar(&f.srtp, "srtp", "", "send SRTP (SDES, a fresh key per stream) with this suite: "+
		dial.SRTPAES128CMSHA1_80+" (the default of a bare --srtp), "+dial.SRTPAES128CMSHA1_32+", "+dial.SRTPAEADAES128GCM+" or "+dial.SRTPAEADAES256GCM)
	fl.Lookup("srtp").NoOptDefVal = dial.SRTPAES128CMSHA1_80
	fl.StringVar(&f.dn, "dn", dial.DefaultDN, "recorded DN")
	fl.StringVar(&f.otherDN, "other-dn", dial.DefaultOtherDN, "other party")
	fl.StringVar(&f.recordID, "record-id", "", "MSR record=<id> (generated; with --calls > 1 suffixed -N)")
	fl.StringVar(&f.callUUID, "call-uuid", "", "CallUUID, 32 chars of [0-9A-V] (generated per call)")
	fl.BoolVar(&f.singleSession, "single-session", false, "MSR: one INVITE with both parties (dn, otherDN, recordDN)")
	fl.BoolVar(&f.singleLeg, "single-leg", false, "MSR: send only the recorded DN's leg (test one-legged recordings)")
	fl.IntVar(&f.calls, "calls", 1, "number of calls")
	fl.IntVar(&f.concurrency, "concurrency", 1, "calls in progress at once")
	fl.Float64Var(&f.loss, "loss", 0, "probability a packet is not sent (0..1)")
	fl.Float64Var(&f.reorder, "reorder", 0, "probability a packet is sent after its successor (0..1)")
	fl.DurationVar(&f.jitter, "jitter", 0, "max extra send delay per packet")
	fl.Int64Var(&f.seed, "seed", 1, "seed of loss/reorder/jitter (call N uses seed+N-1)")
	fl.BoolVar(&f.rtcp, "rtcp", false, "send RTCP sender reports")
	fl.StringVar(&f.dtmf, "dtmf", "", "DTMF digits (RFC 4733) on the recorded party, one per second from 1 s")
	fl.DurationVar(&f.skew, "start-skew", 0, "MSR: delay the second party's INVITE")
	fl.StringVar(&f.localIP, "local-ip", "127.0.0.1", "local address for SIP and RTP")
	fl.BoolVar(&f.jsonOut, "json", false, "print a JSON array of call results")
	fl.BoolVar(&f.ping, "ping", false, "send one SIP OPTIONS and print the status instead of calling")
	fl.StringVar(&f.logLevel, "log-level", "warn", "debug, info, warn or error (to stderr)")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

// sources returns a function that makes fresh Sources for one call (a
// Source is stateful and belongs to one call).
func (f dialFlags) sources() (func() ([]dial.Source, error), error) {
	switch {
	case f.tones != "" && f.wavs != "":
		return nil, errors.New("--tones and --wav are exclusive")
	case f.wavs != "":
		paths := strings.Split(f.wavs, ",")
		if len(paths) != 2 {
			return nil, fmt.Errorf("--wav wants two files (recorded party, other party), got %d", len(paths))
		}
		for _, p := range paths { // fail before dialling
			if _, err := dial.WAVFile(p); err != nil {
				return nil, err
			}
		}
		return func() ([]dial.Source, error) {
			a, err := dial.WAVFile(paths[0])
			if err != nil {
				return nil, err
			}
			b, err := dial.WAVFile(paths[1])
			if err != nil {
				return nil, err
			}
			return []dial.Source{a, b}, nil
		}, nil
	case f.tones != "":
		parts := strings.Split(f.tones, ",")
		if len(parts) != 2 {
			return nil, fmt.Errorf("--tones wants two frequencies (recorded party, other party), got %q", f.tones)
		}
		var hz [2]float64
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || v < 0 || v >= dial.SampleRate/2 {
				return nil, fmt.Errorf("--tones: bad frequency %q", p)
			}
			hz[i] = v
		}
		return func() ([]dial.Source, error) {
			return []dial.Source{dial.Tone(hz[0], dial.DefaultAmp), dial.Tone(hz[1], dial.DefaultAmp)}, nil
		}, nil
	}
	return func() ([]dial.Source, error) { return nil, nil }, nil
}

func runDial(ctx context.Context, f dialFlags, out io.Writer) error {
	ip, err := netip.ParseAddr(f.localIP)
	if err != nil {
		return fmt.Errorf("--local-ip: %w", err)
	}
	if f.calls < 1 || f.concurrency < 1 {
		return errors.New("--calls and --concurrency must be at least 1")
	}
	newSources, err := f.sources()
	if err != nil {
		return err
	}
	tc, err := f.tlsConfig()
	if err != nil {
		return err
	}
	d, err := dial.NewDialer(dial.Options{LocalIP: ip, Logger: newLogger(f.logLevel), TLS: tc})
	if err != nil {
		return err
	}
	defer d.Close()

	if f.ping {
		code, err := d.OptionsVia(ctx, f.target, f.transport)
		if err != nil {
			return errors.New(oneLine(err))
		}
		fmt.Fprintf(out, "OPTIONS %s: %d\n", f.target, code)
		if code >= 300 {
			return fmt.Errorf("OPTIONS %s: SIP %d", f.target, code)
		}
		return nil
	}

	results := make([]dialCallJSON, f.calls)
	errs := make([]error, f.calls)
	sem := make(chan struct{}, f.concurrency)
	var wg sync.WaitGroup
	var outMu sync.Mutex
	start := time.Now()
	for i := range f.calls {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			results[i] = dialCallJSON{Call: i + 1, Error: ctx.Err().Error()}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			spec, err := f.spec(i, newSources)
			var res *dial.Result
			if err == nil {
				res, err = d.Call(ctx, spec)
			}
			results[i], errs[i] = callJSON(i+1, res, err), err
			if !f.jsonOut {
				outMu.Lock()
				fmt.Fprintln(out, callLine(results[i]))
				outMu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out, summaryLine(results, elapsed))
	}
	failed, first := 0, -1
	for i, e := range errs {
		if e != nil {
			failed++
			if first < 0 {
				first = i
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d calls failed; call %d: %s", failed, f.calls, first+1, oneLine(errs[first]))
	}
	return nil
}

// tlsConfig is the TLS client configuration of --transport tls (nil for
// udp and tcp).
func (f dialFlags) tlsConfig() (*tls.Config, error) {
	tlsFlags := f.tlsCA != "" || f.tlsInsecure || f.tlsCert != "" || f.tlsKey != ""
	if !strings.EqualFold(f.transport, dial.TransportTLS) {
		if tlsFlags {
			return nil, errors.New("--tls-ca, --tls-insecure, --tls-cert and --tls-key need --transport tls")
		}
		return nil, nil
	}
	if (f.tlsCA == "") == !f.tlsInsecure {
		return nil, errors.New("--transport tls needs one of --tls-ca FILE or --tls-insecure")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key: give both or neither")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.tlsInsecure}
	if f.tlsCA != "" {
		b, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", f.tlsCA)
		}
	}
	if f.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

func (f dialFlags) spec(i int, newSources func() ([]dial.Source, error)) (dial.Spec, error) {
	src, err := newSources()
	if err != nil {
		return dial.Spec{}, err
	}
	recordID := f.recordID
	if recordID != "" && f.calls > 1 {
		recordID = fmt.Sprintf("%s-%d", recordID, i+1)
	}
	return dial.Spec{
		Target: f.target, Transport: f.transport, Mode: f.mode, SingleSession: f.singleSession, SingleLeg: f.singleLeg,
		RecordID: recordID, CallUUID: f.callUUID, DN: f.dn, OtherDN: f.otherDN,
		Codec: f.codec, Sources: src, Duration: f.duration,
		Loss: f.loss, Reorder: f.reorder, Jitter: f.jitter, Seed: f.seed + int64(i),
		RTCP: f.rtcp, DTMF: f.dtmf, StartSkew: f.skew, SRTP: f.srtp,
	}, nil
}

func callJSON(n int, res *dial.Result, err error) dialCallJSON {
	c := dialCallJSON{Call: n}
	if res != nil {
		c.RecordID, c.CallUUID, c.CallIDs, c.Statuses = res.RecordID, res.CallUUID, res.CallIDs, res.Statuses
		c.PacketsSent, c.PacketsDropped, c.RemoteBye = res.PacketsSent, res.PacketsDropped, res.RemoteBye
		for _, s := range res.Setup {
			c.SetupMS = append(c.SetupMS, float64(s.Microseconds())/1000)
		}
	}
	if err != nil {
		c.Error = oneLine(err)
	}
	return c
}

// oneLine flattens multi-line errors (sipgo joins errors with newlines).
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func joinInts[T int | bool](v []T) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func callLine(c dialCallJSON) string {
	var b strings.Builder
	fmt.Fprintf(&b, "call %d: record=%s calluuid=%s call-id=%s status=%s", c.Call, c.RecordID, c.CallUUID,
		strings.Join(c.CallIDs, ","), joinInts(c.Statuses))
	setup := make([]string, len(c.SetupMS))
	for i, ms := range c.SetupMS {
		setup[i] = strconv.FormatFloat(ms, 'f', 1, 64)
	}
	fmt.Fprintf(&b, " setup_ms=%s packets=%s", strings.Join(setup, ","), joinInts(c.PacketsSent))
	for _, d := range c.PacketsDropped {
		if d > 0 {
			fmt.Fprintf(&b, " dropped=%s", joinInts(c.PacketsDropped))
			break
		}
	}
	for _, r := range c.RemoteBye {
		if r {
			fmt.Fprintf(&b, " recorder_bye=%s", joinInts(c.RemoteBye))
			break
		}
	}
	if c.Error != "" {
		b.WriteString(" FAILED: " + c.Error)
	}
	return b.String()
}

func summaryLine(rs []dialCallJSON, elapsed time.Duration) string {
	ok, packets, n := 0, 0, 0
	var sum, worst float64
	for _, r := range rs {
		if r.Error == "" {
			ok++
		}
		for _, p := range r.PacketsSent {
			packets += p
		}
		for _, s := range r.SetupMS {
			sum += s
			worst = max(worst, s)
			n++
		}
	}
	avg := 0.0
	if n > 0 {
		avg = sum / float64(n)
	}
	return fmt.Sprintf("summary: %d calls, %d ok, %d failed in %s; setup avg %.1f ms max %.1f ms; %d RTP packets sent",
		len(rs), ok, len(rs)-ok, elapsed.Round(time.Millisecond), avg, worst, packets)
}
