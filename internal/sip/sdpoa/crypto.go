package sdpoa

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"
)

// SDES-SRTP (RFC 4568) crypto suites a recorder can decrypt, in no order of
// preference: the offerer's order decides (the first supported line wins).
const (
	SuiteAES128CMSHA1_80 = "AES_CM_128_HMAC_SHA1_80" // RFC 4568 §6.2.1
	SuiteAES128CMSHA1_32 = "AES_CM_128_HMAC_SHA1_32" // RFC 4568 §6.2.2
	SuiteAEADAES128GCM   = "AEAD_AES_128_GCM"        // RFC 7714 §12
	SuiteAEADAES256GCM   = "AEAD_AES_256_GCM"        // RFC 7714 §12
)

// suiteKeys gives the master key and master salt lengths of each supported
// suite in bytes.
var suiteKeys = map[string][2]int{
	SuiteAES128CMSHA1_80: {16, 14},
	SuiteAES128CMSHA1_32: {16, 14},
	SuiteAEADAES128GCM:   {16, 12},
	SuiteAEADAES256GCM:   {32, 12},
}

// SuiteSupported reports whether suite (case as in RFC 4568: upper) is one
// openrec decrypts.
func SuiteSupported(suite string) bool {
	_, ok := suiteKeys[suite]
	return ok
}

// maxMKILen bounds the MKI length (RFC 4568 §9.2: 1 to 128 bytes).
const maxMKILen = 128

// ErrCrypto is wrapped by ParseCrypto's errors: the a=crypto line is not
// one openrec can use (unreadable, unknown suite, wrong key length, a
// session parameter it does not implement).
var ErrCrypto = errors.New("unusable a=crypto line")

// Crypto is one SDES key offer (RFC 4568 §9.1):
//
//	a=crypto:<tag> <crypto-suite> inline:<key||salt>[|<lifetime>][|<MKI>:<length>] [<session-params>]
//
// Only the first key parameter is used; more keys on one line (MKI rekeying
// by the sender) are ignored.
type Crypto struct {
	Tag   int    // 1 to 999999999
	Suite string // one of the Suite constants
	Key   []byte // master key followed by master salt
	// Lifetime is the master key lifetime in packets; 0 when not given.
	// openrec only receives, so it is informational.
	Lifetime uint64
	// MKI is the master key identifier as it appears in each packet
	// (MKILength bytes, big endian); nil when the line has none.
	MKI []byte
}

// MasterKey returns the master key part of Key.
func (c Crypto) MasterKey() []byte { return c.Key[:suiteKeys[c.Suite][0]] }

// MasterSalt returns the master salt part of Key.
func (c Crypto) MasterSalt() []byte { return c.Key[suiteKeys[c.Suite][0]:] }

// ParseCrypto reads the value of an a=crypto attribute (the text after
// "a=crypto:"). Errors wrap ErrCrypto and have a short printable text
// without key material.
func ParseCrypto(v string) (Crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w: needs tag, suite and key parameters", ErrCrypto)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 || len(f[0]) > 9 || f[0][0] == '+' || f[0][0] == '-' {
		return Crypto{}, fmt.Errorf("%w: tag is not a number of at most 9 digits", ErrCrypto)
	}
	c := Crypto{Tag: tag, Suite: f[1]}
	lens, ok := suiteKeys[c.Suite]
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite not supported", ErrCrypto)
	}
	// key-params = key-param *(";" key-param); only the first is used.
	kp, _, _ := strings.Cut(f[2], ";")
	method, info, ok := strings.Cut(kp, ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return Crypto{}, fmt.Errorf("%w: key method is not inline", ErrCrypto)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return Crypto{}, fmt.Errorf("%w: too many key parameter fields", ErrCrypto)
	}
	if c.Key, err = decodeKey(parts[0]); err != nil {
		return Crypto{}, err
	}
	if len(c.Key) != lens[0]+lens[1] {
		return Crypto{}, fmt.Errorf("%w: key and salt are %d bytes, the suite needs %d", ErrCrypto, len(c.Key), lens[0]+lens[1])
	}
	for _, p := range parts[1:] {
		if mki, l, isMKI := strings.Cut(p, ":"); isMKI {
			if c.MKI != nil {
				return Crypto{}, fmt.Errorf("%w: two MKI fields", ErrCrypto)
			}
			if c.MKI, err = parseMKI(mki, l); err != nil {
				return Crypto{}, err
			}
			continue
		}
		if c.Lifetime != 0 || c.MKI != nil {
			return Crypto{}, fmt.Errorf("%w: lifetime misplaced", ErrCrypto)
		}
		if c.Lifetime, err = parseLifetime(p); err != nil {
			return Crypto{}, err
		}
	}
	for _, sp := range f[3:] {
		name, val, _ := strings.Cut(sp, "=")
		switch strings.ToUpper(name) {
		case "UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP", "FEC_ORDER", "FEC_KEY":
			return Crypto{}, fmt.Errorf("%w: session parameter %s not supported", ErrCrypto, printable(strings.ToUpper(name)))
		case "KDR":
			if val != "0" {
				return Crypto{}, fmt.Errorf("%w: key derivation rate not supported", ErrCrypto)
			}
		}
		// WSH (window size hint) and unknown parameters do not change
		// how packets are decrypted.
	}
	return c, nil
}

