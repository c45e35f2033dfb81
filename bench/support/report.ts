// Numbers and the lines the benches print: percentiles, rates, CPU time of processes, and a ratio
// with its goal beside it.
import { readdirSync, readFileSync } from 'node:fs';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

export interface LatencySummary {
  p50: number;
  p99: number;
  n: number;
}

export function summarize(samplesMs: number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

export const fmt = (x: number, digits = 2) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—';

export const ms = (x: number) => `${fmt(x, x < 1 ? 3 : 2)} ms`;

/** "0.93× chain (goal ≥ 0.9: ok)" — never an exit code: timings on a shared machine are noisy. */
export function ratio(
  value: number,
  base: number,
  goal?: { op: '>=' | '<='; target: number; of: string },
): string {
  const r = value / base;
  if (!goal) return `${fmt(r)}×`;
  const met = goal.op === '>=' ? r >= goal.target : r <= goal.target;
  return `${fmt(r)}× ${goal.of} (goal ${goal.op === '>=' ? '≥' : '≤'} ${goal.target}: ${met ? 'met' : 'NOT met'})`;
}

/** Prints rows as aligned columns. */
export function table(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows)
    console.log(
      '  ' +
        r
          .map((cell, c) => cell.padEnd(widths[c]))
          .join('  ')
          .trimEnd(),
    );
}

/**
 * CPU time (user + system) the processes and their live descendants used so far, from /proc (clock
 * ticks of 10 ms): a hub's relay pump process works for the hub, and its time is the hub's.
 */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of withDescendants(pids)) {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // a descendant that exited between the listing and this read
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10;
}

/** `pids` and every live process below them (/proc/<pid>/task/<tid>/children). */
function withDescendants(pids: number[]): number[] {
  const out: number[] = [];
  const queue = [...pids];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (children) queue.push(...children.split(' ').map(Number));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return out;
}
