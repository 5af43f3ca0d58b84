-- A legal hold on a call holds every recording of the call: those it has
-- when the hold is set and those it makes later (a transfer, a
-- consultation, a call UUID learnt from SIPREC metadata), until the call's
-- hold is released. Each held recording still has its legal_holds row (the
-- delete trigger of 0007 checks only that table); call_uuid there names
-- the call hold a row comes from ('' = the recording's own hold), so that
-- releasing the call releases only what the call's hold made.
CREATE TABLE call_holds (
    call_uuid TEXT NOT NULL PRIMARY KEY,
    reason    TEXT NOT NULL DEFAULT '',
    set_by    TEXT NOT NULL DEFAULT '',
    set_at    TEXT NOT NULL
) STRICT;

ALTER TABLE legal_holds ADD COLUMN call_uuid TEXT NOT NULL DEFAULT '';

CREATE INDEX legal_holds_call ON legal_holds (call_uuid) WHERE call_uuid != '';

CREATE TRIGGER recordings_call_hold_insert AFTER INSERT ON recordings
WHEN NEW.call_uuid != ''
BEGIN
    INSERT OR IGNORE INTO legal_holds (recording_id, reason, set_by, set_at, call_uuid)
    SELECT NEW.id, reason, set_by, set_at, call_uuid FROM call_holds WHERE call_uuid = NEW.call_uuid;
END;

CREATE TRIGGER recordings_call_hold_update AFTER UPDATE OF call_uuid ON recordings
WHEN NEW.call_uuid != '' AND NEW.call_uuid IS NOT OLD.call_uuid
BEGIN
    INSERT OR IGNORE INTO legal_holds (recording_id, reason, set_by, set_at, call_uuid)
    SELECT NEW.id, reason, set_by, set_at, call_uuid FROM call_holds WHERE call_uuid = NEW.call_uuid;
END;
