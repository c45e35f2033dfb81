// Which Docker Engine the agent talks to, decided the way the docker CLI decides it, so a tray app
// started from the desktop (no shell environment) reaches the same engine `docker ps` does:
//   1. an explicit choice: `--docker-host` (agent option), then the host or context picked in Settings;
//   2. DOCKER_HOST;  3. DOCKER_CONTEXT;  4. `currentContext` in $DOCKER_CONFIG/config.json;
//   5. the platform's default sockets, tried in order (system, rootless, Docker Desktop's per-user one).
// Steps 1–4 name one endpoint, as they do for the CLI (no silent fall-back to another engine); only
// the defaults are a list, and the first that answers wins. Every candidate says how it was found and
// what to start when it does not answer.
import { readFileSync, realpathSync } from 'node:fs';
import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  LatticeError,
  type DockerContextInfo,
  type DockerEngineInfo,
  type EngineSource,
} from '../../../shared';
import {
  DEFAULT_CONTEXT,
  dockerConfigDir,
  listContexts,
  readContext,
  readDockerConfig,
  type DockerContextTls,
} from './docker-contexts';

/** The dockerode/docker-modem options for one endpoint. */
export interface DockerConnection {
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https' | 'ssh';
  username?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  agent?: HttpAgent;
  sshOptions?: { agent?: string };
}

export interface EngineCandidate extends DockerEngineInfo {
  connection: DockerConnection;
  /** The Unix socket or named pipe, when the endpoint is one: the policy refuses it as a bind mount. */
  socketPath?: string;
  /** What to start when this candidate does not answer. */
  hint: string;
}

export interface EngineChoice {
  /** `--docker-host` or the agent's `docker` option: wins over everything, like the CLI's `-H`. */
  option?: string;
  /** Picked in Settings (at most one of the two is set). */
  setting?: { dockerHost?: string | null; dockerContext?: string | null };
}

export interface DiscoveryEnv {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  homeDir: string;
}

const SUPPORTED = 'unix:///path/to/docker.sock, tcp://host:2376, npipe:////./pipe/name or ssh://user@host';

interface TlsMaterial {
  tls?: DockerContextTls;
  /** TLS without verifying the server: a context's SkipTLSVerify, or DOCKER_TLS without DOCKER_TLS_VERIFY. */
  skipVerify?: boolean;
  /** TLS asked for even when there are no files. */
  enabled?: boolean;
}

export interface ParsedHost {
  connection: DockerConnection;
  socketPath?: string;
  tls: boolean;
}

/**
 * Turns a docker host URL into connection options. `label` names where the value came from, so a bad
 * one is reported as, e.g., `DOCKER_HOST=localhost:2375 is not a Docker host: it has no scheme (…)`.
 */
export function parseDockerHost(
  host: string,
  label: string,
  material: TlsMaterial = {},
  env: Record<string, string | undefined> = {},
): ParsedHost {
  const bad = (why: string) =>
    new LatticeError('invalid_argument', `${label}=${host} is not a Docker host: ${why} (use ${SUPPORTED})`);
  const m = /^([a-z]+):\/\/(.*)$/i.exec(host.trim());
  if (!m) throw bad('it has no scheme');
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw bad('a unix socket needs an absolute path');
    return { connection: { socketPath: rest }, socketPath: rest, tls: false };
  }
  if (scheme === 'npipe') {
    if (!/^\/\/[^/]+\/pipe\/[^/]+$/.test(rest)) {
      throw bad('a named pipe is written npipe:////./pipe/docker_engine');
    }
    return { connection: { socketPath: rest }, socketPath: rest, tls: false };
  }
  if (scheme !== 'tcp' && scheme !== 'ssh') throw bad(`the scheme ${scheme}:// is not supported`);
  let url: URL;
  try {
    url = new URL(`${scheme === 'tcp' ? 'http' : 'ssh'}://${rest}`);
  } catch {
    throw bad('the address cannot be parsed');
  }
  if (!url.hostname) throw bad('the address has no host name');
  if (url.pathname !== '/' && url.pathname !== '') throw bad('a path after the address is not supported');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (scheme === 'ssh') {
    return {
      connection: {
        protocol: 'ssh',
        host: hostname,
        port: url.port ? Number(url.port) : 22,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        // docker-modem runs `docker system dial-stdio` over ssh2; keys come from the user's ssh agent.
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      },
      tls: false,
    };
  }
  const tls = !!(material.tls || material.skipVerify || material.enabled);
  const connection: DockerConnection = {
    protocol: tls ? 'https' : 'http',
    host: hostname,
    // The engine's conventional ports: 2376 with TLS, 2375 without.
    port: url.port ? Number(url.port) : tls ? 2376 : 2375,
  };
  if (material.tls?.ca) connection.ca = material.tls.ca;
  if (material.tls?.cert) connection.cert = material.tls.cert;
  if (material.tls?.key) connection.key = material.tls.key;
  if (material.skipVerify) {
    // An https.Agent's own options override the request's, so this is where verification is turned off.
    connection.agent = new HttpsAgent({ rejectUnauthorized: false });
  }
  return { connection, tls };
}

