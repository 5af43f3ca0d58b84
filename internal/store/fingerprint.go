package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint is what the audit log keeps of a personal value it must not
// hold (an erased customer's number, a name typed at a failed sign-in):
// HMAC-SHA256 of value keyed with a server secret, first 8 bytes in hex.
// The same value gives the same fingerprint under one key, so repeated
// attempts and a given party can be told apart by whoever holds the key;
// without it, trying every phone number of a numbering plan gets nowhere
// (as it would against a plain hash).
func Fingerprint(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil)[:8])
}
