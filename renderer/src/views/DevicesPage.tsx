import { useState } from 'react';
import { RELAY_CA_FILE as CA_FILE, type ErrorBody, type PairingCode } from '../../../shared';
import type { HubClient } from '../api/hub-transport';
import { CopyButton } from '../components/CopyButton';
import { EmptyState } from '../components/EmptyState';
import { ErrorNote } from '../components/ErrorNote';
import { useLattice } from '../store/store';

function PairingCard({ hub }: { hub: HubClient }) {
  const [code, setCode] = useState<PairingCode | null>(null);
  const [error, setError] = useState<ErrorBody | null>(null);
  const create = async () => {
    setError(null);
    const res = await hub.createPairingCode();
    if (res.ok) setCode(res.value);
    else setError(res.error);
  };
  // A hub on a private CA: the desktop must be given that CA, downloaded here where the browser trusts it.
  const caFlag = code?.hubCaUrl ? ` --hub-ca ${CA_FILE}` : '';
  const command = code ? `lattice pair --hub ${location.origin} --code ${code.code}${caFlag}` : '';
  return (
    <section className="card" aria-labelledby="pair-title" data-testid="pairing">
      <h3 id="pair-title" className="card-title">
        Add a computer
      </h3>
      <p className="muted small">
        Run this on the computer you want to manage (or enter the code in its Lattice settings).
      </p>
      {code ? (
        <>
          <div className="row share-target">
            <code className="mono value" data-testid="pairing-command">
              {command}
            </code>
            <CopyButton text={command} label="Copy the pairing command" />
          </div>
          <p className="small muted">
            Code{' '}
            <strong className="mono" data-testid="pairing-code">
              {code.code}
            </strong>
            , valid until {new Date(code.expiresAt).toLocaleTimeString()}.
          </p>
          {code.hubCaUrl ? (
            <p className="small" data-testid="pairing-hub-ca">
              This hub&apos;s certificate comes from a private CA, so the computer must be given it:{' '}
              <a href={code.hubCaUrl} download={CA_FILE}>
                download {CA_FILE}
              </a>{' '}
              and pass it with <code className="mono">--hub-ca</code>, or choose it in the Hub CA field of
              Lattice&apos;s Settings → Pair.
            </p>
          ) : null}
        </>
      ) : null}
      <button
        type="button"
        className="btn btn-primary"
        onClick={() => void create()}
        data-testid="pairing-create"
      >
        {code ? 'New code' : 'Create a pairing code'}
      </button>
      <ErrorNote error={error} />
    </section>
  );
}

export function DevicesPage({ hub }: { hub: HubClient }) {
  const devices = useLattice((s) => s.devices);
  const loaded = useLattice((s) => s.devicesLoaded);
  const list = Object.values(devices).sort((a, b) => a.name.localeCompare(b.name));
  return (
    <div className="devices-page">
      <h2 className="page-title">Your computers</h2>
      {loaded && list.length === 0 && (
        <EmptyState title="No computer is paired yet" testId="devices-empty">
          <p className="muted">Create a pairing code below and run the command it shows on your computer.</p>
        </EmptyState>
      )}
      <ul className="device-list" data-testid="device-list">
        {list.map((d) => (
          <li key={d.id} className="card device" data-testid={`device-${d.name}`} data-online={d.online}>
            <a href={`#/devices/${encodeURIComponent(d.id)}`} className="device-link">
              <span className="card-title">{d.name}</span>
            </a>
            <span className={`badge badge-${d.online ? 'running' : 'stopped'}`} data-testid="device-status">
              <span className="badge-dot" aria-hidden="true" />
              {d.online
                ? 'online'
                : d.lastSeenAt
                  ? `offline since ${new Date(d.lastSeenAt).toLocaleString()}`
                  : 'offline'}
            </span>
          </li>
        ))}
      </ul>
      <PairingCard hub={hub} />
    </div>
  );
}
