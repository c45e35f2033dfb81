-- Shares: one row per share, written before the tunnel opens (intent first) so a crash mid-way is
-- cleaned up on the next start. Secrets (the share role's password, basic-auth credentials, keys)
-- live only in `sealed`, AES-256-GCM encrypted with the share id as associated data.
CREATE TABLE shares (
  id             TEXT PRIMARY KEY,
  workload_id    TEXT NOT NULL,
  workload_name  TEXT NOT NULL,
  via            TEXT NOT NULL CHECK (via IN ('relay', 'ngrok')),
  kind           TEXT NOT NULL CHECK (kind IN ('postgres', 's3', 'http', 'tcp')),
  status         TEXT NOT NULL,
  port_name      TEXT,
  container_port INTEGER NOT NULL,
  url            TEXT,
  public_host    TEXT,
  public_port    INTEGER,
  read_only      INTEGER NOT NULL DEFAULT 0,
  basic_auth     INTEGER NOT NULL DEFAULT 0,
  role_name      TEXT,                  -- the per-share database role (postgres shares)
  sealed         TEXT,                  -- sealed JSON { password?, basicAuth? }
  message        TEXT,
  created_at     TEXT NOT NULL,
  expires_at     TEXT                   -- NULL = never
);
CREATE INDEX shares_workload ON shares(workload_id);
