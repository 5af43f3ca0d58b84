-- The audit log as a hash chain (tamper evidence): each entry's hash commits
-- to the previous entry's hash and to its own fields, so a changed, inserted
-- or removed entry breaks the chain at that point (openrec verify). Entries
-- written before this migration have no hash and precede the chain.
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
