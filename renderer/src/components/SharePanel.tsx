import { useEffect, useState, type FormEvent } from 'react';
import type { ErrorBody, Share, ShareExpiry, ShareVia, Workload } from '../../../shared';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';
import { CopyButton } from './CopyButton';
import { ErrorNote } from './ErrorNote';
import { QrCode } from './QrCode';

const EXPIRIES: { value: ShareExpiry; label: string }[] = [
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
  { value: '7d', label: '7 days' },
  { value: 'never', label: 'Never' },
];

function timeLeft(expiresAt: string | null, now: number): string {
  if (!expiresAt) return 'no expiry';
  const ms = Date.parse(expiresAt) - now;
  if (ms <= 0) return 'expired';
  const m = Math.floor(ms / 60_000);
  if (m < 1) return 'less than a minute left';
  if (m < 60) return `${m} min left`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min left`;
  return `${Math.floor(h / 24)} days left`;
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

/** What a person pastes: the connection string for databases, the URL otherwise. */
const shareTarget = (s: Share) => s.connectionString ?? s.url;
const isWebUrl = (s: string) => /^https?:\/\//.test(s);

/**
 * A share behind the hub's certificate: how clients verify it (the system's CAs, or the hub's CA file
 * to download), and for Postgres the stricter string and which clients take it.
 */
function HubTlsNote({ share }: { share: Share }) {
  const tls = share.hubTls!;
  return (
    <div className="small" data-testid="share-hub-tls">
      <p className="muted">
        Encrypted to the hub, which clients verify
        {tls.caPem ? (
          <>
            {' '}
            with its CA:{' '}
            <a href={tls.caUrl} download="lattice-relay-ca.pem" data-testid="share-ca-download">
              download lattice-relay-ca.pem
            </a>
            {share.kind === 'postgres' && ' and keep it where you run psql (the string names it)'}
            {share.kind === 'tcp' &&
              ' (openssl s_client -connect … -CAfile lattice-relay-ca.pem, or stunnel)'}
            .
          </>
        ) : (
          ' with the system’s CAs (publicly trusted).'
        )}
      </p>
      {share.connectionStringStrict && (
        <div className="row share-target">
          <span className="muted">libpq 16+ (psql 16, pgAdmin): also refuses any login but SCRAM</span>
          <code className="mono value" data-testid="share-connection-string-strict">
            {share.connectionStringStrict}
          </code>
          <CopyButton
            text={share.connectionStringStrict}
            label="Copy the string for libpq 16 and later"
            testId="share-copy-strict"
          />
        </div>
      )}
    </div>
  );
}

function ShareCard({ share, now }: { share: Share; now: number }) {
  const { api } = useApi();
  const [error, setError] = useState<ErrorBody | null>(null);
  const [busy, setBusy] = useState(false);
  const target = shareTarget(share);
  const revoke = async () => {
    setBusy(true);
    const res = await api.invoke('share.revoke', { ref: share.id });
    setBusy(false);
    if (!res.ok) setError(res.error);
  };
  return (
    <li className="share" data-testid={`share-${share.id}`} data-status={share.status}>
      <div className="row row-between">
        <span>
          <strong>{share.via === 'relay' ? 'Hub relay' : 'ngrok'}</strong> · {share.kind}
          {share.readOnly && ' · read-only'}
          {share.basicAuth && ' · basic auth'}
          {share.bucket && ` · bucket ${share.bucket}`}
          {share.kind === 'tcp' && (
            <span data-testid="share-transport">
              {share.plain ? ' · plain TCP (no TLS)' : share.hubTls ? ' · TLS (hub certificate)' : ' · TCP'}
            </span>
          )}
        </span>
        <span
          className={`badge badge-${share.status === 'active' ? 'running' : share.status === 'failed' ? 'failed' : 'pending'}`}
        >
          {share.status}
        </span>
      </div>
      <div className="row share-target">
        <code className="mono value" data-testid="share-connection-string">
          {target}
        </code>
        <CopyButton text={target} label="Copy the shared address" testId="share-copy" />
      </div>
      {share.username && share.password && share.basicAuth && (
        <p className="small" data-testid="share-basic-credentials">
          Visitors sign in as{' '}
          <code className="mono" data-testid="share-username">
            {share.username}
          </code>{' '}
          with password{' '}
          <code className="mono" data-testid="share-password">
            {share.password}
          </code>
        </p>
      )}
      {share.kind === 'postgres' && !share.hubTls && (
        <p className="small muted">
          Encrypted: the database serves TLS with a certificate from this computer.
        </p>
      )}
      {share.hubTls && <HubTlsNote share={share} />}
      {share.accessKey && (
        <p className="small" data-testid="share-s3-key">
          This share’s own key — access key <code className="mono">{share.accessKey}</code>
          {share.secretKey && (
            <>
              {' '}
              · secret key <code className="mono">{share.secretKey}</code>
            </>
          )}
        </p>
      )}
      {isWebUrl(target) && <QrCode text={target} label={`QR code for ${target}`} />}
      {share.message && <p className="small muted">{share.message}</p>}
      <div className="row row-between">
        <span className="muted small" data-testid="share-time-left">
          {timeLeft(share.expiresAt, now)}
        </span>
        <button
          type="button"
          className="btn btn-small btn-danger"
          disabled={busy}
          onClick={() => void revoke()}
          data-testid="share-revoke"
          aria-label={`Revoke the share of ${share.workloadName}`}
        >
          {busy ? 'Revoking…' : 'Revoke'}
        </button>
      </div>
      <ErrorNote error={error} testId="share-error" />
    </li>
  );
}

export function SharePanel({ workload }: { workload: Workload }) {
  const { api } = useApi();
  const shares = useLattice((s) => s.shares);
  const listError = useLattice((s) => s.sharesError);
  const settings = useLattice((s) => s.settings);
  const now = useNow(15_000);
  // The agent answers share.list with share_failed when it has no sharing support at all.
  const unavailable = listError?.code === 'share_failed' ? listError : null;
  const paired = !!settings?.hub.url;
  const [via, setVia] = useState<ShareVia>(paired || !settings?.ngrokConfigured ? 'relay' : 'ngrok');
  const [expires, setExpires] = useState<ShareExpiry>('24h');
  const [readOnly, setReadOnly] = useState(false);
  const [basicAuth, setBasicAuth] = useState(true);
  const [port, setPort] = useState('');
  const [kind, setKind] = useState<'http' | 'tcp'>('http');
  const [plain, setPlain] = useState(false);
  const [bucket, setBucket] = useState('');
  const [error, setError] = useState<ErrorBody | null>(null);
  const [busy, setBusy] = useState(false);

  const mine = Object.values(shares)
    .filter((s) => s.workloadId === workload.id && s.status !== 'revoked' && s.status !== 'expired')
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const portChoices = workload.ports.filter((p) => p.protocol === 'tcp');
  const portKey = (p: Workload['ports'][number]) => p.name ?? String(p.container);
  const chosen = portChoices.find((p) => portKey(p) === port) ?? portChoices[0];
  const isCustom = workload.template === 'custom';
  const isHttp =
    (isCustom && kind === 'http') || (workload.template === 'minio' && chosen?.name === 'console');
  const isS3 = workload.template === 'minio' && chosen?.name !== 'console';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await api.invoke('share.create', {
      workload: workload.name,
      via,
      expires,
      readOnly: workload.template === 'postgres' || isS3 ? readOnly : undefined,
      port: port || undefined,
      basicAuth: isHttp ? basicAuth : undefined,
      kind: isCustom ? kind : undefined,
      plain: isCustom && kind === 'tcp' && plain ? true : undefined,
      bucket: isS3 && bucket.trim() ? bucket.trim() : undefined,
    });
    setBusy(false);
    if (res.ok) useLattice.getState().upsertShare(res.value);
    else setError(res.error);
  };

  return (
    <section className="card share-panel" aria-labelledby="share-title" data-testid="share-panel">
      <h3 id="share-title" className="card-title">
        Share with the world
      </h3>
      {unavailable ? (
        <p className="note note-warn" data-testid="share-unavailable">
          Sharing is not available on this computer yet: {unavailable.message}
        </p>
      ) : workload.status === 'elsewhere' ? (
        <p className="muted" data-testid="share-elsewhere">
          {workload.message}
        </p>
      ) : workload.status !== 'running' ? (
        <p className="muted">Start {workload.name} to share it.</p>
      ) : (
        <form className="share-form" onSubmit={(e) => void submit(e)}>
          <fieldset className="segmented">
            <legend>Through</legend>
            <label>
              <input
                type="radio"
                name="via"
                value="relay"
                checked={via === 'relay'}
                onChange={() => setVia('relay')}
                data-testid="share-via-relay"
              />{' '}
              Hub relay
            </label>
            <label>
              <input
                type="radio"
                name="via"
                value="ngrok"
                checked={via === 'ngrok'}
                onChange={() => setVia('ngrok')}
                data-testid="share-via-ngrok"
              />{' '}
              ngrok
            </label>
          </fieldset>
          {via === 'relay' && !paired && (
            <p className="small note-inline">
              Pair this computer with a hub in Settings to share through its relay.
            </p>
          )}
          {via === 'ngrok' && settings && !settings.ngrokConfigured && (
            <p className="small note-inline">Add your ngrok token in Settings first.</p>
          )}
          <div className="row row-fields">
            <div className="field">
              <label htmlFor="share-expires">Expires after</label>
              <select
                id="share-expires"
                value={expires}
                onChange={(e) => setExpires(e.target.value as ShareExpiry)}
                data-testid="share-expires"
              >
                {EXPIRIES.map((x) => (
                  <option key={x.value} value={x.value}>
                    {x.label}
                  </option>
                ))}
              </select>
            </div>
            {portChoices.length > 1 && (
              <div className="field">
                <label htmlFor="share-port">Port</label>
                <select id="share-port" value={port} onChange={(e) => setPort(e.target.value)}>
                  {portChoices.map((p) => (
                    <option key={portKey(p)} value={portKey(p)}>
                      {p.name ?? p.container}
                    </option>
                  ))}
                </select>
              </div>
            )}
          </div>
          {isCustom && (
            <fieldset className="segmented">
              <legend>Share as</legend>
              <label>
                <input
                  type="radio"
                  name="kind"
                  value="http"
                  checked={kind === 'http'}
                  onChange={() => setKind('http')}
                  data-testid="share-kind-http"
                />{' '}
                HTTP (a web app: a URL)
              </label>
              <label>
                <input
                  type="radio"
                  name="kind"
                  value="tcp"
                  checked={kind === 'tcp'}
                  onChange={() => setKind('tcp')}
                  data-testid="share-kind-tcp"
                />{' '}
                TCP (Redis, MySQL, any TCP service)
              </label>
            </fieldset>
          )}
          {isCustom && kind === 'tcp' && (
            <label className="check">
              <input
                type="checkbox"
                checked={plain}
                onChange={(e) => setPlain(e.target.checked)}
                data-testid="share-plain"
              />{' '}
              Plain TCP — no TLS at the hub, for clients that cannot speak TLS (anyone on the path can read
              it)
            </label>
          )}
          {(workload.template === 'postgres' || isS3) && (
            <label className="check">
              <input
                type="checkbox"
                checked={readOnly}
                onChange={(e) => setReadOnly(e.target.checked)}
                data-testid="share-readonly"
              />{' '}
              {isS3 ? 'Read-only (a key that can only read)' : 'Read-only (a role that can only SELECT)'}
            </label>
          )}
          {isS3 && (
            <div className="field">
              <label htmlFor="share-bucket">Only this bucket (optional)</label>
              <input
                id="share-bucket"
                value={bucket}
                onChange={(e) => setBucket(e.target.value)}
                placeholder="every bucket"
                data-testid="share-bucket"
              />
            </div>
          )}
          {isHttp && (
            <label className="check">
              <input
                type="checkbox"
                checked={basicAuth}
                onChange={(e) => setBasicAuth(e.target.checked)}
                data-testid="share-basic-auth"
              />{' '}
              Require a user name and password (basic auth)
            </label>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="share-create">
            {busy ? 'Opening the tunnel…' : 'Share'}
          </button>
          <ErrorNote error={error} testId="share-create-error" />
        </form>
      )}
      {mine.length === 0 && !listError && workload.status === 'running' && (
        <p className="small muted" data-testid="shares-empty">
          Not shared. Share it to get an address that works from anywhere, for as long as you choose.
        </p>
      )}
      {mine.length > 0 && (
        <ul className="shares" data-testid="share-list">
          {mine.map((s) => (
            <ShareCard key={s.id} share={s} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}
