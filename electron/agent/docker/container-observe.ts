// Reading a running container: recent and followed log lines (demultiplexed), and one stats sample.
import type Docker from 'dockerode';
import type { LogLine, WorkloadStats } from '../../../shared';
import { demuxLogBuffer, LogDemuxer } from './log-lines';

export async function readLogs(container: Docker.Container, tail: number): Promise<LogLine[]> {
  const buf = (await container.logs({
    stdout: true,
    stderr: true,
    tail,
    timestamps: true,
    follow: false,
  })) as unknown as Buffer;
  return demuxLogBuffer(buf);
}

/** The last few lines as one string, for a failure message. */
export async function recentLogText(container: Docker.Container, lines = 5): Promise<string> {
  return (await readLogs(container, lines))
    .map((l) => l.text)
    .join(' | ')
    .slice(0, 600);
}

/** Streams the last `tail` lines then new ones; returns the function that stops following. */
export async function followContainerLogs(
  container: Docker.Container,
  tail: number,
  onLine: (l: LogLine) => void,
  onEnd?: () => void,
): Promise<() => void> {
  const stream = (await container.logs({
    stdout: true,
    stderr: true,
    tail,
    timestamps: true,
    follow: true,
  })) as NodeJS.ReadableStream & { destroy?: () => void };
  const demux = new LogDemuxer(onLine);
  stream.on('data', (chunk: Buffer) => demux.push(chunk));
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    demux.flush();
    onEnd?.();
  };
  stream.on('end', end);
  stream.on('error', end);
  return () => {
    ended = true; // stopped by the caller: not an end to report
    stream.destroy?.();
  };
}

interface DockerStats {
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: { cache?: number; inactive_file?: number } };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/** One sample (`stream: false`: Docker waits for two readings so the CPU delta is meaningful). */
export async function readStats(container: Docker.Container, workloadId: string): Promise<WorkloadStats> {
  const s = (await container.stats({ stream: false })) as unknown as DockerStats;
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus ?? s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 1;
  // Like `docker stats`: page cache the kernel can reclaim is not the container's memory use.
  const cache = s.memory_stats?.stats?.inactive_file ?? s.memory_stats?.stats?.cache ?? 0;
  const nets = Object.values(s.networks ?? {});
  return {
    id: workloadId,
    cpuPercent: sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0,
    memoryBytes: Math.max(0, (s.memory_stats?.usage ?? 0) - cache),
    memoryLimitBytes: s.memory_stats?.limit ?? 0,
    netRxBytes: nets.reduce((n, x) => n + (x.rx_bytes ?? 0), 0),
    netTxBytes: nets.reduce((n, x) => n + (x.tx_bytes ?? 0), 0),
    at: new Date().toISOString(),
  };
}
