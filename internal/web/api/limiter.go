package api

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Sign-in throttling. Failures are counted per source address (an IPv6
// client per /64, throttleAddr) and per account. loginFailLimit failures of one key within loginFailWindow lock
// that key out; each further lockout of the same key within
// loginForgetAfter doubles the wait (loginFailWindow, 2×, 4×… up to
// loginMaxLock). Only a successful sign-in of an account forgets that
// account's failures; an address is never forgiven early (a valid sign-in
// to a low-privilege account must not buy more guesses at another one).
// An account is also locked after loginHourLimit failures within an hour
// (fixed windows), with the same backoff: 9 guesses a minute never reach
// the minute's limit. Addresses have no hourly limit: one NAT address may
// carry a whole contact center's typos.
const (
	loginFailLimit   = 10
	loginHourLimit   = 30
	loginFailWindow  = time.Minute
	loginMaxLock     = 15 * time.Minute
	loginForgetAfter = time.Hour
	loginMaxKeys     = 10000 // per table: idle keys are forgotten beyond it
)

// accountKey is the per-account throttling key of a typed user name.
func accountKey(name string) string {
	if len(name) > 64 {
		name = name[:64]
	}
	return strings.ToLower(name)
}

type throttle struct {
	fails     []time.Time // within loginFailWindow
	hourStart time.Time   // accounts: the hour hourFails counts in
	hourFails int
	lockUntil time.Time
	lockouts  int // consecutive lockouts
	lastLock  time.Time
}

type loginLimiter struct {
	mu       sync.Mutex
	addrs    map[string]*throttle
	accounts map[string]*throttle
}

// blocked returns how long a sign-in from ip to account must still wait
// (0 = it may try) and whom the wait is for, for the problem detail.
func (l *loginLimiter) blocked(ip, account string, now time.Time) (time.Duration, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.addrs[ip]; t != nil && now.Before(t.lockUntil) {
		return t.lockUntil.Sub(now), "from " + ip
	}
	if t := l.accounts[account]; t != nil && now.Before(t.lockUntil) {
		return t.lockUntil.Sub(now), "for this account"
	}
	return 0, ""
}

// failed counts one failure from ip to account.
func (l *loginLimiter) failed(ip, account string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrs == nil {
		l.addrs, l.accounts = map[string]*throttle{}, map[string]*throttle{}
	}
	fail(l.addrs, ip, now, false)
	fail(l.accounts, account, now, true)
}

// succeeded forgets the failures of account (not of the address).
func (l *loginLimiter) succeeded(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, account)
}

func fail(m map[string]*throttle, key string, now time.Time, hourly bool) {
	if len(m) >= loginMaxKeys {
		for k, t := range m {
			if idle(t, now) {
				delete(m, k)
			}
		}
	}
	t := m[key]
	if t == nil {
		t = &throttle{}
		m[key] = t
	}
	i := 0
	for i < len(t.fails) && now.Sub(t.fails[i]) >= loginFailWindow {
		i++
	}
	t.fails = append(t.fails[i:], now)
	if hourly {
		if now.Sub(t.hourStart) >= time.Hour {
			t.hourStart, t.hourFails = now, 0
		}
		t.hourFails++
	}
	if len(t.fails) < loginFailLimit && (!hourly || t.hourFails < loginHourLimit) {
		return
	}
	if !t.lastLock.IsZero() && now.Sub(t.lastLock) > loginForgetAfter {
		t.lockouts = 0
	}
	lock := loginFailWindow << min(t.lockouts, 10)
	t.lockUntil = now.Add(min(lock, loginMaxLock))
	t.lockouts++
	t.lastLock = now
	t.fails = t.fails[:0]
	t.hourStart, t.hourFails = now, 0
}

// idle reports whether t carries nothing worth keeping.
func idle(t *throttle, now time.Time) bool {
	recent := len(t.fails) > 0 && now.Sub(t.fails[len(t.fails)-1]) < loginFailWindow ||
		t.hourFails > 0 && now.Sub(t.hourStart) < time.Hour
	return !recent && !now.Before(t.lockUntil) && (t.lastLock.IsZero() || now.Sub(t.lastLock) > loginForgetAfter)
}

// throttleAddr is the per-address throttling key of a client address: the
// address itself for IPv4 (an IPv4-mapped IPv6 address as IPv4), its /64
// for IPv6 — the block one host or one customer line usually holds, which
// would otherwise give one attacker 2^64 addresses.
func throttleAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
