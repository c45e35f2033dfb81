// The parts of the hub's abuse limits, alone: attempt limiters (over the hub store of this run,
// SQLite or — with LATTICE_HUB_DATABASE=postgres — PostgreSQL), the password-hash pool, the client
// address behind trusted proxies, the sampled protocol-violation log, the connection caps' defaults
// and the `lattice hub` flags. The integration tests (hub-abuse.test.ts) run them in a real hub.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { HashPool, HashPoolBusyError } from '../../server/auth/hash-pool';
import {
  admit,
  delayLimiter,
  RateLimitedError,
  windowLimiter,
  type Gate,
} from '../../server/auth/rate-limit';
import { clientAddress } from '../../server/http/client-address';
import { defaultMaxConnections } from '../../server/http/connection-guard';
import {
  hardeningOptions,
  parseCount,
  parseProxyCount,
  parseSeconds,
} from '../../server/http/hardening-flags';
import { ProtocolViolations } from '../../server/sockets/protocol-violations';
import type { HubStore } from '../../server/store/hub-store';
import { openTestStore, testStoreKind } from '../helpers/hub-test-store';

const stores: HubStore[] = [];
const store = async () => {
  const s = await openTestStore();
  stores.push(s);
  return s;
};
after(() => Promise.all(stores.map((s) => s.close())));

describe(`attempt limiters (${testStoreKind()})`, () => {
  test('window: max attempts per window; a refused one counts nothing; a refund gives one back', async () => {
    const l = windowLimiter(await store(), 'test', { max: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      assert.equal(await l.retryAfter('a', 1000), 0);
      assert.equal(await l.take('a', 1000), 0);
    }
    assert.equal(await l.retryAfter('a', 1000), 60);
    assert.equal(await l.take('a', 30_000), 31, 'refused until the window ends');
    assert.equal(await l.retryAfter('b', 1000), 0, 'keys are separate');
    await l.refund('a');
    assert.equal(await l.retryAfter('a', 1000), 0);
    assert.equal(await l.take('a', 1000), 0);
    assert.equal(await l.take('a', 1000), 60);
    assert.equal(await l.retryAfter('a', 61_001), 0, 'old attempts leave the window');
    assert.equal(await l.take('a', 61_001), 0, 'and a new window begins');
    assert.equal(await l.retryAfter('a', 61_001), 0);
  });

  test('delay: free failures, then a doubling delay that stops at the cap', async () => {
    const l = delayLimiter(await store(), 'acct', {
      free: 2,
      baseMs: 1000,
      maxDelayMs: 8000,
      windowMs: 3_600_000,
    });
    let now = 1_000_000;
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      waits.push(await l.retryAfter('acct', now));
      now += waits[i] * 1000;
      assert.equal(await l.take('acct', now), 0, `attempt ${i + 1} is let through after its wait`);
      if (i >= 1) assert.ok((await l.take('acct', now)) > 0, 'the next one at once is refused');
      await l.failed('acct', now);
    }
    assert.deepEqual(waits, [0, 0, 1, 2, 4, 8, 8]);
    await l.reset('acct');
    assert.equal(await l.retryAfter('acct', now), 0, 'a success wipes the slate');
    assert.equal(await l.retryAfter('acct', now + 3_600_001), 0);
  });

  test('the counts outlive the store: a store opened again on the same database still refuses', async () => {
    const s = await store();
    const rule = { max: 1, windowMs: 60_000 };
    assert.equal(await windowLimiter(s, 'again', rule).take('x', 5000), 0);
    // Another limiter object of the same name (as after a restart, or on another hub) sees the count.
    assert.equal(await windowLimiter(s, 'again', rule).take('x', 5000), 60);
    assert.equal(await windowLimiter(s, 'other', rule).take('x', 5000), 0, 'names are separate');
  });

  test('admit counts on every gate or on none: a refused gate takes the others back', async () => {
    const s = await store();
    const perAddress = windowLimiter(s, 'address', { max: 1, windowMs: 60_000 });
    const global = windowLimiter(s, 'global', { max: 1, windowMs: 60_000 });
    const gates = (ip: string): Gate[] => [
      { limiter: perAddress, key: ip, status: 429, message: 'Too many from this address' },
      { limiter: global, key: '*', status: 503, message: 'The hub is refusing' },
    ];
    const refund = await admit(gates('10.0.0.1'), 1000);
    await assert.rejects(admit(gates('10.0.0.2'), 1000), (err: unknown) => {
      assert.ok(err instanceof RateLimitedError);
      assert.equal(err.httpStatus, 503);
      assert.equal(err.retryAfterSeconds, 60);
      assert.equal(err.message, 'The hub is refusing; try again in 60 s');
      return true;
    });
    assert.equal(await perAddress.retryAfter('10.0.0.2', 1000), 0, 'the refused attempt was taken back');
    await refund();
    assert.equal(await global.retryAfter('*', 1000), 0, 'a refund gives the attempt back');
    await (
      await admit(gates('10.0.0.2'), 1000)
    )();
  });

  test('expired counts and counts refunded to nothing are pruned', async () => {
    const s = await store();
    const l = windowLimiter(s, 'prune', { max: 2, windowMs: 1000 });
    await l.take('old', 0);
    await l.take('kept', 500);
    await l.take('refunded', 500);
    await l.refund('refunded');
    assert.equal(await s.pruneRateLimits(1200), 2);
    assert.equal(await l.retryAfter('kept', 1200), 0);
    await l.take('kept', 1200);
    assert.equal(await l.retryAfter('kept', 1200), 1, 'the kept count still counts');
  });

  test('RateLimitedError says 429 for one caller, 503 for the whole hub', () => {
    assert.equal(new RateLimitedError('x', 3).httpStatus, 429);
    assert.equal(new HashPoolBusyError(2).httpStatus, 503);
    assert.equal(new HashPoolBusyError(2).code, 'rate_limited');
  });
});

