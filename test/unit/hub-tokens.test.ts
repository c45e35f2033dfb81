// The hub's token rules: algorithm pinned to EdDSA, exp/iss/aud required and checked, and the three
// kinds of token never accepted in each other's place.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import {
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  TokenService,
  loadOrCreateSigningKeys,
  type SigningKeys,
  type TokenKind,
} from '../../server/auth/tokens';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('hub tokens', () => {
  let dir: string;
  let keys: SigningKeys;
  let tokens: TokenService;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-tokens-'));
    keys = loadOrCreateSigningKeys(dir);
    tokens = new TokenService(keys);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const claims = (kind: TokenKind) => ({
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE[kind],
    sub: 'usr_1',
    jti: 'j1',
  });

  test('the signing key is Ed25519, kept 0600, and the same on the next start', async () => {
    assert.equal(keys.privateKey.asymmetricKeyType, 'ed25519');
    assert.equal(statSync(join(dir, 'hub-signing-key.pem')).mode & 0o777, 0o600);
    const again = new TokenService(loadOrCreateSigningKeys(dir));
    const { token } = await tokens.sign('access', 'usr_1');
    assert.equal((await again.verify('access', token))?.sub, 'usr_1');
  });

  test('each kind verifies where it belongs and nowhere else', async () => {
    const kinds: TokenKind[] = ['access', 'refresh', 'device'];
    for (const kind of kinds) {
      const { token } = await tokens.sign(kind, 'sub_1');
      for (const expected of kinds) {
        const verified = await tokens.verify(expected, token);
        if (expected === kind) assert.equal(verified?.sub, 'sub_1', `${kind} accepted as ${kind}`);
        else assert.equal(verified, undefined, `${kind} token refused where ${expected} is expected`);
      }
    }
  });

  test('an HS256 token is refused, even one keyed with the public key bytes', async () => {
    const secret = keys.publicKey.export({ format: 'der', type: 'spki' });
    const hs = await new SignJWT(claims('access'))
      .setProtectedHeader({ alg: 'HS256', typ: 'access' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new Uint8Array(secret));
    assert.equal(await tokens.verify('access', hs), undefined);
  });

  test('an alg:none token is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', typ: 'access' })}.${b64({ ...claims('access'), iat: now, exp: now + 600 })}.`;
    assert.equal(await tokens.verify('access', none), undefined);
  });

  test('a token without exp is refused', async () => {
    const noExp = await new SignJWT(claims('access'))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'access' })
      .setIssuedAt()
      .sign(keys.privateKey);
    assert.equal(await tokens.verify('access', noExp), undefined);
    // The same token with exp is accepted, so the refusal above is about exp.
    const withExp = await new SignJWT(claims('access'))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'access' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(keys.privateKey);
    assert.equal((await tokens.verify('access', withExp))?.sub, 'usr_1');
  });

  test('an expired token is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT(claims('access'))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'access' })
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 1800)
      .sign(keys.privateKey);
    assert.equal(await tokens.verify('access', expired), undefined);
  });

  test('wrong issuer or audience is refused', async () => {
    const sign = (c: Record<string, unknown>) =>
      new SignJWT(c)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'access' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(keys.privateKey);
    assert.equal(
      await tokens.verify('access', await sign({ ...claims('access'), iss: 'someone-else' })),
      undefined,
    );
    assert.equal(
      await tokens.verify('access', await sign({ ...claims('access'), aud: 'lattice-agent' })),
      undefined,
    );
    const { iss: _iss, ...noIss } = claims('access');
    assert.equal(await tokens.verify('access', await sign(noIss)), undefined);
  });

  test('a token signed by another Ed25519 key is refused', async () => {
    const other = generateKeyPairSync('ed25519');
    const forged = await new SignJWT(claims('access'))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'access' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(other.privateKey);
    assert.equal(await tokens.verify('access', forged), undefined);
  });

  test('garbage is refused without throwing', async () => {
    for (const junk of ['', 'a.b.c', 'x'.repeat(10_000), '...']) {
      assert.equal(await tokens.verify('device', junk), undefined);
    }
  });
});
