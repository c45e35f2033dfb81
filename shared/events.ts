import { z } from 'zod';
import { Workload } from './workload';
import { Share } from './share';
import { DockerStatus, Settings } from './settings';

/** Everything the agent tells open consoles and, through the hub, the owner's dashboards. */
export const AgentEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('workload.changed'), workload: Workload }),
  z.object({ type: z.literal('workload.removed'), id: z.string(), name: z.string() }),
  z.object({
    type: z.literal('pull.progress'),
    workloadId: z.string(),
    image: z.string(),
    layersDone: z.number().int(),
    layersTotal: z.number().int(),
    bytesDone: z.number().optional(),
    bytesTotal: z.number().optional(),
    phase: z.enum(['pulling', 'extracting', 'done', 'cached']),
  }),
  z.object({ type: z.literal('share.changed'), share: Share }),
  z.object({ type: z.literal('share.removed'), id: z.string() }),
  z.object({ type: z.literal('docker.status'), docker: DockerStatus }),
  z.object({ type: z.literal('hub.status'), connected: z.boolean(), url: z.string().nullable() }),
  /** After `settings.set` from any door, so the tray, power blocker and consoles follow a CLI change too. */
  z.object({ type: z.literal('settings.changed'), settings: Settings }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;
