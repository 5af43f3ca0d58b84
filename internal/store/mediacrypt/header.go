package mediacrypt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/hkdf"
)

// The age v1 header (https://c2sp.org/age#header), written here because age
// has no API to wrap a known file key to new recipients (rotation) and no
// way to reserve room in the header:
//
//	age-encryption.org/v1
//	-> X25519 <ephemeral share>        one stanza per recipient
//	<base64 wrapped file key>
//	-> openrec-pad AAAA…               padding stanza: fills the header slot
//	                                   (empty body line)
//	--- <base64 HMAC-SHA256>           MAC keyed by HKDF(file key, "header")
//
// Identities skip stanzas of other types, so the padding stanza keeps the
// file a standard age file that `age -d` decrypts.

const (
	intro      = "age-encryption.org/v1\n"
	padType    = "openrec-pad"
	padMin     = len("-> "+padType+" ") + 1 + 2 // one arg byte, "\n", empty body line "\n"
	fileKeyLen = 16
	nonceLen   = 16
	macLine    = len(" \n") + 43 // " " + base64(32 bytes, unpadded) + "\n"

	// DefaultHeaderSize is the header slot reserved at creation: room for
	// about 40 X25519 recipients or 2 post-quantum ones, so rotation can
	// rewrite the header in place.
	DefaultHeaderSize = 4096
	// maxHeaderSize bounds the slot a caller may ask for (age's limit is 2 MiB).
	maxHeaderSize = 1 << 20
)

var b64 = base64.RawStdEncoding.Strict()

// buildHeader wraps fileKey to recipients and returns the header padded to
// exactly size bytes (size 0: no padding).
func buildHeader(fileKey []byte, recipients []age.Recipient, size int) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%w: no recipients", ErrNoKeys)
	}
	var body bytes.Buffer
	body.WriteString(intro)
	var labels []string
	for i, r := range recipients {
		stanzas, l, err := wrap(r, fileKey)
		if err != nil {
			return nil, fmt.Errorf("mediacrypt: wrap the file key for recipient #%d: %w", i+1, err)
		}
		sort.Strings(l)
		if i == 0 {
			labels = l
		} else if !slices.Equal(labels, l) {
			return nil, fmt.Errorf("%w: recipient #%d cannot be mixed with #1 (labels %q vs %q: post-quantum and classic keys cannot share a file)",
				ErrIncompatibleRecipients, i+1, l, labels)
		}
		for _, s := range stanzas {
			if err := marshalStanza(&body, s); err != nil {
				return nil, err
			}
		}
	}
	if size > 0 {
		gap := size - body.Len() - len("---") - macLine
		if gap < padMin {
			return nil, fmt.Errorf("%w: %d bytes of stanzas, slot %d", ErrHeaderFull, body.Len(), size)
		}
		body.WriteString("-> " + padType + " " + strings.Repeat("A", gap-padMin+1) + "\n\n")
	}
	body.WriteString("---")
	mac := headerMAC(fileKey, body.Bytes())
	body.WriteString(" " + b64.EncodeToString(mac) + "\n")
	if size > 0 && body.Len() != size {
		return nil, fmt.Errorf("mediacrypt: internal error: header is %d bytes, want %d", body.Len(), size)
	}
	return body.Bytes(), nil
}

func wrap(r age.Recipient, fileKey []byte) ([]*age.Stanza, []string, error) {
	if rl, ok := r.(age.RecipientWithLabels); ok {
		return rl.WrapWithLabels(fileKey)
	}
	s, err := r.Wrap(fileKey)
	return s, nil, err
}

// marshalStanza writes s as age does: "-> type args", then the body in
// base64 lines of 64 columns, the last one shorter (possibly empty).
func marshalStanza(w *bytes.Buffer, s *age.Stanza) error {
	for _, a := range append([]string{s.Type}, s.Args...) {
		if !validArg(a) {
			return fmt.Errorf("mediacrypt: invalid stanza argument %q", a)
		}
	}
	w.WriteString("-> " + strings.Join(append([]string{s.Type}, s.Args...), " ") + "\n")
	enc := b64.EncodeToString(s.Body)
	for len(enc) >= 64 {
		w.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	w.WriteString(enc + "\n")
	return nil
}

func validArg(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// headerMAC is HMAC-SHA256 keyed by HKDF-SHA256(file key, info "header")
// over the header up to and including "---".
func headerMAC(fileKey, hdr []byte) []byte {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, fileKey, nil, []byte("header")), key); err != nil {
		panic("mediacrypt: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	h := hmac.New(sha256.New, key)
	h.Write(hdr)
	return h.Sum(nil)
}

// payloadKey is age's payload key: HKDF-SHA256(file key, salt nonce, info "payload").
func payloadKey(fileKey, nonce []byte) []byte {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, fileKey, nonce, []byte("payload")), key); err != nil {
		panic("mediacrypt: hkdf: " + err.Error())
	}
	return key
}

// readHeader parses the age header at the start of src (size bytes) and
// returns its bytes. It needs no key.
func readHeader(src io.ReaderAt, size int64) ([]byte, error) {
	hdr, err := age.ExtractHeader(io.NewSectionReader(src, 0, min(size, 2<<20)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	// age re-marshals the parsed header; its parser is canonical, so the
	// bytes equal those in the file (age's DecryptReaderAt relies on the
	// same). Check anyway: the payload offset depends on it.
	got := make([]byte, len(hdr))
	if _, err := src.ReadAt(got, 0); err != nil || !bytes.Equal(got, hdr) {
		return nil, fmt.Errorf("%w: header is not in canonical form", ErrHeader)
	}
	return hdr, nil
}

// unwrapKey returns the file key of hdr for the first matching identity.
func unwrapKey(hdr []byte, identities []age.Identity) ([]byte, error) {
	if len(identities) == 0 {
		return nil, fmt.Errorf("%w: no identities to decrypt with", ErrNoKeys)
	}
	key, err := age.DecryptHeader(hdr, identities...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("%w (%d identities tried, stanzas %v)", ErrWrongKey, len(identities), nm.StanzaTypes)
		}
		if strings.Contains(err.Error(), "header MAC") {
			return nil, fmt.Errorf("%w: header MAC does not match", ErrCorrupt)
		}
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	return key, nil
}

// Encrypted reports whether src starts like an age file, so a store that
// holds both (encryption turned on later) knows which reader a recording
// needs. It reads 22 bytes and needs no key.
func Encrypted(src io.ReaderAt) bool {
	b := make([]byte, len(intro))
	n, _ := src.ReadAt(b, 0)
	return n == len(b) && string(b) == intro
}
