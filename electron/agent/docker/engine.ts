// The Docker Engine as the agent sees it: which one (found as the docker CLI finds it, see
// engine-discovery.ts), reachable or not (probed with backoff so the agent starts and recovers
// without Docker), its versions, and its event stream (resubscribed after a drop or a switch).
import Docker from 'dockerode';
import type { Logger } from 'pino';
import type {
  DockerCandidateReport,
  DockerContextInfo,
  DockerEngineInfo,
  DockerStatus,
} from '../../../shared';
import { LatticeError } from '../../../shared';
import { isRuncVulnerable } from '../runc-advisory';
import {
  checkEngineChoice,
  dockerContexts,
  dockerodeOptions,
  engineSockets,
  failureReason,
  locateEngine,
  type DiscoveryEnv,
  type EngineCandidate,
  type EngineChoice,
} from './engine-discovery';

export const DOCKER_DOWN_HINT = 'start Docker Desktop, or `sudo systemctl start docker`';

/** A failure to reach the daemon at all (as opposed to Docker refusing a request). */
export function isDockerConnectionError(err: unknown): boolean {
  const e = err as { code?: string; syscall?: string } | undefined;
  return (
    !!e &&
    (e.code === 'ECONNREFUSED' ||
      e.code === 'EPIPE' ||
      e.code === 'ECONNRESET' ||
      ((e.code === 'ENOENT' || e.code === 'EACCES') && e.syscall === 'connect'))
  );
}

/** The error a command gets when the daemon went away under it (`detail`: which engine and what to start). */
export const dockerUnavailable = (detail: string = DOCKER_DOWN_HINT) =>
  new LatticeError('docker_unavailable', `Docker is not running: ${detail}`);

/** A ping that hangs (a socket whose server is stuck, a firewalled port) must not stall discovery. */
const PROBE_TIMEOUT_MS = 3000;

export interface EngineDeps {
  /** The environment, platform and home folder the docker CLI would read its configuration from. */
  discovery: DiscoveryEnv;
  /** `--docker-host` (or the agent's docker option): wins over everything. */
  option?: string;
  /** The owner's choice in Settings, read at every probe so a change applies at the next one. */
  setting: () => EngineChoice['setting'];
}

const engineInfo = (c: EngineCandidate): DockerEngineInfo => ({
  host: c.host,
  context: c.context,
  source: c.source,
  how: c.how,
  tls: c.tls,
});

/** One line per candidate, then the contexts the owner could pick instead. */
export function downMessage(tried: DockerCandidateReport[], contexts: DockerContextInfo[]): string {
  const lines = ['Docker is not running — no engine answered:'];
  for (const t of tried) lines.push(`• ${t.host} (${t.how}): ${t.reason} — ${t.hint}`);
  const triedHosts = new Set(tried.map((t) => t.host));
  const others = contexts.filter((c) => !c.error && !triedHosts.has(c.host));
  if (others.length) {
    lines.push(
      `Other docker contexts on this computer: ${others.map((c) => `${c.name} (${c.host})`).join(', ')} — pick one in Settings.`,
    );
  }
  return lines.join('\n');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: 'PROBE_TIMEOUT' })),
      ms,
    );
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Which engine this is, as workloads remember it: the daemon's own ID (`docker info` → ID, kept by the
 * daemon in its data root, so the same daemon reached through another socket or context is the same
 * engine, and another daemon — Colima's VM, Docker Desktop, a remote host — is another), and a label
 * for people: the context and host it was reached through.
 */
export interface EngineIdentity {
  id: string;
  label: string;
}

/** The label of an endpoint: `"colima" (unix:///…/docker.sock)`, or the host alone without a context. */
export const engineLabel = (c: { host: string; context: string }) =>
  c.context && c.context !== 'default' ? `"${c.context}" (${c.host})` : c.host;

/** A daemon's identity from its `docker info`; one that reports no ID (some Podman versions) is known by its name and endpoint. */
export function identityOf(
  info: { ID?: string; Name?: string },
  candidate: { host: string; context: string },
): EngineIdentity {
  const id = info.ID?.trim() || `name:${info.Name ?? '?'}@${candidate.host}`;
  return { id, label: engineLabel(candidate) };
}

export interface DockerEventMessage {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export class Engine {
  private client: Docker | undefined;
  private current: EngineCandidate | undefined;
  private identityValue: EngineIdentity | undefined;
  private probing: Promise<DockerStatus> | undefined;
  private statusValue: DockerStatus = { available: false, message: 'Checking for Docker…' };
  private probeTimer: NodeJS.Timeout | undefined;
  private probeDelay = 1000;
  private closed = false;
  private readonly statusListeners = new Set<(s: DockerStatus) => void>();
  private eventStream: NodeJS.ReadableStream | undefined;
  private eventFilters: Record<string, string[]> | undefined;
  private eventListener: ((e: DockerEventMessage) => void) | undefined;
  private loggedDown = false;
  private subscribing = false;

  constructor(
    private readonly deps: EngineDeps,
    private readonly logger: Logger,
  ) {}

