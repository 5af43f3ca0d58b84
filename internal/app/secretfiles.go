package app

import (
	"log/slog"
	"os"
	"slices"

	"github.com/openrec/openrec/internal/config"
)

// secretFile is a file the server reads a secret from.
type secretFile struct{ path, holds string }

// secretFiles lists the files cfg reads secrets from: the configuration
// file when it holds the metrics token or tenant passwords,
// metrics_token_file and the TLS private key.
func secretFiles(cfg config.Serve) []secretFile {
	var out []secretFile
	tenantPw := slices.ContainsFunc(cfg.Tenants, func(t config.Tenant) bool { return t.Password != "" })
	if cfg.Path != "" && (cfg.MetricsToken != "" || tenantPw) {
		out = append(out, secretFile{cfg.Path, "metrics_token or tenant passwords"})
	}
	if cfg.MetricsTokenFile != "" {
		out = append(out, secretFile{cfg.MetricsTokenFile, "the metrics token"})
	}
	if cfg.TLSKey != "" {
		out = append(out, secretFile{cfg.TLSKey, "the TLS private key"})
	}
	return out
}

// warnReadableSecrets warns about each secret file every local account
// can read: keeping a password off command lines is worth little if the
// file holding it is world-readable.
func warnReadableSecrets(cfg config.Serve, log *slog.Logger) {
	for _, f := range secretFiles(cfg) {
		fi, err := os.Stat(f.path)
		if err != nil || fi.Mode().Perm()&0o004 == 0 {
			continue
		}
		log.Warn("a file holding secrets is readable by every local account", "file", f.path, "holds", f.holds,
			"mode", fi.Mode().Perm().String(), "fix", "chmod o-rwx "+f.path)
	}
}
