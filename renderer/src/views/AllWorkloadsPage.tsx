import { useEffect, useState } from 'react';
import {
  TEMPLATES,
  TEMPLATE_IDS,
  WorkloadState,
  type ErrorBody,
  type QueuedCommand,
  type QueueExpiry,
} from '../../../shared';
import type { HubClient } from '../api/hub-transport';
import { Dialog } from '../components/Dialog';
import { EmptyState } from '../components/EmptyState';
import { ErrorNote } from '../components/ErrorNote';
import { StatusBadge, statusTone } from '../components/StatusBadge';
import {
  ageAt,
  commandVerb,
  formatAge,
  groupByNode,
  lifecycleFor,
  queuedFor,
  queuedOutcome,
  queueToShow,
  type Inventoried,
} from '../store/inventory-model';
import { useLattice } from '../store/store';

type Lifecycle = 'start' | 'stop' | 'restart';

/** Re-renders every `ms` so ages stay true without asking the hub. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

const deviceHref = (nodeId: string) => `#/devices/${encodeURIComponent(nodeId)}`;

function QueueDialog({
  hub,
  workload,
  action,
  onClose,
}: {
  hub: HubClient;
  workload: Inventoried;
  action: 'start' | 'stop';
  onClose: () => void;
}) {
  const [expires, setExpires] = useState<QueueExpiry>('24h');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorBody | null>(null);
  const queue = async () => {
    setBusy(true);
    setError(null);
    const res = await hub.procedure(`workload.${action}`, {
      ref: workload.name,
      node: workload.node.id,
      queue: true,
      queueExpires: expires,
    });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    if (res.value.queued) useLattice.getState().upsertQueued(res.value.queued);
    // It came back meanwhile: the command ran at once.
    if (res.value.value) {
      useLattice
        .getState()
        .upsertInventoryState(res.value.node.id, WorkloadState.parse(res.value.value), Date.now());
    }
    onClose();
  };
  return (
    <Dialog title={`Queue ${action} of ${workload.name}?`} onClose={onClose} testId="queue-dialog">
      <p>
        <strong>{workload.node.name}</strong> is offline. The hub keeps the command and delivers it once, when{' '}
        {workload.node.name} reconnects; you can cancel it until then.
      </p>
      <div className="field">
        <label htmlFor="queue-expires">Give up after</label>
        <select
          id="queue-expires"
          value={String(expires)}
          onChange={(e) => setExpires(e.target.value as QueueExpiry)}
          data-testid="queue-expires"
        >
          <option value="1h">1 hour</option>
          <option value="24h">24 hours</option>
          <option value="7d">7 days</option>
        </select>
      </div>
      <ErrorNote error={error} testId="queue-error" />
      <div className="row row-end">
        <button type="button" className="btn" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy}
          onClick={() => void queue()}
          data-testid="confirm-queue"
        >
          {busy ? 'Queueing…' : `Queue ${action}`}
        </button>
      </div>
    </Dialog>
  );
}

function CancelQueued({ hub, command }: { hub: HubClient; command: QueuedCommand }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorBody | null>(null);
  if (command.status !== 'pending') return null;
  const cancel = async () => {
    setBusy(true);
    setError(null);
    const res = await hub.procedure('queue.cancel', { id: command.id });
    setBusy(false);
    if (res.ok) useLattice.getState().upsertQueued(res.value);
    else setError(res.error);
  };
  return (
    <>
      <button
        type="button"
        className="btn btn-small btn-ghost"
        disabled={busy}
        onClick={() => void cancel()}
        aria-label={`Cancel the queued ${commandVerb(command.name)} of ${command.summary} on ${command.nodeName}`}
        data-testid="queued-cancel"
      >
        Cancel
      </button>
      <ErrorNote error={error} testId="queued-cancel-error" />
    </>
  );
}

function Actions({ hub, workload }: { hub: HubClient; workload: Inventoried }) {
  const [busy, setBusy] = useState<Lifecycle | null>(null);
  const [error, setError] = useState<ErrorBody | null>(null);
  const [queueing, setQueueing] = useState<'start' | 'stop' | null>(null);
  const offers = lifecycleFor(workload.status);
  const online = workload.node.online;
  const run = async (action: Lifecycle) => {
    setBusy(action);
    setError(null);
    const res = await hub.procedure(`workload.${action}`, { ref: workload.name, node: workload.node.id });
    setBusy(null);
    if (!res.ok) return setError(res.error);
    if (res.value.value) {
      useLattice
        .getState()
        .upsertInventoryState(res.value.node.id, WorkloadState.parse(res.value.value), Date.now());
    }
  };
  const button = (action: Lifecycle, label: string, doing: string) => (
    <button
      type="button"
      className="btn btn-small"
      disabled={!!busy}
      onClick={() => void run(action)}
      aria-label={`${label} ${workload.name} on ${workload.node.name}`}
      data-testid={`inventory-${action}`}
    >
      {busy === action ? doing : label}
    </button>
  );
  return (
    <div className="inventory-actions">
      <div className="row">
        {online && offers.start && button('start', 'Start', 'Starting…')}
        {online && offers.stop && button('stop', 'Stop', 'Stopping…')}
        {online && offers.restart && button('restart', 'Restart', 'Restarting…')}
        {!online && (offers.start || offers.stop) && (
          <button
            type="button"
            className="btn btn-small"
            onClick={() => setQueueing(offers.start ? 'start' : 'stop')}
            aria-label={`Queue ${offers.start ? 'start' : 'stop'} of ${workload.name} on ${workload.node.name}`}
            data-testid={`inventory-queue-${offers.start ? 'start' : 'stop'}`}
          >
            Queue {offers.start ? 'start' : 'stop'}…
          </button>
        )}
        <a
          className="btn btn-small btn-ghost"
          href={`${deviceHref(workload.node.id)}/workloads/${encodeURIComponent(workload.name)}`}
          aria-label={`Open ${workload.name} on ${workload.node.name}`}
        >
          Open
        </a>
      </div>
      <ErrorNote error={error} testId="inventory-action-error" />
      {queueing && (
        <QueueDialog hub={hub} workload={workload} action={queueing} onClose={() => setQueueing(null)} />
      )}
    </div>
  );
}

function WorkloadRow({
  hub,
  workload,
  queued,
  now,
}: {
  hub: HubClient;
  workload: Inventoried;
  queued: QueuedCommand[];
  now: number;
}) {
  const online = workload.node.online;
  return (
    <tr
      className={`inventory-row tone-${statusTone(workload.status)}${online ? '' : ' is-offline'}`}
      data-testid="inventory-row"
      data-workload={workload.name}
      data-node={workload.node.name}
      data-online={online}
      data-status={workload.status}
    >
      <th scope="row">
        <a href={`${deviceHref(workload.node.id)}/workloads/${encodeURIComponent(workload.name)}`}>
          {workload.name}
        </a>
        <div className="muted small mono">{workload.image}</div>
      </th>
      <td data-testid="inventory-node">
        <a href={deviceHref(workload.node.id)}>{workload.node.name}</a>{' '}
        {!online && (
          <span className="badge badge-offline" data-testid="inventory-offline">
            offline
          </span>
        )}
      </td>
      <td>
        <StatusBadge status={workload.status} />
        {!online && (
          <div className="small muted" data-testid="inventory-age">
            last known, reported {formatAge(ageAt(workload, now))} ago
          </div>
        )}
        {workload.message && <div className="small note-inline">{workload.message}</div>}
      </td>
      <td className="small">
        {workload.ports.length === 0
          ? '–'
          : workload.ports.map((p) => (
              <span key={`${p.container}/${p.protocol}`} className="port mono">
                {p.host} → {p.container}
              </span>
            ))}
      </td>
      <td>
        {queued.length > 0 && (
          <ul className="queued-inline" data-testid="inventory-queued">
            {queued.map((c) => (
              <li key={c.id}>
                <span className="badge badge-pending">{commandVerb(c.name)} queued</span>{' '}
                <CancelQueued hub={hub} command={c} />
              </li>
            ))}
          </ul>
        )}
        <Actions hub={hub} workload={workload} />
      </td>
    </tr>
  );
}

function QueuePanel({ hub, commands, now }: { hub: HubClient; commands: QueuedCommand[]; now: number }) {
  if (commands.length === 0) return null;
  return (
    <section className="card" aria-labelledby="queue-title" data-testid="queue-panel">
      <h3 id="queue-title" className="card-title">
        Commands for offline computers
      </h3>
      <ul className="queue-list">
        {commands.map((c) => (
          <li key={c.id} className="row row-between" data-testid="queued-command" data-status={c.status}>
            <span>
              <strong>{commandVerb(c.name)}</strong> {c.summary} on <strong>{c.nodeName}</strong>
              <span className="muted small">
                {' '}
                · queued {formatAge((now - Date.parse(c.createdAt)) / 1000)} ago · {queuedOutcome(c)}
              </span>
            </span>
            <CancelQueued hub={hub} command={c} />
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The dashboard's landing page: every workload of the account, on every computer. */
export function AllWorkloadsPage({ hub }: { hub: HubClient }) {
  const inventory = useLattice((s) => s.inventory);
  const nodes = useLattice((s) => s.nodes);
  const queue = useLattice((s) => s.queue);
  const loaded = useLattice((s) => s.inventoryLoaded);
  const error = useLattice((s) => s.inventoryError);
  const now = useNow(30_000);
  const commands = Object.values(queue);
  const groups = groupByNode(Object.values(inventory), Object.values(nodes));
  const count = Object.keys(inventory).length;
  return (
    <div className="all-workloads" data-testid="all-workloads">
      <header className="page-header row row-between">
        <h2 className="page-title">All workloads</h2>
        <div className="row" aria-label="Deploy">
          {TEMPLATE_IDS.map((id) => (
            <a
              key={id}
              className={`btn ${id === 'postgres' ? 'btn-primary' : ''}`}
              href={`#/deploy/${id}`}
              data-testid={`deploy-${id}`}
            >
              Deploy {TEMPLATES[id].title}
            </a>
          ))}
        </div>
      </header>
      <ErrorNote error={error} testId="inventory-error" />
      <QueuePanel hub={hub} commands={queueToShow(commands)} now={now} />
      {!loaded && <p className="muted">Loading…</p>}
      {loaded && groups.length === 0 && (
        <EmptyState title="No computer is paired yet" testId="inventory-no-computers">
          <p className="muted">Pair a computer, then everything it runs shows up here.</p>
          <a className="btn btn-primary" href="#/devices">
            Add a computer
          </a>
        </EmptyState>
      )}
      {loaded && groups.length > 0 && count === 0 && (
        <EmptyState title="Nothing runs on your computers yet" testId="inventory-empty">
          <p className="muted">
            Deploy a database in one click — the hub picks the computer with room for it.
          </p>
        </EmptyState>
      )}
      {count > 0 && (
        <table className="inventory" data-testid="inventory-table">
          <thead>
            <tr>
              <th scope="col">Workload</th>
              <th scope="col">Computer</th>
              <th scope="col">State</th>
              <th scope="col">Ports</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {groups.flatMap((g) =>
              g.workloads.map((w) => (
                <WorkloadRow
                  key={`${w.node.id}/${w.id}`}
                  hub={hub}
                  workload={w}
                  queued={queuedFor(w, commands)}
                  now={now}
                />
              )),
            )}
          </tbody>
        </table>
      )}
      {loaded && groups.length > 0 && (
        <p className="small muted" data-testid="inventory-computers">
          {groups.map((g, i) => (
            <span key={g.node.id}>
              {i > 0 && ' · '}
              <a href={deviceHref(g.node.id)}>{g.node.name}</a> {g.node.online ? 'online' : 'offline'} (
              {g.workloads.length})
            </span>
          ))}
        </p>
      )}
    </div>
  );
}
