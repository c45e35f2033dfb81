import { useState, type ChangeEvent, type FormEvent } from 'react';
import type { ErrorBody } from '../../../shared';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';
import { ErrorNote } from './ErrorNote';
import { DockerEngineSettings } from './DockerEngineSettings';
import { RemoteDeploySettings } from './RemoteDeploySettings';

/** Where a hub serves its private CA, from what the owner typed as the hub URL. */
function caUrlOf(hubUrl: string): string {
  try {
    const url = new URL(hubUrl.trim());
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}/api/relay-ca.pem`;
  } catch {
    return '<hub URL>/api/relay-ca.pem';
  }
}

function PairForm() {
  const { api } = useApi();
  const settings = useLattice((s) => s.settings);
  const hubLink = useLattice((s) => s.hubLink);
  const [hubUrl, setHubUrl] = useState('');
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  /** PEM of a self-hosted hub's private CA (optional): pasted, or read from a picked file. */
  const [hubCaPem, setHubCaPem] = useState('');
  const [error, setError] = useState<ErrorBody | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = async () => {
    const res = await api.invoke('settings.get', {});
    if (res.ok) useLattice.getState().setSettings(res.value);
  };
  const pair = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await api.invoke('hub.pair', {
      hubUrl: hubUrl.trim(),
      code: code.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(hubCaPem.trim() ? { hubCaPem: hubCaPem.trim() } : {}),
    });
    setBusy(false);
    if (!res.ok) setError(res.error);
    else await reload();
  };
  const pickCa = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    if (file.size > 65_536) {
      setError({
        code: 'invalid_argument',
        field: 'hubCaPem',
        message: `Hub CA certificate: ${file.name} is larger than 64 KiB; pick the CA's PEM file`,
      });
      return;
    }
    setHubCaPem(await file.text());
  };
  const unpair = async () => {
    const res = await api.invoke('hub.unpair', {});
    if (!res.ok) setError(res.error);
    else await reload();
  };

  if (settings?.hub.url) {
    return (
      <div data-testid="hub-paired">
        <p>
          Paired with <span className="mono">{settings.hub.url}</span>
          {settings.hub.privateCa && (
            <span className="muted small" data-testid="hub-private-ca">
              {' '}
              (trusted through the private CA given at pairing)
            </span>
          )}{' '}
          —{' '}
          {hubLink?.connected ? (
            <span className="badge badge-running">connected</span>
          ) : (
            <span className="badge badge-failed">hub unreachable</span>
          )}
        </p>
        <button type="button" className="btn btn-small btn-danger" onClick={() => void unpair()}>
          Unpair
        </button>
        <ErrorNote error={error} />
      </div>
    );
  }
  return (
    <form onSubmit={(e) => void pair(e)} data-testid="pair-form">
      <p className="muted small">
        Create a pairing code in the hub's dashboard, then enter it here to manage this computer from
        anywhere.
      </p>
      <div className="row row-fields">
        <div className={`field${error?.field === 'hubUrl' ? ' field-invalid' : ''}`}>
          <label htmlFor="pair-hub">Hub URL</label>
          <input
            id="pair-hub"
            type="url"
            placeholder="https://hub.example.com"
            value={hubUrl}
            onChange={(e) => setHubUrl(e.target.value)}
            required
          />
        </div>
        <div className={`field${error?.field === 'code' ? ' field-invalid' : ''}`}>
          <label htmlFor="pair-code">Pairing code</label>
          <input
            id="pair-code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="off"
            required
          />
        </div>
        <div className="field">
          <label htmlFor="pair-name">Computer name (optional)</label>
          <input
            id="pair-name"
            placeholder="this computer's host name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
          />
        </div>
      </div>
      <div className={`field${error?.field === 'hubCaPem' ? ' field-invalid' : ''}`}>
        <label htmlFor="pair-hub-ca">Hub CA certificate (PEM)</label>
        <textarea
          id="pair-hub-ca"
          className="mono"
          rows={3}
          placeholder="-----BEGIN CERTIFICATE----- … (only for a hub whose certificate comes from a private CA)"
          value={hubCaPem}
          onChange={(e) => setHubCaPem(e.target.value)}
          spellCheck={false}
          aria-describedby="pair-hub-ca-hint"
          data-testid="pair-hub-ca"
        />
        <p className="field-hint" id="pair-hub-ca-hint">
          Optional: only for a hub whose certificate comes from a private CA, which it serves at{' '}
          <span className="mono">{caUrlOf(hubUrl)}</span>. This computer then trusts that CA for this hub,
          besides the public ones.
        </p>
        <div>
          <label className="btn btn-small">
            Choose a PEM file…
            <input
              type="file"
              accept=".pem,.crt,.cer,application/x-pem-file"
              onChange={(e) => void pickCa(e)}
              data-testid="pair-hub-ca-file"
              hidden
            />
          </label>
        </div>
      </div>
      <button type="submit" className="btn btn-primary" disabled={busy} data-testid="pair-submit">
        {busy ? 'Pairing…' : 'Pair'}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function NgrokForm() {
  const { api } = useApi();
  const settings = useLattice((s) => s.settings);
  const [token, setToken] = useState('');
  const [error, setError] = useState<ErrorBody | null>(null);
  const [saved, setSaved] = useState(false);
  const save = async (value: string | null) => {
    setError(null);
    const res = await api.invoke('settings.set', { ngrokAuthtoken: value });
    if (!res.ok) return setError(res.error);
    useLattice.getState().setSettings(res.value);
    setToken('');
    setSaved(true);
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void save(token.trim());
      }}
    >
      <div className="field">
        <label htmlFor="ngrok-token">ngrok authtoken</label>
        <input
          id="ngrok-token"
          type="password"
          autoComplete="off"
          placeholder={
            settings?.ngrokConfigured ? 'saved — enter a new one to replace it' : 'from dashboard.ngrok.com'
          }
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <p className="field-hint">Stored encrypted; never shown again.</p>
      </div>
      <div className="row">
        <button type="submit" className="btn" disabled={!token.trim()}>
          Save token
        </button>
        {settings?.ngrokConfigured && (
          <button type="button" className="btn btn-ghost" onClick={() => void save(null)}>
            Remove token
          </button>
        )}
        {saved && <span className="small muted">Saved.</span>}
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

export function SettingsPage() {
  const { api } = useApi();
  const settings = useLattice((s) => s.settings);
  const system = useLattice((s) => s.system);
  // Live: docker.status events replace it, so a reconnect to another engine shows at once.
  const docker = useLattice((s) => s.docker);
  const [error, setError] = useState<ErrorBody | null>(null);
  const setLan = async (lanAccess: boolean) => {
    const res = await api.invoke('settings.set', { lanAccess });
    if (res.ok) useLattice.getState().setSettings(res.value);
    else setError(res.error);
  };
  return (
    <div className="settings" data-testid="settings">
      <h2 className="page-title">Settings</h2>
      <section className="card" aria-labelledby="hub-title">
        <h3 id="hub-title" className="card-title">
          Remote access through a hub
        </h3>
        <PairForm />
      </section>
      <section className="card" aria-labelledby="ngrok-title">
        <h3 id="ngrok-title" className="card-title">
          Sharing through ngrok
        </h3>
        <NgrokForm />
      </section>
      <section className="card" aria-labelledby="net-title">
        <h3 id="net-title" className="card-title">
          Network
        </h3>
        <label className="check">
          <input
            type="checkbox"
            checked={settings?.lanAccess ?? false}
            disabled={!settings}
            onChange={(e) => void setLan(e.target.checked)}
            data-testid="lan-access"
          />
          Publish new workloads on the local network too (not only 127.0.0.1)
        </label>
        <ErrorNote error={error} />
      </section>
      <section className="card" aria-labelledby="remote-deploy-title">
        <h3 id="remote-deploy-title" className="card-title">
          Deploys from the hub
        </h3>
        <RemoteDeploySettings />
      </section>
      <section className="card" aria-labelledby="engine-title">
        <h3 id="engine-title" className="card-title">
          Docker engine
        </h3>
        <DockerEngineSettings />
      </section>
      <section className="card" aria-labelledby="about-title">
        <h3 id="about-title" className="card-title">
          This computer
        </h3>
        <dl className="kv">
          <div className="kv-row">
            <dt>Data directory</dt>
            <dd className="mono" data-testid="data-dir">
              {settings?.dataDir ?? system?.dataDir ?? '…'}
            </dd>
          </div>
          <div className="kv-row">
            <dt>Agent</dt>
            <dd>{system?.agentVersion ?? '…'}</dd>
          </div>
          <div className="kv-row">
            <dt>Docker</dt>
            <dd data-testid="system-docker">
              {docker
                ? docker.available
                  ? `${docker.version ?? ''} (runc ${docker.runcVersion ?? '?'})` +
                    (docker.engine
                      ? ` at ${docker.engine.host}, ${docker.engine.context === 'default' ? 'no docker context' : `context ${docker.engine.context}`}, found through ${docker.engine.how}`
                      : '')
                  : 'not running'
                : '…'}
            </dd>
          </div>
          <div className="kv-row">
            <dt>Secrets key</dt>
            <dd>
              {system?.keyProtection === 'safeStorage'
                ? 'protected by the OS keyring'
                : system?.keyProtection === 'file'
                  ? 'in a private file (0600) in the data directory'
                  : system
                    ? 'not protected by the OS keyring'
                    : '…'}
            </dd>
          </div>
        </dl>
      </section>
    </div>
  );
}
