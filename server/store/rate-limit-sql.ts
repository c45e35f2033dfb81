// The rate_limits table (migration 0004) for both stores: the same statements on SQLite and
// PostgreSQL, written once with `@name` parameters (better-sqlite3 binds them by name; `positional`
// turns them into PostgreSQL's `$1…`). The check and the count are one `INSERT … ON CONFLICT DO
// UPDATE … WHERE <the rule allows it> RETURNING`: the row is locked while its condition is evaluated,
// so hubs racing for the last allowed attempt are decided by the database, never by a read followed
// by a write. A refused attempt changes nothing (the WHERE is false: no row comes back) and is then
// read, for the caller to say how long to wait.
import type { RateLimitRow, RateLimitRule, RateLimitStore } from './hub-store';

type Params = Record<string, string | number>;
/** Runs one statement with named parameters; the rows it returns (none for a plain write). */
export type NamedQuery = (sql: string, params: Params) => Promise<Record<string, unknown>[]>;

/** The row as it is stale: past its expiry it counts as no attempts at all. */
const STALE = 'rate_limits.expires_ms <= @now';

const charge = (expiresOnCharge: string, allowed: string) => `
  INSERT INTO rate_limits (name, key, attempts, last_ms, expires_ms) VALUES (@name, @key, 1, @now, @expires)
  ON CONFLICT (name, key) DO UPDATE SET
    attempts = CASE WHEN ${STALE} THEN 1 ELSE rate_limits.attempts + 1 END,
    last_ms = @now,
    expires_ms = ${expiresOnCharge}
  WHERE ${STALE} OR rate_limits.attempts < @free OR ${allowed}
  RETURNING attempts`;

const SQL = {
  // A window keeps the end it got from its first attempt until it is over.
  chargeWindow: charge(`CASE WHEN ${STALE} THEN @expires ELSE rate_limits.expires_ms END`, 'FALSE'),
  // A delay: the wait after the latest attempt doubles with each attempt past the free ones, up to
  // @cap (reached from @capShift doublings on; `1 <<` is a power of two on both databases).
  chargeDelay: charge(
    '@expires',
    `rate_limits.last_ms + CASE WHEN rate_limits.attempts - @free >= @capShift THEN CAST(@cap AS BIGINT)
       ELSE CAST(@base AS BIGINT) * (1 << (rate_limits.attempts - @free)) END <= @now`,
  ),
  read: 'SELECT attempts, last_ms, expires_ms FROM rate_limits WHERE name = @name AND key = @key',
  refund: 'UPDATE rate_limits SET attempts = attempts - 1 WHERE name = @name AND key = @key AND attempts > 0',
  failed: 'UPDATE rate_limits SET last_ms = @now, expires_ms = @expires WHERE name = @name AND key = @key',
  clear: 'DELETE FROM rate_limits WHERE name = @name AND key = @key',
  prune: 'DELETE FROM rate_limits WHERE expires_ms <= @now OR attempts <= 0 RETURNING 1 AS gone',
};

/** Doublings of `baseMs` after which a delay rule's wait is its cap (at most 30: `1 << n` stays an int). */
export function capShift(baseMs: number, maxDelayMs: number): number {
  let n = 0;
  while (n < 30 && baseMs * 2 ** n < maxDelayMs) n++;
  return n;
}

/** `@name` parameters as PostgreSQL's numbered ones, each name one number however often it is used. */
export function positional(sql: string, params: Params): { text: string; values: (string | number)[] } {
  const order: string[] = [];
  const text = sql.replace(/@(\w+)/g, (_, name: string) => {
    if (!(name in params)) throw new Error(`no value for @${name}`);
    let i = order.indexOf(name);
    if (i < 0) i = order.push(name) - 1;
    return `$${i + 1}`;
  });
  return { text, values: order.map((name) => params[name]) };
}

// PostgreSQL hands BIGINT back as a string.
const toRow = (r: Record<string, unknown>): RateLimitRow => ({
  attempts: Number(r.attempts),
  lastMs: Number(r.last_ms),
  expiresMs: Number(r.expires_ms),
});

export function rateLimitStore(query: NamedQuery): RateLimitStore {
  const read = async (name: string, key: string) => {
    const [r] = await query(SQL.read, { name, key });
    return r && toRow(r);
  };
  return {
    async chargeRateLimit(rule, key, now) {
      const base = { name: rule.name, key, now, expires: now + rule.windowMs };
      const counted =
        rule.kind === 'window'
          ? await query(SQL.chargeWindow, { ...base, free: rule.max })
          : await query(SQL.chargeDelay, {
              ...base,
              free: rule.free,
              base: rule.baseMs,
              cap: rule.maxDelayMs,
              capShift: capShift(rule.baseMs, rule.maxDelayMs),
            });
      if (counted.length > 0) return undefined;
      // Refused; the row may have changed since (a refund elsewhere): the caller then tries again.
      return (await read(rule.name, key)) ?? { attempts: 0, lastMs: now, expiresMs: now };
    },
    rateLimit: read,
    async refundRateLimit(name, key) {
      await query(SQL.refund, { name, key });
    },
    async failedRateLimit(rule: RateLimitRule, key, now) {
      if (rule.kind !== 'delay') return;
      await query(SQL.failed, { name: rule.name, key, now, expires: now + rule.windowMs });
    },
    async clearRateLimit(name, key) {
      await query(SQL.clear, { name, key });
    },
    async pruneRateLimits(now) {
      return (await query(SQL.prune, { now })).length;
    },
  };
}