describe('password-hash pool', () => {
  test('never runs more than `concurrency` at once; beyond the queue it refuses with Retry-After', async () => {
    const pool = new HashPool({ concurrency: 2, maxQueue: 2, maxWaitMs: 5000 });
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const work = () =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => {
          running--;
          resolve();
        });
      });
    const accepted = [pool.run(work), pool.run(work), pool.run(work), pool.run(work)];
    const refused = pool.run(work);
    await assert.rejects(
      refused,
      (err: unknown) => err instanceof HashPoolBusyError && err.retryAfterSeconds >= 1,
    );
    assert.deepEqual(pool.stats, { running: 2, queued: 2 });
    while (releases.length || pool.stats.running) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(accepted);
    assert.equal(peak, 2);
  });

  test('a queued hash that waits past maxWaitMs is refused instead of waiting on', async () => {
    const pool = new HashPool({ concurrency: 1, maxQueue: 4, maxWaitMs: 50 });
    let release!: () => void;
    const first = pool.run(() => new Promise<void>((r) => (release = r)));
    await assert.rejects(
      pool.run(async () => 'never'),
      HashPoolBusyError,
    );
    release();
    await first;
    assert.equal(await pool.run(async () => 'now'), 'now', 'free again');
  });
});

describe('client address', () => {
  const req = (peer: string, xff?: string) =>
    ({
      socket: { remoteAddress: peer },
      headers: xff ? { 'x-forwarded-for': xff } : {},
    }) as unknown as IncomingMessage;

  test('X-Forwarded-For counts only with trusted proxies, and only as far as they vouch', () => {
    assert.equal(clientAddress(req('10.0.0.9', '1.2.3.4')), '10.0.0.9', 'not trusted by default');
    assert.equal(clientAddress(req('10.0.0.9', '1.2.3.4'), 1), '1.2.3.4');
    assert.equal(
      clientAddress(req('10.0.0.9', '6.6.6.6, 1.2.3.4'), 1),
      '1.2.3.4',
      'a client-written entry is ignored',
    );
    assert.equal(clientAddress(req('10.0.0.9', '1.2.3.4, 10.0.0.8'), 2), '1.2.3.4');
    assert.equal(clientAddress(req('10.0.0.9'), 1), '10.0.0.9', 'no header: the peer');
    assert.equal(clientAddress(req('10.0.0.9', 'not-an-ip'), 1), '10.0.0.9');
  });
});

describe('protocol violations', () => {
  test('10,000 bad messages: counted into a few lines, a disconnect past the bound, a doubling cool-down', () => {
    const lines: { msg: string; violations: number; cooldownSeconds?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    let now = 1_000_000;
    const v = new ProtocolViolations(
      logger,
      { maxPerWindow: 50, windowMs: 60_000, cooldownMs: 30_000 },
      () => now,
    );
    const verdicts = [];
    for (let i = 0; i < 10_000; i++)
      verdicts.push(v.record('dev1', 'unknown type', `type "junk-${i}"`).disconnect);
    assert.equal(verdicts.indexOf(true), 50, 'the 51st within the window disconnects');
    assert.ok(verdicts.slice(50).every(Boolean), 'and the device stays cut off during its cool-down');
    assert.equal(v.cooldownSeconds('dev1'), 30);
    assert.ok(lines.length <= 30, `${lines.length} lines for 10,000 violations`);
    assert.equal(lines[0].violations, 1, 'the first is logged at once, as a sample');
    assert.equal(lines[1].violations, 50, 'the next line carries the count');
    assert.equal(lines[1].cooldownSeconds, 30);
    now += 31_000;
    assert.equal(v.cooldownSeconds('dev1'), 0);
    for (let i = 0; i < 51; i++) v.record('dev1', 'unknown type');
    assert.equal(v.cooldownSeconds('dev1'), 60, 'a second disconnect doubles the cool-down');
    assert.equal(v.cooldownSeconds('dev2'), 0, 'other devices are not affected');
  });
});

describe('connection caps and flags', () => {
  test('the global socket cap stays below the descriptor limit', () => {
    assert.equal(defaultMaxConnections(256), 192);
    assert.equal(defaultMaxConnections(1024), 820);
    assert.equal(defaultMaxConnections(1_048_576), 8192);
    assert.equal(defaultMaxConnections(undefined), 8192);
  });

  test('hub flags become startHub options; bad values are refused with a reason', () => {
    assert.deepEqual(
      hardeningOptions({
        trustProxy: parseProxyCount('1'),
        idleTimeout: parseSeconds('2.5'),
        keepAliveTimeout: parseSeconds('10'),
        maxConnections: parseCount('500'),
        maxConnectionsPerAddress: parseCount('20'),
        maxUpgradesPerAddress: parseCount('8'),
        hashConcurrency: parseCount('1'),
      }),
      {
        trustProxy: 1,
        connections: {
          idleTimeoutMs: 2500,
          keepAliveTimeoutMs: 10_000,
          maxConnections: 500,
          maxConnectionsPerAddress: 20,
          maxUpgradesPerAddress: 8,
        },
        hashPool: { concurrency: 1 },
      },
    );
    assert.deepEqual(hardeningOptions({}), { trustProxy: 0, connections: {} });
    assert.throws(() => parseProxyCount('-1'), /whole number/);
    assert.throws(() => parseSeconds('0'), /seconds/);
    assert.throws(() => parseCount('1.5'), /whole number/);
  });
});
