// A workload as every door shows it: the stored row plus what follows from it — the decrypted
// credentials and the template's connection strings on the host ports. Reads only; no Docker.
import { TEMPLATES, type Credentials, type Workload } from '../../shared';
import type { SecretBox } from './secrets';
import type { WorkloadRow } from './store';

/** What is sealed per workload: generated credentials and the container's environment. */
export interface WorkloadSecrets {
  credentials: Credentials;
  env: Record<string, string>;
}

/** A workload with what the share service needs to reach it. */
export interface ResolvedWorkload {
  workload: Workload;
  row: WorkloadRow;
  credentials: Credentials;
  /** Host ports by port name (`postgres`, `s3`, `console`, or the container port for custom images). */
  hostPorts: Record<string, number>;
}

/** Sealed with the workload id as context, so the value cannot be replayed into another row. */
const secretsContext = (workloadId: string) => `workload:${workloadId}`;

export function sealWorkloadSecrets(box: SecretBox, workloadId: string, secrets: WorkloadSecrets): string {
  return box.sealJson(secrets, secretsContext(workloadId));
}

export function openWorkloadSecrets(box: SecretBox, row: WorkloadRow): WorkloadSecrets {
  if (!row.sealed) return { credentials: {}, env: {} };
  return box.openJson<WorkloadSecrets>(row.sealed, secretsContext(row.id));
}

export function hostPortsOf(row: WorkloadRow): Record<string, number> {
  return Object.fromEntries(row.ports.map((p) => [p.name ?? String(p.container), p.host]));
}

/**
 * True when the row belongs to another Docker engine than `here` (the engine in use, as last seen).
 * A row whose engine is not known yet (made before engines were recorded, or waiting for approval)
 * is nobody's else; before any engine has answered nothing is decided.
 */
export function isElsewhere(row: WorkloadRow, here: { id: string } | undefined): boolean {
  return !!here && row.engineId !== null && row.engineId !== here.id;
}

/**
 * What an elsewhere workload says, in its view and in every refusal. When the engine in use is reached
 * at the very label the row remembers, another daemon answers there now (the engine was reset or
 * reinstalled): said so, since "switch to it" would be no help.
 */
export function elsewhereMessage(row: WorkloadRow, here?: { label: string }): string {
  const label = row.engineLabel ?? row.engineId ?? 'unknown';
  if (here && row.engineLabel !== null && here.label === row.engineLabel) {
    return `On Docker engine ${label} as it was before another daemon answered there (reset or reinstalled?); switch back to that daemon, or forget this workload and deploy it again`;
  }
  return `On Docker engine ${label}; switch to it in Settings to manage this workload`;
}

/**
 * `here`: the engine in use. A workload of another engine shows as `elsewhere` with the engine named;
 * its stored status (as last seen on its own engine) is what it shows again once back there.
 */
export function workloadView(
  row: WorkloadRow,
  credentials: Credentials,
  here?: { id: string; label: string },
): Workload {
  const template = TEMPLATES[row.template];
  const elsewhere = isElsewhere(row, here);
  // A deploy waiting for approval has generated credentials but nothing running to connect to.
  const info =
    row.status === 'pending_approval' ? {} : template.connection(credentials, '127.0.0.1', hostPortsOf(row));
  const view: Workload = {
    id: row.id,
    name: row.name,
    template: row.template,
    image: row.image,
    status: elsewhere ? 'elsewhere' : row.status,
    ports: row.ports,
    volumes: row.volumes.map((v) => ({ source: v.source, target: v.target, kind: v.kind })),
    restart: row.restart,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    origin: row.origin,
  };
  if (elsewhere) view.message = elsewhereMessage(row, here);
  else if (row.message) view.message = row.message;
  if (row.engineId) view.engine = { id: row.engineId, label: row.engineLabel ?? row.engineId };
  for (const [key, value] of Object.entries(info)) {
    if (value !== undefined) (view as Record<string, unknown>)[key] = value;
  }
  return view;
}
