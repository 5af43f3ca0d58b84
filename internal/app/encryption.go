package app

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// loadEncryption reads the key files of the encryption section: recipients
// when new recordings are encrypted (enabled), identities when this
// process plays back (decrypt_keys, also with encryption off: recordings
// encrypted earlier stay playable). Nothing configured: nil keys.
func loadEncryption(e config.Encryption, log *slog.Logger) (*mediacrypt.Keys, error) {
	var (
		keys *mediacrypt.Keys
		err  error
	)
	switch {
	case e.Enabled:
		keys, err = mediacrypt.Config{Enabled: true, EncryptTo: e.EncryptTo, Tenants: e.Tenants, DecryptKeys: e.DecryptKeys}.Load()
	case e.DecryptKeys != "":
		keys, err = mediacrypt.IdentityKeys(e.DecryptKeys)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	if e.DecryptKeys != "" {
		if st, err := os.Stat(e.DecryptKeys); err == nil && st.Mode().Perm()&0o077 != 0 {
			log.Warn("decrypt_keys is readable by other accounts: chmod 600 it", "file", e.DecryptKeys, "mode", st.Mode().Perm().String())
		}
	}
	if e.Enabled && e.EncryptTo == "" {
		log.Warn("encryption: no encrypt_to: sessions of tenants not listed under encryption.tenants are refused (never recorded in clear)")
	}
	if e.Enabled && e.DecryptKeys == "" {
		log.Info("encryption: no decrypt_keys: recordings are encrypted but this server cannot play them back (409)")
	}
	return keys, nil
}
