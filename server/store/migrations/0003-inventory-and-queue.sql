-- What the hub keeps of each computer without asking it (issue 15): its workloads' last reported
-- state without secrets, its last reported capacity, and the commands queued for it while offline.
CREATE TABLE inventory (
  device_id   TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  workload_id TEXT NOT NULL,
  -- A WorkloadState (shared/hub-protocol.ts): the workload without credentials.
  state_json  TEXT NOT NULL,
  observed_at TEXT NOT NULL,
  PRIMARY KEY (device_id, workload_id)
);
CREATE TABLE capacity (
  device_id     TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  capacity_json TEXT NOT NULL,
  reported_at   TEXT NOT NULL
);
CREATE TABLE queued_commands (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  -- The command id, the agent's idempotency key.
  id           TEXT NOT NULL,
  name         TEXT NOT NULL,
  -- Kept only until delivered, cancelled or expired.
  args_json    TEXT,
  summary      TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'done', 'failed', 'cancelled', 'expired')),
  -- The agent's answer without credentials.
  result_json  TEXT,
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  delivered_at TEXT,
  finished_at  TEXT,
  UNIQUE (user_id, id)
);
CREATE INDEX queued_commands_device ON queued_commands(device_id, status, seq);
