// Package seal makes finished recordings tamper-evident: at finalise a
// manifest (the recording's identity, times, parties and the sha256 of its
// media) is signed with the server's Ed25519 key and written beside the
// media file; Check proves later that the media, the manifest and the
// recording's row still agree, or names what changed.
package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// Errors.
var (
	ErrNoManifest = errors.New("seal: no manifest")
	ErrSignature  = errors.New("seal: manifest signature does not verify")
	ErrKey        = errors.New("seal: bad key file")
)

// Version of the manifest format.
const Version = 1

// Manifest is what is signed for one finished recording.
type Manifest struct {
	Version     int       `json:"version"`
	RecordingID string    `json:"recording_id"`
	CallUUID    string    `json:"call_uuid,omitempty"`
	RecordID    string    `json:"record_id,omitempty"`
	Mode        string    `json:"mode"`
	Status      string    `json:"status"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	DurationMS  int64     `json:"duration_ms"`
	Channels    int       `json:"channels"`
	Format      string    `json:"format"`
	Media       string    `json:"media"` // file name, beside the manifest
	SizeBytes   int64     `json:"size_bytes"`
	SHA256      string    `json:"sha256"`
	Parties     []Party   `json:"parties,omitempty"`
	Rule        string    `json:"rule,omitempty"` // GEN_REC_RULE when known at finalise
	SealedAt    time.Time `json:"sealed_at"`
	KeyID       string    `json:"key_id"`              // first 8 bytes of sha256(public key), hex
	Signature   string    `json:"signature,omitempty"` // base64 Ed25519 over the manifest without it
}

// Party is a party as recorded at finalise.
type Party struct {
	Channel int    `json:"channel"`
	Role    string `json:"role"`
	DN      string `json:"dn,omitempty"`
	AOR     string `json:"aor,omitempty"`
	Name    string `json:"name,omitempty"`
}

// New returns the (unsigned) manifest of a finished recording.
func New(r *store.Recording, sealedAt time.Time) Manifest {
	m := Manifest{
		Version: Version, RecordingID: r.ID, CallUUID: r.CallUUID, RecordID: r.RecordID, Mode: string(r.Mode),
		Status: string(r.Status), StartedAt: r.StartedAt.UTC(), EndedAt: r.EndedAt.UTC(), DurationMS: r.DurationMS,
		Channels: r.Channels, Format: r.Format, Media: filepath.Base(r.MediaPath), SizeBytes: r.SizeBytes,
		SHA256: r.SHA256, Rule: r.ExternalData["GEN_REC_RULE"], SealedAt: sealedAt.UTC(),
	}
	for _, p := range r.Parties {
		m.Parties = append(m.Parties, Party{Channel: p.Channel, Role: p.Role, DN: p.DN, AOR: p.AOR, Name: p.Name})
	}
	return m
}

// signed is the byte string a signature covers: the manifest's JSON
// without its signature.
func (m Manifest) signed() []byte {
	m.Signature = ""
	b, _ := json.Marshal(m) // only plain fields: cannot fail
	return b
}

// KeyID names a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign signs m with key.
func (m *Manifest) Sign(key ed25519.PrivateKey) {
	m.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, m.signed()))
}

// Verify checks m's signature with pub.
func (m Manifest) Verify(pub ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || m.KeyID != KeyID(pub) || !ed25519.Verify(pub, m.signed(), sig) {
		return ErrSignature
	}
	return nil
}

// Write writes m to path (mediastore.Manifest of the media) atomically,
// readable by the owner only.
func Write(path string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := mediastore.WriteFile(path, mediastore.Options{}, func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}

// Read reads the manifest at path.
func Read(path string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%w: %s", ErrNoManifest, path)
	}
	if err != nil {
		return m, fmt.Errorf("seal: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("seal: %s: %w", path, err)
	}
	return m, nil
}

// Key file names in the key directory.
const (
	PrivateKeyFile = "seal.key" // PKCS#8 PEM, 0600
	PublicKeyFile  = "seal.pub" // PKIX PEM
)

// LoadOrCreateKey returns the signing key in dir, creating it (and dir,
// 0700) the first time.
func LoadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, PrivateKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%w: %s: no PEM block", ErrKey, path)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKey, path, err)
		}
		key, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: %s: not an Ed25519 key", ErrKey, path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, PublicKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return key, nil
}

// LoadPublicKey reads the public key in dir (what a verifier needs; it may
// be copied away from the server and passed explicitly).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: %s: no PEM block", ErrKey, path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s: not an Ed25519 key", ErrKey, path)
	}
	return pub, nil
}

// HashFile returns the hex sha256 and size of the file at path.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Check proves that the finished recording r (its row), its media at
// mediaPath and its manifest beside the media agree and that the manifest
// is signed by pub. It returns what does not agree, in words; nil = intact.
// Only what the recorder alone writes is compared with the row (identity,
// times, format, size, hash); parties and rule stay in the signed manifest
// as evidence of what was known at finalise.
func Check(r *store.Recording, mediaPath string, pub ed25519.PublicKey) []string {
	var out []string
	sum, size, err := HashFile(mediaPath)
	switch {
	case err != nil:
		out = append(out, fmt.Sprintf("media %s unreadable: %v", mediaPath, err))
	case sum != r.SHA256:
		out = append(out, fmt.Sprintf("media %s changed: sha256 %s, the row says %s", filepath.Base(mediaPath), sum, r.SHA256))
	case size != r.SizeBytes:
		out = append(out, fmt.Sprintf("media %s: %d bytes, the row says %d", filepath.Base(mediaPath), size, r.SizeBytes))
	}
	m, err := Read(mediastore.Manifest(mediaPath))
	if err != nil {
		return append(out, err.Error())
	}
	if err := m.Verify(pub); err != nil {
		return append(out, fmt.Sprintf("manifest %s: %v (changed, or signed by another key)", filepath.Base(mediastore.Manifest(mediaPath)), err))
	}
	if sum != "" && m.SHA256 != sum {
		out = append(out, fmt.Sprintf("media differs from the signed manifest: sha256 %s, manifest %s", sum, m.SHA256))
	}
	for _, d := range []struct {
		what      string
		row, sign any
	}{
		{"recording id", r.ID, m.RecordingID},
		{"start", r.StartedAt.UTC(), m.StartedAt},
		{"end", r.EndedAt.UTC(), m.EndedAt},
		{"duration_ms", r.DurationMS, m.DurationMS},
		{"channels", r.Channels, m.Channels},
		{"format", r.Format, m.Format},
		{"size", r.SizeBytes, m.SizeBytes},
		{"sha256", r.SHA256, m.SHA256},
	} {
		if fmt.Sprint(d.row) != fmt.Sprint(d.sign) {
			out = append(out, fmt.Sprintf("row %s %v differs from the signed manifest's %v", d.what, d.row, d.sign))
		}
	}
	return out
}

// FingerprintKey is the secret the audit log's fingerprints are keyed with
// (store.Fingerprint), derived from the server's signing key: it lives
// where that key lives, and a copy of the database alone does not give it.
func FingerprintKey(key ed25519.PrivateKey) []byte {
	h := sha256.New()
	h.Write([]byte("openrec audit fingerprint key v1\x00"))
	h.Write(key.Seed())
	return h.Sum(nil)
}
