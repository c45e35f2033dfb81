import { z } from 'zod';

/** Workload names double as container-name suffixes and CLI handles. */
export const WorkloadName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{0,62}$/,
    'use 1-63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** A workload by id or by name, as the CLI and API accept it. */
export const WorkloadRef = z.string().min(1, 'name or id is required').max(128);

export const Port = z
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be 1-65535')
  .max(65535, 'must be 1-65535');

export const PortMapping = z.strictObject({
  container: Port,
  /** Host port on 127.0.0.1 (or the LAN when the owner allowed it); allocated when omitted. */
  host: Port.optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});
export type PortMapping = z.infer<typeof PortMapping>;

export const EnvKey = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'environment names are letters, digits and "_", not starting with a digit',
  );
export const Env = z.record(EnvKey, z.string().max(32_768));

export const NAMED_VOLUME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const VolumeMount = z.strictObject({
  /** A named volume (the default) or an absolute host path (a bind mount, which the policy may refuse). */
  source: z.string().min(1).max(4096),
  target: z.string().regex(/^\/.*/, 'the path inside the container must be absolute'),
  readOnly: z.boolean().optional(),
  /** Volume driver options; ones that amount to a bind mount are refused by the policy. */
  driverOpts: z.record(z.string(), z.string()).optional(),
});
export type VolumeMount = z.infer<typeof VolumeMount>;

export const isBindSource = (source: string) => !NAMED_VOLUME.test(source);

export const RestartPolicy = z.enum(['no', 'always', 'unless-stopped', 'on-failure']);
export type RestartPolicy = z.infer<typeof RestartPolicy>;

const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/** Docker's smallest memory limit. */
export const MIN_MEMORY_BYTES = 6 * 1024 ** 2;

/** Parses `512m`, `1g`, `1.5G`, `100000000` into bytes; undefined when it is not a size. */
export function parseMemorySize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * MEMORY_UNITS[m[2].toLowerCase()]);
}

export const MemorySize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseMemorySize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a memory size (try 512m or 2g)` });
    return z.NEVER;
  }
  if (bytes < MIN_MEMORY_BYTES) {
    ctx.addIssue({ code: 'custom', message: 'must be at least 6m (Docker refuses less)' });
    return z.NEVER;
  }
  return bytes;
});

export const ImageRef = z
  .string()
  .min(1, 'an image is required')
  .max(512)
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, 'is not an image reference (like nginx:1.27 or ghcr.io/org/app:tag)');

/**
 * Requests a remote or local caller may make but the policy always refuses. They are part of the
 * schema so that the refusal is a clear `forbidden` error naming the field, not a generic parse error.
 */
export const DangerousOptions = {
  privileged: z.boolean().optional(),
  capAdd: z.array(z.string()).optional(),
  devices: z.array(z.string()).optional(),
  networkMode: z.string().optional(),
  pidMode: z.string().optional(),
  ipcMode: z.string().optional(),
  usernsMode: z.string().optional(),
  securityOpt: z.array(z.string()).optional(),
  sysctls: z.record(z.string(), z.string()).optional(),
};

const common = {
  name: WorkloadName.optional(),
  /** Another image with the same contract as the template's default. */
  image: ImageRef.optional(),
};

export const DeployPostgres = z.strictObject({
  template: z.literal('postgres'),
  ...common,
  hostPort: Port.optional(),
});
export const DeployMinio = z.strictObject({
  template: z.literal('minio'),
  ...common,
  hostPort: Port.optional(),
});
export const DeployCustom = z.strictObject({
  template: z.literal('custom'),
  name: WorkloadName.optional(),
  image: ImageRef,
  ports: z.array(PortMapping).max(32).default([]),
  env: Env.default({}),
  volumes: z.array(VolumeMount).max(32).default([]),
  restart: RestartPolicy.default('unless-stopped'),
  cpus: z.number().positive('must be more than 0').max(256).optional(),
  memory: MemorySize.optional(),
  command: z.array(z.string().max(4096)).max(256).optional(),
  ...DangerousOptions,
});

export const DeployArgs = z.discriminatedUnion('template', [DeployPostgres, DeployMinio, DeployCustom], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'unknown template (use postgres, minio or custom)' : undefined,
});
export type DeployArgs = z.input<typeof DeployArgs>;
export type DeploySpec = z.output<typeof DeployArgs>;

export const WorkloadStatus = z.enum([
  'pending_approval',
  'creating',
  'pulling',
  'starting',
  'running',
  'restarting',
  'stopped',
  'exited',
  'failed',
  'missing',
  'removing',
  /**
   * Created on another Docker engine than the one in use: shown, never touched here (no action, no
   * sync, no recreate); it is as it was once the agent is back on that engine. Never stored: the agent
   * derives it from the row's engine.
   */
  'elsewhere',
]);
export type WorkloadStatus = z.infer<typeof WorkloadStatus>;

export const PublishedPort = z.object({
  name: z.string().optional(),
  container: Port,
  host: Port,
  hostIp: z.string(),
  protocol: z.enum(['tcp', 'udp']),
});
export type PublishedPort = z.infer<typeof PublishedPort>;

export const TemplateId = z.enum(['postgres', 'minio', 'custom']);
export type TemplateId = z.infer<typeof TemplateId>;

/** What every door shows of a workload. Credentials are present for the owner's own views. */
export const Workload = z.object({
  id: z.string(),
  name: z.string(),
  template: TemplateId,
  image: z.string(),
  status: WorkloadStatus,
  ports: z.array(PublishedPort),
  volumes: z.array(z.object({ source: z.string(), target: z.string(), kind: z.enum(['volume', 'bind']) })),
  restart: RestartPolicy,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Why the workload is failed, missing, waiting or elsewhere. */
  message: z.string().optional(),
  /** The Docker engine it belongs to: the daemon's ID and a label (context, host). Absent until known. */
  engine: z.object({ id: z.string(), label: z.string() }).optional(),
  /** Which door asked for it. */
  origin: z.enum(['local', 'remote']),
  connectionString: z.string().optional(),
  endpoint: z.string().optional(),
  consoleUrl: z.string().optional(),
  url: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  database: z.string().optional(),
  accessKey: z.string().optional(),
  secretKey: z.string().optional(),
});
export type Workload = z.infer<typeof Workload>;

export const WorkloadStats = z.object({
  id: z.string(),
  cpuPercent: z.number(),
  memoryBytes: z.number(),
  memoryLimitBytes: z.number(),
  netRxBytes: z.number(),
  netTxBytes: z.number(),
  at: z.string(),
});
export type WorkloadStats = z.infer<typeof WorkloadStats>;

export const LogLine = z.object({
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
  ts: z.string().optional(),
});
export type LogLine = z.infer<typeof LogLine>;
