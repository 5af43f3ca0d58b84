-- Legal hold: a recording on hold cannot be deleted — not by retention,
-- not by a discard decision, not by erasure — until the hold is released.
-- Holds live in their own table (the recorder rewrites recording rows
-- whole); the trigger refuses a DELETE of a held recording whoever sends it.
CREATE TABLE legal_holds (
    recording_id TEXT NOT NULL PRIMARY KEY REFERENCES recordings (id),
    reason       TEXT NOT NULL DEFAULT '',
    set_by       TEXT NOT NULL DEFAULT '',
    set_at       TEXT NOT NULL
) STRICT;

CREATE TRIGGER recordings_hold_no_delete BEFORE DELETE ON recordings
WHEN EXISTS (SELECT 1 FROM legal_holds WHERE recording_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'recording on legal hold');
END;
