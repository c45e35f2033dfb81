// The installed `lattice` command (bin/lattice, a POSIX sh launcher): it starts Node without
// NODE_EXTRA_CA_CERTS only for the commands that talk to nothing but the local agent over loopback
// HTTP, keeps it for everything else, and finds bin/lattice.cjs through npm's symlinks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { buildProgram } from '../../electron/agent/cli/program';
import { registerHubCommand } from '../../server/cli';

const root = new URL('../..', import.meta.url).pathname;
const launcher = join(root, 'bin', 'lattice');
/** Commands whose own process opens TLS connections (hubs, ngrok, ACME): they keep the variable. */
const MAKES_TLS_CONNECTIONS = ['agent', 'hub'];

/** The verbs of the launcher's `case` that unsets NODE_EXTRA_CA_CERTS. */
function loopbackVerbs(): string[] {
  const script = readFileSync(launcher, 'utf8');
  const pattern = /^\s*([a-z| ]+)\)\s*\n\s*unset NODE_EXTRA_CA_CERTS/m.exec(script);
  assert.ok(pattern, 'the launcher has one case pattern that unsets NODE_EXTRA_CA_CERTS');
  return pattern[1].split('|').map((v) => v.trim());
}

test('the launcher starts every command but agent and hub without NODE_EXTRA_CA_CERTS, aliases included', () => {
  const program = buildProgram();
  registerHubCommand(program);
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  for (const name of MAKES_TLS_CONNECTIONS) assert.ok(names.includes(name), name);
  assert.deepEqual(
    [...loopbackVerbs()].sort(),
    names.filter((n) => !MAKES_TLS_CONNECTIONS.includes(n)).sort(),
    'a new command must be placed: loopback-only (in the launcher list) or not',
  );
  assert.equal(readFileSync(launcher, 'utf8').split('\n')[0], '#!/bin/sh');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.bin.lattice, 'bin/lattice', 'npm installs the launcher as `lattice`');
});

// Node warns on stderr at start-up when NODE_EXTRA_CA_CERTS names a file it cannot read: the warning
// shows whether the variable reached Node.
const CA_WARNING = /Ignoring extra certs from/;
const run = (file: string, args: string[]) =>
  spawnSync(file, args, {
    encoding: 'utf8',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/lattice-test-ca.pem', LATTICE_DATA_DIR: '' },
  });

test('ls starts without the variable, --version and agent --help with it, also through relative symlinks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-launcher-'));
  try {
    // As npm links it: node_modules/.bin/lattice -> ../../bin/lattice, reached through PATH or directly.
    const bin = join(dir, 'node_modules', '.bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(relative(bin, launcher), join(bin, 'lattice'));
    for (const file of [launcher, join(bin, 'lattice')]) {
      const ls = run(file, ['ls', '--data-dir', join(dir, 'no-agent')]);
      assert.equal(ls.status, 1, ls.stderr);
      assert.match(ls.stderr, /^error: No Lattice agent is running for /);
      assert.doesNotMatch(ls.stderr, CA_WARNING);
      const version = run(file, ['--version']);
      assert.equal(version.status, 0, version.stderr);
      assert.match(version.stderr, CA_WARNING);
      const agentHelp = run(file, ['agent', '--help']);
      assert.equal(agentHelp.status, 0, agentHelp.stderr);
      assert.match(agentHelp.stdout, /run the Lattice agent in the foreground/);
      assert.match(agentHelp.stderr, CA_WARNING);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
