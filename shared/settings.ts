import { z } from 'zod';
import { ImageRef } from './workload';

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
  dataDir: z.string(),
  hub: z.object({
    url: z.string().nullable(),
    deviceId: z.string().nullable(),
    connected: z.boolean(),
  }),
});
export type Settings = z.infer<typeof Settings>;

export const DockerStatus = z.object({
  available: z.boolean(),
  version: z.string().optional(),
  apiVersion: z.string().optional(),
  runcVersion: z.string().optional(),
  /** Older than the fix for CVE-2024-21626 (runc 1.1.12): the console blocks with a warning. */
  runcVulnerable: z.boolean().optional(),
  message: z.string().optional(),
});
export type DockerStatus = z.infer<typeof DockerStatus>;

/** How the secrets key is protected: OS keyring (safeStorage), Electron's plain-text fallback, or a 0600 file. */
export const KeyProtection = z.enum(['safeStorage', 'basic_text', 'file']);
export type KeyProtection = z.infer<typeof KeyProtection>;

export const SystemInfo = z.object({
  agentVersion: z.string(),
  dataDir: z.string(),
  docker: DockerStatus,
  keyProtection: KeyProtection,
});
export type SystemInfo = z.infer<typeof SystemInfo>;
