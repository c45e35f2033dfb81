// The first ten minutes of a new user, on a clean temporary copy of this repository (its files as
// they are now, without anything git ignores: no dist/): `npm install` with no environment variables on a machine that
// cannot reach Electron's download host, then `lattice agent` and `npm run hub`, whose printed URLs
// must serve the console and the dashboard. The npm cache and a copy of node_modules keep it fast:
// Electron is removed from the copy, so npm really installs it again and meets its download script.
// npm 11 skips that script (`allowScripts`); npm 10 runs it, and its failure must not fail the
// install either: that path runs with npm 10 itself when npm's cache holds it (`npx --offline`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDocker } from '../helpers/docker';

const root = new URL('../..', import.meta.url).pathname;
/** What a person has after cloning: a PATH and a HOME (where npm's cache is), nothing Lattice-specific. */
const cleanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

function copyRepo(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && existsSync(join(root, f)));
  execFileSync('tar', ['--null', '-T', '-', '-cf', join(to, '..', 'repo.tar')], {
    cwd: root,
    input: files.join('\0'),
  });
  execFileSync('tar', ['-xf', join(to, '..', 'repo.tar'), '-C', to]);
  execFileSync('cp', ['-a', join(root, 'node_modules'), join(to, 'node_modules')]);
  rmSync(join(to, 'node_modules', 'electron'), { recursive: true, force: true });
}

