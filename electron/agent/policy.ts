// The policy layer: pure checks of a validated command against the door it came through and the
// owner's settings (docs/SECURITY.md, "The agent"). Refusals are `forbidden` errors naming the field.
import { posix } from 'node:path';
import {
  LatticeError,
  isBindSource,
  isLocalOnly,
  type CommandContext,
  type CommandName,
  type DeploySpec,
} from '../../shared';

export interface PolicySettings {
  allowedImages: string[];
  allowedBindRoots: string[];
  /** The engine sockets known on this computer (the one the agent uses among them), refused as bind mounts. */
  engineSockets?: string[];
  /** The owner's switch for deploys from the remote door; absent: allowed. */
  allowRemoteDeploy?: boolean;
}

export type DeployDecision = { action: 'deploy' } | { action: 'approve'; reason: string };

const forbid = (field: string, message: string) => new LatticeError('forbidden', message, field);

/** Commands marked localOnly (settings, pairing, approval) never run for a remote caller. */
export function checkDoor(name: CommandName, ctx: CommandContext): void {
  if (isLocalOnly(name) && ctx.door !== 'local') {
    throw new LatticeError(
      'forbidden',
      `${name} can only be run on this computer, not from the remote dashboard`,
    );
  }
}

const SOCKET_PATHS = ['/var/run/docker.sock', '/run/docker.sock'];

/**
 * The Docker socket itself, or a directory that contains it (mounting `/run` hands it over too).
 * `engineSockets` adds the sockets found for this computer's engines (a context's, a rootless one…).
 */
export function exposesDockerSocket(source: string, engineSockets: string[] = []): boolean {
  const path = posix.normalize(source).replace(/(.)\/+$/, '$1');
  if (/docker\.sock$/i.test(path)) return true;
  const sockets = [...SOCKET_PATHS, ...engineSockets.map((s) => posix.normalize(s))];
  return sockets.some((sock) => sock === path || sock.startsWith(path === '/' ? '/' : `${path}/`));
}

function underRoot(path: string, root: string): boolean {
  const r = posix.normalize(root).replace(/(.)\/+$/, '$1');
  return path === r || path.startsWith(r === '/' ? '/' : `${r}/`);
}

/** Image references compare without a default `:latest` and `docker.io/library/` prefix. */
export function normalizeImage(image: string): string {
  let ref = image.trim().toLowerCase();
  if (!/[:@][^/]*$/.test(ref)) ref += ':latest';
  ref = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  ref = ref.replace(/^library\//, '');
  return ref;
}

export function isImageAllowed(image: string, allowed: Iterable<string>): boolean {
  const wanted = normalizeImage(image);
  for (const a of allowed) if (normalizeImage(a) === wanted) return true;
  return false;
}

/**
 * Checks a parsed deploy spec. Throws `forbidden` for what no door may ask; returns whether the
 * deploy may go ahead or must wait for the owner's approval (remote, image outside catalog/allow-list).
 * `catalogImages` are the images the template catalog deploys on this machine (defaults and overrides).
 */
export function checkDeploy(
  spec: DeploySpec,
  ctx: CommandContext,
  settings: PolicySettings,
  catalogImages: string[],
): DeployDecision {
  if (ctx.door === 'remote' && settings.allowRemoteDeploy === false) {
    throw new LatticeError(
      'forbidden',
      'This computer does not allow remote deploys (its owner can allow them in Settings)',
    );
  }
  if (spec.template === 'custom') {
    const dangerous: [keyof typeof spec, boolean][] = [
      ['privileged', spec.privileged === true],
      ['capAdd', (spec.capAdd?.length ?? 0) > 0],
      ['devices', (spec.devices?.length ?? 0) > 0],
      ['networkMode', !!spec.networkMode],
      ['pidMode', !!spec.pidMode],
      ['ipcMode', !!spec.ipcMode],
      ['usernsMode', !!spec.usernsMode],
      // User-supplied security options can only weaken the defaults (`unconfined`, `label=disable`).
      ['securityOpt', (spec.securityOpt?.length ?? 0) > 0],
      ['sysctls', Object.keys(spec.sysctls ?? {}).length > 0],
    ];
    for (const [field, refused] of dangerous) {
      if (refused)
        throw forbid(
          String(field),
          `${String(field)} is not allowed: Lattice never grants containers host privileges`,
        );
    }
    spec.volumes.forEach((v, i) => {
      const field = `volumes.${i}.source`;
      if (v.driverOpts) {
        const opts = Object.fromEntries(
          Object.entries(v.driverOpts).map(([k, val]) => [k.toLowerCase(), val]),
        );
        if (opts.type?.toLowerCase() === 'none' || /bind/i.test(opts.o ?? '') || 'device' in opts) {
          throw forbid(
            `volumes.${i}.driverOpts`,
            'volume driver options that bind-mount a host path are not allowed',
          );
        }
      }
      if (!isBindSource(v.source)) return;
      if (!v.source.startsWith('/')) {
        throw forbid(field, `"${v.source}" is neither a volume name nor an absolute host path`);
      }
      if (exposesDockerSocket(v.source, settings.engineSockets)) {
        throw forbid(
          field,
          `mounting ${v.source} would hand the Docker socket (root on this computer) to the container`,
        );
      }
      if (ctx.door === 'remote') {
        throw forbid(field, 'host folders cannot be mounted from the remote dashboard; use a named volume');
      }
      const path = posix.normalize(v.source);
      if (!settings.allowedBindRoots.some((root) => underRoot(path, root))) {
        throw forbid(
          field,
          `host folder ${v.source} is not below a folder you allowed in Lattice (settings.allowedBindRoots); use a named volume or allow the folder`,
        );
      }
    });
  }
  if (ctx.door === 'remote') {
    const image = spec.image;
    if (image && !isImageAllowed(image, [...catalogImages, ...settings.allowedImages])) {
      return {
        action: 'approve',
        reason: `Image ${image} is not in the catalog or your allow-list: approve it on this computer to deploy`,
      };
    }
  }
  return { action: 'deploy' };
}
