-- Workloads: one row per deploy intent, written before Docker is touched (intent first).
-- Secrets (generated credentials, custom env) live only in `sealed`, AES-256-GCM encrypted.
CREATE TABLE workloads (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  template     TEXT NOT NULL,
  image        TEXT NOT NULL,
  status       TEXT NOT NULL,
  message      TEXT,
  origin       TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
  op_id        TEXT NOT NULL,
  spec         TEXT NOT NULL,           -- JSON: the validated deploy spec minus env
  ports        TEXT NOT NULL,           -- JSON: PublishedPort[] with the host ports picked at deploy
  volumes      TEXT NOT NULL,           -- JSON: { source, target, kind, readOnly? }[]
  restart      TEXT NOT NULL,
  sealed       TEXT,                    -- sealed JSON { credentials, env }
  container_id TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

-- Plain settings, JSON-encoded values.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Named secrets (ngrok token, hub device token), sealed.
CREATE TABLE secrets (
  name       TEXT PRIMARY KEY,
  sealed     TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Remote command ids: a repeated id returns the stored first result (sealed: results carry credentials).
CREATE TABLE command_results (
  command_id TEXT PRIMARY KEY,
  command    TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('running', 'done')),
  sealed     TEXT,
  created_at TEXT NOT NULL
);

-- Containers labelled with our owner id but without a row: reported, never deleted.
CREATE TABLE orphans (
  container_id TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  workload     TEXT,
  image        TEXT NOT NULL,
  first_seen   TEXT NOT NULL,
  last_seen    TEXT NOT NULL
);
