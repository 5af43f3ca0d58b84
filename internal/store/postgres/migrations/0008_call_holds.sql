-- A legal hold on a call holds every recording of the call: those it has
-- when the hold is set and those it makes later (a transfer, a
-- consultation, a call UUID learnt from SIPREC metadata), until the call's
-- hold is released. Each held recording still has its legal_holds row (the
-- delete trigger of 0007 checks only that table); call_uuid there names
-- the call hold a row comes from ('' = the recording's own hold), so that
-- releasing the call releases only what the call's hold made.
--
-- Several processes write concurrently (SQLite had one writer): setting or
-- releasing a call's hold and the triggers below take the same
-- transaction-scoped advisory lock on the call, so a recording created
-- while its call is being held is either seen by SetCallHold or sees the
-- committed call_holds row.
CREATE TABLE call_holds (
    call_uuid TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    reason    TEXT COLLATE "C" NOT NULL DEFAULT '',
    set_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    set_at    TEXT COLLATE "C" NOT NULL
);

ALTER TABLE legal_holds ADD COLUMN call_uuid TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX legal_holds_call ON legal_holds (call_uuid) WHERE call_uuid <> '';

-- The advisory lock key of a call's hold (also computed by hold.go).
CREATE FUNCTION call_hold_lock(call TEXT) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('openrec.call_hold:' || call, 0));
$$;

CREATE FUNCTION recordings_call_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM call_hold_lock(NEW.call_uuid);
    INSERT INTO legal_holds (recording_id, reason, set_by, set_at, call_uuid)
    SELECT NEW.id, reason, set_by, set_at, call_uuid FROM call_holds WHERE call_uuid = NEW.call_uuid
    ON CONFLICT (recording_id) DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER recordings_call_hold_insert AFTER INSERT ON recordings
    FOR EACH ROW WHEN (NEW.call_uuid <> '')
    EXECUTE FUNCTION recordings_call_hold();

CREATE TRIGGER recordings_call_hold_update AFTER UPDATE OF call_uuid ON recordings
    FOR EACH ROW WHEN (NEW.call_uuid <> '' AND NEW.call_uuid IS DISTINCT FROM OLD.call_uuid)
    EXECUTE FUNCTION recordings_call_hold();
