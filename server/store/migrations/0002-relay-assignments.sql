-- Which public relay port belongs to which share. A reservation outlives hub restarts and the device
-- going offline, so the agent's re-open gets the address its visitors already have; it carries the
-- share's account, because a reserved port belongs to that account until the share ends. (It used to
-- live in a separate relay.db; that file is no longer read.)
CREATE TABLE relay_assignments (
  share_id   TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  port       INTEGER NOT NULL UNIQUE,
  kind       TEXT NOT NULL CHECK (kind IN ('tcp', 'http')),
  -- The share's own expiry (NULL: until revoked): past it the share has ended and the port is free.
  expires_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX relay_assignments_user ON relay_assignments(user_id);
CREATE INDEX relay_assignments_device ON relay_assignments(device_id);
