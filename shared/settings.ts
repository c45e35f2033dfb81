import { z } from 'zod';
import { ImageRef, MemorySize } from './workload';

/** What the owner can change. Secrets (the ngrok token) are write-only. */
export const SettingsPatch = z.strictObject({
  lanAccess: z.boolean().optional(),
  ngrokAuthtoken: z.string().max(512).nullable().optional(),
  allowedImages: z.array(ImageRef).max(200).optional(),
  /** Host folders the owner picked in the app; bind mounts below them are allowed from the local door. */
  allowedBindRoots: z.array(z.string().regex(/^\//, 'must be an absolute path')).max(50).optional(),
  keepAwakeWhileSharing: z.boolean().optional(),
  startAtLogin: z.boolean().optional(),
  paused: z.boolean().optional(),
  /** May the remote door (dashboard, hub API, the hub's `node: "auto"`) deploy on this computer? */
  allowRemoteDeploy: z.boolean().optional(),
  /** The memory remote deploys may use here (`2g`, bytes), null for no cap beyond what is free. */
  remoteDeployMemoryCapBytes: MemorySize.nullable().optional(),
  /** The docker context the agent uses (null: follow the docker CLI); picking one clears dockerHost. */
  dockerContext: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/, 'must be a docker context name')
    .max(200)
    .nullable()
    .optional(),
  /** A Docker host URL (unix://, tcp://, npipe://, ssh://) the agent uses; setting one clears dockerContext. */
  dockerHost: z
    .string()
    .regex(/^[a-z]+:\/\/./i, 'must be a URL such as unix:///var/run/docker.sock')
    .max(1000)
    .nullable()
    .optional(),
});
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const Settings = z.object({
  lanAccess: z.boolean(),
  ngrokConfigured: z.boolean(),
  allowedImages: z.array(z.string()),
  allowedBindRoots: z.array(z.string()),
  keepAwakeWhileSharing: z.boolean(),
  startAtLogin: z.boolean(),
  paused: z.boolean(),
  /** Remote deploys allowed (default true); the cap on the memory they may use (null: none). */
  allowRemoteDeploy: z.boolean().optional(),
  remoteDeployMemoryCapBytes: z.number().nullable().optional(),
  /** The owner's engine choice; absent or null: found as the docker CLI finds it. */
  dockerContext: z.string().nullable().optional(),
  dockerHost: z.string().nullable().optional(),
  dataDir: z.string(),
  hub: z.object({
    url: z.string().nullable(),
    deviceId: z.string().nullable(),
    connected: z.boolean(),
    /** The hub is trusted through a private CA given at pairing (`lattice pair --hub-ca`). */
    privateCa: z.boolean().optional(),
  }),
});
export type Settings = z.infer<typeof Settings>;

/** How the engine in use was found, in the docker CLI's order. */
export const EngineSource = z.enum([
  'option',
  'setting',
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'currentContext',
  'default',
]);
export type EngineSource = z.infer<typeof EngineSource>;

export const DockerEngineInfo = z.object({
  /** unix:///…, tcp://…, npipe://…, ssh://… */
  host: z.string(),
  /** The docker context (`default` when none). */
  context: z.string(),
  source: EngineSource,
  /** The same, in words: `currentContext "colima" in /Users/me/.docker/config.json`. */
  how: z.string(),
  tls: z.boolean(),
});
export type DockerEngineInfo = z.infer<typeof DockerEngineInfo>;

/** One engine tried that did not answer: why, and what to start. */
export const DockerCandidateReport = DockerEngineInfo.extend({ reason: z.string(), hint: z.string() });
export type DockerCandidateReport = z.infer<typeof DockerCandidateReport>;

export const DockerContextInfo = z.object({
  name: z.string(),
  description: z.string().optional(),
  host: z.string(),
  /** The one the docker CLI would use now (DOCKER_CONTEXT or currentContext). */
  current: z.boolean(),
  /** Set when its metadata could not be read. */
  error: z.string().optional(),
});
export type DockerContextInfo = z.infer<typeof DockerContextInfo>;

export const DockerStatus = z.object({
  available: z.boolean(),
  version: z.string().optional(),
  apiVersion: z.string().optional(),
  runcVersion: z.string().optional(),
  /** Older than the fix for CVE-2024-21626 (runc 1.1.12): the console blocks with a warning. */
  runcVulnerable: z.boolean().optional(),
  message: z.string().optional(),
  /** The engine in use (when available) or the one last reached. */
  engine: DockerEngineInfo.optional(),
  /** When none answers: every candidate tried, in order. */
  tried: z.array(DockerCandidateReport).optional(),
});
export type DockerStatus = z.infer<typeof DockerStatus>;

/** How the secrets key is protected: OS keyring (safeStorage), Electron's plain-text fallback, or a 0600 file. */
export const KeyProtection = z.enum(['safeStorage', 'basic_text', 'file']);
export type KeyProtection = z.infer<typeof KeyProtection>;

export const SystemInfo = z.object({
  agentVersion: z.string(),
  dataDir: z.string(),
  docker: DockerStatus,
  /** The docker CLI's contexts found on this computer (Settings lists them to pick one). */
  dockerContexts: z.array(DockerContextInfo).optional(),
  keyProtection: KeyProtection,
});
export type SystemInfo = z.infer<typeof SystemInfo>;
