// Package config holds the configuration of `openrec serve`: defaults that
// work with no file at all, an optional YAML file, and command-line flags
// (each flag is also a file key; flags win over the file).
package config

import (
	"errors"
	"fmt"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/rules"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Serve is the configuration of the recorder process.
type Serve struct {
	SIPListen  string `yaml:"sip_listen"`  // UDP and TCP
	HTTPListen string `yaml:"http_listen"` // health, metrics
	DataDir    string `yaml:"data_dir"`    // media + openrec.db
	// Store is the metadata store's URL: sqlite:PATH or postgres://...
	// ("" = sqlite:<data_dir>/openrec.db). Media stays in data_dir.
	Store string `yaml:"store"`
	// DataGroup, if set (a group name or id), makes finished recordings
	// readable by that group: media dirs 0750 and recording files 0640,
	// group-owned; the database, keys and caches stay 0600/0700.
	DataGroup     string `yaml:"data_group"`
	RTPPorts      string `yaml:"rtp_ports"`      // LOW-HIGH
	RTPIP         string `yaml:"rtp_ip"`         // bind address for RTP sockets
	AdvertiseIP   string `yaml:"advertise_ip"`   // address put in SDP answers and Contact
	MaxCalls      int    `yaml:"max_calls"`      // concurrent calls (a call = its legs)
	StorageFormat string `yaml:"storage_format"` // ulaw | alaw | pcm16 (the WAV's samples while recording)
	// MediaFormat is the form a finished recording is kept in: wav (the
	// file written while recording), or mp3 / opus (Opus in Ogg) made from
	// it by ffmpeg when the recording ends, the WAV kept until the
	// compressed file is complete. MediaBitrate in kbit/s (0 = default:
	// mp3 8 mono / 16 stereo, opus 24). Per tenant in tenants (sessions
	// whose tenant is known when they arrive).
	MediaFormat     string        `yaml:"media_format"`
	MediaBitrate    int           `yaml:"media_bitrate"`
	MediaTimeout    time.Duration `yaml:"media_timeout"`    // no RTP for this long on an active leg ends it
	SessionMinSE    time.Duration `yaml:"session_min_se"`   // RFC 4028 Min-SE: smaller Session-Expires get 422
	LegWindow       time.Duration `yaml:"leg_window"`       // wait for the second MSR leg
	ReorderWindow   time.Duration `yaml:"reorder_window"`   // jitter/reorder buffer
	FlushInterval   time.Duration `yaml:"flush_interval"`   // batched disk writes + crash-safe header
	FsyncInterval   time.Duration `yaml:"fsync_interval"`   // flush to stable storage at most this often (power-loss window)
	PortQuarantine  time.Duration `yaml:"port_quarantine"`  // freed RTP ports rest this long
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"` // SIGTERM: wait this long for active calls
	MaxBody         int           `yaml:"max_body"`         // bytes; larger SIP bodies get 413
	StrictRTPSource bool          `yaml:"strict_rtp_source"`
	// MediaPorts: "per-leg" (an RTP/RTCP port pair per leg from rtp_ports)
	// or "shared" (one pair per core at the start of rtp_ports, every leg
	// on them, demultiplexed by source: see rtpin.Shared).
	MediaPorts  string `yaml:"media_ports"`
	RetryAfter  int    `yaml:"retry_after"` // seconds, sent with 503
	LogLevel    string `yaml:"log_level"`
	PprofListen string `yaml:"pprof_listen"` // Go profiling endpoints (/debug/pprof), off when empty; keep it on loopback

	// Hostile SIP input (issue 11): m-lines per offer (488 above), the wait
	// for the ACK of a 200 (RFC 3261 Timer H), SIP TCP idle timeout and
	// connection limits (0 = no limit).
	SIPMaxMediaLines        int           `yaml:"sip_max_media_lines"`
	SIPAckTimeout           time.Duration `yaml:"sip_ack_timeout"`
	SIPTCPIdleTimeout       time.Duration `yaml:"sip_tcp_idle_timeout"`
	SIPTCPMaxConns          int           `yaml:"sip_tcp_max_conns"`
	SIPTCPMaxConnsPerSource int           `yaml:"sip_tcp_max_conns_per_source"`

	// Resources (admission and health, issue 11): new calls get 503 and
	// OPTIONS / healthz say unavailable before a scarce resource runs out.
	StorageLowWatermark      string `yaml:"storage_low_watermark"`      // free space of data_dir below this (bytes like 2GB, or 5%): new calls 503
	StorageCriticalWatermark string `yaml:"storage_critical_watermark"` // below this: calls in progress end (partial, disk-full)
	FDReserve                int    `yaml:"fd_reserve"`                 // file descriptors kept for the HTTP API, the store and health

	// TranscodeWorkers is how many recordings kept raw (needs_transcode)
	// are decoded at once in the background (0: none; `openrec recordings
	// transcode` still does it on request).
	TranscodeWorkers int `yaml:"transcode_workers"`

	// SRTP (SDES, RFC 4568) policy for every offer, global (the tenant of
	// an MSR session is only known from CTI after the INVITE is answered):
	// optional (SRTP and RTP), required (RTP offers get 488), off (SRTP
	// offers get 488).
	SRTP string `yaml:"srtp"`

	// DTMF (PCI, issue 21): key tones in the stored audio, as RFC 4733
	// events and in-band, are kept, masked (silenced with a guard; events
	// keep time and channel, never the digit) or masked with their events
	// dropped: keep | mask | mask-and-drop-events. Per tenant in tenants:
	// for sessions whose tenant is known when they arrive (source_tenants,
	// default_tenant).
	DTMF string `yaml:"dtmf"`

	// Screen recording linked to the call (issue 18): whether recordings
	// ask their agent's screen client to record the screen (a rule's
	// screen: true, then the tenant's screen, then this), the capture the
	// browser client is told to use, the upload bound, and how long after a
	// recording's start its screen video must begin arriving before a
	// failed-recording alert.
	Screen          bool          `yaml:"screen"`
	ScreenFrameRate int           `yaml:"screen_frame_rate"` // frames per second the client captures
	ScreenMaxWidth  int           `yaml:"screen_max_width"`  // resolution cap of the capture
	ScreenMaxHeight int           `yaml:"screen_max_height"`
	ScreenMaxBytes  int64         `yaml:"screen_max_bytes"` // largest screen video accepted per recording (413 above)
	ScreenTimeout   time.Duration `yaml:"screen_timeout"`   // no screen data this long after the start: alert
	// ScreenNotifyKey is the attached-data key of the Notification of
	// Recording for video ("" = none; per tenant: screen_notify_key, "off"
	// turns it off): yes when the screen video arrives, no at the timeout.
	ScreenNotifyKey string `yaml:"screen_notify_key"`
	FFmpeg          string `yaml:"ffmpeg"` // ffmpeg binary of muxed downloads ("" = ffmpeg on PATH)

	// REST API and web UI (served on http_listen).
	SecureCookies bool          `yaml:"secure_cookies"` // mark the UI session cookie Secure (behind a TLS proxy); always set over TLS
	SessionTTL    time.Duration `yaml:"session_ttl"`    // web UI session lifetime
	TokenTTL      time.Duration `yaml:"token_ttl"`      // API token lifetime
	MP3Encoder    string        `yaml:"mp3_encoder"`    // lame binary for MP3 downloads ("" = lame on PATH)
	// /metrics: on http_listen, or on its own address; behind a bearer
	// token when one is set (metrics_token in the file, or read from
	// metrics_token_file: never on a command line).
	MetricsListen    string `yaml:"metrics_listen"`
	MetricsToken     string `yaml:"metrics_token"`
	MetricsTokenFile string `yaml:"metrics_token_file"`
	// TLS: the server certificate of HTTPS (http_tls) and SIP over TLS,
	// reloaded when its files change or on SIGHUP; a client CA (and
	// subjects) for mutual TLS on SIP.
	TLSCert           string `yaml:"tls_cert"`
	TLSKey            string `yaml:"tls_key"`
	HTTPTLS           bool   `yaml:"http_tls"`
	TLSClientCA       string `yaml:"tls_client_ca"`
	TLSClientSubjects string `yaml:"tls_client_subjects"`
	// SIP over TLS: the listener ("" = off; 5061 by convention), and the
	// CA the recorder verifies SIP TLS peers with when it connects to them
	// itself (a BYE after the peer's connection closed; default:
	// tls_client_ca, else the system roots).
	SIPTLSListen string `yaml:"sip_tls_listen"`
	SIPTLSPeerCA string `yaml:"sip_tls_peer_ca"`
	// Retention: finished recordings are deleted this long after they
	// ended (0 = kept for ever), per tenant in tenant_retention (file only,
	// tenant name → duration); a recording on legal hold is never deleted.
	RetentionPeriod time.Duration            `yaml:"retention_period"`
	TenantRetention map[string]time.Duration `yaml:"tenant_retention"`
	// Encryption at rest (issue 13): off by default.
	Encryption Encryption `yaml:"encryption"`
	// Where finished recordings are kept (issue 16): "" or file:DIR (local
	// files; "" = <data_dir>/media), or s3://BUCKET/PREFIX: recorded to the
	// local spool (<data_dir>/media) and uploaded after finalise to the
	// S3-compatible server at s3_endpoint (path-style; credentials from
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
	Media           string `yaml:"media"`
	S3Endpoint      string `yaml:"s3_endpoint"`
	S3UploadWorkers int    `yaml:"s3_upload_workers"` // recordings uploaded at once

	// CTI link (T-Library model) to SIP Servers. Empty = no CTI: recordings
	// carry only what SIP says.
	CTI             string            `yaml:"cti"`        // HOST:PORT[,BACKUP] of one SIP Server
	CTISwitch       string            `yaml:"cti_switch"` // its switch name in the configuration
	CTIServers      []CTIServer       `yaml:"cti_servers"`
	CTIClientName   string            `yaml:"cti_client_name"`
	CTIReconnect    time.Duration     `yaml:"cti_reconnect"`
	CTITLS          bool              `yaml:"cti_tls"`    // T-Library over TLS to every SIP Server
	CTITLSCA        string            `yaml:"cti_tls_ca"` // PEM CA of the SIP Servers' certificates ("" = system roots)
	DNInclude       string            `yaml:"dn_include"` // DN activity detection (comma list, ranges, /regex/)
	DNExclude       string            `yaml:"dn_exclude"`
	ConfigFile      string            `yaml:"config_file"` // configuration data (tenants, DNs, persons) as YAML
	ConfigURL       string            `yaml:"config_url"`  // ... or from a configuration service (openrec sim)
	UserDataKeys    string            `yaml:"user_data_keys"`
	UserDataCharset string            `yaml:"user_data_charset"` // source charset of attached data (cp1250, latin1, ...)
	DefaultTenant   string            `yaml:"default_tenant"`    // tenant of SIP sessions no CTI call explains
	SourceTenants   map[string]string `yaml:"source_tenants"`    // CIDR of the SIP source → tenant name (file only)
	CTITrace        string            `yaml:"cti_trace"`         // file for a Genesys-style trace of every T-Library message ("-" = stderr)

	// Recording control (RequestPrivateService) and Notification of Recording.
	RecordDNs          string        `yaml:"record_dns"`           // monitored DNs openrec itself asks SIP Server to record (dnfilter syntax); rules come later
	RecordGeo          string        `yaml:"record_geo"`           // none | source | destination (Extensions record=)
	RecordDest         string        `yaml:"record_dest"`          // Extensions dest
	RecordDest2        string        `yaml:"record_dest2"`         // Extensions dest2 (duplicate recording)
	ConsentAudioSrc    string        `yaml:"consent_audiosrc"`     // Extensions audiosrc (consent tone)
	ConsentToneSilence string        `yaml:"consent_tone_silence"` // Extensions tonesilenceduration
	PrivateMsgIDs      string        `yaml:"private_msg_ids"`      // START,STOP,PAUSE,RESUME (default 3013,3014,3015,3016)
	NotifyEnabled      bool          `yaml:"notify_enabled"`
	NotifyKey          string        `yaml:"notify_key"`           // <mandatory>_<optional>, default RECORDING_STATUS_GIM ("KEY" alone: no optional part)
	NotifyTimeout      time.Duration `yaml:"notify_timeout"`       // decide by then even without audio
	NotifyTimeoutValue string        `yaml:"notify_timeout_value"` // undefined | no
	// NotifyValues overrides the value strings: yes, no, no_longer, prerecord, undefined.
	NotifyValues map[string]string `yaml:"notify_values"` // file only
	// NotifyTenants overrides notification per tenant name (file only).
	NotifyTenants map[string]NotifyTenant `yaml:"notify_tenants"`
	// Failed-recording detection: how long after CTI says "recorded" a SIP
	// session / RTP must arrive, and how long a session may match no call.
	DetectLegTimeout    time.Duration `yaml:"detect_leg_timeout"`
	DetectRTPTimeout    time.Duration `yaml:"detect_rtp_timeout"`
	DetectOrphanTimeout time.Duration `yaml:"detect_orphan_timeout"`
	RecordConsultCalls  bool          `yaml:"record_consult_calls"` // consult calls are offered to record_dns too
	MessageDataKeys     string        `yaml:"message_data_keys"`    // GEN_TEV_* keys (configuring any turns defaults off)
	ExtensionDataKeys   string        `yaml:"extension_data_keys"`  // GEN_EXT_* keys
	AgentDataKeys       string        `yaml:"agent_data_keys"`      // GEN_CFG_* keys (configuring any turns defaults off)
	FullNameOrder       string        `yaml:"fullname_order"`       // first_last | last_first
	FullNameDelimiter   string        `yaml:"fullname_delimiter"`   // up to 5 characters, default " "
	WrapUp              time.Duration `yaml:"wrap_up"`              // attached data after release still counts this long
	// Automatic PCI pause (issue 21): running recordings of a call pause
	// while a payment IVR DN is on it or the attached-data key says start,
	// and resume after.
	PCIPauseDNs string `yaml:"pci_pause_dns"` // dnfilter syntax (e.g. 7900-7999)
	PCIPauseKey string `yaml:"pci_pause_key"` // attached-data key: start/stop
	// GIM (issue 19 item 4): recordings without Genesys identifiers
	// (passive capture, SIPREC from an SBC) are looked up over T-Library:
	// lookup (default; "" too) | off. Only with a CTI link.
	GIM string `yaml:"gim"`

	// Recording rules (file only; docs/rules.md) and pre-recording.
	Rules          rules.Config  `yaml:"rules"`
	PrerecordGrace time.Duration `yaml:"prerecord_grace"`    // a pre-recording is kept only if a keep request arrives by call end + this
	KeepKey        string        `yaml:"prerecord_keep_key"` // attached-data / user-event key of keep requests (true/false)
	// Configuration data reload (config_file / config_url).
	ConfigReload time.Duration `yaml:"config_reload"` // full reload period (default 30m); changes are also picked up as they happen
	// Multi-tenancy (file only): per-tenant settings; with tenants_only only
	// the DNs of listed tenants are monitored and only their SIP Servers
	// connected.
	TenantsOnly bool     `yaml:"tenants_only"`
	Tenants     []Tenant `yaml:"tenants"`

	// Path is the configuration file Load read ("" = none): the recording
	// rules are reloaded from it when it changes.
	Path string `yaml:"-"`
}

// Tenant is one tenant's configuration ("override defaults"): every empty
// field reuses the default setting of the same name.
type Tenant struct {
	Name               string       `yaml:"name"` // tenant name in the configuration data
	ClientName         string       `yaml:"client_name"`
	Password           string       `yaml:"password"`
	DNInclude          string       `yaml:"dn_include"`
	DNExclude          string       `yaml:"dn_exclude"`
	Notify             NotifyTenant `yaml:"notify"`
	UserDataKeys       string       `yaml:"user_data_keys"`
	MessageDataKeys    string       `yaml:"message_data_keys"`
	ExtensionDataKeys  string       `yaml:"extension_data_keys"`
	AgentDataKeys      string       `yaml:"agent_data_keys"`
	FullNameOrder      string       `yaml:"fullname_order"`
	FullNameDelimiter  string       `yaml:"fullname_delimiter"`
	RecordGeo          string       `yaml:"record_geo"`
	RecordDest         string       `yaml:"record_dest"`
	RecordDest2        string       `yaml:"record_dest2"`
	ConsentAudioSrc    string       `yaml:"consent_audiosrc"`
	ConsentToneSilence string       `yaml:"consent_tone_silence"`
	DTMF               string       `yaml:"dtmf"`          // keep | mask | mask-and-drop-events ("" = the default dtmf)
	MediaFormat        string       `yaml:"media_format"`  // wav | mp3 | opus ("" = the default media_format)
	MediaBitrate       int          `yaml:"media_bitrate"` // kbit/s (0 = the default media_bitrate)
	// Screen: the tenant's recordings ask for screen recording (nil = the
	// default screen setting).
	Screen          *bool  `yaml:"screen"`
	ScreenNotifyKey string `yaml:"screen_notify_key"` // "" = the default's, "off" = none
}

// Encryption is the `encryption:` section: new recordings are encrypted
// (age, per-recording file key) to the recipients of their tenant, and
// played back with the identities of decrypt_keys.
//
//	encryption:
//	  enabled: true
//	  encrypt_to: /etc/openrec/recipients.txt   # --encrypt-to (turns encryption on)
//	  tenants:                                  # tenant → its own recipients file
//	    acme: /etc/openrec/acme.recipients
//	  decrypt_keys: /etc/openrec/identities.txt # --decrypt-keys: playback
//
// decrypt_keys alone (enabled false) plays back recordings encrypted
// earlier without encrypting new ones.
type Encryption struct {
	Enabled     bool              `yaml:"enabled"`
	EncryptTo   string            `yaml:"encrypt_to"`
	Tenants     map[string]string `yaml:"tenants"`
	DecryptKeys string            `yaml:"decrypt_keys"`
}

// Overrides reports whether t changes any default (else the tenant reuses
// the defaults and is only listed).
func (t Tenant) Overrides() bool {
	u := t
	u.Name = ""
	return u.Notify.Enabled != nil || u.Notify.Key != "" || len(u.Notify.Values) > 0 ||
		u.ClientName != "" || u.Password != "" || u.DNInclude != "" || u.DNExclude != "" ||
		u.UserDataKeys != "" || u.MessageDataKeys != "" || u.ExtensionDataKeys != "" || u.AgentDataKeys != "" ||
		u.FullNameOrder != "" || u.FullNameDelimiter != "" || u.RecordGeo != "" || u.RecordDest != "" ||
		u.RecordDest2 != "" || u.ConsentAudioSrc != "" || u.ConsentToneSilence != "" || u.DTMF != "" || u.Screen != nil || u.ScreenNotifyKey != "" ||
		u.MediaFormat != "" || u.MediaBitrate != 0
}

// NotifyTenant is one tenant's Notification of Recording setting.
type NotifyTenant struct {
	Enabled *bool             `yaml:"enabled"`
	Key     string            `yaml:"key"`
	Values  map[string]string `yaml:"values"`
}

// NotifyValueNames are the keys of notify_values.
var NotifyValueNames = []string{"yes", "no", "no_longer", "prerecord", "undefined"}

// CTIServer is one SIP Server of the CTI link.
type CTIServer struct {
	Name    string `yaml:"name"`
	Switch  string `yaml:"switch"`
	Primary string `yaml:"primary"`
	Backup  string `yaml:"backup"`
	// T-Library over TLS to this server (also when cti_tls is on), its
	// certificate verified with TLSCA (default cti_tls_ca, else the system
	// roots) for the name TLSServerName (default the host dialled).
	TLS           bool   `yaml:"tls"`
	TLSCA         string `yaml:"tls_ca"`
	TLSServerName string `yaml:"tls_server_name"`
}

// Servers returns the configured SIP Servers (cti_servers, plus the one
// given by cti / cti_switch).
func (c Serve) Servers() []CTIServer {
	out := append([]CTIServer(nil), c.CTIServers...)
	if c.CTI != "" {
		primary, backup, _ := strings.Cut(c.CTI, ",")
		out = append(out, CTIServer{Name: c.CTISwitch, Switch: c.CTISwitch, Primary: primary, Backup: backup})
	}
	for i := range out {
		out[i].TLS = out[i].TLS || c.CTITLS
		if out[i].TLS && out[i].TLSCA == "" {
			out[i].TLSCA = c.CTITLSCA
		}
	}
	return out
}

// Defaults returns the configuration used when nothing is configured.
func Defaults() Serve {
	return Serve{
		SIPListen:               "0.0.0.0:5060",
		HTTPListen:              "0.0.0.0:8080",
		DataDir:                 "./openrec-data",
		RTPPorts:                "20000-39999",
		RTPIP:                   "0.0.0.0",
		MaxCalls:                500,
		GIM:                     GIMLookup,
		StorageFormat:           "ulaw",
		MediaFormat:             "wav",
		MediaTimeout:            30 * time.Second,
		SessionMinSE:            90 * time.Second,
		LegWindow:               10 * time.Second,
		ReorderWindow:           200 * time.Millisecond,
		FlushInterval:           time.Second,
		FsyncInterval:           10 * time.Second,
		PortQuarantine:          30 * time.Second,
		ShutdownTimeout:         30 * time.Second,
		MaxBody:                 256 << 10,
		StrictRTPSource:         true,
		MediaPorts:              MediaPortsShared,
		RetryAfter:              5,
		LogLevel:                "info",
		SIPMaxMediaLines:        16,
		SIPAckTimeout:           32 * time.Second,
		SIPTCPIdleTimeout:       2 * time.Minute,
		SIPTCPMaxConns:          2048,
		SIPTCPMaxConnsPerSource: 128,
		SRTP:                    "optional",
		DTMF:                    "mask",
		ScreenFrameRate:         5,
		ScreenMaxWidth:          1920,
		ScreenMaxHeight:         1080,
		ScreenMaxBytes:          2 << 30,
		ScreenTimeout:           30 * time.Second,
		ScreenNotifyKey:         "RECORDING_VIDEO_STATUS",
		SessionTTL:              12 * time.Hour,
		TokenTTL:                24 * time.Hour,
		CTISwitch:               "SIP_Switch",
		CTIClientName:           "openrec",
		CTIReconnect:            30 * time.Second,
		RecordGeo:               "none",
		NotifyEnabled:           true,
		NotifyTimeout:           3 * time.Second,
		NotifyTimeoutValue:      "undefined",
		FullNameOrder:           "first_last",
		WrapUp:                  60 * time.Second,
		PrerecordGrace:          10 * time.Minute,
		KeepKey:                 "RECORDING_KEEP",
		ConfigReload:            30 * time.Minute,

		// resources (admission and health)
		StorageLowWatermark:      "2GB",
		StorageCriticalWatermark: "200MB",
		FDReserve:                64,
		S3UploadWorkers:          2,
		TranscodeWorkers:         1,
	}
}

// flagKeys maps flag names to configuration keys.
var flagKeys = map[string]string{
	"sip-listen":                   "sip_listen",
	"http-listen":                  "http_listen",
	"data-dir":                     "data_dir",
	"store":                        "store",
	"data-group":                   "data_group",
	"rtp-ports":                    "rtp_ports",
	"rtp-ip":                       "rtp_ip",
	"advertise-ip":                 "advertise_ip",
	"max-calls":                    "max_calls",
	"storage-format":               "storage_format",
	"media-format":                 "media_format",
	"media-bitrate":                "media_bitrate",
	"media-timeout":                "media_timeout",
	"session-min-se":               "session_min_se",
	"leg-window":                   "leg_window",
	"reorder-window":               "reorder_window",
	"flush-interval":               "flush_interval",
	"fsync-interval":               "fsync_interval",
	"port-quarantine":              "port_quarantine",
	"shutdown-timeout":             "shutdown_timeout",
	"max-body":                     "max_body",
	"strict-rtp-source":            "strict_rtp_source",
	"media-ports":                  "media_ports",
	"retry-after":                  "retry_after",
	"log-level":                    "log_level",
	"pprof-listen":                 "pprof_listen",
	"sip-max-media-lines":          "sip_max_media_lines",
	"sip-ack-timeout":              "sip_ack_timeout",
	"sip-tcp-idle-timeout":         "sip_tcp_idle_timeout",
	"sip-tcp-max-conns":            "sip_tcp_max_conns",
	"sip-tcp-max-conns-per-source": "sip_tcp_max_conns_per_source",
	"srtp":                         "srtp",
	"dtmf":                         "dtmf",
	"screen":                       "screen",
	"screen-frame-rate":            "screen_frame_rate",
	"screen-max-width":             "screen_max_width",
	"screen-max-height":            "screen_max_height",
	"screen-max-bytes":             "screen_max_bytes",
	"screen-timeout":               "screen_timeout",
	"screen-notify-key":            "screen_notify_key",
	"ffmpeg":                       "ffmpeg",
	"secure-cookies":               "secure_cookies",
	"session-ttl":                  "session_ttl",
	"token-ttl":                    "token_ttl",
	"metrics-listen":               "metrics_listen",
	"metrics-token-file":           "metrics_token_file",
	"tls-cert":                     "tls_cert",
	"tls-key":                      "tls_key",
	"http-tls":                     "http_tls",
	"tls-client-ca":                "tls_client_ca",
	"retention-period":             "retention_period",
	"media":                        "media",
	"s3-endpoint":                  "s3_endpoint",
	"s3-upload-workers":            "s3_upload_workers",
	"tls-client-subjects":          "tls_client_subjects",
	"sip-tls-listen":               "sip_tls_listen",
	"sip-tls-peer-ca":              "sip_tls_peer_ca",
	"cti-tls":                      "cti_tls",
	"cti-tls-ca":                   "cti_tls_ca",
	"mp3-encoder":                  "mp3_encoder",
	"cti":                          "cti",
	"cti-switch":                   "cti_switch",
	"cti-client-name":              "cti_client_name",
	"cti-reconnect":                "cti_reconnect",
	"dn-include":                   "dn_include",
	"dn-exclude":                   "dn_exclude",
	"config-file":                  "config_file",
	"config-url":                   "config_url",
	"user-data-keys":               "user_data_keys",
	"user-data-charset":            "user_data_charset",
	"default-tenant":               "default_tenant",
	"cti-trace":                    "cti_trace",
	"record-dns":                   "record_dns",
	"record-geo":                   "record_geo",
	"record-dest":                  "record_dest",
	"record-dest2":                 "record_dest2",
	"consent-audiosrc":             "consent_audiosrc",
	"consent-tone-silence":         "consent_tone_silence",
	"private-msg-ids":              "private_msg_ids",
	"notify-enabled":               "notify_enabled",
	"notify-key":                   "notify_key",
	"notify-timeout":               "notify_timeout",
	"notify-timeout-value":         "notify_timeout_value",
	"message-data-keys":            "message_data_keys",
	"extension-data-keys":          "extension_data_keys",
	"agent-data-keys":              "agent_data_keys",
	"fullname-order":               "fullname_order",
	"fullname-delimiter":           "fullname_delimiter",
	"wrap-up":                      "wrap_up",
	"pci-pause-dns":                "pci_pause_dns",
	"pci-pause-key":                "pci_pause_key",
	"gim":                          "gim",
	"detect-leg-timeout":           "detect_leg_timeout",
	"detect-rtp-timeout":           "detect_rtp_timeout",
	"detect-orphan-timeout":        "detect_orphan_timeout",
	"record-consult-calls":         "record_consult_calls",
	"prerecord-grace":              "prerecord_grace",
	"prerecord-keep-key":           "prerecord_keep_key",
	"config-reload":                "config_reload",
	"tenants-only":                 "tenants_only",
	"encrypt-to":                   "encryption.encrypt_to",
	"decrypt-keys":                 "encryption.decrypt_keys",

	// resources (admission and health)
	"storage-low-watermark":      "storage_low_watermark",
	"storage-critical-watermark": "storage_critical_watermark",
	"fd-reserve":                 "fd_reserve",

	"transcode-workers": "transcode_workers",
}

// AddFlags declares the serve flags on fs with the defaults as values.
func AddFlags(fs *pflag.FlagSet) {
	d := Defaults()
	fs.String("config", "", "YAML configuration file (keys are the flag names with _ instead of -)")
	fs.String("sip-listen", d.SIPListen, "SIP address for UDP and TCP")
	fs.String("http-listen", d.HTTPListen, "HTTP address (health, metrics)")
	fs.String("data-dir", d.DataDir, "directory for media files and the openrec.db metadata")
	fs.String("store", d.Store, "metadata store URL: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite:<data-dir>/openrec.db; media stays in --data-dir)")
	fs.String("data-group", d.DataGroup, "group (name or id) that may read finished recordings: their files 0640 and dirs 0750 (the database and keys stay private)")
	fs.String("rtp-ports", d.RTPPorts, "RTP port range LOW-HIGH (RTP even, RTCP odd)")
	fs.String("rtp-ip", d.RTPIP, "address RTP sockets bind to")
	fs.String("advertise-ip", d.AdvertiseIP, "address put in SDP answers (default: the SIP listen address, or the local address facing the peer)")
	fs.Int("max-calls", d.MaxCalls, "concurrent calls; above it new calls get 503")
	fs.String("storage-format", d.StorageFormat, "WAV storage format: ulaw, alaw or pcm16")
	fs.String("media-format", d.MediaFormat, "form finished recordings are kept in: wav, mp3 or opus (Opus in Ogg; mp3 and opus need ffmpeg); per tenant: media_format under tenants: in the config file")
	fs.Int("media-bitrate", d.MediaBitrate, "kbit/s of media_format mp3 (8 mono, 16 or 32 stereo) or opus (16-32); 0 = default (mp3 8 mono / 16 stereo, opus 24)")
	fs.Duration("media-timeout", d.MediaTimeout, "end a leg after this long without RTP while active")
	fs.Duration("session-min-se", d.SessionMinSE, "smallest SIP session interval accepted (RFC 4028 Min-SE, at least 90s)")
	fs.Duration("leg-window", d.LegWindow, "how long to wait for the second MSR leg before flagging the call partial")
	fs.Duration("reorder-window", d.ReorderWindow, "RTP reorder/jitter window")
	fs.Duration("flush-interval", d.FlushInterval, "how often audio is written and the WAV header made valid")
	fs.Duration("fsync-interval", d.FsyncInterval, "how often a recording is flushed to stable storage (fsync); at most this much audio is lost on a power failure (<= flush-interval: every flush)")
	fs.Duration("port-quarantine", d.PortQuarantine, "how long a freed RTP port rests before reuse")
	fs.Duration("shutdown-timeout", d.ShutdownTimeout, "on SIGTERM, how long active calls may continue")
	fs.Int("max-body", d.MaxBody, "largest accepted SIP body in bytes (413 above)")
	fs.Bool("strict-rtp-source", d.StrictRTPSource, "accept RTP only from the IP address in the SDP offer")
	fs.String("media-ports", d.MediaPorts, "RTP receive sockets: per-leg (a port pair per leg) or shared (one pair per core at the start of rtp-ports, legs told apart by source)")
	fs.Int("retry-after", d.RetryAfter, "Retry-After seconds sent with 503")
	fs.String("log-level", d.LogLevel, "debug, info, warn or error")
	fs.String("pprof-listen", d.PprofListen, "serve Go profiling (/debug/pprof) on this address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.String("storage-low-watermark", d.StorageLowWatermark, "free space of data-dir below which new calls get 503 and health says unavailable (bytes like 2GB, or a percentage like 5%; 0 = off)")
	fs.String("storage-critical-watermark", d.StorageCriticalWatermark, "free space below which calls in progress end cleanly as partial, reason disk-full (0 = off)")
	fs.Int("fd-reserve", d.FDReserve, "file descriptors kept free for the HTTP API, the store and health: new calls get 503 before they are used")
	fs.Int("transcode-workers", d.TranscodeWorkers, "recordings kept raw (needs_transcode: a codec this build could not decode live) decoded at once in the background, once a decoder exists (0 = off)")
	fs.Int("sip-max-media-lines", d.SIPMaxMediaLines, "most m-lines accepted in one SDP offer (each takes an RTP port pair); more get 488")
	fs.Duration("sip-ack-timeout", d.SIPAckTimeout, "end a session whose 200 OK is never acknowledged after this long and free its ports (RFC 3261 Timer H)")
	fs.Duration("sip-tcp-idle-timeout", d.SIPTCPIdleTimeout, "close a SIP TCP connection quiet in both directions this long (0: never)")
	fs.Int("sip-tcp-max-conns", d.SIPTCPMaxConns, "most SIP TCP connections open at once; more are refused (0: no limit)")
	fs.Int("sip-tcp-max-conns-per-source", d.SIPTCPMaxConnsPerSource, "most SIP TCP connections from one IP address (0: no limit)")
	fs.String("srtp", d.SRTP, "SRTP (SDES) policy: optional (record SRTP and RTP), required (RTP offers get 488) or off (SRTP offers get 488)")
	fs.String("dtmf", d.DTMF, "key tones (card numbers) in stored audio: mask (silenced, events without digits), mask-and-drop-events, or keep; per tenant: dtmf under tenants: in the config file")
	fs.Bool("screen", d.Screen, "recordings ask the agent's screen client (the /screen page) to record the screen; per rule and per tenant: screen: true|false in the config file")
	fs.Int("screen-frame-rate", d.ScreenFrameRate, "frames per second the screen client captures")
	fs.Int("screen-max-width", d.ScreenMaxWidth, "largest width of the captured screen (pixels; larger screens are scaled down)")
	fs.Int("screen-max-height", d.ScreenMaxHeight, "largest height of the captured screen (pixels)")
	fs.Int64("screen-max-bytes", d.ScreenMaxBytes, "largest screen video accepted per recording, in bytes (413 above)")
	fs.Duration("screen-timeout", d.ScreenTimeout, "a recording that asked for screen recording and got no screen data this long after its start raises a failed-recording alert")
	fs.String("screen-notify-key", d.ScreenNotifyKey, "attached-data key of the Notification of Recording for video: yes when the screen video arrives, no when it does not in time (\"\" = none; per tenant: screen_notify_key)")
	fs.String("ffmpeg", d.FFmpeg, "ffmpeg binary: media_format mp3 and opus, reading recordings stored compressed, muxed downloads of screen video and audio (default: ffmpeg on PATH)")
	fs.Bool("secure-cookies", d.SecureCookies, "mark the web UI session cookie Secure (set this behind a TLS proxy)")
	fs.Duration("session-ttl", d.SessionTTL, "web UI session lifetime")
	fs.Duration("token-ttl", d.TokenTTL, "API token lifetime")
	fs.String("metrics-listen", d.MetricsListen, "serve /metrics on this address instead of on --http-listen")
	fs.String("metrics-token-file", d.MetricsTokenFile, "file holding the bearer token /metrics asks for (or metrics_token in the config file)")
	fs.String("tls-cert", d.TLSCert, "PEM certificate (chain) of the TLS listeners (HTTPS, SIP TLS); reloaded when the file changes or on SIGHUP")
	fs.String("tls-key", d.TLSKey, "PEM private key of --tls-cert")
	fs.Bool("http-tls", d.HTTPTLS, "serve the web UI, REST API, health and metrics over HTTPS (needs --tls-cert and --tls-key)")
	fs.String("tls-client-ca", d.TLSClientCA, "PEM CA file: SIP TLS clients must present a certificate it signed (mutual TLS)")
	fs.Duration("retention-period", d.RetentionPeriod, "delete finished recordings this long after they ended (0: keep for ever); per tenant: tenant_retention in the config file; legal holds win")
	fs.String("tls-client-subjects", d.TLSClientSubjects, "with --tls-client-ca: allowed client certificate subjects (common names or DNS names, comma list)")
	fs.String("sip-tls-listen", d.SIPTLSListen, "SIP over TLS address (e.g. 0.0.0.0:5061; needs --tls-cert and --tls-key; empty: off)")
	fs.String("sip-tls-peer-ca", d.SIPTLSPeerCA, "PEM CA file to verify SIP TLS peers the recorder connects to (a BYE after their connection closed); default: --tls-client-ca, else the system roots")
	fs.String("mp3-encoder", d.MP3Encoder, "lame binary used for MP3 downloads (default: lame on PATH)")
	fs.String("media", d.Media, "where finished recordings are kept: file:DIR (default file:<data-dir>/media) or s3://BUCKET/PREFIX (recorded to the local spool, uploaded after finalise; needs --s3-endpoint and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	fs.String("s3-endpoint", d.S3Endpoint, "URL of the S3-compatible server for --media s3://... (path-style addressing), e.g. http://127.0.0.1:7070")
	fs.Int("s3-upload-workers", d.S3UploadWorkers, "recordings uploaded to S3 at once")
	fs.String("cti", d.CTI, "CTI link to a SIP Server: HOST:PORT[,BACKUP] (more servers: cti_servers in the config file)")
	fs.String("cti-switch", d.CTISwitch, "switch name of the --cti SIP Server in the configuration data")
	fs.String("cti-client-name", d.CTIClientName, "application name the recorder registers with")
	fs.Duration("cti-reconnect", d.CTIReconnect, "wait between CTI reconnection attempts")
	fs.Bool("cti-tls", d.CTITLS, "CTI link (T-Library) over TLS to every SIP Server (one server: tls: true in cti_servers)")
	fs.String("cti-tls-ca", d.CTITLSCA, "PEM CA file the SIP Servers' TLS certificates must chain to (default: the system roots)")
	fs.String("dn-include", d.DNInclude, "DNs to monitor: comma list of DNs, ranges 3000-3999, /regex/ (empty = all)")
	fs.String("dn-exclude", d.DNExclude, "DNs never recorded (wins over include and third-party requests)")
	fs.String("config-file", d.ConfigFile, "configuration data (tenants, switches, DNs, persons) as YAML")
	fs.String("config-url", d.ConfigURL, "configuration data from a configuration service URL (e.g. openrec sim's /config)")
	fs.String("user-data-keys", d.UserDataKeys, "attached-data keys stored as GEN_USR_<key> (comma list, key=stored_name renames)")
	fs.String("user-data-charset", d.UserDataCharset, "charset of attached data from the SIP Server (e.g. cp1250), converted to UTF-8")
	fs.String("record-dns", d.RecordDNs, "DNs openrec asks SIP Server to record at EventEstablished (GSIP_RECORD_START), e.g. 5000-5999")
	fs.String("record-geo", d.RecordGeo, "geo-location selection sent with GSIP_RECORD_START: none, source (thisDN) or destination (otherDN)")
	fs.String("record-dest", d.RecordDest, "dest extension of recording requests (recorder group)")
	fs.String("record-dest2", d.RecordDest2, "dest2 extension (duplicate recording to a second destination)")
	fs.String("consent-audiosrc", d.ConsentAudioSrc, "audiosrc extension: consent tone the media server plays")
	fs.String("consent-tone-silence", d.ConsentToneSilence, "tonesilenceduration extension of the consent tone")
	fs.String("private-msg-ids", d.PrivateMsgIDs, "PrivateMsgIDs of GSIP_RECORD_START,STOP,PAUSE,RESUME (default 3013,3014,3015,3016)")
	fs.Bool("notify-enabled", d.NotifyEnabled, "Notification of Recording in attached data")
	fs.String("notify-key", d.NotifyKey, "attached-data key of the notification (default RECORDING_STATUS_GIM)")
	fs.Duration("notify-timeout", d.NotifyTimeout, "decide the notification by then even if no audio arrived")
	fs.String("notify-timeout-value", d.NotifyTimeoutValue, "value sent at the timeout: undefined or no")
	fs.String("message-data-keys", d.MessageDataKeys, "GEN_TEV_* keys, e.g. ANI,DNIS,ThisDN,CustomerID=Customer (any configured key turns the defaults off)")
	fs.String("extension-data-keys", d.ExtensionDataKeys, "AttributeExtensions keys stored as GEN_EXT_*")
	fs.String("agent-data-keys", d.AgentDataKeys, "GEN_CFG_* agent keys, e.g. EmployeeID,UserName (any configured key turns the defaults off)")
	fs.String("fullname-order", d.FullNameOrder, "GEN_CFG_FULLNAME: first_last or last_first")
	fs.String("fullname-delimiter", d.FullNameDelimiter, "GEN_CFG_FULLNAME delimiter, up to 5 characters (default space)")
	fs.Duration("detect-leg-timeout", d.DetectLegTimeout, "failed recording: CTI says recorded but no SIP session within this long")
	fs.Duration("detect-rtp-timeout", d.DetectRTPTimeout, "failed recording: SIP session but no RTP within this long")
	fs.Duration("detect-orphan-timeout", d.DetectOrphanTimeout, "failed recording: a SIP session matches no CTI call for this long")
	fs.Bool("record-consult-calls", d.RecordConsultCalls, "offer consult calls to record_dns too")
	fs.String("pci-pause-dns", d.PCIPauseDNs, "payment IVR DNs (comma list, ranges, /regex/): recordings of a call pause while one is on the call, and resume after (PCI)")
	fs.String("gim", d.GIM, "recordings without Genesys ids (passive, SIPREC from an SBC): lookup = ask SIP Server over T-Library, attach its call's data or mark them not contact-center controlled; off = flag them no-cti-call")
	fs.String("pci-pause-key", d.PCIPauseKey, "attached-data key that pauses a call's recordings (start) and resumes them (stop), e.g. PCI")
	fs.Duration("wrap-up", d.WrapUp, "attached data arriving this long after release still updates the recording")
	fs.String("cti-trace", d.CTITrace, "write every T-Library message in and out, Genesys-log style, to this file (- = stderr)")
	fs.Duration("prerecord-grace", d.PrerecordGrace, "pre-recording: keep requests are accepted this long after the recording ended, then it is deleted")
	fs.String("prerecord-keep-key", d.KeepKey, "attached-data (or EventUserEvent) key of pre-recording keep requests: true keeps, false discards")
	fs.Duration("config-reload", d.ConfigReload, "reload the configuration data this often (changes of config_file / config_url are also picked up as they happen)")
	fs.Bool("tenants-only", d.TenantsOnly, "only monitor the tenants listed under tenants: in the config file")
	fs.String("encrypt-to", "", "encrypt new recordings at rest to the age recipients (age1..., one per line) in this file; turns encryption on")
	fs.String("decrypt-keys", "", "age identities file (AGE-SECRET-KEY-1..., one per line) to play back encrypted recordings; keep it 0600")
	fs.String("default-tenant", d.DefaultTenant, "tenant given to SIP sessions no CTI call explains (source_tenants in the file maps SIP sources to tenants)")
}

// MsgIDs parses private_msg_ids (empty = the Genesys defaults).
func (c Serve) MsgIDs() ([4]int, error) {
	ids := [4]int{3013, 3014, 3015, 3016}
	if strings.TrimSpace(c.PrivateMsgIDs) == "" {
		return ids, nil
	}
	parts := strings.Split(c.PrivateMsgIDs, ",")
	if len(parts) != 4 {
		return ids, fmt.Errorf("private_msg_ids %q: want four ids START,STOP,PAUSE,RESUME", c.PrivateMsgIDs)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return ids, fmt.Errorf("private_msg_ids %q: %q is not a positive number", c.PrivateMsgIDs, p)
		}
		ids[i] = v
	}
	return ids, nil
}

// KeyPair is one configured key and the name it is stored under.
type KeyPair struct{ From, To string }

// KeyList parses a "Key,Key2=Renamed" list.
func KeyList(s string) ([]KeyPair, error) {
	var out []KeyPair
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, item := range strings.Split(s, ",") {
		from, to, _ := strings.Cut(strings.TrimSpace(item), "=")
		if from == "" || strings.ContainsAny(from+to, " \t") {
			return nil, fmt.Errorf("key list %q: bad item %q (want Key or Key=StoredName)", s, item)
		}
		out = append(out, KeyPair{From: from, To: to})
	}
	return out, nil
}

// Validate reports the first invalid setting in words a user can act on.
// The values of media_ports.
const (
	MediaPortsPerLeg = "per-leg"
	MediaPortsShared = "shared"
)

func (c Serve) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.SIPListen); err != nil {
		errs = append(errs, fmt.Errorf("sip_listen %q: want HOST:PORT", c.SIPListen))
	}
	if c.FsyncInterval < 0 {
		errs = append(errs, fmt.Errorf("fsync_interval %s: want >= 0", c.FsyncInterval))
	}
	if c.MediaPorts != MediaPortsPerLeg && c.MediaPorts != MediaPortsShared {
		errs = append(errs, fmt.Errorf("media_ports %q: want %s or %s", c.MediaPorts, MediaPortsPerLeg, MediaPortsShared))
	}
	if c.SessionTTL <= 0 || c.TokenTTL <= 0 {
		errs = append(errs, fmt.Errorf("session_ttl %s / token_ttl %s: want positive durations", c.SessionTTL, c.TokenTTL))
	}
	if _, _, err := net.SplitHostPort(c.HTTPListen); c.HTTPListen != "" && err != nil {
		errs = append(errs, fmt.Errorf("http_listen %q: want HOST:PORT (or empty to disable)", c.HTTPListen))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir must not be empty"))
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "sqlite:") && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		errs = append(errs, errors.New("store: want sqlite:PATH, postgres://... or postgresql://... (or empty: sqlite:<data_dir>/openrec.db)"))
	}
	if _, _, err := net.SplitHostPort(c.MetricsListen); c.MetricsListen != "" && err != nil {
		errs = append(errs, fmt.Errorf("metrics_listen %q: want HOST:PORT (or empty: /metrics on http_listen)", c.MetricsListen))
	}
	if c.RetentionPeriod < 0 {
		errs = append(errs, fmt.Errorf("retention_period %s: want >= 0 (0 keeps recordings for ever)", c.RetentionPeriod))
	}
	errs = append(errs, c.ValidateMedia()...)
	for t, d := range c.TenantRetention {
		if d < 0 {
			errs = append(errs, fmt.Errorf("tenant_retention %s: %s: want >= 0", t, d))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls_cert and tls_key: set both or neither"))
	}
	if c.HTTPTLS && c.TLSCert == "" {
		errs = append(errs, errors.New("http_tls needs tls_cert and tls_key"))
	}
	if c.TLSClientSubjects != "" && c.TLSClientCA == "" {
		errs = append(errs, errors.New("tls_client_subjects needs tls_client_ca"))
	}
	if c.CTITLSCA != "" && !c.CTITLS && !slices.ContainsFunc(c.CTIServers, func(s CTIServer) bool { return s.TLS }) {
		errs = append(errs, errors.New("cti_tls_ca needs cti_tls (or tls: true on a server of cti_servers)"))
	}
	for _, srv := range c.CTIServers {
		if !srv.TLS && !c.CTITLS && (srv.TLSCA != "" || srv.TLSServerName != "") {
			errs = append(errs, fmt.Errorf("cti server %q: tls_ca and tls_server_name need tls: true", srv.Name))
		}
	}
	if c.SIPTLSListen != "" {
		if _, _, err := net.SplitHostPort(c.SIPTLSListen); err != nil {
			errs = append(errs, fmt.Errorf("sip_tls_listen %q: want HOST:PORT (or empty to disable)", c.SIPTLSListen))
		}
		if c.TLSCert == "" {
			errs = append(errs, errors.New("sip_tls_listen needs tls_cert and tls_key"))
		}
	}
	errs = append(errs, c.Encryption.validate()...)
	if c.MetricsToken != "" && c.MetricsTokenFile != "" {
		errs = append(errs, errors.New("metrics_token and metrics_token_file: set one of them"))
	}
	if _, _, err := c.PortRange(); err != nil {
		errs = append(errs, err)
	}
	if c.FDReserve < 0 {
		errs = append(errs, fmt.Errorf("fd_reserve %d: want >= 0", c.FDReserve))
	}
	if c.TranscodeWorkers < 0 || c.TranscodeWorkers > 64 {
		errs = append(errs, fmt.Errorf("transcode_workers %d: want 0 (off) to 64", c.TranscodeWorkers))
	}
	if c.MaxCalls < 1 {
		errs = append(errs, fmt.Errorf("max_calls %d: must be at least 1", c.MaxCalls))
	}
	switch strings.ToLower(c.StorageFormat) {
	case "ulaw", "pcmu", "mulaw", "alaw", "pcma", "pcm16", "pcm":
	default:
		errs = append(errs, fmt.Errorf("storage_format %q: want ulaw, alaw or pcm16", c.StorageFormat))
	}
	if _, err := netip.ParseAddr(c.RTPIP); err != nil {
		errs = append(errs, fmt.Errorf("rtp_ip %q: not an IP address", c.RTPIP))
	}
	if c.AdvertiseIP != "" {
		if _, err := netip.ParseAddr(c.AdvertiseIP); err != nil {
			errs = append(errs, fmt.Errorf("advertise_ip %q: not an IP address", c.AdvertiseIP))
		}
	}
	for name, d := range map[string]time.Duration{
		"media_timeout": c.MediaTimeout, "leg_window": c.LegWindow, "reorder_window": c.ReorderWindow,
		"flush_interval": c.FlushInterval, "shutdown_timeout": c.ShutdownTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", name, d))
		}
	}
	switch c.SRTP {
	case "optional", "required", "off":
	default:
		errs = append(errs, fmt.Errorf("srtp %q: must be optional, required or off", c.SRTP))
	}
	if c.ScreenFrameRate < 1 || c.ScreenFrameRate > 60 {
		errs = append(errs, fmt.Errorf("screen_frame_rate %d: want 1..60", c.ScreenFrameRate))
	}
	if c.ScreenMaxWidth < 160 || c.ScreenMaxHeight < 120 || c.ScreenMaxWidth > 7680 || c.ScreenMaxHeight > 4320 {
		errs = append(errs, fmt.Errorf("screen_max_width %d, screen_max_height %d: want 160x120..7680x4320", c.ScreenMaxWidth, c.ScreenMaxHeight))
	}
	if c.ScreenMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("screen_max_bytes %d: want at least 1048576 (1 MiB)", c.ScreenMaxBytes))
	}
	if c.ScreenTimeout <= 0 {
		errs = append(errs, fmt.Errorf("screen_timeout %v: must be positive", c.ScreenTimeout))
	}
	if !validDTMF(c.DTMF) || c.DTMF == "" {
		errs = append(errs, fmt.Errorf("dtmf %q: want mask, mask-and-drop-events or keep", c.DTMF))
	}
	if err := validMediaFormat(c.MediaFormat, c.MediaBitrate, c.Encryption.Enabled); err != nil {
		errs = append(errs, err)
	}
	if err := compressedInS3(c); err != nil {
		errs = append(errs, err)
	}
	if c.SIPMaxMediaLines < 1 {
		errs = append(errs, fmt.Errorf("sip_max_media_lines %d: must be at least 1", c.SIPMaxMediaLines))
	}
	if c.SIPAckTimeout <= 0 {
		errs = append(errs, fmt.Errorf("sip_ack_timeout %v: must be positive", c.SIPAckTimeout))
	}
	if c.SIPTCPIdleTimeout < 0 || c.SIPTCPMaxConns < 0 || c.SIPTCPMaxConnsPerSource < 0 {
		errs = append(errs, fmt.Errorf("sip_tcp_idle_timeout %v / sip_tcp_max_conns %d / sip_tcp_max_conns_per_source %d: must not be negative (0 turns the limit off)", c.SIPTCPIdleTimeout, c.SIPTCPMaxConns, c.SIPTCPMaxConnsPerSource))
	}
	if c.SessionMinSE < 90*time.Second {
		errs = append(errs, fmt.Errorf("session_min_se %v: RFC 4028 allows no less than 90s", c.SessionMinSE))
	}
	if c.PortQuarantine < 0 {
		errs = append(errs, fmt.Errorf("port_quarantine %v: must not be negative", c.PortQuarantine))
	}
	for i, sv := range c.Servers() {
		if _, _, err := net.SplitHostPort(sv.Primary); err != nil {
			errs = append(errs, fmt.Errorf("cti server %d (%s): primary %q: want HOST:PORT", i, sv.Name, sv.Primary))
		}
		if sv.Backup != "" {
			if _, _, err := net.SplitHostPort(sv.Backup); err != nil {
				errs = append(errs, fmt.Errorf("cti server %d (%s): backup %q: want HOST:PORT", i, sv.Name, sv.Backup))
			}
		}
	}
	nets := map[netip.Prefix]string{}
	for _, cidr := range slices.Sorted(maps.Keys(c.SourceTenants)) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("source_tenants: %q is not a CIDR prefix (e.g. 10.1.0.0/16)", cidr))
			continue
		}
		// Two keys for one network: which tenant (and its dtmf,
		// encryption, retention) a source gets would be chance.
		if other, dup := nets[p.Masked()]; dup {
			errs = append(errs, fmt.Errorf("source_tenants: %q and %q are the same network %s", other, cidr, p.Masked()))
			continue
		}
		nets[p.Masked()] = cidr
	}
	if c.PCIPauseDNs != "" {
		if _, err := dnfilter.Parse(c.PCIPauseDNs, ""); err != nil {
			errs = append(errs, fmt.Errorf("pci_pause_dns: %w", err))
		}
	}
	if c.GIM != "" && c.GIM != GIMLookup && c.GIM != GIMOff {
		errs = append(errs, fmt.Errorf("gim %q: want lookup or off", c.GIM))
	}
	if strings.ContainsAny(c.PCIPauseKey, " \t,") {
		errs = append(errs, fmt.Errorf("pci_pause_key %q: one attached-data key", c.PCIPauseKey))
	}
	if c.RecordDNs != "" {
		if _, err := dnfilter.Parse(c.RecordDNs, ""); err != nil {
			errs = append(errs, fmt.Errorf("record_dns: %w", err))
		}
	}
	switch c.RecordGeo {
	case "", "none", "source", "destination":
	default:
		errs = append(errs, fmt.Errorf("record_geo %q: want none, source or destination", c.RecordGeo))
	}
	if _, err := c.MsgIDs(); err != nil {
		errs = append(errs, err)
	}
	okValue := func(k string) bool {
		for _, n := range NotifyValueNames {
			if n == k {
				return true
			}
		}
		return false
	}
	for k := range c.NotifyValues {
		if !okValue(k) {
			errs = append(errs, fmt.Errorf("notify_values: unknown %q (want %s)", k, strings.Join(NotifyValueNames, ", ")))
		}
	}
	for name, t := range c.NotifyTenants {
		for k := range t.Values {
			if !okValue(k) {
				errs = append(errs, fmt.Errorf("notify_tenants.%s.values: unknown %q", name, k))
			}
		}
	}
	switch c.NotifyTimeoutValue {
	case "", "undefined", "no":
	default:
		errs = append(errs, fmt.Errorf("notify_timeout_value %q: want undefined or no", c.NotifyTimeoutValue))
	}
	switch c.FullNameOrder {
	case "", "first_last", "last_first":
	default:
		errs = append(errs, fmt.Errorf("fullname_order %q: want first_last or last_first", c.FullNameOrder))
	}
	if len(c.FullNameDelimiter) > 5 {
		errs = append(errs, fmt.Errorf("fullname_delimiter %q: at most 5 characters", c.FullNameDelimiter))
	}
	for name, v := range map[string]string{"message_data_keys": c.MessageDataKeys, "extension_data_keys": c.ExtensionDataKeys, "agent_data_keys": c.AgentDataKeys} {
		if _, err := KeyList(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := c.collectedDigitsStored(c.MessageDataKeys, c.DTMF); err != nil {
		errs = append(errs, fmt.Errorf("message_data_keys: %w", err))
	}
	if _, err := KeyList(c.UserDataKeys); err != nil {
		errs = append(errs, fmt.Errorf("user_data_keys: %w", err))
	}
	if _, err := rules.Compile(c.Rules); err != nil {
		errs = append(errs, err)
	}
	if c.PrerecordGrace <= 0 {
		errs = append(errs, fmt.Errorf("prerecord_grace %v: must be positive", c.PrerecordGrace))
	}
	if c.ConfigReload <= 0 {
		errs = append(errs, fmt.Errorf("config_reload %v: must be positive", c.ConfigReload))
	}
	if c.TenantsOnly && len(c.Tenants) == 0 {
		errs = append(errs, errors.New("tenants_only: list the tenants to monitor under tenants:"))
	}
	seen := map[string]bool{}
	for i, t := range c.Tenants {
		place := fmt.Sprintf("tenants[%d] (%s)", i, t.Name)
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("tenants[%d]: name is required", i))
		}
		if seen[strings.ToLower(t.Name)] {
			errs = append(errs, fmt.Errorf("%s: listed twice", place))
		}
		seen[strings.ToLower(t.Name)] = true
		if _, err := dnfilter.Parse(t.DNInclude, t.DNExclude); err != nil {
			errs = append(errs, fmt.Errorf("%s: dn_include/dn_exclude: %w", place, err))
		}
		for k := range t.Notify.Values {
			if !okValue(k) {
				errs = append(errs, fmt.Errorf("%s: notify.values: unknown %q (want %s)", place, k, strings.Join(NotifyValueNames, ", ")))
			}
		}
		for name, v := range map[string]string{"user_data_keys": t.UserDataKeys, "message_data_keys": t.MessageDataKeys, "extension_data_keys": t.ExtensionDataKeys, "agent_data_keys": t.AgentDataKeys} {
			if _, err := KeyList(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", place, name, err))
			}
		}
		switch t.FullNameOrder {
		case "", "first_last", "last_first":
		default:
			errs = append(errs, fmt.Errorf("%s: fullname_order %q: want first_last or last_first", place, t.FullNameOrder))
		}
		if len(t.FullNameDelimiter) > 5 {
			errs = append(errs, fmt.Errorf("%s: fullname_delimiter %q: at most 5 characters", place, t.FullNameDelimiter))
		}
		switch t.RecordGeo {
		case "", "none", "source", "destination":
		default:
			errs = append(errs, fmt.Errorf("%s: record_geo %q: want none, source or destination", place, t.RecordGeo))
		}
		if err := c.collectedDigitsStored(firstNonEmpty(t.MessageDataKeys, c.MessageDataKeys), c.TenantDTMF(t.Name)); err != nil {
			errs = append(errs, fmt.Errorf("%s: message_data_keys: %w", place, err))
		}
		if !validDTMF(t.DTMF) {
			errs = append(errs, fmt.Errorf("%s: dtmf %q: want mask, mask-and-drop-events or keep", place, t.DTMF))
		}
		if t.MediaFormat != "" || t.MediaBitrate != 0 {
			f, kbps := c.TenantMediaFormat(t.Name)
			if err := validMediaFormat(f, kbps, c.Encryption.Enabled); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", place, err))
			}
		}
	}
	if c.ConfigFile != "" && c.ConfigURL != "" {
		errs = append(errs, errors.New("config_file and config_url: set one, not both"))
	}
	if c.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("max_body %d: must be at least 1024", c.MaxBody))
	}
	return errors.Join(errs...)
}

