// Package auth holds the credentials primitives of the REST API, the web UI
// and the CLI: bcrypt password hashing, random session / API tokens (only
// their sha256 is stored), user roles and user name rules.
//
// It does no I/O besides reading crypto/rand; users, sessions and the audit
// log are persisted by the store (store.User, store.Session).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password length limits: at least MinPasswordLength characters, at most
// MaxPasswordLength bytes (bcrypt reads at most 72 bytes, so a longer
// password is refused rather than silently truncated).
const (
	MinPasswordLength = 8
	MaxPasswordLength = 72
)

// Cost is the bcrypt cost of HashPassword. Tests may lower it
// (bcrypt.MinCost) to run faster.
var Cost = 10

// HashPassword returns the bcrypt hash of pw. A password of fewer than
// MinPasswordLength characters (the empty one included) is ErrWeakPassword, one longer than MaxPasswordLength
// ErrPasswordTooLong.
func HashPassword(pw string) (string, error) {
	if err := CheckPasswordPolicy(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), Cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// CheckPasswordPolicy reports whether pw is acceptable as a new password
// (ErrWeakPassword, ErrPasswordTooLong) without hashing it.
func CheckPasswordPolicy(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLength:
		return fmt.Errorf("%w: want at least %d characters", ErrWeakPassword, MinPasswordLength)
	case len(pw) > MaxPasswordLength:
		return fmt.Errorf("%w: at most %d bytes", ErrPasswordTooLong, MaxPasswordLength)
	}
	return nil
}

// CheckPassword reports whether pw matches hash (a HashPassword result).
// The comparison is bcrypt's, in constant time; a malformed hash or an
// empty one never matches, nor does a password longer than
// MaxPasswordLength (bcrypt would compare only its first 72 bytes).
func CheckPassword(hash, pw string) bool {
	if hash == "" || len(pw) > MaxPasswordLength {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// tokenBytes is the entropy of a token: 256 bits.
const tokenBytes = 32

// NewToken returns a new session or API token: 32 random bytes,
// base64url without padding (43 characters). Store HashToken(token), never
// the token itself.
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: new token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// WellFormedToken reports whether token has the shape NewToken gives (43
// base64url characters): anything else cannot be a session, and the API
// says "malformed" rather than "expired".
func WellFormedToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// HashToken returns the hex sha256 of token: what the store keeps and looks
// sessions up by. A token is random and long, so a plain hash (no salt, no
// stretching) is enough to make a stolen database useless for logging in.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomPasswordLength is the length of RandomPassword's result.
const randomPasswordLength = 16

// RandomPassword returns a new random password of 16 URL-safe characters
// ([A-Za-z0-9_-], 96 bits), e.g. for the demo's first admin.
func RandomPassword() (string, error) {
	b := make([]byte, randomPasswordLength*6/8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
