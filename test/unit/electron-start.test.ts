// `npm start`'s choice between the desktop app and the headless agent.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decideStartMode, findElectronBinary } from '../../scripts/electron-binary.mjs';

const present = { present: true, path: '/opt/electron/electron' };
const desktop = { DISPLAY: ':0' };

describe('Electron binary detection', () => {
  test('the package throwing (no recorded download) means absent, with a one-line reason', () => {
    const binary = findElectronBinary({
      requireElectron: () => {
        throw new Error(
          'Electron failed to install correctly, please delete node_modules/electron and try again',
        );
      },
    });
    assert.equal(binary.present, false);
    assert.equal(binary.reason, "Electron's binary is not installed (no download on this machine)");
    assert.doesNotMatch(binary.reason ?? '', /\n/);
  });

  test('a path to a file that does not exist means absent', () => {
    const binary = findElectronBinary({ requireElectron: () => '/nowhere/electron', exists: () => false });
    assert.equal(binary.present, false);
    assert.equal(binary.path, '/nowhere/electron');
  });

  test('an existing binary is present', () => {
    const binary = findElectronBinary({
      requireElectron: () => '/opt/electron/electron',
      exists: () => true,
    });
    assert.deepEqual(binary, { present: true, path: '/opt/electron/electron' });
  });

  test('on this machine the real package has no binary, so start goes headless', () => {
    let realPath: string | undefined;
    try {
      realPath = createRequire(import.meta.url)('electron') as string;
    } catch {
      realPath = undefined;
    }
    const binary = findElectronBinary();
    assert.equal(binary.present, realPath !== undefined && existsSync(realPath));
    if (!binary.present) {
      assert.equal(decideStartMode({ binary, env: desktop, platform: 'linux' }).mode, 'headless');
    }
  });
});

describe('start mode', () => {
  test('absent binary → headless, with the reason', () => {
    const decision = decideStartMode({
      binary: { present: false, reason: 'no binary' },
      env: desktop,
      platform: 'linux',
    });
    assert.deepEqual(decision, { mode: 'headless', reason: 'no binary' });
  });

  test('present binary with a display → electron', () => {
    assert.deepEqual(decideStartMode({ binary: present, env: desktop, platform: 'linux' }), {
      mode: 'electron',
      path: '/opt/electron/electron',
    });
    assert.equal(
      decideStartMode({ binary: present, env: { WAYLAND_DISPLAY: 'wayland-0' }, platform: 'linux' }).mode,
      'electron',
    );
    assert.equal(decideStartMode({ binary: present, env: {}, platform: 'darwin' }).mode, 'electron');
  });

  test('Linux without a display, or LATTICE_HEADLESS=1 → headless', () => {
    assert.equal(decideStartMode({ binary: present, env: {}, platform: 'linux' }).mode, 'headless');
    assert.equal(
      decideStartMode({ binary: present, env: { ...desktop, LATTICE_HEADLESS: '1' }, platform: 'linux' })
        .mode,
      'headless',
    );
  });
});

describe('scripts/start.mjs', () => {
  test('prints one line saying why it runs headless, then starts the agent', () => {
    // --help of the agent command proves the fallback reached `lattice agent` without starting one.
    const root = new URL('../..', import.meta.url).pathname;
    const out = spawnSync(process.execPath, ['scripts/start.mjs', '--help'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, LATTICE_HEADLESS: '1' },
      timeout: 60_000,
    });
    const lines = out.stdout.split('\n');
    assert.match(
      lines[0],
      /^LATTICE_HEADLESS=1 — running the agent headless; open the console in a browser:$/,
    );
    assert.match(out.stdout, /run the Lattice agent in the foreground/);
    assert.equal(out.status, 0, out.stderr);
  });
});
