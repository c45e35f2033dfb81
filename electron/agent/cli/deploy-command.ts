// `lattice deploy postgres|minio|custom …`: flags → workload.deploy, with a progress bar on a terminal.
import type { Command } from 'commander';
import { action, collect, connect, printJson, withCommonOptions, type CommonFlags } from './command-kit';
import {
  checkPublishAddress,
  deployArgsFromFlags,
  publishAddresses,
  shareFromFlags,
  type DeployFlags,
} from './deploy-args';
import { showDeployProgress } from './deploy-progress';
import { workloadJson, workloadSummary } from './format';
import { shareSummary } from './share';

export function registerDeployCommand(program: Command): void {
  withCommonOptions(
    program
      .command('deploy')
      .description('deploy postgres, minio, or a custom image (and wait until it is ready)')
      .argument('<template>', 'postgres, minio or custom')
      .argument('[command...]', 'custom only: the command to run, after --')
      .option('--name <name>', 'workload name (generated when omitted)')
      .option('--image <image>', 'image to run (required for custom)')
      .option(
        '-p, --publish <port>',
        'HOST_PORT:CONTAINER_PORT or CONTAINER_PORT (any free host port), [/udp], as in docker run; repeatable',
        collect,
      )
      .option('-e, --env <KEY=VALUE>', 'environment variable, repeatable', collect)
      .option('-v, --volume <VOLUME:/path[:ro]>', 'mount a named volume, repeatable', collect)
      .option('--restart <policy>', 'no, always, unless-stopped or on-failure')
      .option('--cpus <n>', 'CPU limit, e.g. 1.5')
      .option('--memory <size>', 'memory limit, e.g. 512m or 2g')
      .option('--privileged', 'ask for a privileged container (the agent refuses it)')
      .option('--network <mode>', 'network mode (host networking is refused)')
      .option('--share [via]', 'share it once ready: relay (the default when paired) or ngrok')
      .option('--share-expires <expiry>', 'with --share: 1h, 24h (default), 7d or never')
      .option('--share-read-only', 'with --share: a shared database gets a read-only role')
      .addHelpText(
        'after',
        `
Examples:
  lattice deploy postgres --name db
  lattice deploy minio --json
  lattice deploy custom --image nginx:1.27 -p 80            container port 80 on a free 127.0.0.1 port
  lattice deploy custom --image nginx:1.27 -p 8080:80       container port 80 on 127.0.0.1:8080
  lattice deploy custom --image nginx:1.27 -p 0.0.0.0:8080:80   on every network (needs LAN access on)
  lattice deploy custom --image redis:7 -v cache:/data --memory 256m -- redis-server --save 60 1
  lattice deploy postgres --name db --share --share-expires 7d   deploy, then a public connection string`,
      ),
  ).action(
    action(async (template: string, command: string[], flags: CommonFlags & DeployFlags) => {
      // Validate before deploying: a bad flag creates nothing.
      const share = shareFromFlags(flags);
      const args = { ...deployArgsFromFlags(template, flags, command), ...(share ? { share } : {}) };
      const client = connect(flags);
      const addressed = publishAddresses(flags);
      if (addressed.length) {
        const { lanAccess } = await client.command('settings.get', {});
        for (const { text, address } of addressed) checkPublishAddress(text, address, lanAccess);
      }
      const progress = await showDeployProgress(client, args);
      let workload;
      try {
        workload = await client.command('workload.deploy', args);
      } finally {
        progress.stop();
      }
      const { share: shared, shareError, ...deployed } = workload;
      if (flags.json)
        printJson({
          ...workloadJson(deployed),
          ...(shared ? { share: shared } : {}),
          ...(shareError ? { shareError } : {}),
        });
      else console.log(workloadSummary(deployed) + (shared ? `\n\n${shareSummary(shared)}` : ''));
      // The workload stays deployed; the exit code says the share asked for was not made.
      if (shareError) throw new Error(`${workload.name} is deployed but not shared: ${shareError.message}`);
      if (workload.status === 'failed') {
        throw new Error(`${workload.name} failed${workload.message ? `: ${workload.message}` : ''}`);
      }
    }),
  );
}
