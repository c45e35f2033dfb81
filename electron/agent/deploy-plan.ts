// Everything about a deploy that can be decided and checked before the intent row is written: the
// image, a unique name, the host ports (requested ones must be free, others are picked now so they are
// known and stable), and the volumes. A refusal here leaves no row, no container and no volume.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { LatticeError, TEMPLATES, templateImage, type DeploySpec, type PublishedPort } from '../../shared';
import { containerName, volumeName } from './docker/container-spec';
import type { Store, StoredVolume } from './store';
import { pickFreePort, portFree } from './ports';

export interface PlanDeps {
  store: Store;
  /** Undefined while Docker is down (a deploy that waits for approval needs none). */
  docker: Docker | undefined;
  env: Record<string, string | undefined>;
  /** 127.0.0.1, or 0.0.0.0 when the owner turned on LAN access. */
  hostIp: string;
  /** Host ports promised to deploys whose rows are not written yet; this plan adds its own. */
  pendingPorts: Set<number>;
}

export interface DeployPlan {
  name: string;
  image: string;
  ports: PublishedPort[];
  volumes: StoredVolume[];
  /** Ports this plan added to `pendingPorts`; the caller releases them once the row holds them. */
  claimed: number[];
}

const notFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** Whether Docker has the container or volume: a 404 means no, any other failure is an error. */
const existsInDocker = (object: { inspect(): Promise<unknown> }) =>
  object.inspect().then(
    () => true,
    (err) => (notFound(err) ? false : Promise.reject(err)),
  );

function generateName(spec: DeploySpec, store: Store): string {
  const base =
    spec.template === 'custom'
      ? spec.image
          .split('@')[0]
          .split('/')
          .pop()
          ?.split(':')[0]
          .replace(/[^a-z0-9_.-]/g, '')
          .slice(0, 40)
      : spec.template;
  for (let i = 0; i < 20; i++) {
    const name = `${base || 'app'}-${randomBytes(2).toString('hex')}`;
    if (!store.workloads.byName(name)) return name;
  }
  throw new LatticeError('internal', 'Could not pick a free workload name');
}

/** Host ports held by existing workloads (running or not: a stopped one gets its port back on start). */
function heldPorts(store: Store): Map<number, string> {
  const held = new Map<number, string>();
  for (const r of store.workloads.all()) for (const p of r.ports) held.set(p.host, r.name);
  return held;
}

export async function planDeploy(spec: DeploySpec, deps: PlanDeps): Promise<DeployPlan> {
  const { store, docker, hostIp, pendingPorts } = deps;
  const template = TEMPLATES[spec.template];
  const image = templateImage(template, deps.env, spec.image);
  if (!image) throw new LatticeError('invalid_argument', 'An image is required for this template', 'image');

  const name = spec.name ?? generateName(spec, store);
  if (store.workloads.byName(name)) {
    throw new LatticeError('conflict', `A workload named "${name}" already exists`, 'name');
  }
  if (docker) {
    if (await existsInDocker(docker.getContainer(containerName(name)))) {
      throw new LatticeError(
        'conflict',
        `A container named ${containerName(name)} already exists in Docker; choose another name`,
        'name',
      );
    }
  }

  const wanted =
    spec.template === 'custom'
      ? spec.ports.map((p, i) => ({
          name: String(p.container),
          container: p.container,
          host: p.host,
          protocol: p.protocol,
          field: `ports.${i}.host`,
        }))
      : template.ports.map((p, i) => ({
          name: p.name,
          container: p.container,
          // hostPort picks the template's main port; the others are allocated.
          host: i === 0 ? spec.hostPort : undefined,
          protocol: p.protocol as 'tcp' | 'udp',
          field: 'hostPort',
        }));

  const held = heldPorts(store);
  const ports: PublishedPort[] = [];
  const claimed: number[] = [];
  try {
    for (const p of wanted) {
      if (p.host !== undefined) {
        const owner = held.get(p.host);
        if (owner || pendingPorts.has(p.host) || ports.some((x) => x.host === p.host)) {
          throw new LatticeError(
            'port_taken',
            `Host port ${p.host} is already used${owner ? ` by workload ${owner}` : ''}; choose another or leave it out`,
            p.field,
          );
        }
        if (p.protocol === 'tcp' && !(await portFree(p.host, hostIp))) {
          throw new LatticeError(
            'port_taken',
            `Host port ${p.host} is already in use on this computer; choose another or leave it out`,
            p.field,
          );
        }
      }
      const host =
        p.host ??
        (await pickFreePort(hostIp, new Set([...held.keys(), ...pendingPorts, ...ports.map((x) => x.host)])));
      pendingPorts.add(host);
      claimed.push(host);
      ports.push({ name: p.name, container: p.container, host, hostIp, protocol: p.protocol });
    }

    // The template's data volume, or the custom spec's named volumes (prefixed with the workload name,
    // so a workload can only ever mount its own) and the binds the policy allowed.
    const volumes: StoredVolume[] = [];
    const firstCustom = template.volumeTarget ? 1 : 0;
    if (template.volumeTarget) {
      volumes.push({ source: volumeName(name, 'data'), target: template.volumeTarget, kind: 'volume' });
    }
    if (spec.template === 'custom') {
      for (const v of spec.volumes) {
        volumes.push(
          v.source.startsWith('/')
            ? { source: v.source, target: v.target, kind: 'bind', readOnly: v.readOnly }
            : { source: volumeName(name, v.source), target: v.target, kind: 'volume', readOnly: v.readOnly },
        );
      }
    }
    if (docker) {
      for (const [i, v] of volumes.entries()) {
        if (v.kind !== 'volume') continue;
        if (await existsInDocker(docker.getVolume(v.source))) {
          // An old volume holds an old database's users: reusing it would fail the login check.
          throw new LatticeError(
            'conflict',
            `Docker volume ${v.source} already exists (left by an earlier workload of this name); delete it or choose another name`,
            i >= firstCustom ? `volumes.${i - firstCustom}.source` : 'name',
          );
        }
      }
    }
    return { name, image, ports, volumes, claimed };
  } catch (err) {
    for (const p of claimed) pendingPorts.delete(p);
    throw err;
  }
}
