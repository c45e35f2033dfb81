// cli-round-trip: how long `lattice ls --json` takes against a running agent, next to `docker ps -a`
// against the Docker Engine — the command a Docker user compares it with — in the same run.
// `lattice` is run as installed (package.json "bin": the bin/lattice launcher, then bin/lattice.cjs),
// the way a user's shell runs it. Rounds alternate the commands; medians and their ratio, printed
// beside the goal (lattice ls at most 5× docker ps). The CLI runs from its prebuilt bundle
// (scripts/cli-bundle.mjs); warm-up calls first make sure it is built and its code cache written, as
// after `npm install`. Starting Node with nothing to run is timed too: the floor any Node CLI stands
// on, on this machine, in this run.
// With NODE_EXTRA_CA_CERTS set (a proxy's CA, as on some build machines), Node 20 parses that file
// and its own root store at every start, before any script runs. The launcher starts the commands
// that only talk to the local agent over loopback HTTP without it; the second line shows what that
// saves: Node started on the same entry with the variable, and `node -e ''` with and without it.
// Usage: npm run bench cli-round (BENCH_ROUNDS=N, default 9).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDocker } from '../test/helpers/docker';
import { runLabels, startAgentProcess } from '../test/helpers/agent-process';

const run = promisify(execFile);
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const root = new URL('..', import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The goal: `lattice ls` within this factor of `docker ps`. */
const GOAL_RATIO = 5;

async function timed(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = performance.now();
  await run(file, args, { cwd: root, env });
  return (performance.now() - started) / 1000;
}

const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
const { NODE_EXTRA_CA_CERTS: _, ...envWithoutExtraCa } = process.env;

await requireDocker();
const dataDir = mkdtempSync(join(tmpdir(), 'lattice-bench-cli-'));
const agent = await startAgentProcess(dataDir, runLabels().env);
try {
  const args = ['ls', '--json', '--data-dir', dataDir];
  // The installed command, and Node started directly on its entry (what the launcher saves).
  const launcher = join(root, 'bin', 'lattice');
  const entry = [join(root, 'bin', 'lattice.cjs'), ...args];
  await timed(launcher, args);
  await timed(launcher, args);
  const lattice: number[] = [];
  const docker: number[] = [];
  // The floor under any Node CLI on this machine right now: starting Node itself.
  const node: number[] = [];
  const latticeWithCa: number[] = [];
  const nodeNoCa: number[] = [];
  for (let i = 0; i < rounds; i++) {
    docker.push(await timed('docker', ['ps', '-a']));
    node.push(await timed(process.execPath, ['-e', '']));
    lattice.push(await timed(launcher, args));
    if (extraCaCerts === undefined) continue;
    nodeNoCa.push(await timed(process.execPath, ['-e', ''], envWithoutExtraCa));
    latticeWithCa.push(await timed(process.execPath, entry));
  }
  const [l, d, n] = [median(lattice), median(docker), median(node)];
  const ratio = l / d;
  console.log(
    `cli-round-trip: lattice ls ${l.toFixed(3)} s, docker ps ${d.toFixed(3)} s, ratio ${ratio.toFixed(2)} ` +
      `(goal ≤ ${GOAL_RATIO}: ${ratio <= GOAL_RATIO ? 'met' : 'NOT met'}); ` +
      `node -e '' alone ${n.toFixed(3)} s, ratio ${(n / d).toFixed(2)}`,
  );
  if (extraCaCerts !== undefined) {
    const [l2, n2] = [median(latticeWithCa), median(nodeNoCa)];
    console.log(
      `cli-round-trip: NODE_EXTRA_CA_CERTS is set (${extraCaCerts}); Node reads it at every start, ` +
        `and bin/lattice starts \`ls\` without it. With it (node bin/lattice.cjs ls): ${l2.toFixed(3)} s, ` +
        `ratio ${(l2 / d).toFixed(2)}; node -e '' without it ${n2.toFixed(3)} s, ratio ${(n2 / d).toFixed(2)}`,
    );
  }
} finally {
  await agent.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
