// `lattice pair`: links the running agent to a hub account with a code shown in the dashboard.
// The agent itself redeems the code and keeps the device token; the CLI only asks it to. `--hub-ca`
// sends the PEM of a self-hosted hub's private CA along; the agent checks it and trusts it for that hub.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, connect, printJson, withCommonOptions, type CommonFlags } from './command-kit';

interface PairFlags extends CommonFlags {
  hub: string;
  code: string;
  name?: string;
  hubCa?: string;
}

/** The PEM text of `--hub-ca FILE`, or a one-line reason it cannot be read. */
function readHubCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `--hub-ca ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

export function registerPairCommand(program: Command): void {
  withCommonOptions(
    program
      .command('pair')
      .description('Pair this computer with a hub account (get a code from the dashboard: Devices → Add)')
      .requiredOption('--hub <url>', 'the hub URL, e.g. https://hub.example.com')
      .requiredOption('--code <code>', 'the pairing code shown in the dashboard')
      .option('--name <name>', 'how this computer appears in the dashboard (default: its host name)')
      .option(
        '--hub-ca <file.pem>',
        "the hub's CA certificate when the hub uses a private CA (download it from <hub>/api/relay-ca.pem)",
      ),
  ).action(
    action(async (flags: PairFlags) => {
      const hubCaPem = flags.hubCa === undefined ? undefined : readHubCa(flags.hubCa);
      const client = connect(flags);
      const result = await client
        .command('hub.pair', {
          hubUrl: flags.hub,
          code: flags.code,
          ...(flags.name ? { name: flags.name } : {}),
          ...(hubCaPem !== undefined ? { hubCaPem } : {}),
        })
        .catch((err: unknown) => {
          // The agent names the contract field; on the command line it is the flag and its file.
          if ((err as { field?: string }).field === 'hubCaPem' && flags.hubCa !== undefined) {
            throw new Error(`--hub-ca ${flags.hubCa}: ${(err as Error).message}`);
          }
          throw err;
        });
      if (flags.json) printJson(result);
      else process.stdout.write(`Paired with ${result.hubUrl} as device ${result.deviceId}\n`);
    }),
  );
}
