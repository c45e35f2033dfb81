/** A tiny inline-SVG line chart of recent samples; no chart library needed for 30 points. */
export function Sparkline({
  values: samples,
  max,
  label,
  tone = 'accent',
  width = 120,
  height = 32,
}: {
  values: number[];
  /** Fixed top of the scale (e.g. 100 for percent); the largest sample otherwise. */
  max?: number;
  label: string;
  tone?: 'accent' | 'info';
  width?: number;
  height?: number;
}) {
  // One sample is still a level worth showing: draw it flat across.
  const values = samples.length === 1 ? [samples[0], samples[0]] : samples;
  const top = Math.max(max ?? 0, ...values, 1e-9);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map(
    (v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / top) * (height - 4)).toFixed(1)}`,
  );
  return (
    <svg
      className={`sparkline sparkline-${tone}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <line x1="0" y1={height - 1} x2={width} y2={height - 1} className="sparkline-base" />
      {values.length > 1 && <polyline points={points.join(' ')} fill="none" className="sparkline-line" />}
      {values.length > 1 && (
        <polygon
          points={`0,${height - 1} ${points.join(' ')} ${((values.length - 1) * step).toFixed(1)},${height - 1}`}
          className="sparkline-fill"
        />
      )}
    </svg>
  );
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 || i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}
