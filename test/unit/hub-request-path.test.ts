// requestPath (server/http/request-path.ts) skips the URL parser for plain paths: whatever it is
// given, its answer must be the parser's, or a route or a static file could be reached by a path the
// parser would have read differently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestPath } from '../../server/http/request-path';

const parsed = (url: string) => {
  try {
    return new URL(url, 'http://hub').pathname;
  } catch {
    return undefined;
  }
};

test('plain API and asset paths come back as they are, without the query', () => {
  assert.equal(requestPath('/api/devices/dev_1/commands'), '/api/devices/dev_1/commands');
  assert.equal(requestPath('/assets/index-Bx1.js'), '/assets/index-Bx1.js');
  assert.equal(requestPath('/api/workloads?node=a&status=running'), '/api/workloads');
  assert.equal(requestPath(undefined), '/');
});

test('paths the URL parser rewrites get its answer', () => {
  for (const url of [
    '/api/../agent',
    '/api/./devices',
    '/api/devices/..',
    '/.',
    '/..',
    '/api/%2e%2e/agent',
    '/api/%2E/x',
    '//evil.example/api/health',
    '/api\\..\\agent',
    '/api/dev ices',
    '/api/é',
    '/api/devices#frag',
    '/a/b/../../c/./d',
    '/...',
    '/api/.hidden/x.',
    '',
    '?x=1',
  ]) {
    assert.equal(requestPath(url), parsed(url), url);
  }
});

test('a target the parser refuses has no path (the router answers 400), instead of an exception', () => {
  for (const url of ['//', '//:x', '///', '//[', '//a:b@', '//%'])
    assert.equal(requestPath(url), undefined, url);
});

test('random paths over a hostile alphabet: always the parser’s answer', () => {
  const alphabet = [
    '/',
    '.',
    '..',
    '%2e',
    '%2F',
    '\\',
    'a',
    'Z',
    '9',
    '-',
    '_',
    '~',
    '?',
    '#',
    ' ',
    'é',
    '//',
  ];
  let seed = 14;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20_000; i++) {
    let url = next() < 0.9 ? '/' : '';
    const parts = 1 + Math.floor(next() * 8);
    for (let j = 0; j < parts; j++) url += alphabet[Math.floor(next() * alphabet.length)];
    assert.equal(requestPath(url), parsed(url), JSON.stringify(url));
  }
});
