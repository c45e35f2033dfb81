import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleCsp, contentTypeOf, resolveConsoleAsset } from '../../shared/console-assets';

test('asset paths stay inside the build folder; escapes are refused', () => {
  assert.deepEqual(resolveConsoleAsset('/'), { file: 'index.html', shellIfMissing: false });
  assert.deepEqual(resolveConsoleAsset('/assets/app-1.js'), {
    file: 'assets/app-1.js',
    shellIfMissing: false,
  });
  assert.deepEqual(resolveConsoleAsset('/./assets//x.css'), { file: 'assets/x.css', shellIfMissing: false });
  for (const evil of [
    '/../etc/passwd',
    '/assets/../../secret.key',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/a%5c..%5cb',
    '/x%00.js',
    '/%E0%A4%A',
  ])
    assert.equal(resolveConsoleAsset(evil), undefined, evil);
});

test('client routes get the app shell when missing; missing assets do not', () => {
  assert.equal(resolveConsoleAsset('/workloads/orders')?.shellIfMissing, true);
  assert.equal(resolveConsoleAsset('/assets/missing.js')?.shellIfMissing, false);
});

test('content types by extension, octet-stream otherwise', () => {
  assert.equal(contentTypeOf('assets/a.JS'), 'text/javascript; charset=utf-8');
  assert.equal(contentTypeOf('index.html'), 'text/html; charset=utf-8');
  assert.equal(contentTypeOf('LICENSE'), 'application/octet-stream');
});

test('the CSP allows no inline or evaluated script and adds only the given connect origins', () => {
  const csp = consoleCsp(['wss://hub.example.com']);
  const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  assert.deepEqual(directives['script-src'], ["'self'"]);
  assert.deepEqual(directives['connect-src'], ["'self'", 'wss://hub.example.com']);
  assert.ok(!csp.includes('unsafe-eval') && !csp.includes('unsafe-inline'));
  assert.deepEqual(directives['frame-ancestors'], ["'none'"]);
});
