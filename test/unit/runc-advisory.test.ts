// CVE-2024-21626: runc < 1.1.12 is vulnerable unless it is a distro build carrying the backport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRuncVulnerable } from '../../electron/agent/runc-advisory';

test('upstream versions before 1.1.12 are vulnerable, from 1.1.12 on they are not', () => {
  assert.equal(isRuncVulnerable('1.1.11'), true);
  assert.equal(isRuncVulnerable('1.0.0-rc93'), true);
  assert.equal(isRuncVulnerable('v1.1.5'), true);
  assert.equal(isRuncVulnerable('1.1.12'), false);
  assert.equal(isRuncVulnerable('1.2.0'), false);
  assert.equal(isRuncVulnerable('2.0.0'), false);
});

test('Debian security builds with the backported fix count as patched; older ones do not', () => {
  assert.equal(isRuncVulnerable('1.1.5+ds1', '1.1.5+ds1-1+deb12u1'), false);
  assert.equal(isRuncVulnerable('1.1.5+ds1', '1.1.5+ds1-1+deb12u2'), false);
  assert.equal(isRuncVulnerable('1.1.5+ds1', '1.1.5+ds1-1'), true);
  assert.equal(isRuncVulnerable('1.0.0~rc93+ds1', '1.0.0~rc93+ds1-5+deb11u3'), false);
  assert.equal(isRuncVulnerable('1.0.0~rc93+ds1', '1.0.0~rc93+ds1-5+deb11u2'), true);
  assert.equal(isRuncVulnerable('1.1.5+ds1'), true);
});

test('an unknown version is reported as unknown, not as safe', () => {
  assert.equal(isRuncVulnerable(undefined), undefined);
  assert.equal(isRuncVulnerable('weird'), undefined);
});
