import { z } from 'zod';
import { WorkloadRef } from './workload';

export const ShareVia = z.enum(['relay', 'ngrok']);
export type ShareVia = z.infer<typeof ShareVia>;

export const ShareExpiry = z.enum(['1h', '24h', '7d', 'never']);
export type ShareExpiry = z.infer<typeof ShareExpiry>;

export const EXPIRY_MS: Record<ShareExpiry, number | null> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  never: null,
};

export const ShareKind = z.enum(['postgres', 's3', 'http', 'tcp']);
export type ShareKind = z.infer<typeof ShareKind>;

/** S3 bucket names as path-style requests carry them (3–63 of a-z 0-9 . -). */
export const BucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'a bucket name is 3 to 63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit',
  );

export const ShareCreateArgs = z.strictObject({
  workload: WorkloadRef,
  /** Defaults to relay when paired with a hub. */
  via: ShareVia.optional(),
  expires: ShareExpiry.default('24h'),
  /** Postgres: a read-only role. S3: a key that may only read. */
  readOnly: z.boolean().default(false),
  /** Which published port to share; the template's main port when omitted. */
  port: z.string().optional(),
  /**
   * How a custom image's port is shared: `http` (the default, a URL) or `tcp` (raw bytes: Redis,
   * MySQL, any TCP service). Template ports have their own kind (postgres, s3, http).
   */
  kind: z.enum(['tcp', 'http']).optional(),
  /**
   * TCP shares: carried as plain TCP even where the hub could wrap it in TLS (for clients that
   * cannot speak TLS themselves). Shown on the share as `plain`.
   */
  plain: z.boolean().optional(),
  /** S3 shares: the share's key reaches only this bucket. */
  bucket: BucketName.optional(),
  /** HTTP shares: require these credentials (generated when `true`). */
  basicAuth: z
    .union([
      z.boolean(),
      z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(8).max(256) }),
    ])
    .optional(),
});
export type ShareCreateArgs = z.input<typeof ShareCreateArgs>;

export const ShareStatus = z.enum(['opening', 'active', 'reopening', 'failed', 'revoked', 'expired']);
export type ShareStatus = z.infer<typeof ShareStatus>;

export const Share = z.object({
  id: z.string(),
  workloadId: z.string(),
  workloadName: z.string(),
  via: ShareVia,
  kind: ShareKind,
  status: ShareStatus,
  /** tcp://host:port or https://… */
  url: z.string(),
  publicHost: z.string(),
  publicPort: z.number().int().optional(),
  connectionString: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** S3 shares: the key made for this share (never the workload's root key). */
  accessKey: z.string().optional(),
  secretKey: z.string().optional(),
  /** S3 shares limited to one bucket. */
  bucket: z.string().optional(),
  readOnly: z.boolean(),
  /** TCP shares asked to stay plain TCP (no TLS at the hub): said so wherever the share is shown. */
  plain: z.boolean().optional(),
  basicAuth: z.boolean(),
  /**
   * Set when the public side is TLS with the hub's certificate (a hub with `--tls-cert` or ACME).
   * `caPem` (also downloadable at `caUrl`) is the CA to verify it with — a Postgres string's
   * `sslrootcert` names it as the file `lattice-relay-ca.pem`; without it the certificate is
   * publicly trusted (`sslrootcert=system`).
   */
  hubTls: z.object({ caPem: z.string().optional(), caUrl: z.string().optional() }).optional(),
  /**
   * Postgres through a hub with a certificate: the string with `require_auth=scram-sha-256` added,
   * a second lock for clients on libpq 16 or later (libpq 15, Debian 12's psql, refuses the parameter).
   */
  connectionStringStrict: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  message: z.string().optional(),
});
export type Share = z.infer<typeof Share>;

/**
 * A share that holds a tunnel open, or is about to: what the tray counts as "sharing", what keeps the
 * machine awake, and what the local API's workload view lists as the workload's shares.
 */
export const isLiveShare = (share: Pick<Share, 'status'>): boolean =>
  share.status === 'active' || share.status === 'opening' || share.status === 'reopening';
