// The deploy progress bar: pull.progress and workload.changed events while the deploy request runs.
// Drawn on stderr and only on a terminal, so `--json` output and pipes stay clean.
import cliProgress from 'cli-progress';
import type { AgentEvent, DeployArgs } from '../../../shared';
import type { AgentClient } from './agent-client';

export interface DeployProgress {
  stop(): void;
}

export async function showDeployProgress(client: AgentClient, args: DeployArgs): Promise<DeployProgress> {
  if (!process.stderr.isTTY) return { stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{status} [{bar}] {value}/{total} layers  {image}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { status: 'creating'.padEnd(9), image: args.image ?? args.template });
  // Other deploys may run at the same time: follow the workload with our name once we know its id.
  let ours: string | undefined;
  const onEvent = (event: AgentEvent) => {
    if (event.type === 'workload.changed') {
      const w = event.workload;
      if (ours ? w.id !== ours : args.name !== undefined && w.name !== args.name) return;
      ours ??= w.id;
      bar.update({ status: w.status.padEnd(9), image: w.image });
    } else if (event.type === 'pull.progress' && (!ours || event.workloadId === ours)) {
      bar.setTotal(Math.max(event.layersTotal, 1));
      bar.update(
        event.phase === 'done' || event.phase === 'cached'
          ? Math.max(event.layersTotal, 1)
          : event.layersDone,
        {
          status: event.phase.padEnd(9),
          image: event.image,
        },
      );
    }
  };
  let subscription: { close(): void } | undefined;
  try {
    subscription = await client.events(onEvent);
  } catch {
    // No progress is no reason to refuse the deploy.
  }
  return {
    stop() {
      subscription?.close();
      bar.stop();
    },
  };
}
