// `lattice hub`: runs the hub. The server is imported only when this command runs, so the other
// CLI commands start without loading it.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseBusUrl } from './bus/bus-url';
import { parseDatabaseUrl } from './store/database-url';
import { DEFAULT_ACCOUNT_CAPS } from './account-caps';
import { checkAcmeOptions } from './tls/acme-options';
import {
  hardeningOptions,
  parseCount,
  parseProxyCount,
  parseSeconds,
  type HardeningFlags,
} from './http/hardening-flags';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

function parseRange(value: string): { from: number; to: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value.trim());
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from < 1 || to > 65535 || from > to)
    throw new InvalidArgumentError('must be a range like 20000-20099');
  return { from, to };
}

function parseCap(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number, 1 or more');
  return n;
}

function parseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    return value;
  } catch {
    throw new InvalidArgumentError('must be an http(s) URL');
  }
}

function parseDatabase(value: string): string {
  try {
    parseDatabaseUrl(value);
    return value;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--database /, ''));
  }
}

function parseBus(value: string): string {
  try {
    parseBusUrl(value);
    return value;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--bus /, ''));
  }
}

function parseOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      try {
        return new URL(o).origin;
      } catch {
        throw new InvalidArgumentError(`"${o}" is not an origin like https://dash.example.com`);
      }
    });
}

function startFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

interface HubCommandOptions extends HardeningFlags {
  dataDir?: string;
  database?: string;
  bus?: string;
  port: number;
  host: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeDirectoryCa?: string;
  acmeHttpPort?: number;
  allowedOrigins?: string[];
  relayPorts?: { from: number; to: number };
  publicHost?: string;
  advertiseUrl?: string;
  maxDevicesPerAccount?: number;
  maxSharesPerAccount?: number;
}

export function registerHubCommand(program: Command): void {
  program
    .command('hub')
    .description('Run the hub: accounts, device pairing and the remote dashboard')
    .option(
      '--data-dir <dir>',
      'where the hub keeps its database and signing key (default: LATTICE_HUB_DATA_DIR or the user data dir)',
    )
    .option('--port <n>', 'port to listen on', parsePort, 8080)
    .option(
      '--database <url>',
      'keep all hub state in PostgreSQL (postgres://user:password@host/db) instead of hub.db, for several hubs',
      parseDatabase,
    )
    .option(
      '--bus <url>',
      'connect to the other hubs of a cluster through NATS (nats://host:4222); needs --database',
      parseBus,
    )
    .option('--host <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option(
      '--advertise-url <url>',
      "with --bus: this hub process's own URL, which agents dial for relay visitors that reach it (default: the listen address)",
      parseUrl,
    )
    .option('--public-url <url>', 'the URL browsers and agents use to reach this hub', parseUrl)
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS/WSS directly')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--tls-ca <file>',
      'PEM of the CA that issued the certificate, when it is not publicly trusted: relay clients verify against it (served at /api/relay-ca.pem)',
    )
    .option('--acme-email <email>', 'obtain and renew the certificate by ACME, with this contact address')
    .option(
      '--acme-directory <url>',
      'the ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory',
    )
    .option('--acme-directory-ca <file>', "PEM to trust for the ACME server's own HTTPS (a private ACME CA)")
    .option('--acme-http-port <n>', 'port of the http-01 challenge listener (default 80)', parsePort)
    .option(
      '--allowed-origins <list>',
      'extra origins allowed to use the dashboard API, comma-separated',
      parseOrigins,
    )
    .option('--relay-ports <range>', 'public TCP ports for relay shares, e.g. 20000-20099', parseRange)
    .option('--public-host <host>', 'host name visitors use for relay ports (default: the public URL host)')
    .option(
      '--max-devices-per-account <n>',
      `devices one account may pair (default ${DEFAULT_ACCOUNT_CAPS.devices})`,
      parseCap,
    )
    .option(
      '--max-shares-per-account <n>',
      `relay shares one account may hold, so none takes the whole port range (default ${DEFAULT_ACCOUNT_CAPS.relayShares})`,
      parseCap,
    )
    // Limits for a hub on the open internet (http/hardening-flags.ts; defaults in docs/SECURITY.md).
    .option(
      '--trust-proxy <n>',
      'reverse proxies in front of the hub: rate limits use their X-Forwarded-For (default 0: never)',
      parseProxyCount,
    )
    .option(
      '--idle-timeout <s>',
      'close a socket that sends no request this long after connecting (5)',
      parseSeconds,
    )
    .option('--keep-alive-timeout <s>', 'close an idle keep-alive socket after this long (5)', parseSeconds)
    .option('--max-connections <n>', 'sockets in all (default: below the open-files limit)', parseCount)
    .option('--max-connections-per-address <n>', 'sockets per client address (256)', parseCount)
    .option('--max-upgrades-per-address <n>', 'WebSockets per client address (128)', parseCount)
    .option('--hash-concurrency <n>', 'password hashes at once, 128 MiB each (2)', parseCount)
    .action(async (options: HubCommandOptions, command: Command) => {
      if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
        command.error('error: --tls-cert and --tls-key go together');
      }
      const acmeAsked = Boolean(options.acmeEmail || options.acmeDirectory || options.acmeDirectoryCa);
      if (acmeAsked) {
        try {
          checkAcmeOptions({ email: options.acmeEmail, directoryUrl: options.acmeDirectory });
        } catch (err) {
          command.error(`error: ${(err as Error).message}`);
        }
        if (options.tlsCert)
          command.error('error: --tls-cert/--tls-key or --acme-email/--acme-directory, not both');
      }
      if (options.bus && !options.database) {
        command.error('error: --bus connects hubs that share one --database postgres://…; give both');
      }
      const envPaths = (await import('env-paths')).default;
      const dataDir =
        options.dataDir ?? process.env.LATTICE_HUB_DATA_DIR ?? envPaths('lattice-hub', { suffix: '' }).data;
      const { startHub } = await import('./hub');
      let hub: Awaited<ReturnType<typeof startHub>>;
      try {
        hub = await startHub({
          dataDir,
          database: options.database,
          bus: options.bus,
          port: options.port,
          host: options.host,
          publicUrl: options.publicUrl,
          tls:
            options.tlsCert && options.tlsKey
              ? { certFile: options.tlsCert, keyFile: options.tlsKey, caFile: options.tlsCa }
              : undefined,
          acme: acmeAsked
            ? {
                email: options.acmeEmail!,
                directoryUrl: options.acmeDirectory!,
                directoryCaFile: options.acmeDirectoryCa,
                caFile: options.tlsCa,
                challengePort: options.acmeHttpPort,
              }
            : undefined,
          allowedOrigins: options.allowedOrigins,
          relayPorts: options.relayPorts,
          publicHost: options.publicHost,
          advertiseUrl: options.advertiseUrl,
          accountCaps: { devices: options.maxDevicesPerAccount, relayShares: options.maxSharesPerAccount },
          ...hardeningOptions(options),
        });
      } catch (err) {
        // One line that says why (a newer hub.db, a port in use, an unreadable certificate), not a stack.
        command.error(`lattice hub: ${startFailure(err)}`);
      }
      const stop = () => {
        void hub.close().then(() => process.exit(0));
      };
      // Before the ready line: whoever waits for it may stop the hub the moment it appears.
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      console.log(`Lattice hub listening on ${hub.url} (data: ${dataDir})`);
    });
}
