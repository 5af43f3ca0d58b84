package sdpoa

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, n)) }

func TestParseCrypto(t *testing.T) {
	k30, k28, k44 := key(30), key(28), key(44)
	for _, c := range []struct {
		name, v  string
		ok       bool
		tag      int
		suite    string
		keyLen   int
		lifetime uint64
		mki      []byte
	}{
		{"80", "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30, true, 1, SuiteAES128CMSHA1_80, 30, 0, nil},
		{"32 lifetime mki", "2 AES_CM_128_HMAC_SHA1_32 inline:" + k30 + "|2^20|1:4", true, 2, SuiteAES128CMSHA1_32, 30, 1 << 20, []byte{0, 0, 0, 1}},
		{"decimal lifetime", "3 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1000", true, 3, SuiteAES128CMSHA1_80, 30, 1000, nil},
		{"mki only", "4 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|258:2", true, 4, SuiteAES128CMSHA1_80, 30, 0, []byte{1, 2}},
		{"gcm128", "5 AEAD_AES_128_GCM inline:" + k28, true, 5, SuiteAEADAES128GCM, 28, 0, nil},
		{"gcm256", "6 AEAD_AES_256_GCM inline:" + k44, true, 6, SuiteAEADAES256GCM, 44, 0, nil},
		{"unpadded key", "7 AEAD_AES_128_GCM inline:" + strings.TrimRight(k28, "="), true, 7, SuiteAEADAES128GCM, 28, 0, nil},
		{"second key ignored", "8 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|2^20|1:4;inline:" + k30 + "|2^20|2:4", true, 8, SuiteAES128CMSHA1_80, 30, 1 << 20, []byte{0, 0, 0, 1}},
		{"WSH and KDR=0", "9 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " WSH=64 KDR=0", true, 9, SuiteAES128CMSHA1_80, 30, 0, nil},
		{"lowercase inline", "1 AES_CM_128_HMAC_SHA1_80 INLINE:" + k30, true, 1, SuiteAES128CMSHA1_80, 30, 0, nil},

		{name: "unknown suite", v: "1 F8_128_HMAC_SHA1_80 inline:" + k30},
		{name: "AES 256 CM not supported", v: "1 AES_256_CM_HMAC_SHA1_80 inline:" + key(46)},
		{name: "short key", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k28},
		{name: "gcm key for cm suite", v: "1 AEAD_AES_256_GCM inline:" + k30},
		{name: "not base64", v: "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!"},
		{name: "no inline", v: "1 AES_CM_128_HMAC_SHA1_80 uri:http://x"},
		{name: "missing key params", v: "1 AES_CM_128_HMAC_SHA1_80"},
		{name: "negative tag", v: "-1 AES_CM_128_HMAC_SHA1_80 inline:" + k30},
		{name: "huge tag", v: "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + k30},
		{name: "unencrypted", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNENCRYPTED_SRTP"},
		{name: "unauthenticated", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNAUTHENTICATED_SRTP"},
		{name: "kdr", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " KDR=24"},
		{name: "mki too long", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:129"},
		{name: "mki zero length", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:0"},
		{name: "mki value too big", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|256:1"},
		{name: "two mki", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:1|2:1"},
		{name: "lifetime after mki", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:1|2^20"},
		{name: "bad lifetime", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|2^x"},
		{name: "zero lifetime", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|0"},
		{name: "too many fields", v: "1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1|2|3:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCrypto(c.v)
			if !c.ok {
				if !errors.Is(err, ErrCrypto) {
					t.Fatalf("err %v, want ErrCrypto", err)
				}
				if strings.Contains(err.Error(), k30) {
					t.Fatal("error text carries key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Tag != c.tag || got.Suite != c.suite || len(got.Key) != c.keyLen || got.Lifetime != c.lifetime || !bytes.Equal(got.MKI, c.mki) {
				t.Fatalf("got %+v", got)
			}
			if len(got.MasterKey())+len(got.MasterSalt()) != c.keyLen {
				t.Fatal("key/salt split")
			}
			// Writing and reading again gives the same line.
			again, err := ParseCrypto(got.String())
			if err != nil || again.Tag != got.Tag || !bytes.Equal(again.Key, got.Key) || !bytes.Equal(again.MKI, got.MKI) || again.Lifetime != got.Lifetime {
				t.Fatalf("round trip %q: %+v %v", got.String(), again, err)
			}
		})
	}
}

func TestSelectCrypto(t *testing.T) {
	m := Media{Proto: "RTP/SAVP", Crypto: []string{
		"1 F8_128_HMAC_SHA1_80 inline:" + key(30),
		"2 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + " UNENCRYPTED_SRTCP",
		"3 AES_CM_128_HMAC_SHA1_32 inline:" + key(30),
		"4 AEAD_AES_128_GCM inline:" + key(28),
	}}
	c, ok := m.SelectCrypto()
	if !ok || c.Tag != 3 || c.Suite != SuiteAES128CMSHA1_32 {
		t.Fatalf("selected %+v %v, want the first usable line (tag 3)", c, ok)
	}
	m.Crypto = m.Crypto[:2]
	if _, ok := m.SelectCrypto(); ok {
		t.Fatal("no usable line selected something")
	}
	for proto, want := range map[string][2]bool{
		"RTP/AVP": {false, false}, "RTP/SAVP": {true, false}, "RTP/SAVPF": {true, false},
		"UDP/TLS/RTP/SAVPF": {true, true}, "udp/tls/rtp/savp": {true, true},
	} {
		m := Media{Proto: proto}
		if m.Secure() != want[0] || m.DTLS() != want[1] {
			t.Errorf("%s: Secure %v DTLS %v, want %v", proto, m.Secure(), m.DTLS(), want)
		}
	}
}

func TestAnswerCrypto(t *testing.T) {
	off, err := ParseCrypto("7 AEAD_AES_256_GCM inline:" + key(44) + "|2^20|5:2")
	if err != nil {
		t.Fatal(err)
	}
	a, err := AnswerCrypto(off, bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Tag != 7 || a.Suite != SuiteAEADAES256GCM || len(a.Key) != 44 || a.MKI != nil || a.Lifetime != 0 || bytes.Equal(a.Key, off.Key) {
		t.Fatalf("answer %+v", a)
	}
	if _, err := AnswerCrypto(off, bytes.NewReader(nil)); err == nil {
		t.Fatal("no randomness, no error")
	}
	if _, err := AnswerCrypto(Crypto{Suite: "F8_128_HMAC_SHA1_80"}, bytes.NewReader(make([]byte, 64))); !errors.Is(err, ErrCrypto) {
		t.Fatal("unsupported suite answered")
	}
}

// FuzzParseCrypto checks that ParseCrypto never panics, fails only with
// ErrCrypto and a printable reason, and that what it accepts round-trips.
func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key(30),
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + key(30) + "|2^20|1:4",
		"3 AEAD_AES_128_GCM inline:" + key(28) + "|1000|3:1 WSH=64",
		"4 AEAD_AES_256_GCM inline:" + key(44) + ";inline:" + key(44),
		"5 AES_CM_128_HMAC_SHA1_80 inline:" + key(30) + "|18446744073709551615:128",
		"", "1", "1 x inline:", "1 AES_CM_128_HMAC_SHA1_80 inline:|||",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCrypto(v)
		if err != nil {
			if !errors.Is(err, ErrCrypto) {
				t.Fatalf("error %v does not wrap ErrCrypto", err)
			}
			if !isReasonPhrase(err.Error()) {
				t.Fatalf("error %q is not printable", err)
			}
			return
		}
		if !SuiteSupported(c.Suite) || len(c.MasterKey()) == 0 || len(c.MasterSalt()) == 0 {
			t.Fatalf("accepted %+v", c)
		}
		again, err := ParseCrypto(c.String())
		if err != nil || again.Tag != c.Tag || !bytes.Equal(again.Key, c.Key) || !bytes.Equal(again.MKI, c.MKI) || again.Lifetime != c.Lifetime {
			t.Fatalf("round trip of %q: %+v %v", c.String(), again, err)
		}
	})
}
