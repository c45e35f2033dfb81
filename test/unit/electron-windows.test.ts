// The renderer's sandbox: web preferences, CSP, navigation and window-open guards, permissions, and
// the app:// protocol that serves the console.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import {
  consoleWebPreferences,
  consoleWindowOptions,
  createConsoleWindows,
} from '../../electron/main/windows';
import { CONTENT_SECURITY_POLICY, installCsp, withCsp } from '../../electron/main/csp';
import { guardNavigation, isSafeExternalUrl } from '../../electron/main/navigation-guard';
import { installPermissionGuards } from '../../electron/main/permissions';
import { CONSOLE_URL, createAppRequestHandler, isAppUrl } from '../../electron/main/app-protocol';

function assertLockedDown(prefs: WebPreferences | undefined) {
  assert.ok(prefs, 'webPreferences are set');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.notEqual(prefs.nodeIntegrationInWorker, true);
  assert.notEqual(prefs.nodeIntegrationInSubFrames, true);
  assert.notEqual(prefs.webSecurity, false, 'webSecurity stays at its default (on)');
  assert.notEqual(prefs.allowRunningInsecureContent, true);
  assert.notEqual(prefs.experimentalFeatures, true);
  assert.notEqual(prefs.webviewTag, true);
  assert.ok(!('enableRemoteModule' in prefs), 'no remote module');
  assert.equal(prefs.preload, '/app/dist/electron/preload.cjs');
}

describe('console window', () => {
  test('the exported web preferences and window options are locked down', () => {
    assertLockedDown(consoleWebPreferences('/app/dist/electron/preload.cjs'));
    assertLockedDown(consoleWindowOptions('/app/dist/electron/preload.cjs').webPreferences);
  });

  test('every window the app creates gets those options and loads the app:// console', async () => {
    const created: { options: BrowserWindowConstructorOptions; loaded: string[] }[] = [];
    class FakeWindow extends EventEmitter {
      loaded: string[] = [];
      constructor(readonly options: BrowserWindowConstructorOptions) {
        super();
        created.push(this);
      }
      loadURL(url: string) {
        this.loaded.push(url);
        return Promise.resolve();
      }
      isDestroyed() {
        return false;
      }
      isMinimized() {
        return false;
      }
      restore() {}
      show() {}
      focus() {}
    }
    const windows = createConsoleWindows(
      { BrowserWindow: FakeWindow as never },
      { preloadPath: '/app/dist/electron/preload.cjs' },
    );
    windows.open();
    windows.open('/workloads/db');
    assert.equal(created.length, 1, 'a second open focuses the same window');
    assertLockedDown(created[0].options.webPreferences);
    assert.deepEqual(created[0].loaded, [CONSOLE_URL, `${CONSOLE_URL}#/workloads/db`]);
  });
});