  /** The client of the engine in use; docker_unavailable before one ever answered. */
  get docker(): Docker {
    if (!this.client) throw this.unavailableError();
    return this.client;
  }

  /** The endpoint in use (the last one that answered). */
  get endpoint(): EngineCandidate | undefined {
    return this.current;
  }

  /**
   * The engine in use, as last seen answering (undefined until one has): what workloads are matched
   * against. Kept while it is down, so another engine's workloads do not look local meanwhile.
   */
  get identity(): EngineIdentity | undefined {
    return this.identityValue;
  }

  /** The docker contexts on this computer; an unreadable store lists none. */
  contexts(): DockerContextInfo[] {
    try {
      return dockerContexts(this.deps.discovery);
    } catch {
      return [];
    }
  }

  /** Every engine socket known here, the one in use first: none may be mounted into a container. */
  sockets(): string[] {
    return engineSockets(this.deps.discovery, [this.current?.socketPath]);
  }

  /** Checks a Settings patch's engine choice before it is saved (see checkEngineChoice). */
  checkChoice(patch: { dockerHost?: string | null; dockerContext?: string | null }) {
    return checkEngineChoice(patch, this.deps.discovery);
  }

  get status(): DockerStatus {
    return this.statusValue;
  }

  get available(): boolean {
    return this.statusValue.available;
  }

  onStatus(cb: (s: DockerStatus) => void): () => void {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }

  /** Throws docker_unavailable at once when the engine is known to be down. */
  require(): Docker {
    if (!this.statusValue.available || !this.client) throw this.unavailableError();
    return this.client;
  }

  private unavailableError(): LatticeError {
    const tried = this.statusValue.tried;
    if (!tried?.length) return dockerUnavailable();
    return dockerUnavailable(tried.map((t) => `${t.host}: ${t.reason} — ${t.hint}`).join('; '));
  }

  /** First probe (awaited), then background probing with backoff while Docker is down. */
  async start(): Promise<void> {
    await this.probe();
  }

