-- Share options that are not secrets: a TCP share asked to stay plain TCP (no TLS at the hub), and
-- the one bucket an S3 share's key is limited to. The S3 share's own key pair lives in `sealed`.
ALTER TABLE shares ADD COLUMN plain INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN bucket TEXT;
