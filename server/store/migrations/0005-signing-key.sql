-- The key every hub of a cluster signs and verifies tokens with (server/auth/tokens.ts), kept in the
-- shared database so that hubs on one `--database` agree on it without a file copied between hosts.
-- One row; the first hub to start inserts its key, every later one reads it. A single hub on its own
-- SQLite file keeps the key in its data directory instead and leaves this table empty.
CREATE TABLE signing_key (
  id          TEXT PRIMARY KEY CHECK (id = 'current'),
  private_pem TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
