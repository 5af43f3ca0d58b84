-- 0004: indexes for recording search (search.go).
--
-- Keyset pages order by (coalesce(started_at, ''), id) or (duration_ms, id)
-- and continue after the last row of a page (a row comparison): these two
-- indexes give both orders without sorting.
--
-- Searches by agent, number, connection id or any external data value
-- compare lower(value) (ASCII-only under COLLATE "C", as SQLite's NOCASE)
-- with the lowered argument, by = or LIKE (whose prefix can use a "C"
-- btree index): these expression indexes replace the plain ones of
-- 0001/0002, which served no query.

CREATE INDEX recordings_started_id  ON recordings (coalesce(started_at, ''), id);
CREATE INDEX recordings_duration_id ON recordings (duration_ms, id);

DROP INDEX external_data_key_value;
CREATE INDEX external_data_key_value_nocase ON external_data (key, lower(value));

DROP INDEX couples_conn_id;
CREATE INDEX couples_conn_id_nocase ON couples (lower(conn_id));
