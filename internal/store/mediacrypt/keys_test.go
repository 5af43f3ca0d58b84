package mediacrypt_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/store/mediacrypt"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseRecipientsFile(t *testing.T) {
	dir := t.TempDir()
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	pqRecipient := pq.Recipient().String()
	for _, tc := range []struct {
		name, body string
		n          int
		err        string // substring; "" = ok
	}{
		{"two keys, comments, blanks", "# tenant acme\n" + recipientA + "\n\n  " + recipientB + "  \n", 2, ""},
		{"empty", "", 0, "no recipients"},
		{"only comments", "# nothing\n\n", 0, "no recipients"},
		{"garbage on line 3", recipientA + "\n# x\nhello\n", 0, ":3: not an age recipient"},
		{"bad checksum", "age1yfqmfms8rn5r8ylrsphexjha8fe5weyxakz6utf3gcj780w2kylsjdwx7y\n", 0, ":1: not an age recipient"},
		{"private key", "\n" + identityA + "\n", 0, ":2: a private key (identity), not a recipient"},
		{"post-quantum and classic mixed", recipientA + "\n" + pqRecipient + "\n", 0, "post-quantum and classic"},
		{"ssh key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n", 0, ":1: not an age recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := mediacrypt.ParseRecipientsFile(writeFile(t, dir, "r.txt", tc.body))
			if tc.err == "" {
				if err != nil || len(rs) != tc.n {
					t.Fatalf("%d recipients, %v; want %d", len(rs), err, tc.n)
				}
				return
			}
			if !errors.Is(err, mediacrypt.ErrKeyFile) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want ErrKeyFile with %q", err, tc.err)
			}
			if strings.Contains(err.Error(), identityA) {
				t.Fatal("the error repeats a private key")
			}
		})
	}
	if _, err := mediacrypt.ParseRecipientsFile(filepath.Join(dir, "missing")); !errors.Is(err, mediacrypt.ErrKeyFile) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestParseIdentitiesFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		n          int
		err        string
	}{
		{"age-keygen output", "# created: 2026-12-07T06:00:00Z\n# public key: " + recipientA + "\n" + identityA + "\n" + identityB + "\n", 2, ""},
		{"empty", "\n", 0, "no identities"},
		{"public key", identityA + "\n" + recipientB + "\n", 0, ":2: a public key (recipient), not an identity"},
		{"damaged key", "AGE-SECRET-KEY-1LS8PX4ZKN323W6M0S8TJJ8NAA7XXYNC4R5RKA7MP6NHPAQW4C72SHEF3K8\n", 0, ":1: not an age identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := mediacrypt.ParseIdentitiesFile(writeFile(t, dir, "k.txt", tc.body))
			if tc.err == "" {
				if err != nil || len(ids) != tc.n {
					t.Fatalf("%d identities, %v; want %d", len(ids), err, tc.n)
				}
				return
			}
			if !errors.Is(err, mediacrypt.ErrKeyFile) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want ErrKeyFile with %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "AGE-SECRET-KEY-1LS8") {
				t.Fatal("the error repeats a private key")
			}
		})
	}
}

func TestConfigLoad(t *testing.T) {
	dir := t.TempDir()
	all := writeFile(t, dir, "all.txt", recipientA+"\n")
	acme := writeFile(t, dir, "acme.txt", recipientB+"\n")
	keys := writeFile(t, dir, "keys.txt", identityA+"\n")
	bad := writeFile(t, dir, "bad.txt", "nope\n")

	if k, err := (mediacrypt.Config{EncryptTo: bad}).Load(); k != nil || err != nil {
		t.Fatalf("disabled: %v, %v", k, err)
	}
	if _, err := (mediacrypt.Config{Enabled: true}).Load(); !errors.Is(err, mediacrypt.ErrKeyFile) {
		t.Fatalf("enabled without recipients: %v", err)
	}
	if _, err := (mediacrypt.Config{Enabled: true, Tenants: map[string]string{"acme": bad}}).Load(); err == nil || !strings.Contains(err.Error(), `tenant "acme"`) {
		t.Fatalf("bad tenant file: %v", err)
	}
	k, err := mediacrypt.Config{Enabled: true, EncryptTo: all, Tenants: map[string]string{"acme": acme}, DecryptKeys: keys}.Load()
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{"acme": recipientB, "other": recipientA, "": recipientA} {
		rs, err := k.Recipients(tenant)
		if err != nil || len(rs) != 1 || rs[0].(interface{ String() string }).String() != want {
			t.Errorf("tenant %q: %v, %v", tenant, rs, err)
		}
	}
	if len(k.Identities()) != 1 {
		t.Errorf("identities: %d", len(k.Identities()))
	}
	k, err = mediacrypt.Config{Enabled: true, Tenants: map[string]string{"acme": acme}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Recipients("other"); !errors.Is(err, mediacrypt.ErrNoKeys) {
		t.Fatalf("tenant without recipients: %v", err)
	}
}
