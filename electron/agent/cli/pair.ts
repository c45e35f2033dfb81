// `lattice pair`: links the running agent to a hub account with a code shown in the dashboard.
// The agent itself redeems the code and keeps the device token; the CLI only asks it to.
import type { Command } from 'commander';
import { action, connect, printJson, withCommonOptions, type CommonFlags } from './command-kit';

interface PairFlags extends CommonFlags {
  hub: string;
  code: string;
  name?: string;
}

export function registerPairCommand(program: Command): void {
  withCommonOptions(
    program
      .command('pair')
      .description('Pair this computer with a hub account (get a code from the dashboard: Devices → Add)')
      .requiredOption('--hub <url>', 'the hub URL, e.g. https://hub.example.com')
      .requiredOption('--code <code>', 'the pairing code shown in the dashboard')
      .option('--name <name>', 'how this computer appears in the dashboard (default: its host name)'),
  ).action(
    action(async (flags: PairFlags) => {
      const client = connect(flags);
      const result = await client.command('hub.pair', {
        hubUrl: flags.hub,
        code: flags.code,
        ...(flags.name ? { name: flags.name } : {}),
      });
      if (flags.json) printJson(result);
      else process.stdout.write(`Paired with ${result.hubUrl} as device ${result.deviceId}\n`);
    }),
  );
}
