-- Attempt counters of the limits on sign-in, registration, pairing and refresh
-- (server/auth/rate-limit.ts), kept in the hub's database so every hub of a cluster counts the same
-- attempts and a restarted hub forgets no lockout. One row per limiter and key (a hash of the e-mail,
-- the address, or of '*' for the whole hub). Times are milliseconds since the epoch (BIGINT: they do
-- not fit PostgreSQL's INTEGER). A row past expires_ms counts as empty; the hub deletes such rows,
-- and rows refunded to zero, from time to time (pruneRateLimits).
CREATE TABLE rate_limits (
  name       TEXT NOT NULL,
  key        TEXT NOT NULL,
  -- Attempts counted in the current window (window limits) or since the last quiet spell (delays).
  attempts   INTEGER NOT NULL,
  -- The latest counted attempt, or the moment it failed: a delay counts from here.
  last_ms    BIGINT NOT NULL,
  -- A window limit: the end of the window that began with its first attempt. A delay: last_ms plus
  -- the time after which its failures are forgotten.
  expires_ms BIGINT NOT NULL,
  PRIMARY KEY (name, key)
);
