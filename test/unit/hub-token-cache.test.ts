// The hub remembers tokens it verified (bench/hub: an Ed25519 verify per request was the largest
// cost of a relayed command) — but only good verdicts, per kind, and never past the token's expiry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrCreateSigningKeys, TokenService, TOKEN_LIFETIME_S } from '../../server/auth/tokens';

const dir = mkdtempSync(join(tmpdir(), 'lattice-token-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a remembered token keeps its kind, and expires when the token does', async (t) => {
  const tokens = new TokenService(loadOrCreateSigningKeys(dir));
  const { token } = await tokens.sign('access', 'user-1', { tv: 0 });
  const first = await tokens.verify('access', token);
  assert.equal(first?.sub, 'user-1');
  assert.deepEqual(await tokens.verify('access', token), first);
  assert.equal(await tokens.verify('device', token), undefined, 'an access token is no device token');
  const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
  assert.equal(await tokens.verify('access', tampered), undefined);

  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + (TOKEN_LIFETIME_S.access + 1) * 1000 });
  assert.equal(await tokens.verify('access', token), undefined, 'not past its expiry');
});
