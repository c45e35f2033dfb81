// The per-share database role, against a real fixture Postgres: what it may do, what it may not,
// and that dropping it cuts its sessions and refuses new logins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { postgresUrl } from '../../shared';
import {
  createShareRole,
  dropShareRole,
  listShareRoles,
  serverOffersTls,
  shareRoleName,
} from '../../electron/agent/shares/postgres-share-role';
import { scramSha256Verifier } from '../../electron/agent/shares/scram-verifier';
import { waitFor } from '../helpers/net';
import { pgConnect, sessionIsCut, startFixturePostgres, type FixturePostgres } from './share-support';

let db: FixturePostgres;
const asRole = (role: { name: string; password: string }) =>
  postgresUrl(
    { username: role.name, password: role.password, database: db.database },
    db.host,
    db.port,
    '?sslmode=disable',
  );

async function ownerQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
  const c = await pgConnect(
    postgresUrl({ username: db.user, password: db.password, database: db.database }, db.host, db.port),
  );
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe('postgres share roles', () => {
  before(async () => {
    db = await startFixturePostgres();
    await ownerQuery('CREATE TABLE owner_notes (id serial PRIMARY KEY, body text)');
    await ownerQuery(`INSERT INTO owner_notes (body) VALUES ('from the owner')`);
  });
  after(async () => {
    await db?.remove();
  });

  test('the verifier has PostgreSQL SCRAM format', () => {
    assert.match(
      scramSha256Verifier('abc'),
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/,
    );
    assert.throws(() => scramSha256Verifier('has space'), /printable ASCII/);
  });

  test('role names come only from share ids', () => {
    assert.equal(shareRoleName('sh_ab12'), 'lattice_sh_ab12');
    assert.equal(shareRoleName('x"; DROP ROLE y; --'), 'lattice_x___drop_role_y____');
  });

  test('a read-write share role works on the owner data, is not a superuser and cannot become one', async () => {
    const expires = new Date(Date.now() + 3_600_000);
    const role = await createShareRole(db, { shareId: 'sh_rw1', readOnly: false, validUntil: expires });
    assert.ok(role.password.length >= 32, 'at least 128 bits of password');
    const [row] = await ownerQuery<{
      rolsuper: boolean;
      rolcreaterole: boolean;
      rolvaliduntil: Date;
      rolpassword: string;
    }>('SELECT rolsuper, rolcreaterole, rolvaliduntil, rolpassword FROM pg_authid WHERE rolname = $1', [
      role.name,
    ]);
    assert.equal(row.rolsuper, false);
    assert.equal(row.rolcreaterole, false);
    assert.ok(Math.abs(row.rolvaliduntil.getTime() - expires.getTime()) < 1000, 'VALID UNTIL is the expiry');
    assert.match(row.rolpassword, /^SCRAM-SHA-256\$/);

    const c = await pgConnect(asRole(role));
    try {
      assert.deepEqual((await c.query('SELECT body FROM owner_notes')).rows, [{ body: 'from the owner' }]);
      await c.query(`INSERT INTO owner_notes (body) VALUES ('from a share')`);
      await c.query('CREATE TABLE share_made (id int)');
      await c.query('INSERT INTO share_made VALUES (1), (2)');
      assert.equal((await c.query('SELECT count(*)::int AS n FROM share_made')).rows[0].n, 2);
      await assert.rejects(c.query(`SET ROLE ${c.escapeIdentifier(db.user)}`), /permission denied/);
      await assert.rejects(c.query('CREATE ROLE sneaky LOGIN'), /permission denied/);
    } finally {
      await c.end();
    }
    await dropShareRole(db, role.name);
    // What the share made outlives the share.
    const rows = await ownerQuery<{ n: number }>('SELECT count(*)::int AS n FROM share_made');
    assert.equal(rows[0].n, 2);
  });

  test('a read-only share role can read but not write', async () => {
    const role = await createShareRole(db, { shareId: 'sh_ro1', readOnly: true, validUntil: null });
    const [row] = await ownerQuery<{ v: string }>(
      `SELECT rolvaliduntil::text AS v FROM pg_authid WHERE rolname = $1`,
      [role.name],
    );
    assert.equal(row.v, 'infinity');
    const c = await pgConnect(asRole(role));
    try {
      assert.equal((await c.query('SELECT count(*)::int AS n FROM owner_notes')).rows[0].n, 2);
      await assert.rejects(
        c.query(`INSERT INTO owner_notes (body) VALUES ('nope')`),
        /read-only|permission denied/,
      );
      await c.query('SET default_transaction_read_only = off');
      await assert.rejects(c.query(`INSERT INTO owner_notes (body) VALUES ('nope')`), /permission denied/);
      await assert.rejects(c.query('CREATE TABLE ro_made (id int)'), /permission denied/);
    } finally {
      await c.end();
    }
    await dropShareRole(db, role.name);
  });

  test('dropping a role cuts its open session and refuses a new login', async () => {
    const role = await createShareRole(db, { shareId: 'sh_cut', readOnly: false, validUntil: null });
    const session = await pgConnect(asRole(role));
    assert.equal((await session.query('SELECT 1 AS one')).rows[0].one, 1);
    await dropShareRole(db, role.name);
    await waitFor('the open session to be cut', () => sessionIsCut(session), 5_000);
    await assert.rejects(pgConnect(asRole(role)), /password authentication failed|does not exist/);
    assert.ok(!(await listShareRoles(db)).includes(role.name));
    await dropShareRole(db, role.name); // already gone: fine
  });

  test('an expired role cannot log in', async () => {
    const role = await createShareRole(db, {
      shareId: 'sh_old',
      readOnly: false,
      validUntil: new Date(Date.now() - 1000),
    });
    await assert.rejects(pgConnect(asRole(role)), /password authentication failed/);
    await dropShareRole(db, role.name);
  });

  test('the fixture server offers no TLS, and the check says so', async () => {
    assert.equal(await serverOffersTls(db), false);
  });
});
