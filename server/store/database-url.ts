// The `--database` value of `lattice hub`, checked before anything starts (cli.ts) and again when the
// PostgreSQL store opens. Kept apart from pg-store.ts so the CLI can check it without loading `pg`.

/**
 * Checks a `--database` value: a postgres:// or postgresql:// URL naming a database. The error says
 * what is wrong without echoing a password.
 */
export function parseDatabaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('--database must be a URL like postgres://user:password@host:5432/lattice');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`--database must be a postgres:// URL, not ${url.protocol}//…`);
  }
  if (!url.hostname && !url.searchParams.get('host')) throw new Error('--database URL names no host');
  if (url.pathname.replace(/^\//, '') === '') throw new Error('--database URL names no database (…/lattice)');
  return url;
}

/** The URL without its password, for messages and logs. */
export function describeDatabase(url: URL): string {
  const safe = new URL(url.toString());
  if (safe.password) safe.password = '***';
  return safe.toString();
}
