package mediacrypt

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"filippo.io/age"
)

// Config is the `encryption:` section of the serve configuration, a plain
// struct for the config package to embed. Off by default.
//
//	encryption:
//	  enabled: true
//	  encrypt_to: /etc/openrec/recipients.txt   # --encrypt-to: every tenant without its own
//	  tenants:                                  # tenant → recipients file
//	    acme: /etc/openrec/acme.recipients
//	  decrypt_keys: /etc/openrec/identities.txt # --decrypt-keys: where playback happens
type Config struct {
	Enabled     bool              `yaml:"enabled" json:"enabled"`
	EncryptTo   string            `yaml:"encrypt_to" json:"encrypt_to"`
	Tenants     map[string]string `yaml:"tenants" json:"tenants"`
	DecryptKeys string            `yaml:"decrypt_keys" json:"decrypt_keys"`
}

// Recipients are the age recipients a file is encrypted to (what
// Keys.Recipients returns and NewWriter takes), named here so that callers
// need not import age.
type Recipients = []age.Recipient

// Keys are the parsed key files of a Config.
type Keys struct {
	fallback   []age.Recipient
	tenants    map[string][]age.Recipient
	identities []age.Identity
}

// Load parses the files c names. A disabled Config loads to nil, nil.
// Enabled needs encrypt_to or at least one tenant; decrypt_keys is optional
// (a recorder that never plays back holds no private key).
func (c Config) Load() (*Keys, error) {
	if !c.Enabled {
		return nil, nil
	}
	if c.EncryptTo == "" && len(c.Tenants) == 0 {
		return nil, fmt.Errorf("%w: encryption is enabled but names no recipients (encrypt_to or tenants)", ErrKeyFile)
	}
	k := &Keys{tenants: map[string][]age.Recipient{}}
	var err error
	if c.EncryptTo != "" {
		if k.fallback, err = ParseRecipientsFile(c.EncryptTo); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(c.Tenants))
	for t := range c.Tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		rs, err := ParseRecipientsFile(c.Tenants[t])
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", t, err)
		}
		k.tenants[t] = rs
	}
	if c.DecryptKeys != "" {
		if k.identities, err = ParseIdentitiesFile(c.DecryptKeys); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Recipients returns the recipients of tenant's recordings: its own file,
// else encrypt_to. A tenant with neither is an error, never plaintext.
func (k *Keys) Recipients(tenant string) (Recipients, error) {
	if rs, ok := k.tenants[tenant]; ok {
		return rs, nil
	}
	if len(k.fallback) > 0 {
		return k.fallback, nil
	}
	return nil, fmt.Errorf("%w: no recipients for tenant %q and no encrypt_to", ErrNoKeys, tenant)
}

// Identities returns the identities of decrypt_keys (nil without one).
func (k *Keys) Identities() []age.Identity { return k.identities }

// ParseRecipientsFile reads age recipients (age1… public keys, X25519 or
// post-quantum age1pq1…), one per line; blank lines and lines starting
// with # are skipped. Errors name the file and line, never a key's text.
// The keys must be able to share a recording header: not post-quantum
// mixed with classic, and fitting DefaultHeaderSize (about 40 X25519 or 2
// post-quantum recipients).
func ParseRecipientsFile(path string) ([]age.Recipient, error) {
	var out []age.Recipient
	err := eachLine(path, "recipients", func(n int, line string) error {
		if strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			return fmt.Errorf("%w: %s:%d: a private key (identity), not a recipient: a recipients file holds public keys (age1…); keep the private key away from the recorder",
				ErrKeyFile, path, n)
		}
		rs, err := age.ParseRecipients(strings.NewReader(line))
		if err != nil {
			return fmt.Errorf("%w: %s:%d: not an age recipient (want age1…): %s", ErrKeyFile, path, n, strings.TrimPrefix(err.Error(), "error at line 1: "))
		}
		out = append(out, rs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// What every recording will do with them, once, at load: mixed
	// post-quantum and classic keys, or more than the header slot holds.
	if _, err := buildHeader(make([]byte, fileKeyLen), out, DefaultHeaderSize); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	return out, nil
}

// ParseIdentitiesFile reads age identities (AGE-SECRET-KEY-1… and
// AGE-SECRET-KEY-PQ-1…), one per line, as written by age-keygen; blank
// lines and # comments are skipped. Errors name the file and line.
func ParseIdentitiesFile(path string) ([]age.Identity, error) {
	var out []age.Identity
	err := eachLine(path, "identities", func(n int, line string) error {
		if strings.HasPrefix(line, "age1") {
			return fmt.Errorf("%w: %s:%d: a public key (recipient), not an identity: decrypt_keys holds private keys (AGE-SECRET-KEY-1…)", ErrKeyFile, path, n)
		}
		ids, err := age.ParseIdentities(strings.NewReader(line))
		if err != nil {
			return fmt.Errorf("%w: %s:%d: not an age identity (want AGE-SECRET-KEY-1…)", ErrKeyFile, path, n)
		}
		out = append(out, ids...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachLine calls fn for every non-blank, non-comment line of path.
func eachLine(path, what string, fn func(n int, line string) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %s file: %w", ErrKeyFile, what, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n, found := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s:%d: %w", ErrKeyFile, path, n+1, err)
	}
	if found == 0 {
		return fmt.Errorf("%w: %s: no %s (one per line)", ErrKeyFile, path, what)
	}
	return nil
}
