// `lattice deploy` flags → `workload.deploy` args. Pure, so every message can be unit-tested; the agent's
// policy still decides what is allowed (privileged, host network, bind mounts are passed through to be refused).
import { isIPv4, isIPv6 } from 'node:net';
import {
  DeployArgs,
  DeployShare,
  EnvKey,
  ShareExpiry,
  ShareVia,
  LatticeError,
  MIN_MEMORY_BYTES,
  RestartPolicy,
  TEMPLATE_IDS,
  fromZodError,
  parseMemorySize,
  type PortMapping,
  type TemplateId,
  type VolumeMount,
} from '../../../shared';

export interface DeployFlags {
  name?: string;
  image?: string;
  publish?: string[];
  env?: string[];
  volume?: string[];
  restart?: string;
  cpus?: string;
  memory?: string;
  privileged?: boolean;
  network?: string;
  /** `--share` (true) or `--share relay|ngrok`: share the workload once it is ready. */
  share?: string | boolean;
  shareExpires?: string;
  shareReadOnly?: boolean;
}

/** `--share [relay|ngrok] [--share-expires 24h] [--share-read-only]` → workload.deploy's `share`. */
export function shareFromFlags(flags: DeployFlags): DeployShare | undefined {
  if (flags.share === undefined || flags.share === false) {
    if (flags.shareExpires !== undefined || flags.shareReadOnly) {
      throw bad('--share-expires and --share-read-only go with --share', 'share');
    }
    return undefined;
  }
  const share: DeployShare = {};
  if (typeof flags.share === 'string') {
    if (!ShareVia.safeParse(flags.share).success)
      throw bad(`--share ${flags.share}: use relay or ngrok`, 'share.via');
    share.via = flags.share as ShareVia;
  }
  if (flags.shareExpires !== undefined) {
    if (!ShareExpiry.safeParse(flags.shareExpires).success) {
      throw bad(`--share-expires ${flags.shareExpires}: use 1h, 24h, 7d or never`, 'share.expires');
    }
    share.expires = flags.shareExpires as ShareExpiry;
  }
  if (flags.shareReadOnly) share.readOnly = true;
  return share;
}

const bad = (message: string, field?: string) => new LatticeError('invalid_argument', message, field);

/** One `-p` flag: the mapping, and the address it named (`-p IP:HOST:CONTAINER`), if any. */
export interface PublishFlag {
  port: PortMapping;
  address?: string;
}

const PUBLISH_FORMS = 'use HOST_PORT:CONTAINER_PORT, CONTAINER_PORT or IP:HOST_PORT:CONTAINER_PORT';

function portNumber(flag: string, text: string): number {
  if (/^\d+-\d+$/.test(text)) {
    throw bad(`-p ${flag}: port ranges are not supported, publish each port with its own -p`, 'ports');
  }
  if (!/^\d+$/.test(text)) throw bad(`-p ${flag}: "${text}" is not a port number`, 'ports');
  const n = Number(text);
  if (n < 1 || n > 65535) throw bad(`-p ${flag}: port must be 1-65535`, 'ports');
  return n;
}

/**
 * Docker's forms, in Docker's order: `HOST:CONTAINER`, `CONTAINER` (a free host port is picked),
 * `IP:HOST:CONTAINER` and `IP::CONTAINER`, each with an optional `/tcp` or `/udp`.
 */
export function parsePublish(text: string): PublishFlag {
  const slash = text.lastIndexOf('/');
  const protocol = slash < 0 ? 'tcp' : text.slice(slash + 1);
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw bad(`-p ${text}: the protocol must be tcp or udp, not "${protocol}"`, 'ports');
  }
  let rest = slash < 0 ? text : text.slice(0, slash);
  let address: string | undefined;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracketed) {
    [, address, rest] = bracketed;
    if (!isIPv6(address)) throw bad(`-p ${text}: "${address}" is not an IP address`, 'ports');
    if (rest.split(':').length !== 2) throw bad(`-p ${text}: ${PUBLISH_FORMS}`, 'ports');
  }
  const parts = rest.split(':');
  if (parts.length > 3 || (address !== undefined && parts.length !== 2)) {
    throw bad(`-p ${text}: ${PUBLISH_FORMS}`, 'ports');
  }
  if (parts.length === 3) {
    address = parts.shift()!;
    if (!isIPv4(address)) throw bad(`-p ${text}: "${address}" is not an IP address`, 'ports');
  }
  const container = portNumber(text, parts.at(-1)!);
  const hostText = parts.length === 2 ? parts[0] : '';
  // `IP::CONTAINER`: Docker's way to name the address and let the host port be picked.
  if (hostText === '' && parts.length === 2 && address === undefined) {
    throw bad(`-p ${text}: the host port is missing, ${PUBLISH_FORMS}`, 'ports');
  }
  const port: PortMapping =
    hostText === '' ? { container, protocol } : { host: portNumber(text, hostText), container, protocol };
  return address === undefined ? { port } : { port, address };
}

/** The `-p` flags that name an address: checked against the agent's LAN access setting. */
export function publishAddresses(flags: DeployFlags): { text: string; address: string }[] {
  return (flags.publish ?? []).flatMap((text) => {
    const { address } = parsePublish(text);
    return address === undefined ? [] : [{ text, address }];
  });
}

