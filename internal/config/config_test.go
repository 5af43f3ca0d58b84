package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, file string, args ...string) (Serve, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs)
	if file != "" {
		p := filepath.Join(t.TempDir(), "openrec.yaml")
		if err := os.WriteFile(p, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", p}, args...)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs)
}

func TestDefaultsNeedNoConfiguration(t *testing.T) {
	c, err := load(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Defaults()) {
		t.Errorf("load with nothing = %+v, want defaults", c)
	}
	if c.SIPListen != "0.0.0.0:5060" || c.HTTPListen != "0.0.0.0:8080" || c.DataDir != "./openrec-data" {
		t.Errorf("defaults changed: %+v", c)
	}
}

func TestFileThenFlags(t *testing.T) {
	file := "sip_listen: 127.0.0.1:5070\nmax_calls: 42\nmedia_timeout: 45s\nstorage_format: alaw\nrtp_ports: 30000-30999\n"
	c, err := load(t, file, "--max-calls", "7")
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPListen != "127.0.0.1:5070" || c.MediaTimeout != 45*time.Second || c.StorageFormat != "alaw" || c.RTPPorts != "30000-30999" {
		t.Errorf("file values not applied: %+v", c)
	}
	if c.MaxCalls != 7 {
		t.Errorf("flag did not win over file: max_calls = %d", c.MaxCalls)
	}
}

func TestEveryFlagIsAConfigKey(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" {
			return
		}
		if _, ok := flagKeys[f.Name]; !ok {
			t.Errorf("flag --%s has no config key", f.Name)
		}
	})
}

func TestInvalidSettingsAreExplained(t *testing.T) {
	tests := []struct {
		file string
		args []string
		want string
	}{
		{"", []string{"--rtp-ports", "5000"}, "rtp_ports"},
		{"", []string{"--rtp-ports", "40000-40000"}, "rtp_ports"},
		{"", []string{"--max-calls", "0"}, "max_calls"},
		{"", []string{"--storage-format", "mp3"}, "storage_format"},
		{"", []string{"--sip-listen", "nonsense"}, "sip_listen"},
		{"", []string{"--media-timeout", "0s"}, "media_timeout"},
		{"", []string{"--session-min-se", "30s"}, "session_min_se"},
		{"", []string{"--rtp-ip", "not-an-ip"}, "rtp_ip"},
		{"", []string{"--sip-max-media-lines", "0"}, "sip_max_media_lines"},
		{"", []string{"--sip-ack-timeout", "0s"}, "sip_ack_timeout"},
		{"", []string{"--sip-tcp-max-conns", "-1"}, "sip_tcp_max_conns"},
		{"", []string{"--srtp", "on"}, "srtp"},
		{"srtp: mandatory\n", nil, "srtp"},
		{"", []string{"--dtmf", "hide"}, "dtmf"},
		{"", []string{"--pci-pause-dns", "/[/"}, "pci_pause_dns"},
		{"", []string{"--pci-pause-key", "PCI, CVV"}, "pci_pause_key"},
		{"", []string{"--gim", "on"}, "gim"},
		{"", []string{"--message-data-keys", "ANI,CollectedDigits"}, "message_data_keys: CollectedDigits"},
		{"tenants:\n  - name: Bank\n    message_data_keys: collecteddigits\n", nil, "tenants[0] (Bank): message_data_keys"},
		{"dtmf: \"\"\n", nil, "dtmf"},
		{"tenants:\n  - name: Bank\n    dtmf: masked\n", nil, "tenants[0] (Bank): dtmf"},
		{"max_callz: 5\n", nil, `unknown key "max_callz"`},
		// One network under two keys: the tenant of a source (its dtmf,
		// encryption, retention) would be chance.
		{"source_tenants: {10.1.0.0/16: A, 10.1.2.0/16: B}\n", nil, `source_tenants: "10.1.0.0/16" and "10.1.2.0/16" are the same network 10.1.0.0/16`},
		{"max_calls: [1,2\n", nil, "read"},
		{"", []string{"--store", "mysql://db/openrec"}, "store: want sqlite:PATH, postgres://... or postgresql://..."},
		{"store: /var/lib/openrec/openrec.db\n", nil, "store: want sqlite:PATH"},
	}
	for _, tt := range tests {
		_, err := load(t, tt.file, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q %v: err = %v, want mention of %q", tt.file, tt.args, err, tt.want)
		}
	}
}

