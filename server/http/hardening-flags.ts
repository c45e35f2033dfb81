// The `lattice hub` flags for the limits that protect a hub on the open internet, turned into
// startHub options. Unset flags keep the defaults of connection-guard.ts, accounts.ts and hash-pool.ts.
import { InvalidArgumentError } from 'commander';
import type { HubOptions } from '../hub';
import { parseTrustProxy } from './client-address';

export interface HardeningFlags {
  trustProxy?: number;
  idleTimeout?: number;
  keepAliveTimeout?: number;
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  maxUpgradesPerAddress?: number;
  hashConcurrency?: number;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
    throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

/** Seconds, decimals allowed (0.5), as milliseconds. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('must be seconds, > 0 and ≤ 3600');
  return Math.round(n * 1000);
}

export function parseProxyCount(value: string): number {
  try {
    return parseTrustProxy(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function hardeningOptions(flags: HardeningFlags): Partial<HubOptions> {
  const connections: NonNullable<HubOptions['connections']> = {};
  if (flags.idleTimeout !== undefined) connections.idleTimeoutMs = flags.idleTimeout;
  if (flags.keepAliveTimeout !== undefined) connections.keepAliveTimeoutMs = flags.keepAliveTimeout;
  if (flags.maxConnections !== undefined) connections.maxConnections = flags.maxConnections;
  if (flags.maxConnectionsPerAddress !== undefined)
    connections.maxConnectionsPerAddress = flags.maxConnectionsPerAddress;
  if (flags.maxUpgradesPerAddress !== undefined)
    connections.maxUpgradesPerAddress = flags.maxUpgradesPerAddress;
  return {
    trustProxy: flags.trustProxy ?? 0,
    connections,
    ...(flags.hashConcurrency !== undefined ? { hashPool: { concurrency: flags.hashConcurrency } } : {}),
  };
}