  /**
   * Checks now; used at start, by the backoff timer, and when a Docker call fails with a connection
   * error. Concurrent callers share one probe.
   */
  probe(): Promise<DockerStatus> {
    this.probing ??= this.runProbe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /** Finds the engine again from scratch (the owner picked another context): waits out a probe under way, which saw the old choice. */
  async reconnect(): Promise<DockerStatus> {
    await this.probing?.catch(() => undefined);
    this.probeDelay = 1000;
    return this.probe();
  }

  private async runProbe(): Promise<DockerStatus> {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    let next: DockerStatus;
    let candidates: EngineCandidate[] = [];
    try {
      candidates = locateEngine(
        { option: this.deps.option, setting: this.deps.setting() },
        this.deps.discovery,
      );
    } catch (err) {
      next = { available: false, message: `Docker is not reachable: ${(err as Error).message}` };
    }
    const tried: DockerCandidateReport[] = [];
    let found: { candidate: EngineCandidate; status: DockerStatus; identity: EngineIdentity } | undefined;
    for (const candidate of candidates) {
      try {
        found = { candidate, ...(await this.check(candidate)) };
        break;
      } catch (err) {
        const reason =
          (err as { code?: string }).code === 'PROBE_TIMEOUT'
            ? (err as Error).message
            : failureReason(err, candidate);
        tried.push({ ...engineInfo(candidate), reason, hint: candidate.hint });
      }
    }
    const identityBefore = this.identityValue?.id;
    if (found) {
      next = found.status;
      this.use(found.candidate);
      this.identityValue = found.identity;
    } else if (candidates.length) {
      next = { available: false, message: downMessage(tried, this.contexts()), tried };
    }
    next ??= { available: false, message: 'Docker is not reachable' };
    // Another daemon behind the same endpoint (an engine reset or reinstalled) is a change too.
    this.setStatus(next, found !== undefined && found.identity.id !== identityBefore);
    if (!next.available && !this.closed) {
      this.probeTimer = setTimeout(() => void this.probe(), this.probeDelay);
      this.probeTimer.unref();
      this.probeDelay = Math.min(this.probeDelay * 2, 30_000);
    }
    return next;
  }

  /** Switches the client to this endpoint when it is not the one in use; the event stream follows. */
  private use(candidate: EngineCandidate): void {
    const prev = this.current;
    if (
      prev &&
      this.client &&
      prev.host === candidate.host &&
      prev.context === candidate.context &&
      prev.source === candidate.source
    ) {
      return;
    }
    this.current = candidate;
    this.client = new Docker(dockerodeOptions(candidate.connection));
    this.logger.info(
      { host: candidate.host, context: candidate.context, how: candidate.how },
      prev ? 'switched to another Docker engine' : 'using this Docker engine',
    );
    if (prev) this.dropEventStream();
  }

  /** A ping, the versions and the daemon's ID, on a short-lived client with a timeout (the long-lived one has none: pulls and log follows take long). */
  private async check(
    candidate: EngineCandidate,
  ): Promise<{ status: DockerStatus; identity: EngineIdentity }> {
    const docker = new Docker({ ...dockerodeOptions(candidate.connection), timeout: PROBE_TIMEOUT_MS });
    await withTimeout(docker.ping(), PROBE_TIMEOUT_MS);
    const v = await withTimeout(docker.version(), PROBE_TIMEOUT_MS);
    const info = (await withTimeout(docker.info(), PROBE_TIMEOUT_MS)) as { ID?: string; Name?: string };
    const components = (
      v as { Components?: { Name: string; Version: string; Details?: { GitCommit?: string } }[] }
    ).Components;
    const runc = components?.find((c) => c.Name.toLowerCase() === 'runc');
    const next: DockerStatus = {
      available: true,
      version: v.Version,
      apiVersion: v.ApiVersion,
      runcVersion: runc?.Version,
      runcVulnerable: isRuncVulnerable(runc?.Version, runc?.Details?.GitCommit),
      engine: engineInfo(candidate),
    };
    if (next.runcVulnerable) {
      next.message = `runc ${runc?.Version} is older than 1.1.12 (CVE-2024-21626): update Docker before running untrusted images`;
    }
    return { status: next, identity: identityOf(info, candidate) };
  }

  /** Called when a Docker call failed in a way that suggests the daemon went away. */
  noteFailure(err: unknown): void {
    if (isDockerConnectionError(err)) void this.probe();
  }

  private setStatus(next: DockerStatus, identityChanged = false): void {
    const prev = this.statusValue;
    this.statusValue = next;
    if (!next.available && !this.loggedDown) {
      this.loggedDown = true;
      this.logger.warn(next.message ?? `Docker is not running: ${DOCKER_DOWN_HINT}`);
    }
    if (next.available) {
      this.probeDelay = 1000;
      if (!prev.available) {
        this.loggedDown = false;
        this.logger.info({ version: next.version, runc: next.runcVersion }, 'Docker is available');
      }
      // After a switch the old stream was dropped; after a recovery there was none.
      if (this.eventListener) this.subscribe();
    }
    if (
      identityChanged ||
      prev.available !== next.available ||
      prev.version !== next.version ||
      prev.message !== next.message ||
      prev.engine?.host !== next.engine?.host ||
      prev.engine?.context !== next.engine?.context ||
      prev.engine?.source !== next.engine?.source
    ) {
      for (const cb of this.statusListeners) cb(next);
    }
  }

  /** Follows Docker's event stream with these filters; resubscribes after the stream ends (daemon restart). */
  watchEvents(filters: Record<string, string[]>, listener: (e: DockerEventMessage) => void): void {
    this.eventFilters = filters;
    this.eventListener = listener;
    if (this.available) this.subscribe();
  }

  private subscribe(): void {
    if (this.closed || !this.eventListener || this.eventStream || this.subscribing) return;
    const listener = this.eventListener;
    const client = this.client;
    if (!client) return;
    this.subscribing = true;
    client.getEvents({ filters: this.eventFilters }, (err, stream) => {
      this.subscribing = false;
      if (err || !stream) {
        this.noteFailure(err);
        return;
      }
      if (this.closed || client !== this.client) {
        // Closed, or switched to another engine while subscribing: follow the new one instead.
        (stream as unknown as { destroy?: () => void }).destroy?.();
        if (!this.closed) this.subscribe();
        return;
      }
      this.eventStream = stream;
      let buffer = '';
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          try {
            listener(JSON.parse(line) as DockerEventMessage);
          } catch (e) {
            this.logger.warn({ err: (e as Error).message }, 'bad Docker event');
          }
        }
      });
      const ended = () => {
        if (this.eventStream !== stream) return;
        this.eventStream = undefined;
        if (this.closed) return;
        // The daemon went away or restarted: find out which, and resubscribe when it is back.
        void this.probe().then((s) => {
          if (s.available) this.subscribe();
        });
      };
      stream.on('end', ended);
      stream.on('close', ended);
      stream.on('error', ended);
    });
  }

  private dropEventStream(): void {
    const s = this.eventStream as unknown as { destroy?: () => void } | undefined;
    this.eventStream = undefined;
    s?.destroy?.();
  }

  close(): void {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.dropEventStream();
    this.statusListeners.clear();
  }
}

/** The engine in words, for `lattice agent`'s first lines: which one and how it was found, or why none answers. */
export function describeEngine(status: DockerStatus): string[] {
  const e = status.engine;
  if (status.available && e) {
    const context = e.context === 'default' ? 'no docker context' : `context "${e.context}"`;
    return [
      `Docker engine: ${e.host} (${context}; found through ${e.how}) — Docker ${status.version ?? '?'}`,
    ];
  }
  if (!status.tried?.length) return [`Docker engine: ${status.message ?? 'not reachable'}`];
  const [, ...rest] = (status.message ?? '').split('\n');
  return [
    'Docker engine: none answered (Lattice keeps trying; the console updates when one does):',
    ...rest.map((l) => `  ${l}`),
  ];
}