// collectedDigitsStored refuses keeping AttributeCollectedDigits (digits
// an IVR collected: card numbers, PINs) as recording data while key tones
// are masked: the digits would be at rest beside the masked audio.
func (c Serve) collectedDigitsStored(keys, dtmf string) error {
	list, _ := KeyList(keys)
	for _, k := range list {
		if strings.EqualFold(k.From, "CollectedDigits") && dtmf != "keep" {
			return errors.New("CollectedDigits stores digits an IVR collected (card numbers, PINs); with dtmf: mask they are never stored (set dtmf: keep to store them)")
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// validate checks the shape of the encryption section; the key files are
// read (and their errors reported) when the server starts.
func (e Encryption) validate() []error {
	var errs []error
	hasRecipients := e.EncryptTo != "" || len(e.Tenants) > 0
	if e.Enabled && !hasRecipients {
		errs = append(errs, errors.New("encryption.enabled: name the recipients new recordings are encrypted to (encrypt_to / --encrypt-to, or encryption.tenants)"))
	}
	if !e.Enabled && hasRecipients {
		errs = append(errs, errors.New("encryption: encrypt_to or tenants is set but enabled is false: set enabled: true to encrypt new recordings (or remove the recipients)"))
	}
	for t, f := range e.Tenants {
		if t == "" || f == "" {
			errs = append(errs, fmt.Errorf("encryption.tenants: %q: want tenant name: recipients file", t))
		}
	}
	return errs
}

// compressedInS3 refuses media_format mp3/opus (deployment or tenant)
// with media in S3: the uploader would race the compression of a finished
// WAV, and replay from the bucket reads WAV only. Not supported together
// yet.
func compressedInS3(c Serve) error {
	if kind, _, _, _, err := c.MediaLocation(); err != nil || kind != MediaS3 {
		return nil
	}
	formats := []string{c.MediaFormat}
	for _, t := range c.Tenants {
		formats = append(formats, t.MediaFormat)
	}
	for _, f := range formats {
		if f := strings.ToLower(f); f == "mp3" || f == "opus" {
			return fmt.Errorf("media_format %s with media: s3://...: not supported together yet (recordings in S3 are kept as WAV); use media_format wav, or media: file:DIR", f)
		}
	}
	return nil
}

// validMediaFormat checks a media_format and its media_bitrate.
func validMediaFormat(format string, kbps int, encrypted bool) error {
	switch strings.ToLower(format) {
	case "wav", "":
		if kbps != 0 {
			return fmt.Errorf("media_bitrate %d: media_format wav has no bitrate", kbps)
		}
		return nil
	case "mp3":
		if kbps != 0 && kbps != 8 && kbps != 16 && kbps != 32 {
			return fmt.Errorf("media_bitrate %d: mp3 is stored at 8 (mono), 16 or 32 kbit/s (0 = default)", kbps)
		}
	case "opus":
		if kbps != 0 && (kbps < 16 || kbps > 32) {
			return fmt.Errorf("media_bitrate %d: opus is stored at 16-32 kbit/s (0 = default 24)", kbps)
		}
	default:
		return fmt.Errorf("media_format %q: want wav, mp3 or opus", format)
	}
	if encrypted {
		return fmt.Errorf("media_format %s with encryption at rest: not supported (the compressed file would be written in clear); use wav", format)
	}
	return nil
}

// TenantMediaFormat returns the media_format and media_bitrate of the
// tenant named name: its own where set, else the defaults. A tenant
// that names its own format without a bitrate gets that format's default.
func (c Serve) TenantMediaFormat(name string) (string, int) {
	for _, t := range c.Tenants {
		if !strings.EqualFold(t.Name, name) || (t.MediaFormat == "" && t.MediaBitrate == 0) {
			continue
		}
		if t.MediaFormat == "" {
			return c.MediaFormat, t.MediaBitrate
		}
		return t.MediaFormat, t.MediaBitrate
	}
	return c.MediaFormat, c.MediaBitrate
}

// validDTMF reports whether s is a dtmf setting ("" = unset).
func validDTMF(s string) bool {
	switch s {
	case "", "keep", "mask", "mask-and-drop-events":
		return true
	}
	return false
}

// TenantScreen reports whether the tenant named name's recordings ask for
// screen recording: its own screen setting, else the default.
func (c Serve) TenantScreen(name string) bool {
	for _, t := range c.Tenants {
		if t.Screen != nil && name != "" && strings.EqualFold(t.Name, name) {
			return *t.Screen
		}
	}
	return c.Screen
}

// TenantScreenNotifyKey is the video notification key of the tenant named
// name ("" = none).
func (c Serve) TenantScreenNotifyKey(name string) string {
	for _, t := range c.Tenants {
		if t.ScreenNotifyKey != "" && name != "" && strings.EqualFold(t.Name, name) {
			if strings.EqualFold(t.ScreenNotifyKey, "off") {
				return ""
			}
			return t.ScreenNotifyKey
		}
	}
	return c.ScreenNotifyKey
}

// TenantDTMF returns the dtmf setting of the tenant named name: its own,
// else the default.
func (c Serve) TenantDTMF(name string) string {
	for _, t := range c.Tenants {
		if t.DTMF != "" && strings.EqualFold(t.Name, name) {
			return t.DTMF
		}
	}
	return c.DTMF
}

// PortRange parses RTPPorts.
func (c Serve) PortRange() (low, high int, err error) {
	lo, hi, ok := strings.Cut(c.RTPPorts, "-")
	if ok {
		low, err = strconv.Atoi(strings.TrimSpace(lo))
		if err == nil {
			high, err = strconv.Atoi(strings.TrimSpace(hi))
		}
	}
	if !ok || err != nil || low < 1024 || high > 65535 || high-low < 1 {
		return 0, 0, fmt.Errorf("rtp_ports %q: want LOW-HIGH within 1024-65535 with room for one even/odd pair", c.RTPPorts)
	}
	return low, high, nil
}

// Values of Serve.GIM.
const (
	GIMLookup = "lookup"
	GIMOff    = "off"
)