describe('content security policy', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );

  test('no eval, no inline script, nothing from elsewhere', () => {
    assert.ok(!CONTENT_SECURITY_POLICY.includes('unsafe-eval'));
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('base-uri'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    for (const values of directives.values()) {
      assert.ok(!values.includes('*') && !values.some((v) => v.startsWith('http')), 'no remote sources');
    }
  });

  test('onHeadersReceived replaces any CSP a response carried with ours', () => {
    let listener:
      | ((details: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void)
      | undefined;
    installCsp({ webRequest: { onHeadersReceived: (l: typeof listener) => (listener = l) } } as never);
    assert.ok(listener, 'a listener is installed');
    let out: Record<string, string[]> | undefined;
    listener(
      {
        responseHeaders: {
          'content-security-policy': ["script-src 'unsafe-eval'"],
          'Content-Type': ['text/html'],
        },
      },
      (r) => (out = r.responseHeaders),
    );
    assert.deepEqual(out, {
      'Content-Type': ['text/html'],
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    });
    assert.deepEqual(withCsp(undefined), { 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });
});

describe('navigation guard', () => {
  function guarded() {
    const contents = new EventEmitter() as EventEmitter & {
      openHandler?: (d: { url: string }) => { action: string };
      setWindowOpenHandler(h: (d: { url: string }) => { action: string }): void;
    };
    contents.setWindowOpenHandler = (h) => (contents.openHandler = h);
    const opened: string[] = [];
    guardNavigation(contents as never, { openExternal: async (url: string) => void opened.push(url) });
    const navigate = (event: string, url: string, extra: object = {}) => {
      let prevented = false;
      const e = { url, ...extra, preventDefault: () => (prevented = true) };
      contents.emit(event, e, url);
      return prevented;
    };
    return { contents, opened, navigate };
  }

  test('navigating away from the console is blocked; https destinations open in the browser', () => {
    const { navigate, opened } = guarded();
    assert.equal(navigate('will-navigate', 'https://evil.example/phish'), true);
    assert.equal(navigate('will-navigate', 'http://evil.example/'), true);
    assert.equal(navigate('will-navigate', 'file:///etc/passwd'), true);
    assert.equal(navigate('will-navigate', 'javascript:alert(1)'), true);
    assert.equal(navigate('will-redirect', 'https://evil.example/'), true);
    assert.equal(navigate('will-frame-navigate', 'https://evil.example/'), true);
    assert.equal(navigate('will-attach-webview', 'https://evil.example/'), true);
    assert.equal(navigate('will-navigate', `${CONSOLE_URL}#/x`), false, 'in-app navigation is fine');
    assert.deepEqual(opened, ['https://evil.example/phish'], 'only the https one went to the system browser');
  });

  test('window.open is always denied; only https links go to shell.openExternal', () => {
    const { contents, opened } = guarded();
    for (const url of [
      'https://docs.lattice.dev/share',
      'http://example.com/',
      'file:///etc/passwd',
      'smb://host/share',
      'https://user:pass@example.com/',
      'not a url',
      `${CONSOLE_URL}`,
    ]) {
      assert.deepEqual(contents.openHandler!({ url }), { action: 'deny' });
    }
    assert.deepEqual(opened, ['https://docs.lattice.dev/share']);
  });

  test('isSafeExternalUrl: https only, with a host and no credentials', () => {
    assert.equal(isSafeExternalUrl('https://example.com/a?b#c'), true);
    assert.equal(isSafeExternalUrl('http://example.com/'), false);
    assert.equal(isSafeExternalUrl('HTTPS://EXAMPLE.COM/'), true);
    assert.equal(isSafeExternalUrl('https://a:b@example.com/'), false);
    assert.equal(isSafeExternalUrl('mailto:x@example.com'), false);
    assert.equal(isSafeExternalUrl(''), false);
  });
});

describe('permissions', () => {
  function guards() {
    const h: {
      request?: (wc: unknown, permission: string, cb: (ok: boolean) => void, details: object) => void;
      check?: (wc: unknown, permission: string, origin: string, details: object) => boolean;
      device?: () => boolean;
    } = {};
    installPermissionGuards({
      setPermissionRequestHandler: (f: never) => (h.request = f),
      setPermissionCheckHandler: (f: never) => (h.check = f),
      setDevicePermissionHandler: (f: never) => (h.device = f),
    } as never);
    const request = (permission: string, url: string) => {
      let answer: boolean | undefined;
      h.request!({ getURL: () => url }, permission, (ok) => (answer = ok), { requestingUrl: url });
      return answer;
    };
    return { h, request };
  }

  test('permission requests are denied, even from the console', () => {
    const { request } = guards();
    for (const permission of [
      'media',
      'geolocation',
      'notifications',
      'openExternal',
      'fullscreen',
      'unknown',
    ]) {
      assert.equal(request(permission, CONSOLE_URL), false, permission);
      assert.equal(request(permission, 'https://evil.example/'), false, permission);
    }
  });

  test('checks are denied except clipboard writing by the console itself', () => {
    const { h, request } = guards();
    assert.equal(h.check!(null, 'media', 'app://lattice', {}), false);
    assert.equal(h.check!(null, 'clipboard-read', 'app://lattice', {}), false);
    assert.equal(h.check!(null, 'clipboard-sanitized-write', 'app://lattice', {}), true);
    assert.equal(h.check!(null, 'clipboard-sanitized-write', 'https://evil.example', {}), false);
    assert.equal(request('clipboard-sanitized-write', 'https://evil.example/'), false);
    assert.equal(h.device!(), false);
  });
});

describe('app:// protocol', () => {
  const root = mkdtempSync(join(tmpdir(), 'lattice-renderer-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><div id=root></div>');
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(root, '..', 'lattice-secret.txt'), 'secret');
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(join(root, '..', 'lattice-secret.txt'), { force: true });
  });
  const serve = createAppRequestHandler(root);
  const get = (url: string) => serve(new Request(url));

  test('serves the console files with the CSP and the right types', async () => {
    const html = await get('app://lattice/index.html');
    assert.equal(html.status, 200);
    assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(html.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    const js = await get('app://lattice/assets/index-abc.js');
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await js.text(), 'console.log(1)');
    const route = await get('app://lattice/workloads/db');
    assert.match(await route.text(), /id=root/, 'routes get the app shell');
  });

  test('nothing outside the renderer folder, and no other host', async () => {
    for (const url of [
      'app://lattice/../lattice-secret.txt',
      'app://lattice/%2e%2e/lattice-secret.txt',
      'app://lattice/assets/%2e%2e%2f%2e%2e%2flattice-secret.txt',
      'app://lattice/missing.js',
      'app://other/index.html',
    ]) {
      const res = await get(url);
      assert.equal(res.status, 404, url);
      assert.doesNotMatch(await res.text(), /secret/);
    }
  });

  test('without a renderer build the window says how to make one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lattice-renderer-empty-'));
    try {
      const res = await createAppRequestHandler(empty)(new Request('app://lattice/index.html'));
      assert.equal(res.status, 503);
      assert.match(await res.text(), /npm run build/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('isAppUrl accepts only the console origin', () => {
    assert.equal(isAppUrl('app://lattice/index.html'), true);
    assert.equal(isAppUrl('app://lattice.evil.example/'), false);
    assert.equal(isAppUrl('https://lattice/'), false);
    assert.equal(isAppUrl(undefined), false);
  });
});
