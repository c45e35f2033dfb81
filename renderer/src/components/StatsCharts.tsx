import type { WorkloadStats } from '../../../shared';
import { Sparkline, formatBytes } from './Sparkline';

const EMPTY: WorkloadStats[] = [];

export function StatsCharts({
  samples = EMPTY,
  large = false,
}: {
  samples?: WorkloadStats[];
  large?: boolean;
}) {
  const last = samples[samples.length - 1];
  const w = large ? 260 : 110;
  const h = large ? 56 : 28;
  return (
    <div className="stats" data-testid="stats" data-samples={samples.length}>
      <div className="stat">
        <span className="stat-label">CPU</span>
        <Sparkline
          values={samples.map((s) => s.cpuPercent)}
          // Scaled to one full core, so an idle container reads as idle rather than as a flat-out line.
          max={100}
          label="CPU use over the last minute"
          width={w}
          height={h}
        />
        <span className="stat-value" data-testid="stat-cpu">
          {last ? `${last.cpuPercent.toFixed(1)}%` : '–'}
        </span>
      </div>
      <div className="stat">
        <span className="stat-label">Memory</span>
        <Sparkline
          values={samples.map((s) => s.memoryBytes)}
          // Relative, with headroom: the trend matters here, and the limit is often the whole host.
          max={Math.max(0, ...samples.map((s) => s.memoryBytes)) * 1.3}
          label="Memory use over the last minute"
          tone="info"
          width={w}
          height={h}
        />
        <span className="stat-value" data-testid="stat-memory">
          {last ? formatBytes(last.memoryBytes) : '–'}
        </span>
      </div>
      {large && last && (
        <div className="stat">
          <span className="stat-label">Network</span>
          <span className="stat-value">
            ↓ {formatBytes(last.netRxBytes)} · ↑ {formatBytes(last.netTxBytes)}
          </span>
        </div>
      )}
    </div>
  );
}
