package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// AuditChainHash is an audit entry's hash: sha256 over the previous
// entry's hash and the entry's stored fields (at as stored, user, role,
// tenant, action, recording id, detail, remote), each length-prefixed (no
// two entries encode alike), hex. Every store computes it with this one
// function, so a log copied between stores (openrec store migrate) keeps
// a valid chain.
func AuditChainHash(prev string, fields ...string) string {
	h := sha256.New()
	var n [4]byte
	for _, f := range append([]string{prev}, fields...) {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// maxAuditProblems bounds the problems an AuditCheck lists.
const maxAuditProblems = 100

// AuditChainWalk checks a hash chain entry by entry, in append order: feed
// it every stored entry with Add, then read Check.
type AuditChainWalk struct {
	Check   AuditCheck
	prev    string
	chained bool
}

// Add checks one stored entry: its hash must follow from the entry before
// it and its own fields (else it was changed, or entries before it were
// removed or inserted). Entries written before the chain existed (no hash)
// are counted; one without a hash inside the chain is a problem too.
func (w *AuditChainWalk) Add(id int64, at, user, role, tenant, action, rec, detail, remote, hash string) {
	w.Check.Entries++
	if hash == "" {
		if w.chained {
			w.problem("audit entry %d has no hash inside the chain (inserted or changed)", id)
		} else {
			w.Check.Unchained++
		}
		return
	}
	w.chained = true
	if want := AuditChainHash(w.prev, at, user, role, tenant, action, rec, detail, remote); want != hash {
		w.problem("audit entry %d (%s %s) does not follow the entry before it: changed, or entries before it removed or inserted", id, at, action)
	}
	w.prev = hash
	w.Check.HeadID, w.Check.Head = id, hash
}

func (w *AuditChainWalk) problem(format string, a ...any) {
	if len(w.Check.Problems) < maxAuditProblems {
		w.Check.Problems = append(w.Check.Problems, fmt.Sprintf(format, a...))
	}
	w.Check.Broken++
}
