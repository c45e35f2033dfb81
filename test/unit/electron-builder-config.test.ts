// electron-builder.yml cannot be exercised here (packaging downloads Electron), so it is loaded,
// validated against electron-builder's own schema, and checked for what the release depends on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import YAML from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

type Config = Record<string, unknown> & {
  appId: string;
  productName: string;
  asar: boolean;
  asarUnpack: string[];
  files: string[];
  electronFuses: Record<string, boolean>;
  linux: { target: string[]; category: string; icon: string; desktop: { entry: Record<string, string> } };
  mac: {
    target: string;
    icon: string;
    hardenedRuntime: boolean;
    entitlements: string;
    entitlementsInherit: string;
  };
  win: { target: string; icon: string };
};

const config = YAML.parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Config;

/** Width, height and whether the PNG decodes (IHDR + inflatable IDAT). */
function pngInfo(path: string) {
  const bytes = readFileSync(path);
  assert.deepEqual(
    [...bytes.subarray(0, 8)],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    `${path} is a PNG`,
  );
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    if (bytes.toString('ascii', at + 4, at + 8) === 'IDAT')
      idat.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, height * (width * 4 + 1), `${path} decodes to ${width}×${height} RGBA`);
  return { width, height };
}

async function validate(candidate: unknown) {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
    validateConfiguration(config: unknown, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  await validateConfiguration(candidate, new DebugLogger(false));
}

describe('electron-builder.yml', () => {
  test("passes electron-builder's own schema (and the schema does catch a wrong key)", async () => {
    await validate(config);
    await assert.rejects(
      validate({ ...config, linux: { ...config.linux, targett: 'deb' } }),
      /configuration\.linux/,
    );
    await assert.rejects(
      validate({ ...config, electronFuses: { ...config.electronFuses, runAsnode: false } }),
      /configuration\.electronFuses/,
    );
  });

  test('identity, asar, and the main entry it will load', () => {
    assert.equal(config.appId, 'dev.lattice.app');
    assert.equal(config.productName, 'Lattice');
    assert.equal(config.asar, true);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
    assert.equal(pkg.main, 'dist/electron/main.cjs');
    for (const needed of [
      'package.json',
      'dist/electron/**',
      'dist/renderer/**',
      'build/tray/**',
      'build/icon.png',
    ]) {
      assert.ok(config.files.includes(needed), `files includes ${needed}`);
    }
  });

  test('native modules are unpacked from the asar', () => {
    assert.ok(config.asarUnpack.includes('**/*.node'));
    assert.ok(config.asarUnpack.some((p) => p.includes('better-sqlite3')));
    assert.ok(config.asarUnpack.some((p) => p.includes('@ngrok')));
  });

  test('targets: AppImage and deb, dmg, nsis', () => {
    assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
    assert.equal(config.linux.category, 'Development');
    assert.equal(config.linux.desktop.entry.Name, 'Lattice');
    assert.match(config.linux.desktop.entry.Categories, /^Development;/);
    assert.equal(config.mac.target, 'dmg');
    assert.equal(config.win.target, 'nsis');
  });

  test('fuses: no run-as-node, no NODE_OPTIONS or inspect, cookie encryption, asar-only with integrity', () => {
    assert.deepEqual(config.electronFuses, {
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  test('icons and entitlements it names exist and are the right size', () => {
    const app = pngInfo(join(root, config.mac.icon));
    assert.deepEqual(app, { width: 512, height: 512 });
    assert.equal(config.win.icon, config.mac.icon);
    for (const size of [512, 256]) {
      assert.deepEqual(pngInfo(join(root, config.linux.icon, `${size}x${size}.png`)), {
        width: size,
        height: size,
      });
    }
    assert.equal(config.mac.hardenedRuntime, true);
    for (const plist of [config.mac.entitlements, config.mac.entitlementsInherit]) {
      const text = readFileSync(join(root, plist), 'utf8');
      assert.match(text, /com\.apple\.security\.cs\.allow-jit/);
    }
  });

  test('a tray icon for every state, at 16 and 32 px with @2x versions', () => {
    for (const state of ['idle', 'running', 'sharing', 'problem']) {
      for (const [file, size] of [
        [`${state}.png`, 16],
        [`${state}@2x.png`, 32],
        [`${state}-32.png`, 32],
        [`${state}-32@2x.png`, 64],
      ] as const) {
        const path = join(root, 'build/tray', file);
        assert.ok(existsSync(path), `${file} exists`);
        assert.deepEqual(pngInfo(path), { width: size, height: size }, file);
      }
    }
  });
});
