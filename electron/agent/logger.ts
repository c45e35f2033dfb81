// The agent's log: pino to a file in the data directory (what the owner attaches to a bug report) and
// to stderr. Secrets must never reach either, so every key that can hold one is redacted by name.
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { ensureDataDir, ensurePrivateFile } from './data-dir';

const SECRET_KEYS = [
  'password',
  'secret',
  'secretKey',
  'token',
  'deviceToken',
  'authtoken',
  'ngrokAuthtoken',
  'connectionString',
  'credentials',
  'env',
  'Env',
  'authorization',
];

/** pino redact paths for a secret key at the top level and up to two levels down. */
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(dataDir: string, env: Record<string, string | undefined>): Logger {
  // Owner-only, like the rest of the data dir: the log names workloads, shares and hosts.
  const logDir = ensureDataDir(join(dataDir, 'logs'));
  const logFile = ensurePrivateFile(join(logDir, 'agent.log'));
  const stderrLevel = env.LATTICE_LOG_LEVEL ?? 'info';
  const streams: pino.StreamEntry[] = [
    { level: 'info', stream: pino.destination({ dest: logFile, sync: true }) },
  ];
  if (stderrLevel !== 'silent') {
    // A person at a terminal reads lines, not JSON; pipes and files keep pino's JSON for tools.
    const stream = process.stderr.isTTY
      ? pretty({
          destination: 2,
          sync: true,
          colorize: true,
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss',
          ignore: 'pid,hostname,component',
        })
      : pino.destination({ dest: 2, sync: true });
    streams.push({ level: stderrLevel as pino.Level, stream });
  }
  return pino(
    {
      level: 'info',
      base: { component: 'agent' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.multistream(streams),
  );
}