/**
 * Lattice publishes every port on one address: 127.0.0.1, or 0.0.0.0 when the owner turned LAN
 * access on. A `-p` that names an address must name that one; anything else would be ignored, so
 * it is refused, saying what to change.
 */
export function checkPublishAddress(text: string, address: string, lanAccess: boolean): void {
  const everywhere = address === '0.0.0.0' || address === '::';
  const loopback = address === '127.0.0.1' || address === '::1';
  if (lanAccess ? everywhere : loopback) return;
  if (everywhere) {
    throw bad(
      `-p ${text}: publishing on ${address} (every network) needs LAN access, which is off — turn it on in the console's Settings, or drop the address to publish on 127.0.0.1`,
      'ports',
    );
  }
  if (loopback) {
    throw bad(
      `-p ${text}: LAN access is on, so Lattice publishes every port on 0.0.0.0 — drop the address, or turn LAN access off to keep ports on 127.0.0.1`,
      'ports',
    );
  }
  throw bad(
    `-p ${text}: Lattice publishes on 127.0.0.1, or on 0.0.0.0 when LAN access is on — not on ${address}`,
    'ports',
  );
}

export function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw bad(`-e ${pair}: use KEY=VALUE`, 'env');
    const key = pair.slice(0, eq);
    const checked = EnvKey.safeParse(key);
    if (!checked.success) throw bad(`-e ${pair}: ${checked.error.issues[0].message}`, 'env');
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

/** `VOLUME:/path[:ro]`; VOLUME is a volume name, or a host path the agent's policy will judge. */
export function parseVolume(text: string): VolumeMount {
  const parts = text.split(':');
  const mode = parts.length === 3 ? parts[2] : undefined;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    !parts[0] ||
    (mode !== undefined && mode !== 'ro' && mode !== 'rw')
  ) {
    throw bad(`-v ${text}: use VOLUME:/path or VOLUME:/path:ro`, 'volumes');
  }
  if (!parts[1].startsWith('/'))
    throw bad(`-v ${text}: the path inside the container must be absolute`, 'volumes');
  return mode === 'ro'
    ? { source: parts[0], target: parts[1], readOnly: true }
    : { source: parts[0], target: parts[1] };
}

function parseCpus(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw bad(`--cpus ${text}: must be a number above 0`, 'cpus');
  return n;
}

function parseMemory(text: string): number {
  const bytes = parseMemorySize(text);
  if (bytes === undefined) throw bad(`--memory ${text}: not a memory size (try 512m or 2g)`, 'memory');
  if (bytes < MIN_MEMORY_BYTES)
    throw bad(`--memory ${text}: must be at least 6m (Docker refuses less)`, 'memory');
  return bytes;
}

const CUSTOM_ONLY: [keyof DeployFlags, string][] = [
  ['publish', '-p'],
  ['env', '-e'],
  ['volume', '-v'],
  ['restart', '--restart'],
  ['cpus', '--cpus'],
  ['memory', '--memory'],
  ['privileged', '--privileged'],
  ['network', '--network'],
];

/** Addresses in `-p` are checked syntactically here; `checkPublishAddress` judges them. */
export function deployArgsFromFlags(
  template: string,
  flags: DeployFlags,
  command: string[] = [],
): DeployArgs {
  if (!TEMPLATE_IDS.includes(template as TemplateId)) {
    throw bad(`unknown template "${template}" (use postgres, minio or custom)`, 'template');
  }
  let args: Record<string, unknown>;
  if (template === 'custom') {
    if (!flags.image)
      throw bad('deploy custom needs --image IMAGE (for example --image nginx:1.27)', 'image');
    args = { template, image: flags.image };
    if (flags.name !== undefined) args.name = flags.name;
    if (flags.publish?.length) args.ports = flags.publish.map((text) => parsePublish(text).port);
    if (flags.env?.length) args.env = parseEnv(flags.env);
    if (flags.volume?.length) args.volumes = flags.volume.map(parseVolume);
    if (flags.restart !== undefined) {
      if (!RestartPolicy.safeParse(flags.restart).success) {
        throw bad(`--restart ${flags.restart}: use no, always, unless-stopped or on-failure`, 'restart');
      }
      args.restart = flags.restart;
    }
    if (flags.cpus !== undefined) args.cpus = parseCpus(flags.cpus);
    if (flags.memory !== undefined) args.memory = parseMemory(flags.memory);
    if (flags.privileged) args.privileged = true;
    if (flags.network !== undefined) args.networkMode = flags.network;
    if (command.length) args.command = command;
  } else {
    const misplaced = CUSTOM_ONLY.filter(([key]) => {
      const v = flags[key];
      return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== false;
    }).map(([, flag]) => flag);
    if (misplaced.length) {
      throw bad(
        `${misplaced.join(', ')}: only for custom images (${template} sets its own ports, env and volumes)`,
      );
    }
    if (command.length) throw bad(`a command is only for custom images, not ${template}`, 'command');
    args = { template };
    if (flags.name !== undefined) args.name = flags.name;
    if (flags.image !== undefined) args.image = flags.image;
  }
  const checked = DeployArgs.safeParse(args);
  if (!checked.success) throw fromZodError(checked.error);
  return args as DeployArgs;
}
