// bench/relay's clients we did not write: psql (a COPY of ~400 MB to /dev/null) and pgbench -S.
import { spawn } from 'node:child_process';

/** The same connection string pointed at another port (direct, chain, relay). */
export function atPort(connectionString: string, port: number): string {
  const url = new URL(connectionString);
  url.port = String(port);
  return url.toString();
}

/** MB/s of `psql -c "COPY (…) TO STDOUT"` with its output going to /dev/null, whole process timed. */
export async function psqlCopyOut(connectionString: string, megabytes: number): Promise<number> {
  const rows = Math.round((megabytes * 1e6) / 1001); // 1000 characters and a newline per row
  const sql = `COPY (SELECT repeat('x', 1000) FROM generate_series(1, ${rows})) TO STDOUT`;
  const started = performance.now();
  const child = spawn('/usr/bin/psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql, connectionString], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`psql COPY failed (${code}): ${stderr}`);
  return (rows * 1001) / 1e6 / ((performance.now() - started) / 1000);
}

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function pgbenchInit(connectionString: string, scale: number): Promise<void> {
  const r = await run('/usr/bin/pgbench', ['-i', '-q', '-s', String(scale), connectionString], 300_000);
  if (r.code !== 0) throw new Error(`pgbench -i failed: ${r.stderr}`);
}

export interface PgbenchResult {
  tps: number;
  latencyMs: number;
}

/** `pgbench -S -n` (select only, no vacuum) for `seconds`; TPS without connection time, mean latency. */
export async function pgbenchSelect(
  connectionString: string,
  clients: number,
  seconds: number,
): Promise<PgbenchResult> {
  const r = await run(
    '/usr/bin/pgbench',
    [
      '-S',
      '-n',
      '-c',
      String(clients),
      '-j',
      String(Math.min(clients, 2)),
      '-T',
      String(seconds),
      connectionString,
    ],
    (seconds + 60) * 1000,
  );
  const tps = /tps = ([\d.]+)/.exec(r.stdout);
  const latency = /latency average = ([\d.]+) ms/.exec(r.stdout);
  if (r.code !== 0 || !tps || !latency)
    throw new Error(`pgbench failed (${r.code}): ${r.stdout}\n${r.stderr}`);
  return { tps: Number(tps[1]), latencyMs: Number(latency[1]) };
}
