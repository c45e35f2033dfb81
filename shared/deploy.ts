import { z } from 'zod';
import { ErrorBody } from './errors';
import { Share, ShareExpiry, ShareVia } from './share';
import { DeployCustom, DeployMinio, DeployPostgres, Workload } from './workload';

/**
 * "Deploy and share in one step": the share `workload.deploy` opens once the workload is ready.
 * The same three fields as `share.create` (the workload is the one just deployed).
 */
export const DeployShare = z.strictObject({
  /** Defaults to relay when paired with a hub. */
  via: ShareVia.optional(),
  expires: ShareExpiry.default('24h'),
  readOnly: z.boolean().default(false),
});
export type DeployShare = z.input<typeof DeployShare>;

const withShare = { share: DeployShare.optional() };

/** `workload.deploy`'s arguments in every door: a template or custom image, and optionally a share. */
export const DeployCommandArgs = z.discriminatedUnion(
  'template',
  [DeployPostgres.extend(withShare), DeployMinio.extend(withShare), DeployCustom.extend(withShare)],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? 'unknown template (use postgres, minio or custom)' : undefined,
  },
);
export type DeployCommandArgs = z.input<typeof DeployCommandArgs>;

/**
 * `workload.deploy`'s answer: the workload, and when a share was asked for, either the share or why it
 * could not be made (the workload stays deployed either way).
 */
export const DeployResult = Workload.extend({
  share: Share.optional(),
  shareError: ErrorBody.optional(),
});
export type DeployResult = z.infer<typeof DeployResult>;
