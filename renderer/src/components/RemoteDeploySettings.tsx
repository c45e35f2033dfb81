import { useState } from 'react';
import type { ErrorBody } from '../../../shared';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';
import { ErrorNote } from './ErrorNote';
import { formatBytes } from './Sparkline';

/**
 * Whether the hub (its dashboard and API, `node: "auto"` included) may deploy on this computer, and
 * how much memory those deploys may use. The agent enforces both; the hub places by them.
 */
export function RemoteDeploySettings() {
  const { api } = useApi();
  const settings = useLattice((s) => s.settings);
  const [cap, setCap] = useState('');
  const [error, setError] = useState<ErrorBody | null>(null);
  const save = async (patch: { allowRemoteDeploy?: boolean; remoteDeployMemoryCapBytes?: string | null }) => {
    setError(null);
    const res = await api.invoke('settings.set', patch);
    if (!res.ok) return setError(res.error);
    useLattice.getState().setSettings(res.value);
    setCap('');
  };
  const current = settings?.remoteDeployMemoryCapBytes ?? null;
  return (
    <div>
      <label className="check">
        <input
          type="checkbox"
          checked={settings?.allowRemoteDeploy ?? true}
          disabled={!settings}
          onChange={(e) => void save({ allowRemoteDeploy: e.target.checked })}
          data-testid="allow-remote-deploy"
        />
        Allow deploys from the hub (its dashboard, its API and automatic placement)
      </label>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void save({ remoteDeployMemoryCapBytes: cap.trim() || null });
        }}
      >
        <div className="field">
          <label htmlFor="remote-memory-cap">Memory remote deploys may use</label>
          <input
            id="remote-memory-cap"
            placeholder={current === null ? 'no cap — e.g. 2g' : `${formatBytes(current)} — e.g. 2g`}
            value={cap}
            onChange={(e) => setCap(e.target.value)}
            data-testid="remote-memory-cap"
          />
        </div>
        <button type="submit" className="btn" disabled={!cap.trim()}>
          Set cap
        </button>
        {current !== null && (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => void save({ remoteDeployMemoryCapBytes: null })}
          >
            Remove cap
          </button>
        )}
      </form>
      <ErrorNote error={error} />
    </div>
  );
}
