// Builds the one container config Lattice creates, from a stored workload row. Nothing from the
// caller reaches Docker except through these fields: no raw API pass-through.
import type Docker from 'dockerode';
import type { WorkloadRow } from '../store';

export const containerName = (workloadName: string) => `lattice-${workloadName}`;

/** Docker volume name for a workload's named volume; prefixed so a workload can only mount its own. */
export const volumeName = (workloadName: string, source: string) => `lattice-${workloadName}-${source}`;

/** `k=v,k2=v2` from LATTICE_EXTRA_LABELS, applied to containers and volumes. */
export function parseExtraLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (!key || key.startsWith('lattice.owner') || key.startsWith('lattice.workload')) continue;
    labels[key] = eq < 0 ? '' : part.slice(eq + 1).trim();
  }
  return labels;
}

export interface LabelContext {
  ownerId: string;
  extraLabels: Record<string, string>;
}

export function workloadLabels(row: WorkloadRow, ctx: LabelContext): Record<string, string> {
  return {
    ...ctx.extraLabels,
    'lattice.owner': ctx.ownerId,
    'lattice.workload': row.id,
    'lattice.op': row.opId,
    'lattice.template': row.template,
    'lattice.name': row.name,
  };
}

export function buildContainerOptions(
  row: WorkloadRow,
  env: Record<string, string>,
  command: string[] | undefined,
  labels: Record<string, string>,
): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of row.ports) {
    const key = `${p.container}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostIp: p.hostIp, HostPort: String(p.host) }];
  }
  const mounts = row.volumes.map((v) =>
    v.kind === 'volume'
      ? { Type: 'volume' as const, Source: v.source, Target: v.target, ReadOnly: !!v.readOnly }
      : { Type: 'bind' as const, Source: v.source, Target: v.target, ReadOnly: !!v.readOnly },
  );
  return {
    name: containerName(row.name),
    Image: row.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Cmd: command,
    Labels: labels,
    ExposedPorts: exposed,
    Tty: false,
    HostConfig: {
      PortBindings: bindings,
      Mounts: mounts,
      RestartPolicy: { Name: row.restart === 'no' ? '' : row.restart },
      SecurityOpt: ['no-new-privileges:true'],
      NanoCpus: row.spec.cpus ? Math.round(row.spec.cpus * 1e9) : undefined,
      Memory: row.spec.memory,
      Privileged: false,
    },
  };
}