func TestCTIServers(t *testing.T) {
	file := "cti_servers:\n  - name: SIPS1\n    switch: SW1\n    primary: 10.0.0.1:3000\n    backup: 10.0.0.2:3000\ndn_include: 3000-3999\n"
	c, err := load(t, file, "--cti", "127.0.0.1:7000", "--cti-switch", "SW2")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Servers()
	want := []CTIServer{{Name: "SIPS1", Switch: "SW1", Primary: "10.0.0.1:3000", Backup: "10.0.0.2:3000"}, {Name: "SW2", Switch: "SW2", Primary: "127.0.0.1:7000"}}
	if !reflect.DeepEqual(got, want) || c.DNInclude != "3000-3999" {
		t.Errorf("servers = %+v include=%q", got, c.DNInclude)
	}
	if _, err := load(t, "", "--cti", "nohostport"); err == nil || !strings.Contains(err.Error(), "cti server") {
		t.Errorf("bad --cti accepted: %v", err)
	}
}

// cti_tls and cti_tls_ca apply to every server; tls: true, tls_ca and
// tls_server_name to one; a CA or name without TLS is refused.
func TestCTITLS(t *testing.T) {
	file := "cti_servers:\n  - {name: A, switch: SW1, primary: 10.0.0.1:3000, tls: true, tls_ca: a.pem, tls_server_name: sip-a}\n" +
		"  - {name: B, switch: SW2, primary: 10.0.0.2:3000}\n"
	c, err := load(t, file)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Servers()
	if !got[0].TLS || got[0].TLSCA != "a.pem" || got[0].TLSServerName != "sip-a" || got[1].TLS {
		t.Errorf("servers = %+v", got)
	}
	c, err = load(t, file, "--cti-tls", "--cti-tls-ca", "all.pem", "--cti", "127.0.0.1:7000", "--cti-switch", "SW3")
	if err != nil {
		t.Fatal(err)
	}
	got = c.Servers()
	if !got[0].TLS || got[0].TLSCA != "a.pem" || !got[1].TLS || got[1].TLSCA != "all.pem" || !got[2].TLS || got[2].TLSCA != "all.pem" {
		t.Errorf("servers with cti_tls = %+v", got)
	}
	for _, bad := range []struct{ file, flag string }{
		{"", "--cti-tls-ca=x.pem"},
		{"cti_servers:\n  - {name: A, switch: SW1, primary: 10.0.0.1:3000, tls_ca: a.pem}\n", ""},
	} {
		args := []string{}
		if bad.flag != "" {
			args = append(args, bad.flag)
		}
		if _, err := load(t, bad.file, args...); err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("%q %q accepted: %v", bad.file, bad.flag, err)
		}
	}
}

func TestNotifySettingsFromFile(t *testing.T) {
	file := "notify_values: {yes: REC_ON}\nnotify_tenants:\n  Acme: {enabled: false, values: {no: REC_OFF}}\ndetect_leg_timeout: 8s\n"
	c, err := load(t, file)
	if err != nil {
		t.Fatal(err)
	}
	if c.NotifyValues["yes"] != "REC_ON" || c.NotifyTenants["Acme"].Values["no"] != "REC_OFF" || c.NotifyTenants["Acme"].Enabled == nil ||
		*c.NotifyTenants["Acme"].Enabled || c.DetectLegTimeout != 8*time.Second {
		t.Errorf("notify settings = %+v %+v %v", c.NotifyValues, c.NotifyTenants, c.DetectLegTimeout)
	}
	if _, err := load(t, "notify_values: {maybe: X}\n"); err == nil {
		t.Error("unknown notification value name accepted")
	}
}

