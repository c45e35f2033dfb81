import { useState } from 'react';
import type { Workload } from '../../../shared';
import { CopyButton } from './CopyButton';

const MASK = '••••••••';

type Key =
  | 'connectionString'
  | 'endpoint'
  | 'consoleUrl'
  | 'url'
  | 'username'
  | 'password'
  | 'database'
  | 'accessKey'
  | 'secretKey';
const ROWS: { key: Key; label: string; secret?: boolean }[] = [
  { key: 'connectionString', label: 'Connection string' },
  { key: 'endpoint', label: 'S3 endpoint' },
  { key: 'consoleUrl', label: 'Web console' },
  { key: 'url', label: 'URL' },
  { key: 'username', label: 'User' },
  { key: 'password', label: 'Password', secret: true },
  { key: 'database', label: 'Database' },
  { key: 'accessKey', label: 'Access key' },
  { key: 'secretKey', label: 'Secret key', secret: true },
];

/** Hides the secret parts of a value (the password inside a connection string, too) until "Show". */
function masked(w: Workload, key: Key, value: string): string {
  if (key === 'password' || key === 'secretKey') return MASK;
  let out = value;
  for (const secret of [w.password, w.secretKey]) {
    if (!secret) continue;
    out = out.split(encodeURIComponent(secret)).join(MASK).split(secret).join(MASK);
  }
  return out;
}

export function ConnectionDetails({ workload }: { workload: Workload }) {
  const [shown, setShown] = useState(false);
  const rows = ROWS.filter((r) => workload[r.key]);
  const hasSecrets = !!(workload.password || workload.secretKey);
  if (rows.length === 0) {
    return <p className="muted">Connection details appear once it is running with a published port.</p>;
  }
  return (
    <div className="connection" data-testid="connection-details">
      <dl className="kv">
        {rows.map(({ key, label }) => {
          const value = workload[key] as string;
          return (
            <div className="kv-row" key={key}>
              <dt>{label}</dt>
              <dd>
                <code className="mono value" data-testid={`conn-${key}`}>
                  {shown ? value : masked(workload, key, value)}
                </code>
                <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} testId={`copy-${key}`} />
              </dd>
            </div>
          );
        })}
      </dl>
      {hasSecrets && (
        <button
          type="button"
          className="btn btn-small btn-ghost"
          aria-pressed={shown}
          onClick={() => setShown(!shown)}
          data-testid="toggle-secrets"
        >
          {shown ? 'Hide secrets' : 'Show'}
        </button>
      )}
    </div>
  );
}
