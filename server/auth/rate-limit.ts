// Attempt limits for the hub's costly or guessable doors (login, registration, pairing, refresh).
// Attempts are charged *before* the work (a password hash, a code lookup) and refunded when they
// succeed, so a burst of concurrent requests cannot all slip past a check that counts only finished
// failures. In memory: a restart forgets, which is acceptable for a hub. Hubs of a cluster tell each
// other every change over NATS (LimiterChange, server/bus/nats-bus.ts), so each counts the attempts
// made on all of them. Memory is bounded: idle keys are swept.

import { LatticeError } from '../../shared';

const MAX_KEYS = 100_000;

/**
 * One change to a limiter, as hubs of a cluster tell each other (server/bus/): every hub applies the
 * others' changes to its own limiter of the same name, so attempts spread over the hubs are counted
 * as if there were one.
 */
export interface LimiterChange {
  op: 'charge' | 'refund' | 'failed' | 'reset';
  key: string;
  now: number;
}

/** A limiter another hub can mirror: it reports its own changes and applies the others'. */
export interface MirroredLimiter {
  onChange?: (change: LimiterChange) => void;
  apply(change: LimiterChange): void;
}

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

/** At most `max` charged attempts per key within a sliding `windowMs`. */
export class WindowLimiter implements MirroredLimiter {
  private readonly attempts = new Map<string, number[]>();
  onChange?: (change: LimiterChange) => void;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Seconds until the key may try again, or 0 when it may try now. */
  retryAfter(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.max) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.max] + this.windowMs - now) / 1000));
  }

  charge(key: string, now = Date.now()): void {
    this.apply({ op: 'charge', key, now });
    this.onChange?.({ op: 'charge', key, now });
  }

  apply(change: LimiterChange): void {
    const { key, now } = change;
    if (change.op === 'refund') return this.takeBack(key);
    if (change.op === 'reset') return void this.attempts.delete(key);
    if (change.op !== 'charge') return;
    const recent = this.recent(key, now);
    recent.push(now);
    // Only the newest `max` matter for the answer; older ones need not be kept.
    if (recent.length > this.max) recent.splice(0, recent.length - this.max);
    this.attempts.set(key, recent);
    if (this.attempts.size > MAX_KEYS) this.sweep(now);
  }

  /** Takes back the newest charge (the attempt succeeded or was never evaluated). */
  refund(key: string): void {
    this.takeBack(key);
    this.onChange?.({ op: 'refund', key, now: Date.now() });
  }

  private takeBack(key: string): void {
    const list = this.attempts.get(key);
    list?.pop();
    if (list && list.length === 0) this.attempts.delete(key);
  }

  reset(key: string): void {
    this.attempts.delete(key);
    this.onChange?.({ op: 'reset', key, now: Date.now() });
  }

  private recent(key: string, now: number): number[] {
    return (this.attempts.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }

  private sweep(now: number): void {
    for (const [key, times] of this.attempts) {
      if (times.every((t) => t <= now - this.windowMs)) this.attempts.delete(key);
    }
    // Still too many live keys (a spray from many addresses): forget the oldest.
    for (const key of this.attempts.keys()) {
      if (this.attempts.size <= MAX_KEYS) break;
      this.attempts.delete(key);
    }
  }
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

/**
 * Per-account failures from any address: after `free` failures each further attempt must wait
 * base × 2^(failures − free), capped. A guesser spread over many addresses gets a handful of tries;
 * the owner, at worst, waits `maxDelayMs` and then signs in.
 */
export class DelayLimiter implements MirroredLimiter {
  private readonly state = new Map<string, { failures: number; last: number }>();
  onChange?: (change: LimiterChange) => void;

  constructor(readonly policy: DelayPolicy) {}

  retryAfter(key: string, now = Date.now()): number {
    const s = this.current(key, now);
    if (!s || s.failures < this.policy.free) return 0;
    const delay = Math.min(this.policy.maxDelayMs, this.policy.baseMs * 2 ** (s.failures - this.policy.free));
    const wait = s.last + delay - now;
    return wait > 0 ? Math.max(1, Math.ceil(wait / 1000)) : 0;
  }

  charge(key: string, now = Date.now()): void {
    this.apply({ op: 'charge', key, now });
    this.onChange?.({ op: 'charge', key, now });
  }

  /** The charged attempt has just failed: the delay counts from now, not from when it began. */
  failed(key: string, now = Date.now()): void {
    this.apply({ op: 'failed', key, now });
    this.onChange?.({ op: 'failed', key, now });
  }

  refund(key: string): void {
    const now = Date.now();
    this.apply({ op: 'refund', key, now });
    this.onChange?.({ op: 'refund', key, now });
  }

  reset(key: string): void {
    const now = Date.now();
    this.apply({ op: 'reset', key, now });
    this.onChange?.({ op: 'reset', key, now });
  }

  apply({ op, key, now }: LimiterChange): void {
    if (op === 'charge') {
      const s = this.current(key, now) ?? { failures: 0, last: now };
      this.state.set(key, { failures: s.failures + 1, last: now });
      if (this.state.size > MAX_KEYS) this.sweep(now);
    } else if (op === 'failed') {
      const s = this.state.get(key);
      if (s) s.last = now;
    } else if (op === 'refund') {
      const s = this.state.get(key);
      if (!s) return;
      if (s.failures <= 1) this.state.delete(key);
      else s.failures--;
    } else {
      this.state.delete(key);
    }
  }

  private current(key: string, now: number) {
    const s = this.state.get(key);
    if (s && now - s.last > this.policy.windowMs) {
      this.state.delete(key);
      return undefined;
    }
    return s;
  }

  private sweep(now: number): void {
    for (const [key, s] of this.state) if (now - s.last > this.policy.windowMs) this.state.delete(key);
    for (const key of this.state.keys()) {
      if (this.state.size <= MAX_KEYS) break;
      this.state.delete(key);
    }
  }
}
