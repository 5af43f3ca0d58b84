-- Media in an object store (issue 16): once a finished recording's files
-- are uploaded and verified, media_object names the media object
-- ('s3://BUCKET/KEY'; its sidecars share the key prefix) and the local copy
-- is deleted. '' = the media is on local disk at media_path.
ALTER TABLE recordings ADD COLUMN media_object TEXT NOT NULL DEFAULT '';