/** `npm install` offline with nothing set; `npm` may be another npm's command line (npx npm@10). */
function npmInstall(cwd: string, npm: string[] = ['npm']) {
  return spawnSync(npm[0], [...npm.slice(1), 'install', '--offline', '--no-audit', '--no-fund'], {
    cwd,
    env: cleanEnv,
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
}

/** npm 10 (Node 20's own npm) from npm's cache, without the network; undefined when it is not there. */
function cachedNpm10(): string[] | undefined {
  const npm10 = ['npx', '--offline', '-y', 'npm@10'];
  const version = spawnSync(npm10[0], [...npm10.slice(1), '--version'], {
    env: cleanEnv,
    encoding: 'utf8',
    timeout: 2 * 60_000,
  });
  return version.status === 0 && /^10\./.test(version.stdout.trim()) ? npm10 : undefined;
}

/** After npm left Electron out because its own download script failed: exit 0 and one line saying so. */
function assertElectronLeftOut(repo: string, install: ReturnType<typeof npmInstall>): void {
  assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
  assert.equal(
    existsSync(join(repo, 'node_modules', 'electron')),
    false,
    'npm left the optional package out',
  );
  const electronLines = install.stdout.split('\n').filter((l) => /Electron/.test(l));
  assert.equal(electronLines.length, 1, install.stdout);
  assert.match(
    electronLines[0],
    /^Electron's binary could not be downloaded \(npm ran Electron's own download script, which failed, and left Electron out\) — `npm start` runs the agent headless; /,
  );
  assert.ok(existsSync(join(repo, 'dist', 'cli', 'current.json')), 'postinstall built the CLI bundle');
}

/** Starts a long-running command and resolves with the first URL of the line matching `ready`. */
function startUntil(
  cwd: string,
  command: string,
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(command, args, {
    cwd,
    env: cleanEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} was not ready in 5 minutes:\n${output}`));
    }, 5 * 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const m = ready.exec(output);
      if (!m) return;
      clearTimeout(timer);
      resolve({ child, url: m[1], output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/** Stops a process group started by startUntil (npm run starts node as its child). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

/** GET `url` with an optional cookie; the body and the headers that matter. */
async function get(url: string, cookie?: string) {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', res, body: await res.text() };
}

/** The built app shell, and its module script served too (not just an HTML error page). */
async function assertConsoleApp(pageUrl: string, cookie?: string): Promise<void> {
  const page = await get(pageUrl, cookie);
  assert.equal(page.status, 200, page.body);
  assert.match(page.type, /^text\/html/);
  assert.match(page.body, /<div id="root"><\/div>/);
  const script = /<script type="module" crossorigin src="\.\/(assets\/[^"]+\.js)"/.exec(page.body);
  assert.ok(script, `no built module script in ${page.body}`);
  const js = await get(new URL(script[1], pageUrl).href, cookie);
  assert.equal(js.status, 200);
  assert.match(js.type, /javascript/);
}

describe('a fresh clone, as a new user runs it', { concurrency: false }, () => {
  let base: string;
  let repo: string;

  before(async () => {
    await requireDocker();
    base = mkdtempSync(join(tmpdir(), 'lattice-fresh-'));
    repo = join(base, 'repo');
    execFileSync('mkdir', [repo]);
    copyRepo(repo);
  });

  after(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  test("npm install exits 0 with nothing set; Electron's missing binary is one line; the CLI bundle is built", () => {
    assert.equal(existsSync(join(repo, 'dist')), false, 'the copy starts without any build');
    const install = npmInstall(repo);
    assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
    const electronLines = install.stdout.split('\n').filter((l) => /Electron/.test(l));
    const downloaded = existsSync(join(repo, 'node_modules', 'electron', 'path.txt'));
    if (downloaded) {
      assert.deepEqual(electronLines, [], 'a downloaded binary needs no message');
    } else {
      assert.equal(electronLines.length, 1, install.stdout);
      assert.match(
        electronLines[0],
        /^Electron's binary could not be downloaded \(.+\) — `npm start` runs the agent headless; /,
      );
    }
    // The package itself is installed (its types, electron-builder's version source), in the root
    // node_modules although it comes through scripts/electron-optional.
    assert.ok(existsSync(join(repo, 'node_modules', 'electron', 'electron.d.ts')));
    const builder = spawnSync(
      process.execPath,
      [
        '-e',
        "require('app-builder-lib/out/electron/electronVersion').getElectronVersion(process.cwd()).then((v) => console.log(v))",
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    assert.equal(
      builder.stdout.trim().split('\n').pop(),
      JSON.parse(readFileSync(join(repo, 'node_modules', 'electron', 'package.json'), 'utf8')).version,
      `electron-builder packages the installed Electron: ${builder.stderr}`,
    );
    assert.ok(existsSync(join(repo, 'dist', 'cli', 'current.json')), 'postinstall built the CLI bundle');
    // The bundle is current: the first command runs it without building anything.
    const version = spawnSync(process.execPath, ['bin/lattice.mjs', '--version'], {
      cwd: repo,
      encoding: 'utf8',
    });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
    assert.equal(version.stderr, '');
    // The installed command (package.json "bin") is the launcher, executable in a fresh copy.
    const installed = spawnSync(join(repo, 'bin', 'lattice'), ['--version'], { cwd: repo, encoding: 'utf8' });
    assert.equal(installed.status, 0, installed.stderr);
    assert.equal(installed.stdout, version.stdout);
  });

  test("when npm runs Electron's own download script itself (as npm 10 does), its failure leaves Electron out and the install exits 0", (t) => {
    if (existsSync(join(repo, 'node_modules', 'electron', 'path.txt'))) {
      // Electron's host answered here: there is no offline failure to reproduce.
      t.diagnostic('Electron downloaded: this machine is online');
      return;
    }
    const control = mkdtempSync(join(base, 'npm-runs-script-'));
    copyRepo(control);
    const pkgFile = join(control, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    assert.equal(pkg.allowScripts.electron, false, "package.json keeps Electron's script from running");
    pkg.allowScripts.electron = true;
    writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    const install = npmInstall(control);
    assertElectronLeftOut(control, install);
    // npm says nothing of the optional package it dropped: its absence, with its script allowed, shows
    // that the script ran and failed.
  });

  test("npm 10, which ignores allowScripts, installs with exit 0 too (when npm 10 is in npm's cache)", (t) => {
    if (existsSync(join(repo, 'node_modules', 'electron', 'path.txt'))) {
      t.diagnostic('Electron downloaded: this machine is online');
      return;
    }
    const npm10 = cachedNpm10();
    if (!npm10) {
      const why = "npm 10 is not in npm's cache here (`npx -y npm@10 --version` once, online, puts it there)";
      // .ci/run puts it there: in CI its absence is a broken setup, not a reason to skip.
      assert.ok(!process.env.CI, why);
      t.skip(why);
      return;
    }
    const copy = mkdtempSync(join(base, 'npm10-'));
    copyRepo(copy);
    assertElectronLeftOut(copy, npmInstall(copy, npm10));
  });

  test('lattice agent builds the missing console, then prints a URL whose page is the console', async () => {
    assert.equal(existsSync(join(repo, 'dist', 'renderer', 'index.html')), false);
    const dataDir = mkdtempSync(join(base, 'agent-'));
    const agent = await startUntil(
      repo,
      process.execPath,
      ['bin/lattice.mjs', 'agent', '--data-dir', dataDir, '--api-port', '0'],
      /Lattice agent ready — console: (\S+)/,
    );
    try {
      assert.match(agent.output(), /Building the console \(dist\/renderer, first run/);
      // The login link sets the session cookie and sends the browser to the app.
      const login = await get(agent.url);
      assert.equal(login.status, 302);
      const cookie = login.res.headers.get('set-cookie')?.split(';')[0];
      assert.ok(cookie, 'the login link sets a session cookie');
      await assertConsoleApp(new URL(login.res.headers.get('location') ?? '/', agent.url).href, cookie);
    } finally {
      await stop(agent.child);
    }
  });

  test('npm run hub serves the dashboard at /, and a stale console is rebuilt first', async () => {
    // A renderer source saved after the last build: the next start rebuilds before printing its URL.
    const now = new Date();
    utimesSync(join(repo, 'renderer', 'index.html'), now, now);
    const dataDir = mkdtempSync(join(base, 'hub-'));
    const hub = await startUntil(
      repo,
      'npm',
      ['run', 'hub', '--', '--port', '0', '--data-dir', dataDir],
      /Lattice hub listening on (\S+)/,
    );
    try {
      assert.match(hub.output(), /Console sources changed: rebuilding dist\/renderer/);
      await assertConsoleApp(`${hub.url}/`);
    } finally {
      await stop(hub.child);
    }
  });
});
