-- The audit log as a hash chain (tamper evidence): each entry's hash commits
-- to the previous entry's hash and to its own fields, so a changed, inserted
-- or removed entry breaks the chain at that point (openrec verify). Entries
-- written before this migration have no hash and precede the chain.
-- Appends take an EXCLUSIVE lock on audit (readers go on), so entries of
-- several processes chain in id order.
ALTER TABLE audit ADD COLUMN hash TEXT COLLATE "C" NOT NULL DEFAULT '';