func TestRulesAndTenantsFromFile(t *testing.T) {
	file := `
rules:
  groups:                      # first group has the highest priority (Admin)
    - name: Admin
      rules:
        - {name: no-ivr, action: do_not_record, mask: "7*"}
    - name: Sales
      rules:
        - {name: sales-out, action: record, mask: "20??>"}
        - {name: vip, action: prerecord, mask: "*", userdata: {Segment: "VIP*"}}
prerecord_grace: 2m
tenants_only: true
tenants:
  - name: Acme
    client_name: rec-acme
    password: secret
    dn_include: 5000-5999
    notify: {key: ACME_REC, values: {yes: ON_AIR}}
    record_dest: sip:acme@rec
  - name: Globex
`
	c, err := load(t, file)
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Rules.Groups; len(g) != 2 || g[0].Name != "Admin" || len(g[1].Rules) != 2 || g[1].Rules[1].UserData["Segment"] != "VIP*" || g[0].Rules[0].Action != "do_not_record" {
		t.Errorf("rules = %+v", c.Rules)
	}
	if !c.TenantsOnly || len(c.Tenants) != 2 || c.Tenants[0].ClientName != "rec-acme" || c.Tenants[0].Notify.Values["yes"] != "ON_AIR" ||
		c.Tenants[0].RecordDest != "sip:acme@rec" || !c.Tenants[0].Overrides() || c.Tenants[1].Overrides() || c.PrerecordGrace != 2*time.Minute {
		t.Errorf("tenants = %+v grace %v", c.Tenants, c.PrerecordGrace)
	}
	for _, bad := range []string{
		"rules: {groups: [{name: A, rules: [{name: x, action: maybe, mask: '1'}]}]}\n",
		"rules: {groups: [{name: A, rules: [{name: x, action: record, mask: '20?>>'}]}]}\n",
		"tenants_only: true\n",
		"tenants: [{name: A, dn_include: '/[/'}]\n",
		"tenants: [{name: A}, {name: a}]\n",
	} {
		if _, err := load(t, bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestHostileInputSettings(t *testing.T) {
	c, err := load(t, "sip_max_media_lines: 4\nsip_tcp_idle_timeout: 30s\nsip_tcp_max_conns: 100\n", "--sip-tcp-max-conns-per-source", "10", "--sip-ack-timeout", "5s")
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPMaxMediaLines != 4 || c.SIPTCPIdleTimeout != 30*time.Second || c.SIPTCPMaxConns != 100 ||
		c.SIPTCPMaxConnsPerSource != 10 || c.SIPAckTimeout != 5*time.Second {
		t.Errorf("hostile-input settings not applied: %+v", c)
	}
	d := Defaults()
	if d.SIPMaxMediaLines != 16 || d.SIPAckTimeout != 32*time.Second || d.SIPTCPIdleTimeout != 2*time.Minute {
		t.Errorf("defaults: %d m-lines, ack %v, idle %v", d.SIPMaxMediaLines, d.SIPAckTimeout, d.SIPTCPIdleTimeout)
	}
}

func TestSecuritySettingsFromFile(t *testing.T) {
	file := "retention_period: 2160h\ntenant_retention: {Acme: 8760h, Short: 168h}\nmetrics_token: s3cret\n"
	c, err := load(t, file, "--retention-period", "720h")
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionPeriod != 720*time.Hour || c.TenantRetention["Acme"] != 8760*time.Hour || c.TenantRetention["Short"] != 168*time.Hour || c.MetricsToken != "s3cret" {
		t.Errorf("settings = %v %v %q", c.RetentionPeriod, c.TenantRetention, c.MetricsToken)
	}
	for _, bad := range []string{"retention_period: -1h\n", "tenant_retention: {Acme: -5h}\n", "tenant_retention: {Acme: soon}\n",
		"metrics_token: a\nmetrics_token_file: b\n", "http_tls: true\n", "tls_cert: x\n"} {
		if _, err := load(t, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSRTPSetting(t *testing.T) {
	if d := Defaults(); d.SRTP != "optional" {
		t.Errorf("default srtp %q, want optional", d.SRTP)
	}
	c, err := load(t, "srtp: required\n")
	if err != nil || c.SRTP != "required" {
		t.Fatalf("file: %q %v", c.SRTP, err)
	}
	c, err = load(t, "srtp: required\n", "--srtp", "off")
	if err != nil || c.SRTP != "off" {
		t.Fatalf("flag over file: %q %v", c.SRTP, err)
	}
}

func TestDTMFSetting(t *testing.T) {
	if d := Defaults(); d.DTMF != "mask" {
		t.Errorf("default dtmf %q, want mask (PCI)", d.DTMF)
	}
	c, err := load(t, "dtmf: keep\ntenants:\n  - name: Bank\n    dtmf: mask-and-drop-events\n  - name: Sales\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"Bank": "mask-and-drop-events", "bank": "mask-and-drop-events", "Sales": "keep", "": "keep", "Other": "keep"} {
		if got := c.TenantDTMF(name); got != want {
			t.Errorf("TenantDTMF(%q) = %q, want %q", name, got, want)
		}
	}
	if !c.Tenants[0].Overrides() || c.Tenants[1].Overrides() {
		t.Errorf("Overrides: %v %v, want true false", c.Tenants[0].Overrides(), c.Tenants[1].Overrides())
	}
	c, err = load(t, "dtmf: keep\n", "--dtmf", "mask")
	if err != nil || c.DTMF != "mask" {
		t.Fatalf("flag over file: %q %v", c.DTMF, err)
	}
}

// CollectedDigits may be stored as recording data only with dtmf: keep
// (for the default or the tenant).
func TestCollectedDigitsNeedsDTMFKeep(t *testing.T) {
	if _, err := load(t, "dtmf: keep\nmessage_data_keys: ANI,CollectedDigits\n"); err != nil {
		t.Errorf("dtmf: keep: %v", err)
	}
	if _, err := load(t, "tenants:\n  - name: Lab\n    dtmf: keep\n    message_data_keys: CollectedDigits\n"); err != nil {
		t.Errorf("tenant with dtmf: keep: %v", err)
	}
	c, err := load(t, "pci_pause_dns: 7900-7999\npci_pause_key: PCI\n")
	if err != nil || c.PCIPauseDNs != "7900-7999" || c.PCIPauseKey != "PCI" {
		t.Errorf("pci settings: %+v %v", c.PCIPauseDNs, err)
	}
}

func TestEncryptionSetting(t *testing.T) {
	if d := Defaults(); d.Encryption.Enabled || d.Encryption.EncryptTo != "" {
		t.Errorf("default encryption %+v, want off", d.Encryption)
	}
	c, err := load(t, "", "--encrypt-to", "/k/r.txt", "--decrypt-keys", "/k/i.txt")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Encryption{Enabled: true, EncryptTo: "/k/r.txt", DecryptKeys: "/k/i.txt"}); !reflect.DeepEqual(c.Encryption, want) {
		t.Errorf("flags: %+v, want %+v", c.Encryption, want)
	}
	file := "encryption:\n  enabled: true\n  encrypt_to: /k/all.txt\n  tenants:\n    Acme: /k/acme.txt\n  decrypt_keys: /k/i.txt\n"
	c, err = load(t, file, "--encrypt-to", "/k/flag.txt")
	if err != nil {
		t.Fatal(err)
	}
	if c.Encryption.EncryptTo != "/k/flag.txt" || c.Encryption.Tenants["Acme"] != "/k/acme.txt" || c.Encryption.DecryptKeys != "/k/i.txt" || !c.Encryption.Enabled {
		t.Errorf("file then flag: %+v", c.Encryption)
	}
	// decrypt_keys alone: play back what was encrypted, encrypt nothing new.
	c, err = load(t, "", "--decrypt-keys", "/k/i.txt")
	if err != nil || c.Encryption.Enabled {
		t.Errorf("decrypt_keys alone: %+v %v", c.Encryption, err)
	}
	for _, bad := range []struct{ file, want string }{
		{"encryption:\n  enabled: true\n", "encryption.enabled: name the recipients"},
		{"encryption:\n  encrypt_to: /k/r.txt\n", "enabled is false"},
		{"encryption:\n  enabled: false\n  tenants: {Acme: /k/a.txt}\n", "enabled is false"},
		{"encryption:\n  enable: true\n", `unknown key "encryption.enable"`},
	} {
		if _, err := load(t, bad.file); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err %v, want %q", bad.file, err, bad.want)
		}
	}
}

// media_format and media_bitrate (issue 17): the deployment's, a
// tenant's own, and clear errors for what cannot be stored.
func TestMediaFormatSetting(t *testing.T) {
	if d := Defaults(); d.MediaFormat != "wav" || d.MediaBitrate != 0 {
		t.Errorf("default media_format %q %d, want wav 0", d.MediaFormat, d.MediaBitrate)
	}
	c, err := load(t, "media_format: mp3\nmedia_bitrate: 32\ntenants:\n  - name: Bank\n    media_format: opus\n  - name: Sales\n    media_bitrate: 16\n  - name: Ops\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		f    string
		kbps int
	}{"Bank": {"opus", 0}, "Sales": {"mp3", 16}, "Ops": {"mp3", 32}, "": {"mp3", 32}} {
		if f, kbps := c.TenantMediaFormat(name); f != want.f || kbps != want.kbps {
			t.Errorf("TenantMediaFormat(%q) = %s %d, want %s %d", name, f, kbps, want.f, want.kbps)
		}
	}
	if !c.Tenants[0].Overrides() || c.Tenants[2].Overrides() {
		t.Error("Overrides: a tenant's media_format is an override")
	}
	if c, err = load(t, "", "--media-format", "opus", "--media-bitrate", "20"); err != nil || c.MediaFormat != "opus" || c.MediaBitrate != 20 {
		t.Fatalf("flags: %q %d %v", c.MediaFormat, c.MediaBitrate, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"media_format: flac\n", `media_format "flac": want wav, mp3 or opus`},
		{"media_format: mp3\nmedia_bitrate: 24\n", "media_bitrate 24: mp3 is stored at 8 (mono), 16 or 32"},
		{"media_format: opus\nmedia_bitrate: 64\n", "media_bitrate 64: opus is stored at 16-32"},
		{"media_bitrate: 16\n", "media_format wav has no bitrate"},
		{"tenants:\n  - name: Bank\n    media_format: aac\n", `media_format "aac"`},
		{"encryption:\n  enabled: true\n  encrypt_to: /nonexistent\ntenants:\n  - name: Bank\n    media_format: mp3\n", "media_format mp3 with encryption at rest: not supported"},
		{"media: s3://rec/site\ns3_endpoint: http://127.0.0.1:7070\nmedia_format: opus\n", "media_format opus with media: s3://...: not supported together yet"},
		{"media: s3://rec/site\ns3_endpoint: http://127.0.0.1:7070\ntenants:\n  - name: Bank\n    media_format: MP3\n", "media_format mp3 with media: s3://...: not supported together yet"},
	} {
		if _, err := load(t, tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.file, err, tc.want)
		}
	}
}
