-- The sample rate of a recording's audio: 8000 (narrowband, every
-- recording before this migration) or 16000 (a call with a wideband leg:
-- G.722, Opus).
ALTER TABLE recordings ADD COLUMN sample_rate INTEGER NOT NULL DEFAULT 8000;
