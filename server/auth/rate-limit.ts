// Attempt limits for the hub's costly or guessable doors (login, registration, pairing, refresh).
// The counts live in the hub's store (table rate_limits, server/store/rate-limit-sql.ts), so every
// hub on one database counts the same attempts and a restarted hub forgets no lockout. Attempts are
// charged *before* the work (a password hash, a code lookup) and refunded when they succeed, so a
// burst of concurrent requests — on one hub or on several — cannot all slip past a check that counts
// only finished failures: the store checks and counts in one statement. Keys are stored hashed: the
// table holds no e-mail addresses or client addresses.
import { createHash } from 'node:crypto';
import { LatticeError } from '../../shared';
import type { RateLimitRow, RateLimitRule, RateLimitStore } from '../store/hub-store';

/**
 * "Not now, try again in N s": 429 when the caller is over its own limit, 503 when the hub as a
 * whole is (the global ceiling, or the password-hash pool is full).
 */
export class RateLimitedError extends LatticeError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly httpStatus: 429 | 503 = 429,
  ) {
    super('rate_limited', message);
  }
}

export interface WindowPolicy {
  max: number;
  windowMs: number;
}

export interface DelayPolicy {
  /** Failures allowed before any delay. */
  free: number;
  /** Delay after the first failure past `free`; it doubles with each further failure. */
  baseMs: number;
  /** The delay never grows past this: the owner is slowed, never locked out for long. */
  maxDelayMs: number;
  /** Failures older than this (counted from the latest) are forgotten. */
  windowMs: number;
}

const toSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** How long the row makes the next attempt wait under the rule, in ms (0: it may try now). */
export function waitMs(rule: RateLimitRule, row: RateLimitRow | undefined, now: number): number {
  if (!row || row.expiresMs <= now) return 0;
  if (rule.kind === 'window') return row.attempts < rule.max ? 0 : row.expiresMs - now;
  if (row.attempts < rule.free) return 0;
  const delay = Math.min(rule.maxDelayMs, rule.baseMs * 2 ** (row.attempts - rule.free));
  return Math.max(0, row.lastMs + delay - now);
}

/** One named limit over the store's counters. */
export class Limiter {
  constructor(
    private readonly store: RateLimitStore,
    readonly rule: RateLimitRule,
  ) {}

  private id(key: string): string {
    return createHash('sha256').update(key).digest('base64url');
  }

  /**
   * Counts an attempt of `key` when the limit lets it try now and returns 0; otherwise counts
   * nothing and returns the seconds to wait.
   */
  async take(key: string, now = Date.now()): Promise<number> {
    const id = this.id(key);
    // A refusal is read after the statement that refused it; a refund in between can leave nothing
    // to wait for, and then the attempt is tried again.
    for (let tries = 0; tries < 3; tries++) {
      const refused = await this.store.chargeRateLimit(this.rule, id, now);
      if (!refused) return 0;
      const wait = waitMs(this.rule, refused, now);
      if (wait > 0) return toSeconds(wait);
    }
    return 1;
  }

  /** Seconds until `key` may try again, 0 when it may try now; counts nothing. */
  async retryAfter(key: string, now = Date.now()): Promise<number> {
    const wait = waitMs(this.rule, await this.store.rateLimit(this.rule.name, this.id(key)), now);
    return wait > 0 ? toSeconds(wait) : 0;
  }

  /** Takes back one counted attempt (it succeeded or was never evaluated). */
  refund(key: string): Promise<void> {
    return this.store.refundRateLimit(this.rule.name, this.id(key));
  }

  /** The counted attempt has just failed: a delay counts from now, not from when it began. */
  failed(key: string, now = Date.now()): Promise<void> {
    return this.store.failedRateLimit(this.rule, this.id(key), now);
  }

  reset(key: string): Promise<void> {
    return this.store.clearRateLimit(this.rule.name, this.id(key));
  }
}

/** At most `max` attempts per key in a window of `windowMs` that begins with the first. */
export const windowLimiter = (store: RateLimitStore, name: string, w: WindowPolicy): Limiter =>
  new Limiter(store, { kind: 'window', name, max: w.max, windowMs: w.windowMs });

/**
 * Per-account failures from any address: after `free` failures each further attempt must wait
 * base × 2^(failures − free), capped. A guesser spread over many addresses gets a handful of tries;
 * the owner, at worst, waits `maxDelayMs` and then signs in.
 */
export const delayLimiter = (store: RateLimitStore, name: string, p: DelayPolicy): Limiter =>
  new Limiter(store, { kind: 'delay', name, ...p });

/** One limit a request must pass, and what to answer when it does not. */
export interface Gate {
  limiter: Limiter;
  key: string;
  status: 429 | 503;
  message: string;
}

const refusal = (gate: Gate, wait: number) =>
  new RateLimitedError(`${gate.message}; try again in ${wait} s`, wait, gate.status);

/**
 * Counts an attempt on every gate (at once: one round trip to the database). When any refuses, the
 * others' counts are taken back and the first refusal is thrown. Returns the refund for an attempt
 * that succeeded or was never evaluated.
 */
export async function admit(gates: Gate[], now = Date.now()): Promise<() => Promise<void>> {
  const waits = await Promise.all(gates.map((g) => g.limiter.take(g.key, now)));
  const refused = waits.findIndex((w) => w > 0);
  const refund = async (which: Gate[]) => {
    await Promise.all(which.map((g) => g.limiter.refund(g.key)));
  };
  if (refused >= 0) {
    await refund(gates.filter((_, i) => waits[i] === 0));
    throw refusal(gates[refused], waits[refused]);
  }
  return () => refund(gates);
}

/**
 * Throws the first refusal of the gates, counting nothing: for a door checked often and cheaply
 * (refresh), whose failures are then counted with `countFailure`.
 */
export async function check(gates: Gate[], now = Date.now()): Promise<void> {
  const waits = await Promise.all(gates.map((g) => g.limiter.retryAfter(g.key, now)));
  const refused = waits.findIndex((w) => w > 0);
  if (refused >= 0) throw refusal(gates[refused], waits[refused]);
}

/** Counts one failure on every gate (as far as its limit goes). */
export async function countFailure(gates: Gate[], now = Date.now()): Promise<void> {
  await Promise.all(gates.map((g) => g.limiter.take(g.key, now)));
}
