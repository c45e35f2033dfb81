// The console login link's one-time token (electron/agent/local-api/auth.ts): it is printed to a
// terminal and travels in a URL, so it works once and only for a few minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiAuth, ONE_TIME_TOKEN_TTL_MS } from '../../electron/agent/local-api/auth';

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

test('a one-time token works once', () => {
  const auth = new ApiAuth('a'.repeat(64));
  const token = auth.issueOneTimeToken();
  assert.equal(auth.redeemOneTimeToken('not-' + token), false);
  assert.equal(auth.redeemOneTimeToken(token), true);
  assert.equal(auth.redeemOneTimeToken(token), false, 'spent by its first use');
});

test('a one-time token expires after a few minutes, used or not', () => {
  assert.ok(ONE_TIME_TOKEN_TTL_MS >= 60_000 && ONE_TIME_TOKEN_TTL_MS <= 10 * 60_000, 'a few minutes');
  const c = clock();
  const auth = new ApiAuth('a'.repeat(64), c.now);
  const early = auth.issueOneTimeToken();
  const late = auth.issueOneTimeToken();
  c.advance(ONE_TIME_TOKEN_TTL_MS - 1000);
  assert.equal(auth.redeemOneTimeToken(early), true, 'still valid just before it expires');
  c.advance(2000);
  assert.equal(auth.redeemOneTimeToken(late), false, 'expired (a token printed at 12:39 fails at 12:53)');
  // A fresh link after that works as usual.
  assert.equal(auth.redeemOneTimeToken(auth.issueOneTimeToken()), true);
});
