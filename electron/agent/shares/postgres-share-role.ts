// A database share never hands out the owner's credentials. Each share gets its own login role:
// fresh 192-bit password (stored as a SCRAM-SHA-256 verifier), VALID UNTIL = the share's expiry, no
// superuser or role-creation rights. Revoking it cuts its sessions and drops it.
//
// The workload's owner user is a superuser in the official image, so a share role is never made a
// member of it (membership would let `SET ROLE owner` regain superuser, and with it COPY … PROGRAM).
// Instead share roles join one of two NOLOGIN group roles that carry the rights on the database:
//   lattice_share_rw — read-write: tables, sequences, CREATE in the schemas; share sessions run as it
//                      (`ALTER ROLE … SET role`), so objects made through any share belong to it and
//                      outlive the share role;
//   lattice_share_ro — read-only: CONNECT, USAGE, SELECT now and by default privileges later.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { scramSha256Verifier } from './scram-verifier';

export interface PgOwner {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface ShareRole {
  name: string;
  password: string;
}

export const RW_GROUP = 'lattice_share_rw';
export const RO_GROUP = 'lattice_share_ro';

/** Role names are derived from share ids; anything else is refused before it reaches SQL. */
export function shareRoleName(shareId: string): string {
  const name = `lattice_${shareId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  if (!/^[a-z_][a-z0-9_]{1,62}$/.test(name))
    throw new Error(`Cannot make a role name from share id "${shareId}"`);
  return name;
}

async function withOwner<T>(owner: PgOwner, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: owner.host,
    port: owner.port,
    user: owner.user,
    password: owner.password,
    database: owner.database,
    connectionTimeoutMillis: 10_000,
    statement_timeout: 30_000,
    application_name: 'lattice-agent',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureGroup(client: pg.Client, name: string): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  if (exists.rowCount) return;
  try {
    await client.query(
      `CREATE ROLE ${client.escapeIdentifier(name)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
    );
  } catch (err) {
    // Another share created it at the same moment.
    if ((err as { code?: string }).code !== '42710') throw err;
  }
}

/** Grants the groups their rights on every user schema; repeated at each share so new schemas are covered. */
async function grantGroupRights(client: pg.Client, owner: PgOwner): Promise<void> {
  const id = (s: string) => client.escapeIdentifier(s);
  const rw = id(RW_GROUP);
  const ro = id(RO_GROUP);
  const db = id(owner.database);
  await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${rw}`);
  await client.query(`GRANT CONNECT ON DATABASE ${db} TO ${ro}`);
  const schemas = await client.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
      WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'`,
  );
  for (const { nspname } of schemas.rows) {
    const s = id(nspname);
    await client.query(`GRANT USAGE, CREATE ON SCHEMA ${s} TO ${rw}`);
    await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${s} TO ${rw}`);
    await client.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${s} TO ${rw}`);
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${ro}`);
    await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${ro}`);
    await client.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${ro}`);
    for (const creator of [owner.user, RW_GROUP]) {
      const c = id(creator);
      if (creator !== RW_GROUP) {
        await client.query(
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${c} IN SCHEMA ${s} GRANT ALL ON TABLES TO ${rw}`,
        );
        await client.query(
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${c} IN SCHEMA ${s} GRANT ALL ON SEQUENCES TO ${rw}`,
        );
      }
      await client.query(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${c} IN SCHEMA ${s} GRANT SELECT ON TABLES TO ${ro}`,
      );
      await client.query(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${c} IN SCHEMA ${s} GRANT SELECT ON SEQUENCES TO ${ro}`,
      );
    }
  }
}

/**
 * Creates the share's role. `validUntil` null = never expires ('infinity'). Everything happens in
 * one transaction: a failure leaves no role behind.
 */
export async function createShareRole(
  owner: PgOwner,
  opts: { shareId: string; readOnly: boolean; validUntil: Date | null },
): Promise<ShareRole> {
  const name = shareRoleName(opts.shareId);
  // 24 bytes = 192 bits; base64url survives connection strings without escaping.
  const password = randomBytes(24).toString('base64url');
  await withOwner(owner, async (client) => {
    const id = (s: string) => client.escapeIdentifier(s);
    const lit = (s: string) => client.escapeLiteral(s);
    await ensureGroup(client, RW_GROUP);
    await ensureGroup(client, RO_GROUP);
    await client.query('BEGIN');
    try {
      await grantGroupRights(client, owner);
      const group = opts.readOnly ? RO_GROUP : RW_GROUP;
      const validUntil = opts.validUntil ? opts.validUntil.toISOString() : 'infinity';
      await client.query(
        `CREATE ROLE ${id(name)} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
           PASSWORD ${lit(scramSha256Verifier(password))} VALID UNTIL ${lit(validUntil)} IN ROLE ${id(group)}`,
      );
      if (opts.readOnly) {
        // Belt and braces: the grants already stop writes; this also stops writes to TEMP tables.
        await client.query(`ALTER ROLE ${id(name)} SET default_transaction_read_only = on`);
      } else {
        await client.query(`ALTER ROLE ${id(name)} SET role = ${lit(RW_GROUP)}`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  return { name, password };
}

/**
 * Refuses new logins, cuts every open session of the role, then drops it (its own objects, if a
 * visitor made any as itself, go to the owner first). A role that is already gone is fine.
 */
export async function dropShareRole(owner: PgOwner, roleName: string): Promise<void> {
  await withOwner(owner, async (client) => {
    const id = client.escapeIdentifier(roleName);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [roleName]);
    if (!exists.rowCount) return;
    await client.query(`ALTER ROLE ${id} NOLOGIN`);
    await terminateSessions(client, roleName);
    await client.query('BEGIN');
    try {
      await client.query(`REASSIGN OWNED BY ${id} TO ${client.escapeIdentifier(owner.user)}`);
      await client.query(`DROP OWNED BY ${id}`);
      await client.query(`DROP ROLE ${id}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

async function terminateSessions(client: pg.Client, roleName: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { rowCount } = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [roleName],
    );
    if (!rowCount || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The share roles that exist in the workload's cluster (to clean up after a crash). */
export async function listShareRoles(owner: PgOwner): Promise<string[]> {
  return withOwner(owner, async (client) => {
    const { rows } = await client.query<{ rolname: string }>(
      `SELECT r.rolname FROM pg_roles r
        WHERE r.rolname LIKE 'lattice\\_%' AND r.rolname NOT IN ($1, $2)`,
      [RW_GROUP, RO_GROUP],
    );
    return rows.map((r) => r.rolname);
  });
}

/** Whether the server accepts TLS, so a connection string never claims TLS that is not there. */
export async function serverOffersTls(owner: PgOwner): Promise<boolean> {
  return withOwner(owner, async (client) => {
    const { rows } = await client.query<{ ssl: string }>('SHOW ssl');
    return rows[0]?.ssl === 'on';
  });
}
