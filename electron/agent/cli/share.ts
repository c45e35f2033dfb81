// `lattice share NAME`, `lattice unshare NAME`, `lattice shares`: sharing from the command line,
// through the running agent's loopback API (share.create / share.revoke / share.list).
import { Option, type Command } from 'commander';
import { ShareExpiry, ShareVia, type Share } from '../../../shared';
import { action, connect, printJson, withCommonOptions, type CommonFlags } from './command-kit';

interface ShareFlags extends CommonFlags {
  via?: 'relay' | 'ngrok';
  expires: '1h' | '24h' | '7d' | 'never';
  readOnly?: boolean;
  basicAuth?: boolean;
  port?: string;
  kind?: 'tcp' | 'http';
  plain?: boolean;
  bucket?: string;
}

/** "in 23h 59m", "in 6d 23h", "never", "expired". */
export function timeLeft(expiresAt: string | null, now = Date.now()): string {
  if (expiresAt === null) return 'never';
  const ms = Date.parse(expiresAt) - now;
  if (ms <= 0) return 'expired';
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `in ${days}d ${hours}h`;
  if (hours > 0) return `in ${hours}h ${minutes % 60}m`;
  return `in ${Math.max(minutes, 1)}m`;
}

/** What a person needs to hand over: the address, the credentials, the expiry. */
export function shareSummary(s: Share): string {
  const lines = [`Shared ${s.workloadName} via ${s.via} (${s.status}; expires ${timeLeft(s.expiresAt)})`];
  const row = (label: string, value: string | undefined) => {
    if (value) lines.push(`  ${label.padEnd(18)} ${value}`);
  };
  if (s.connectionString) row('connection string', s.connectionString);
  row('libpq 16+ string', s.connectionStringStrict);
  row(s.kind === 's3' ? 'endpoint' : 'url', s.url);
  if (s.hubTls) {
    row(
      'TLS',
      s.hubTls.caUrl
        ? `the hub's certificate; clients verify it with its CA, ${s.hubTls.caUrl} (save as lattice-relay-ca.pem)`
        : "the hub's certificate, publicly trusted",
    );
  }
  if (s.kind === 's3') {
    row('access key', s.accessKey);
    row('secret key', s.secretKey);
    row('bucket', s.bucket);
  } else if (s.kind === 'http' && s.basicAuth) {
    row('user', s.username);
    row('password', s.password);
  }
  if (s.readOnly) row('access', 'read-only');
  if (s.kind === 'tcp')
    row(
      'transport',
      s.plain ? 'plain TCP (asked with --plain)' : s.hubTls ? 'TLS (openssl s_client, stunnel)' : 'TCP',
    );
  row('expires at', s.expiresAt ?? 'never');
  row('share id', s.id);
  if (s.message) row('note', s.message);
  return lines.join('\n');
}

export function shareTable(shares: Share[]): string {
  if (shares.length === 0) return 'No shares. Share a workload with `lattice share NAME`.';
  const rows = shares.map((s) => [s.id, s.workloadName, s.via, s.status, timeLeft(s.expiresAt), s.url]);
  const header = ['ID', 'WORKLOAD', 'VIA', 'STATUS', 'EXPIRES', 'URL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerShareCommands(program: Command): void {
  withCommonOptions(
    program
      .command('share')
      .argument('<name>', 'workload name or id')
      .description(
        'share a workload with the world: prints a connection string or URL that works from anywhere',
      )
      .addOption(
        new Option('--via <provider>', 'relay (your hub, the default when paired) or ngrok').choices(
          ShareVia.options,
        ),
      )
      .addOption(
        new Option('--expires <when>', 'when the share ends').choices(ShareExpiry.options).default('24h'),
      )
      .option('--read-only', 'Postgres and S3: the share may read but not write')
      .option('--basic-auth', 'HTTP: require a generated user name and password')
      .option('--port <port>', 'which port to share (a port name like s3 or console, or a container port)')
      .addOption(
        new Option(
          '--kind <kind>',
          'custom images: share the port as tcp (Redis, MySQL, …) or http (the default)',
        ).choices(['tcp', 'http']),
      )
      .option('--plain', 'TCP: stay plain TCP, no TLS at the hub (for clients that cannot speak TLS)')
      .option('--bucket <bucket>', 'S3: the share reaches only this bucket'),
  ).action(
    action(async (name: string, flags: ShareFlags) => {
      const share = await connect(flags).command('share.create', {
        workload: name,
        via: flags.via,
        expires: flags.expires,
        readOnly: flags.readOnly === true,
        port: flags.port,
        basicAuth: flags.basicAuth === true ? true : undefined,
        kind: flags.kind,
        plain: flags.plain === true ? true : undefined,
        bucket: flags.bucket,
      });
      if (flags.json) printJson(share);
      else console.log(shareSummary(share));
    }),
  );

  withCommonOptions(
    program
      .command('unshare')
      .argument('<ref>', 'a workload (all its shares) or a share id')
      .description('revoke shares: closes the tunnel, cuts open connections and drops the database role'),
  ).action(
    action(async (ref: string, flags: CommonFlags) => {
      const result = await connect(flags).command('share.revoke', { ref });
      if (flags.json) printJson(result);
      else if (result.revoked.length === 0) console.log(`${ref} had no shares`);
      else console.log(`Revoked ${result.revoked.length} share(s) of ${ref}: ${result.revoked.join(', ')}`);
    }),
  );

  withCommonOptions(program.command('shares').description('list shares and their time left')).action(
    action(async (flags: CommonFlags) => {
      const shares = await connect(flags).command('share.list', {});
      if (flags.json) printJson(shares);
      else console.log(shareTable(shares));
    }),
  );
}
