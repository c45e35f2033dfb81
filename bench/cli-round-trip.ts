// cli-round-trip: how long `lattice ls --json` takes against a running agent, next to `docker ps -a`
// against the Docker Engine — the command a Docker user compares it with — in the same run.
// Rounds alternate the two; medians and their ratio. The CLI runs TypeScript through tsx (no build
// step), which is most of its time. Usage: npm run bench cli-round (BENCH_ROUNDS=N, default 9).
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

async function timed(file: string, args: string[]): Promise<number> {
  const started = performance.now();
  await run(file, args, { cwd: root });
  return (performance.now() - started) / 1000;
}

await requireDocker();
const dataDir = mkdtempSync(join(tmpdir(), 'lattice-bench-cli-'));
const agent = await startAgentProcess(dataDir, runLabels().env);
try {
  const lattice: number[] = [];
  const docker: number[] = [];
  for (let i = 0; i < rounds; i++) {
    docker.push(await timed('docker', ['ps', '-a']));
    lattice.push(await timed(process.execPath, ['bin/lattice.mjs', 'ls', '--json', '--data-dir', dataDir]));
  }
  const [l, d] = [median(lattice), median(docker)];
  console.log(
    `cli-round-trip: lattice ls ${l.toFixed(2)} s, docker ps ${d.toFixed(2)} s, ratio ${(l / d).toFixed(2)}`,
  );
} finally {
  await agent.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
