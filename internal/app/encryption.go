package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

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

// decryptKeysPointer, under KeysDir, holds the absolute path of the
// identities file serve was last started with (decrypt_keys), so that the
// command line on the same machine (`recordings export`, `verify --dtmf`)
// finds the keys without being told: the path only, never a key; reading
// the file still needs its permissions.
const decryptKeysPointer = "decrypt_keys.path"

// recordDecryptKeys writes (or, without decrypt_keys, removes) the pointer
// to the identities file in dataDir.
func recordDecryptKeys(dataDir, identities string) error {
	p := filepath.Join(dataDir, KeysDir, decryptKeysPointer)
	if identities == "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	abs, err := filepath.Abs(identities)
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(abs+"\n"), 0o600)
}

// DecryptKeysFile returns the identities file serve was last started with
// on dataDir ("" when none was configured).
func DecryptKeysFile(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, KeysDir, decryptKeysPointer))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// reloadEncryption reads the key files of the encryption section again
// (SIGHUP): new recordings use the new recipients, playback the new
// identities (list the new identity beside the old one while rotating). A
// file that does not load keeps the keys in force.
func (a *App) reloadEncryption() error {
	keys, err := loadEncryption(a.cfg.Encryption, a.log)
	if err != nil {
		return err
	}
	a.keys.Store(keys)
	a.rec.SetEncryption(keys)
	return nil
}
