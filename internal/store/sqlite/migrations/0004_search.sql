-- 0004: indexes for recording search (search.go).
--
-- Keyset pages order by (coalesce(started_at, ''), id) or (duration_ms, id)
-- and continue after the last row of a page: these two indexes give both
-- orders without sorting ('' stands for a NULL start time and sorts first,
-- as NULL does).
--
-- Searches by agent, number, connection id or any external data value are
-- driven from the value (id IN (SELECT recording_id ...)) and compare it
-- ignoring ASCII case (= ... COLLATE NOCASE, or LIKE, whose prefix can use
-- a NOCASE index): the BINARY indexes of 0001/0002 on the same columns
-- served no query and are replaced.

CREATE INDEX recordings_started_id  ON recordings (coalesce(started_at, ''), id);
CREATE INDEX recordings_duration_id ON recordings (duration_ms, id);

DROP INDEX external_data_key_value;
CREATE INDEX external_data_key_value_nocase ON external_data (key, value COLLATE NOCASE);

DROP INDEX couples_conn_id;
CREATE INDEX couples_conn_id_nocase ON couples (conn_id COLLATE NOCASE);
