// The docker CLI's own configuration, read the way the CLI reads it (docker/cli, cli/context/store):
// the config directory is $DOCKER_CONFIG or ~/.docker; `currentContext` in its config.json names the
// context in use; each context lives in contexts/meta/<sha256 of its name>/meta.json (its endpoints)
// and, when it has TLS material, contexts/tls/<sha256 of its name>/docker/{ca,cert,key}.pem.
// Colima, OrbStack, Rancher Desktop, Podman and Docker Desktop register their sockets this way, so
// reading this store is how the agent finds an engine that is not at the default socket.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LatticeError } from '../../../shared';

/** The CLI's name for "no context": DOCKER_HOST or the platform's default socket. */
export const DEFAULT_CONTEXT = 'default';

/** The CLI's rule for context names (store.ValidateContextName); it also keeps names out of paths. */
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

export function isValidContextName(name: string): boolean {
  return name === DEFAULT_CONTEXT || CONTEXT_NAME.test(name);
}

/** $DOCKER_CONFIG moves the whole directory (config.json and contexts/), as it does for the CLI. */
export function dockerConfigDir(env: Record<string, string | undefined>, homeDir: string): string {
  return env.DOCKER_CONFIG || join(homeDir, '.docker');
}

/** Context directories are named by the digest of the name, so any name maps to a safe path. */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex');
}

export interface DockerConfigFile {
  path: string;
  /** Absent when the file is missing or sets none: the default context. */
  currentContext?: string;
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return undefined;
    throw new LatticeError('invalid_argument', `cannot read ${what} ${path}: ${e.message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LatticeError(
      'invalid_argument',
      `${what} ${path} is not valid JSON: ${(err as Error).message}`,
    );
  }
}

export function readDockerConfig(configDir: string): DockerConfigFile {
  const path = join(configDir, 'config.json');
  const json = readJson(path, 'the docker CLI config');
  if (json === undefined) return { path };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LatticeError('invalid_argument', `the docker CLI config ${path} is not a JSON object`);
  }
  const current = (json as { currentContext?: unknown }).currentContext;
  if (current !== undefined && typeof current !== 'string') {
    throw new LatticeError('invalid_argument', `currentContext in ${path} must be a string`);
  }
  return current ? { path, currentContext: current } : { path };
}

export interface DockerContextTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface DockerContext {
  name: string;
  description?: string;
  /** Endpoints.docker.Host: unix://, tcp://, npipe://, ssh:// … */
  host: string;
  skipTLSVerify: boolean;
  /** The files under contexts/tls/<digest>/docker/ that exist; undefined when there are none. */
  tls?: DockerContextTls;
  metaPath: string;
}

function metaPathOf(configDir: string, name: string): string {
  return join(configDir, 'contexts', 'meta', contextDirName(name), 'meta.json');
}

function readTls(configDir: string, name: string): DockerContextTls | undefined {
  const dir = join(configDir, 'contexts', 'tls', contextDirName(name), 'docker');
  const tls: DockerContextTls = {};
  for (const [field, file] of [
    ['ca', 'ca.pem'],
    ['cert', 'cert.pem'],
    ['key', 'key.pem'],
  ] as const) {
    try {
      tls[field] = readFileSync(join(dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new LatticeError(
          'invalid_argument',
          `cannot read the TLS file ${join(dir, file)} of docker context "${name}": ${(err as Error).message}`,
        );
      }
    }
  }
  if (tls.cert && !tls.key) {
    throw new LatticeError(
      'invalid_argument',
      `docker context "${name}" has cert.pem but no key.pem in ${dir}`,
    );
  }
  return tls.ca || tls.cert ? tls : undefined;
}

function parseMeta(json: unknown, name: string, metaPath: string): Omit<DockerContext, 'tls'> {
  const meta = json as {
    Name?: unknown;
    Metadata?: { Description?: unknown };
    Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } };
  } | null;
  if (typeof meta !== 'object' || meta === null) {
    throw new LatticeError('invalid_argument', `docker context "${name}": ${metaPath} is not a JSON object`);
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint || typeof endpoint.Host !== 'string' || !endpoint.Host) {
    throw new LatticeError(
      'invalid_argument',
      `docker context "${name}" has no Docker endpoint (Endpoints.docker.Host) in ${metaPath}`,
    );
  }
  const description = meta.Metadata?.Description;
  return {
    name: typeof meta.Name === 'string' && meta.Name ? meta.Name : name,
    ...(typeof description === 'string' && description ? { description } : {}),
    host: endpoint.Host,
    skipTLSVerify: endpoint.SkipTLSVerify === true,
    metaPath,
  };
}

/** One context by name, with its TLS material. A missing context is an error that names where it looked. */
export function readContext(configDir: string, name: string): DockerContext {
  if (!CONTEXT_NAME.test(name)) {
    throw new LatticeError(
      'invalid_argument',
      `"${name}" is not a docker context name (letters, digits, and _ . + - after the first character)`,
    );
  }
  const metaPath = metaPathOf(configDir, name);
  const json = readJson(metaPath, `the metadata of docker context "${name}"`);
  if (json === undefined) {
    const known = listContexts(configDir)
      .filter((c) => !c.error)
      .map((c) => c.name);
    throw new LatticeError(
      'not_found',
      `docker context "${name}" does not exist: no ${metaPath}` +
        (known.length ? ` (contexts found: ${known.join(', ')})` : ' (no contexts found)') +
        '; create it with `docker context create`, or pick another',
    );
  }
  const ctx = parseMeta(json, name, metaPath);
  const tls = readTls(configDir, name);
  return tls ? { ...ctx, tls } : ctx;
}

export interface DockerContextEntry {
  name: string;
  description?: string;
  host: string;
  /** Set when the entry could not be read; the others are still listed. */
  error?: string;
}

/** Every context in the store, sorted by name; a broken one is listed with its error, not dropped. */
export function listContexts(configDir: string): DockerContextEntry[] {
  const root = join(configDir, 'contexts', 'meta');
  let dirs: string[];
  try {
    dirs = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
  const out: DockerContextEntry[] = [];
  for (const dir of dirs) {
    const metaPath = join(root, dir, 'meta.json');
    try {
      const json = readJson(metaPath, 'docker context metadata');
      if (json === undefined) continue;
      const name = (json as { Name?: unknown } | null)?.Name;
      const ctx = parseMeta(json, typeof name === 'string' ? name : dir, metaPath);
      out.push({
        name: ctx.name,
        host: ctx.host,
        ...(ctx.description ? { description: ctx.description } : {}),
      });
    } catch (err) {
      out.push({ name: dir, host: '', error: (err as Error).message });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
