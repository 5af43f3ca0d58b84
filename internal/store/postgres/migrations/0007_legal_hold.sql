-- Legal hold: a recording on hold cannot be deleted — not by retention,
-- not by a discard decision, not by erasure — until the hold is released.
-- Holds live in their own table (the recorder rewrites recording rows
-- whole); the trigger refuses a DELETE of a held recording whoever sends it.
CREATE TABLE legal_holds (
    recording_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES recordings (id),
    reason       TEXT COLLATE "C" NOT NULL DEFAULT '',
    set_by       TEXT COLLATE "C" NOT NULL DEFAULT '',
    set_at       TEXT COLLATE "C" NOT NULL
);

CREATE FUNCTION recordings_hold_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM legal_holds WHERE recording_id = OLD.id) THEN
        RAISE EXCEPTION 'recording on legal hold' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER recordings_hold_no_delete BEFORE DELETE ON recordings
    FOR EACH ROW EXECUTE FUNCTION recordings_hold_no_delete();
