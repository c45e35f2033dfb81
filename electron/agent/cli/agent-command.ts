// `lattice agent`: the headless agent in the foreground, until Ctrl-C.
import type { Command } from 'commander';
import { LatticeError } from '../../../shared';
import { resolveDataDir } from '../data-dir';
import { action } from './command-kit';
import { parseDockerHost } from '../docker/engine-discovery';

export function parseApiPort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) {
    throw new LatticeError(
      'invalid_argument',
      `--api-port ${text}: must be a port number (0 picks a free one)`,
    );
  }
  return n;
}

/** Refuses a malformed --docker-host before the agent starts, naming the flag and the forms it takes. */
export function parseDockerHostFlag(text: string): string {
  parseDockerHost(text, '--docker-host');
  return text;
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the Lattice agent in the foreground (API on 127.0.0.1, console in your browser)')
    .option('--data-dir <dir>', 'data directory (default: $LATTICE_DATA_DIR or the per-user config dir)')
    .option('--api-port <n>', 'port of the loopback API and console (default: any free port)')
    .option('--hub <url>', 'hub to link to (default: the paired hub, if any)')
    .option(
      '--docker-host <url>',
      'Docker engine to use, e.g. unix:///path/docker.sock (default: as the docker CLI finds it)',
    )
    .action(
      action(async (flags: { dataDir?: string; apiPort?: string; hub?: string; dockerHost?: string }) => {
        // Loaded here, not at the top: the rest of the CLI stays quick without the agent's runtime.
        const { runHeadlessAgent } = await import('../run-agent');
        await runHeadlessAgent({
          dataDir: resolveDataDir(flags.dataDir),
          apiPort: flags.apiPort === undefined ? 0 : parseApiPort(flags.apiPort),
          hubUrl: flags.hub,
          dockerHost: flags.dockerHost === undefined ? undefined : parseDockerHostFlag(flags.dockerHost),
        });
      }),
    );
}
