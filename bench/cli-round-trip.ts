// cli-round-trip: how long `lattice ls --json` takes against a running agent, next to `docker ps -a`
// against the Docker Engine — the command a Docker user compares it with — in the same run.
// Rounds alternate the two; medians and their ratio, printed beside the goal (lattice ls at most 5×
// docker ps). The CLI runs from its prebuilt bundle (scripts/cli-bundle.mjs); a warm-up call first
// makes sure it is built and its code cache written, as after `npm install`. Starting Node with
// nothing to run is timed too: the floor any Node CLI stands on, on this machine, in this run.
// With NODE_EXTRA_CA_CERTS set (a proxy's CA, as on some build machines), Node 20 parses that file
// and its own root store at every start, before any script runs: the bench then also times both
// Node commands without it, so the ratio a machine without the variable sees is printed beside.
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
  const ls = ['bin/lattice.mjs', 'ls', '--json', '--data-dir', dataDir];
  await timed(process.execPath, ls);
  await timed(process.execPath, ls);
  const lattice: number[] = [];
  const docker: number[] = [];
  // The floor under any Node CLI on this machine right now: starting Node itself.
  const node: number[] = [];
  const latticeNoCa: number[] = [];
  const nodeNoCa: number[] = [];
  for (let i = 0; i < rounds; i++) {
    docker.push(await timed('docker', ['ps', '-a']));
    node.push(await timed(process.execPath, ['-e', '']));
    lattice.push(await timed(process.execPath, ls));
    if (extraCaCerts === undefined) continue;
    nodeNoCa.push(await timed(process.execPath, ['-e', ''], envWithoutExtraCa));
    latticeNoCa.push(await timed(process.execPath, ls, envWithoutExtraCa));
  }
  const [l, d, n] = [median(lattice), median(docker), median(node)];
  const ratio = l / d;
  console.log(
    `cli-round-trip: lattice ls ${l.toFixed(3)} s, docker ps ${d.toFixed(3)} s, ratio ${ratio.toFixed(2)} ` +
      `(goal ≤ ${GOAL_RATIO}: ${ratio <= GOAL_RATIO ? 'met' : 'NOT met'}); ` +
      `node -e '' alone ${n.toFixed(3)} s, ratio ${(n / d).toFixed(2)}`,
  );
  if (extraCaCerts !== undefined) {
    const [l2, n2] = [median(latticeNoCa), median(nodeNoCa)];
    console.log(
      `cli-round-trip: NODE_EXTRA_CA_CERTS is set (${extraCaCerts}); Node reads it at every start. ` +
        `Without it: lattice ls ${l2.toFixed(3)} s, ratio ${(l2 / d).toFixed(2)}; ` +
        `node -e '' ${n2.toFixed(3)} s, ratio ${(n2 / d).toFixed(2)}`,
    );
  }
} finally {
  await agent.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
