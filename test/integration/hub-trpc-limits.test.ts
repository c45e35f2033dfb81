// /trpc keeps the hub's rules for its doors: registration is rate-limited by the same counter as
// POST /api/auth/register (one account function behind both), answered 429 with Retry-After.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startTestHub } from './hub-fixtures';

test('registration through /trpc and /api shares one limit, with Retry-After', async () => {
  const hub = await startTestHub({ registrations: { max: 2, windowMs: 60_000 } });
  try {
    const register = (n: number) =>
      fetch(`${hub.url}/trpc/user.register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `limit${n}@example.com`, password: 'a long enough password' }),
      });
    assert.equal((await register(1)).status, 200);
    const rest = await api(hub, 'POST', '/api/auth/register', {
      body: { email: 'limit2@example.com', password: 'a long enough password' },
    });
    assert.equal(rest.status, 201);
    // The third attempt from this address, whichever door: refused, saying when to come back.
    const third = await register(3);
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) > 0, 'Retry-After');
    const body = (await third.json()) as { error: { data: { lattice: { code: string } } } };
    assert.equal(body.error.data.lattice.code, 'rate_limited');
    const restAgain = await api(hub, 'POST', '/api/auth/register', {
      body: { email: 'limit4@example.com', password: 'a long enough password' },
    });
    assert.equal(restAgain.status, 429);
  } finally {
    await hub.stop();
  }
});
