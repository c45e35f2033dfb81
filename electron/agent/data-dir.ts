// Where the agent keeps its database, keys and API token. One rule shared by the app, `lattice agent`
// and every CLI command, so they all find the same agent.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import envPaths from 'env-paths';

/** `--data-dir` beats `LATTICE_DATA_DIR`, which beats the OS per-user config dir. */
export function resolveDataDir(
  explicit?: string,
  env: Record<string, string | undefined> = process.env,
): string {
  if (explicit) return resolve(explicit);
  if (env.LATTICE_DATA_DIR) return resolve(env.LATTICE_DATA_DIR);
  return envPaths('lattice', { suffix: '' }).config;
}

/** Creates the data dir (0700: it holds the secrets key and the API token) and returns its path. */
export function ensureDataDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is masked by the umask and ignored for an existing dir: tighten it explicitly.
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/**
 * Creates the file if it is missing, owner-only (0600), and tightens one that exists with a looser
 * mode (open's mode is masked by the umask and ignored for an existing file). For files that another
 * library opens afterwards, such as the log file pino appends to.
 */
export function ensurePrivateFile(file: string): string {
  closeSync(openSync(file, 'a', 0o600));
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return file;
}
