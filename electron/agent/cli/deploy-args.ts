// `lattice deploy` flags → `workload.deploy` args. Pure, so every message can be unit-tested; the agent's
// policy still decides what is allowed (privileged, host network, bind mounts are passed through to be refused).
import {
  DeployArgs,
  EnvKey,
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
}

const bad = (message: string, field?: string) => new LatticeError('invalid_argument', message, field);

/** `CONTAINER_PORT[:HOST_PORT][/tcp|udp]` — the container's port first, as the flag's help says. */
export function parsePublish(text: string): PortMapping {
  const [ports, protocol = 'tcp', extra] = text.split('/');
  if (extra !== undefined || (protocol !== 'tcp' && protocol !== 'udp')) {
    throw bad(`-p ${text}: the protocol must be tcp or udp`, 'ports');
  }
  const parts = ports.split(':');
  if (parts.length > 2) throw bad(`-p ${text}: use CONTAINER_PORT[:HOST_PORT]`, 'ports');
  const [container, host] = parts.map((p) => {
    if (!/^\d+$/.test(p)) throw bad(`-p ${text}: port must be a number`, 'ports');
    const n = Number(p);
    if (n < 1 || n > 65535) throw bad(`-p ${text}: port must be 1-65535`, 'ports');
    return n;
  });
  return host === undefined ? { container, protocol } : { container, host, protocol };
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
    if (flags.publish?.length) args.ports = flags.publish.map(parsePublish);
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