// decodeKey decodes base64 key||salt, with or without padding.
func decodeKey(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding
	}
	if len(s) > 128 {
		return nil, fmt.Errorf("%w: key too long", ErrCrypto)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not base64", ErrCrypto)
	}
	return b, nil
}

// parseLifetime reads a lifetime: a decimal number or 2^n.
func parseLifetime(s string) (uint64, error) {
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.Atoi(e)
		if err != nil || n < 0 || n > 63 || strings.HasPrefix(e, "+") || strings.HasPrefix(e, "-") {
			return 0, fmt.Errorf("%w: unreadable lifetime", ErrCrypto)
		}
		return 1 << n, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%w: unreadable lifetime", ErrCrypto)
	}
	return n, nil
}

// parseMKI reads <MKI value>:<length>: a decimal value written into
// length bytes, big endian.
func parseMKI(value, length string) ([]byte, error) {
	l, err := strconv.Atoi(length)
	if err != nil || l < 1 || l > maxMKILen || strings.HasPrefix(length, "+") {
		return nil, fmt.Errorf("%w: MKI length is not 1 to 128", ErrCrypto)
	}
	v, err := strconv.ParseUint(value, 10, 64)
	if err != nil || strings.HasPrefix(value, "+") {
		return nil, fmt.Errorf("%w: MKI value is not a number", ErrCrypto)
	}
	if l < 8 && bits.Len64(v) > 8*l {
		return nil, fmt.Errorf("%w: MKI value does not fit its length", ErrCrypto)
	}
	mki := make([]byte, l)
	for i := l - 1; i >= 0 && v > 0; i-- {
		mki[i] = byte(v)
		v >>= 8
	}
	return mki, nil
}

// Secure reports whether m is offered over a secure RTP profile: SDES
// RTP/SAVP(F) or DTLS UDP/TLS/RTP/SAVP(F).
func (m Media) Secure() bool {
	p := strings.ToUpper(m.Proto)
	return strings.Contains(p, "SAVP") || strings.Contains(p, "TLS")
}

// DTLS reports whether m asks for DTLS-SRTP keying (RFC 5764: a TLS proto
// such as UDP/TLS/RTP/SAVPF), which openrec does not implement.
func (m Media) DTLS() bool {
	return strings.Contains(strings.ToUpper(m.Proto), "TLS")
}

// SelectCrypto returns the first a=crypto line of m that openrec can use
// (RFC 4568 §7.1.1: the answerer picks one of the offered lines); ok is
// false when none is usable.
func (m Media) SelectCrypto() (c Crypto, ok bool) {
	for _, v := range m.Crypto {
		if c, err := ParseCrypto(v); err == nil {
			return c, true
		}
	}
	return Crypto{}, false
}

// AnswerCrypto returns the answerer's crypto line for the offered one (RFC
// 4568 §5.1.2, §7.1.2): the same tag and suite and a fresh key and salt
// read from rand (crypto/rand.Reader outside tests), no MKI and no lifetime.
func AnswerCrypto(offered Crypto, rand io.Reader) (Crypto, error) {
	lens, ok := suiteKeys[offered.Suite]
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite not supported", ErrCrypto)
	}
	key := make([]byte, lens[0]+lens[1])
	if _, err := io.ReadFull(rand, key); err != nil {
		return Crypto{}, fmt.Errorf("sdpoa: SRTP key: %w", err)
	}
	return Crypto{Tag: offered.Tag, Suite: offered.Suite, Key: key}, nil
}

// String formats c as the value of an a=crypto attribute.
func (c Crypto) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(c.Suite)
	b.WriteString(" inline:")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Key))
	if c.Lifetime > 0 {
		b.WriteByte('|')
		if bits.OnesCount64(c.Lifetime) == 1 {
			b.WriteString("2^" + strconv.Itoa(bits.TrailingZeros64(c.Lifetime)))
		} else {
			b.WriteString(strconv.FormatUint(c.Lifetime, 10))
		}
	}
	if len(c.MKI) > 0 {
		var v uint64
		for _, x := range c.MKI {
			v = v<<8 | uint64(x)
		}
		b.WriteString("|" + strconv.FormatUint(v, 10) + ":" + strconv.Itoa(len(c.MKI)))
	}
	return b.String()
}
