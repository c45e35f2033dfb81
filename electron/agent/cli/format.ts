// Human-readable output of the CLI: a table for lists, a key/value summary for one workload.
import type { LogLine, PublishedPort, Workload, WorkloadStats } from '../../../shared';

/** `HOST_IP:HOST->CONTAINER/PROTOCOL`, as `docker ps` prints it and as `-p HOST:CONTAINER` reads. */
export const formatPort = (p: PublishedPort) => `${p.hostIp}:${p.host}->${p.container}/${p.protocol}`;

/** A workload for `--json`, its ports' fields in the same order as `-p` and the table: host first. */
export function workloadJson(w: Workload): Workload {
  return {
    ...w,
    ports: w.ports.map(({ hostIp, host, container, protocol, name }) => ({
      hostIp,
      host,
      container,
      protocol,
      ...(name === undefined ? {} : { name }),
    })),
  };
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function workloadTable(workloads: Workload[]): string {
  if (workloads.length === 0) return 'No workloads yet — try `lattice deploy postgres`.';
  const lines = [
    table(
      ['NAME', 'TEMPLATE', 'STATUS', 'PORTS', 'IMAGE'],
      workloads.map((w) => [
        w.name,
        w.template,
        w.status,
        w.ports.map(formatPort).join(', ') || '-',
        w.image,
      ]),
    ),
  ];
  // Workloads of another Docker engine: one line per engine, saying which and how to get back to it.
  const elsewhere = new Map<string, string[]>();
  for (const w of workloads) {
    if (w.status !== 'elsewhere') continue;
    const label = w.engine?.label ?? 'unknown';
    elsewhere.set(label, [...(elsewhere.get(label) ?? []), w.name]);
  }
  for (const [label, names] of elsewhere) {
    lines.push(
      `elsewhere: ${names.join(', ')} on Docker engine ${label}; switch to it in Settings to manage them`,
    );
  }
  return lines.join('\n');
}

/** One workload, with what a client needs to connect. */
export function workloadSummary(w: Workload): string {
  const rows: [string, string | undefined][] = [
    ['id', w.id],
    ['template', w.template],
    ['image', w.image],
    ['status', w.message ? `${w.status} (${w.message})` : w.status],
    ['ports', w.ports.map(formatPort).join(', ') || undefined],
    ['volumes', w.volumes.map((v) => `${v.source}:${v.target}`).join(', ') || undefined],
    ['restart', w.restart],
    ['connection', w.connectionString],
    ['url', w.url],
    ['endpoint', w.endpoint],
    ['console', w.consoleUrl],
    ['username', w.username],
    ['password', w.password],
    ['database', w.database],
    ['access key', w.accessKey],
    ['secret key', w.secretKey],
    ['created', w.createdAt],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return [w.name, ...shown.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function statsSummary(name: string, s: WorkloadStats): string {
  const limit = s.memoryLimitBytes > 0 ? ` / ${bytes(s.memoryLimitBytes)}` : '';
  return table(
    ['NAME', 'CPU', 'MEMORY', 'NET RX', 'NET TX'],
    [
      [
        name,
        `${s.cpuPercent.toFixed(1)}%`,
        `${bytes(s.memoryBytes)}${limit}`,
        bytes(s.netRxBytes),
        bytes(s.netTxBytes),
      ],
    ],
  );
}

export function printLogLine(line: LogLine, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(line)}\n`);
  else
    (line.stream === 'stderr' ? process.stderr : process.stdout).write(
      `${line.text}${line.text.endsWith('\n') ? '' : '\n'}`,
    );
}