/**
 * docker-modem reads process.env (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_CLIENT_TIMEOUT …) and lays
 * our options over what it found, so a key we leave out is filled from the process's environment:
 * a socket picked in Settings would lose to a DOCKER_HOST=tcp://… the app inherited. Every such key
 * is set here, so the endpoint chosen by this module is the whole story.
 */
export function dockerodeOptions(connection: DockerConnection): DockerConnection & Record<string, unknown> {
  return {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    username: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    pathPrefix: undefined,
    timeout: undefined,
    sshOptions: undefined,
    ...connection,
  };
}

/** TLS for DOCKER_HOST comes from the environment, as for the CLI: DOCKER_TLS_VERIFY / DOCKER_TLS and DOCKER_CERT_PATH. */
function envTls(d: DiscoveryEnv): TlsMaterial {
  const verify = !!d.env.DOCKER_TLS_VERIFY;
  if (!verify && !d.env.DOCKER_TLS) return {};
  const dir = d.env.DOCKER_CERT_PATH || dockerConfigDir(d.env, d.homeDir);
  const read = (file: string): Buffer | undefined => {
    try {
      return readFileSync(join(dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new LatticeError('invalid_argument', `cannot read ${join(dir, file)}: ${(err as Error).message}`);
    }
  };
  const tls: DockerContextTls = {};
  const ca = read('ca.pem');
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (verify && !tls.ca) {
    throw new LatticeError(
      'invalid_argument',
      `DOCKER_TLS_VERIFY is set but there is no ca.pem in ${dir} (set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem)`,
    );
  }
  return { tls, skipVerify: !verify, enabled: true };
}

/** What to start when an endpoint does not answer, from what the endpoint looks like. */
export function startHint(host: string, context: string, d: DiscoveryEnv): string {
  const s = `${context} ${host}`.toLowerCase();
  if (s.includes('colima')) return 'start Colima: `colima start`';
  if (s.includes('orbstack')) return 'start OrbStack';
  if (s.includes('podman')) return 'start Podman: `podman machine start`';
  if (s.includes('/.rd/') || s.includes('rancher')) return 'start Rancher Desktop';
  if (host.startsWith('tcp://') || host.startsWith('ssh://')) {
    return `check that the engine at ${host} is running and reachable from this computer`;
  }
  if (d.env.XDG_RUNTIME_DIR && host === `unix://${join(d.env.XDG_RUNTIME_DIR, 'docker.sock')}`) {
    return 'start rootless Docker: `systemctl --user start docker`';
  }
  if (
    s.includes('desktop') ||
    s.includes('/.docker/run/') ||
    host.startsWith('npipe:') ||
    d.platform === 'darwin' ||
    d.platform === 'win32'
  ) {
    return 'start Docker Desktop';
  }
  if (host === 'unix:///var/run/docker.sock' || host === 'unix:///run/docker.sock') {
    return 'start Docker Engine: `sudo systemctl start docker`';
  }
  return `start the engine that serves ${host.replace(/^unix:\/\//, '')} (Docker Engine: \`sudo systemctl start docker\`)`;
}

function hostCandidate(
  host: string,
  label: string,
  info: Omit<DockerEngineInfo, 'host' | 'tls'>,
  d: DiscoveryEnv,
  material: TlsMaterial = {},
): EngineCandidate {
  const parsed = parseDockerHost(host, label, material, d.env);
  return {
    host,
    ...info,
    tls: parsed.tls,
    connection: parsed.connection,
    ...(parsed.socketPath ? { socketPath: parsed.socketPath } : {}),
    hint: startHint(host, info.context, d),
  };
}

/** The sockets the CLI and the common installs use when nothing names one, in the order they are tried. */
function platformDefaults(
  d: DiscoveryEnv,
  context: string,
  source: EngineSource,
  via: string,
): EngineCandidate[] {
  const prefix = via ? `${via}: ` : '';
  const list: [string, string][] = [];
  if (d.platform === 'win32') {
    list.push(['npipe:////./pipe/docker_engine', 'the Windows default pipe']);
  } else {
    list.push(['unix:///var/run/docker.sock', 'the platform default']);
    if (d.env.XDG_RUNTIME_DIR) {
      list.push([
        `unix://${join(d.env.XDG_RUNTIME_DIR, 'docker.sock')}`,
        'rootless Docker ($XDG_RUNTIME_DIR)',
      ]);
    }
    // Docker Desktop keeps its socket in the home folder: ~/.docker/run on macOS, ~/.docker/desktop on Linux.
    list.push([
      `unix://${join(d.homeDir, '.docker', 'run', 'docker.sock')}`,
      "Docker Desktop's per-user socket",
    ]);
    if (d.platform === 'linux') {
      list.push([
        `unix://${join(d.homeDir, '.docker', 'desktop', 'docker.sock')}`,
        "Docker Desktop for Linux's socket",
      ]);
    }
  }
  return list.map(([host, what]) =>
    hostCandidate(host, 'default', { context, source, how: `${prefix}${what}` }, d),
  );
}

/** The default context: DOCKER_HOST when set (the CLI's own definition of it), else the platform defaults. */
function defaultContext(d: DiscoveryEnv, source: EngineSource, via: string): EngineCandidate[] {
  const envHost = d.env.DOCKER_HOST;
  if (envHost) {
    return [
      hostCandidate(
        envHost,
        'DOCKER_HOST',
        {
          context: DEFAULT_CONTEXT,
          source,
          how: via ? `${via}: DOCKER_HOST` : 'DOCKER_HOST in the environment',
        },
        d,
        envTls(d),
      ),
    ];
  }
  return platformDefaults(d, DEFAULT_CONTEXT, source, via);
}

function contextCandidates(
  name: string,
  source: EngineSource,
  how: string,
  d: DiscoveryEnv,
): EngineCandidate[] {
  if (name === DEFAULT_CONTEXT) return defaultContext(d, source, how);
  const ctx = readContext(dockerConfigDir(d.env, d.homeDir), name);
  const material: TlsMaterial = { tls: ctx.tls, skipVerify: ctx.skipTLSVerify };
  return [
    hostCandidate(
      ctx.host,
      `the host of docker context "${name}"`,
      { context: name, source, how },
      d,
      material,
    ),
  ];
}

/**
 * The endpoints to try, in order. Throws a LatticeError naming what was wrong when a step names
 * something that cannot be used (a context that does not exist, a malformed DOCKER_HOST, …).
 */
export function locateEngine(choice: EngineChoice, d: DiscoveryEnv): EngineCandidate[] {
  if (choice.option) {
    return [
      hostCandidate(
        choice.option,
        '--docker-host',
        { context: DEFAULT_CONTEXT, source: 'option', how: '--docker-host' },
        d,
        envTls(d),
      ),
    ];
  }
  const setting = choice.setting ?? {};
  if (setting.dockerHost) {
    return [
      hostCandidate(
        setting.dockerHost,
        'dockerHost',
        { context: DEFAULT_CONTEXT, source: 'setting', how: "the Docker host set in Lattice's settings" },
        d,
      ),
    ];
  }
  if (setting.dockerContext) {
    return contextCandidates(
      setting.dockerContext,
      'setting',
      `context "${setting.dockerContext}" picked in Lattice's settings`,
      d,
    );
  }
  if (d.env.DOCKER_HOST) return defaultContext(d, 'DOCKER_HOST', '');
  if (d.env.DOCKER_CONTEXT) {
    return contextCandidates(
      d.env.DOCKER_CONTEXT,
      'DOCKER_CONTEXT',
      `DOCKER_CONTEXT=${d.env.DOCKER_CONTEXT} in the environment`,
      d,
    );
  }
  const config = readDockerConfig(dockerConfigDir(d.env, d.homeDir));
  if (config.currentContext) {
    return contextCandidates(
      config.currentContext,
      'currentContext',
      `currentContext "${config.currentContext}" in ${config.path}`,
      d,
    );
  }
  return platformDefaults(d, DEFAULT_CONTEXT, 'default', '');
}

/** The contexts in the store, marked with the one the docker CLI itself would use (DOCKER_CONTEXT or currentContext). */
export function dockerContexts(d: DiscoveryEnv): DockerContextInfo[] {
  const dir = dockerConfigDir(d.env, d.homeDir);
  let cliCurrent: string = DEFAULT_CONTEXT;
  if (!d.env.DOCKER_HOST) {
    try {
      cliCurrent = d.env.DOCKER_CONTEXT || readDockerConfig(dir).currentContext || DEFAULT_CONTEXT;
    } catch {
      // A broken config.json is reported by the engine status; the list still shows the store.
    }
  }
  return listContexts(dir).map((c) => ({ ...c, current: c.name === cliCurrent }));
}

/**
 * Every engine socket known here, as written and with links resolved: the candidates', and each
 * context's. Mounting any of them hands a container root on this computer, whichever one is in use.
 */
export function engineSockets(d: DiscoveryEnv, inUse: (string | undefined)[]): string[] {
  const paths = new Set<string>();
  const add = (p: string | undefined) => {
    if (!p) return;
    paths.add(p);
    try {
      paths.add(realpathSync(p));
    } catch {
      // Not there (yet): the path as written is still refused.
    }
  };
  inUse.forEach(add);
  try {
    // What the CLI itself would use, ignoring Lattice's own choice.
    locateEngine({}, d).forEach((c) => add(c.socketPath));
  } catch {
    // A step that names something unusable names no socket.
  }
  platformDefaults(d, DEFAULT_CONTEXT, 'default', '').forEach((c) => add(c.socketPath));
  for (const c of dockerContexts(d)) {
    if (c.host.startsWith('unix://') || c.host.startsWith('npipe://'))
      add(c.host.replace(/^[a-z]+:\/\//, ''));
  }
  return [...paths];
}

/**
 * Checks an engine choice from Settings before it is saved, and clears the other half: a context
 * and a host are alternatives (the CLI refuses `--context` with `-H` too).
 */
export function checkEngineChoice(
  patch: { dockerHost?: string | null; dockerContext?: string | null },
  d: DiscoveryEnv,
): { dockerHost?: string | null; dockerContext?: string | null } | undefined {
  const { dockerHost, dockerContext } = patch;
  if (dockerHost === undefined && dockerContext === undefined) return undefined;
  if (dockerHost && dockerContext) {
    throw new LatticeError(
      'invalid_argument',
      'pick a Docker context or a Docker host, not both',
      'dockerHost',
    );
  }
  if (dockerHost) {
    try {
      parseDockerHost(dockerHost, 'dockerHost');
    } catch (err) {
      throw new LatticeError('invalid_argument', (err as Error).message, 'dockerHost');
    }
    return { dockerHost, dockerContext: null };
  }
  if (dockerContext) {
    if (dockerContext !== DEFAULT_CONTEXT) {
      try {
        readContext(dockerConfigDir(d.env, d.homeDir), dockerContext);
      } catch (err) {
        throw new LatticeError('invalid_argument', (err as Error).message, 'dockerContext');
      }
    }
    return { dockerContext, dockerHost: null };
  }
  return {
    ...(dockerHost !== undefined ? { dockerHost } : {}),
    ...(dockerContext !== undefined ? { dockerContext } : {}),
  };
}

/** Why a candidate did not answer, in words a person can act on. */
export function failureReason(err: unknown, c: Pick<EngineCandidate, 'socketPath' | 'host'>): string {
  const e = (err ?? {}) as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'ENOENT':
      return c.socketPath ? `no socket at ${c.socketPath}` : 'not found';
    case 'ECONNREFUSED':
      return c.socketPath
        ? 'the socket is there but nothing answers on it (connection refused)'
        : 'connection refused';
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${c.socketPath ?? c.host}: add your user to the docker group (\`sudo usermod -aG docker $USER\`, then log in again)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ETIMEDOUT':
      return 'no answer (timed out)';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection closed before an answer';
    default:
      break;
  }
  if (typeof e.statusCode === 'number') return `answered HTTP ${e.statusCode}: not a Docker Engine API`;
  return e.message || String(err);
}

/** Where the docker CLI would read its configuration, for an agent running with this environment. */
export function discoveryEnvOf(env: Record<string, string | undefined>): DiscoveryEnv {
  return { env, platform: process.platform, homeDir: env.HOME || env.USERPROFILE || homedir() };
}

/** The agent's explicit endpoint as a docker host URL: `--docker-host`, or the older dockerode-style option. */
export function optionHost(
  docker: { socketPath?: string; host?: string; port?: number } | undefined,
  dockerHost: string | undefined,
): string | undefined {
  if (dockerHost) return dockerHost;
  if (docker?.socketPath)
    return `${docker.socketPath.startsWith('//') ? 'npipe' : 'unix'}://${docker.socketPath}`;
  if (docker?.host) return `tcp://${docker.host}:${docker.port ?? 2375}`;
  return undefined;
}
