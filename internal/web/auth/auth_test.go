package auth

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	Cost = bcrypt.MinCost
	m.Run()
}

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"empty", "", ErrWeakPassword},
		{"seven", "1234567", ErrWeakPassword},
		{"seven multibyte chars", "ééééééé", ErrWeakPassword},
		{"eight", "12345678", nil},
		{"eight multibyte chars", "éééééééé", nil},
		{"72 bytes", strings.Repeat("a", 72), nil},
		{"73 bytes", strings.Repeat("a", 73), ErrPasswordTooLong},
		{"37 two-byte chars", strings.Repeat("é", 37), ErrPasswordTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword(tt.pw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("HashPassword = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if h != "" {
					t.Errorf("hash %q returned with an error", h)
				}
				return
			}
			if h == tt.pw || !strings.HasPrefix(h, "$2") {
				t.Errorf("hash %q is not a bcrypt hash", h)
			}
			if !CheckPassword(h, tt.pw) {
				t.Error("CheckPassword(hash, pw) = false")
			}
			if CheckPassword(h, tt.pw+"x") || CheckPassword(h, tt.pw[:len(tt.pw)-1]) {
				t.Error("CheckPassword accepted a different password")
			}
		})
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of the same password are equal: no salt")
	}
}

func TestHashPasswordCost(t *testing.T) {
	old := Cost
	t.Cleanup(func() { Cost = old })
	Cost = 10
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := bcrypt.Cost([]byte(h)); err != nil || c != 10 {
		t.Errorf("bcrypt.Cost = %d, %v; want 10", c, err)
	}
}

func TestCheckPasswordBadHash(t *testing.T) {
	for _, h := range []string{"", "x", "$2a$10$", "12345678"} {
		if CheckPassword(h, "12345678") {
			t.Errorf("CheckPassword(%q) = true", h)
		}
	}
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || strings.ContainsAny(tok, "=+/") {
			t.Fatalf("token %q: want 43 base64url characters without padding", tok)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 32 {
			t.Fatalf("token %q decodes to %d bytes, %v", tok, len(b), err)
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
	}
}

func TestHashToken(t *testing.T) {
	// sha256("abc"), FIPS 180-2 appendix B.1.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashToken("abc"); got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
	if HashToken("a") == HashToken("b") {
		t.Error("different tokens hash alike")
	}
}

func TestRandomPassword(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{16}$`)
	seen := map[string]bool{}
	for range 100 {
		pw, err := RandomPassword()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(pw) {
			t.Fatalf("RandomPassword = %q, want 16 URL-safe characters", pw)
		}
		if err := CheckPasswordPolicy(pw); err != nil {
			t.Fatalf("RandomPassword %q fails the policy: %v", pw, err)
		}
		if seen[pw] {
			t.Fatalf("password %q repeated", pw)
		}
		seen[pw] = true
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"admin", RoleAdmin, false},
		{"supervisor", RoleSupervisor, false},
		{"agent", RoleAgent, false},
		{" Agent ", RoleAgent, false},
		{"ADMIN", RoleAdmin, false},
		{"", "", true},
		{"root", "", true},
		{"admins", "", true},
	}
	for _, tt := range tests {
		got, err := ParseRole(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadRole) {
			t.Errorf("ParseRole(%q) error %v is not ErrBadRole", tt.in, err)
		}
	}
}

func TestRoleNeedsTenant(t *testing.T) {
	for _, tt := range []struct {
		r    Role
		want bool
	}{{RoleAdmin, false}, {RoleSupervisor, true}, {RoleAgent, true}} {
		if got := tt.r.NeedsTenant(); got != tt.want {
			t.Errorf("%s.NeedsTenant() = %v, want %v", tt.r, got, tt.want)
		}
	}
	for _, r := range Roles {
		if !r.Valid() {
			t.Errorf("Roles holds invalid %q", r)
		}
	}
}

func TestValidUserName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"alice", true},
		{"Alice.Smith-2_x@acme.example", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"al ice", false},
		{"alice/../x", false},
		{"alice:x", false},
		{"älice", false},
		{"alice\n", false},
	}
	for _, tt := range tests {
		err := ValidUserName(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidUserName(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadUserName) {
			t.Errorf("ValidUserName(%q) error %v is not ErrBadUserName", tt.in, err)
		}
	}
}

func TestWellFormedToken(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want bool
	}{{tok, true}, {"", false}, {"null", false}, {tok[:42], false}, {tok + "A", false}, {tok[:42] + "!", false}, {tok[:42] + "=", false}}
	for _, c := range cases {
		if got := WellFormedToken(c.in); got != c.want {
			t.Errorf("WellFormedToken(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
