// The Docker Engine as the agent sees it: reachable or not (probed with backoff so the agent starts
// and recovers without Docker), its versions, and its event stream (resubscribed after a drop).
import Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DockerStatus } from '../../../shared';
import { LatticeError } from '../../../shared';
import { isRuncVulnerable } from '../runc-advisory';

export const DOCKER_DOWN_HINT = 'start Docker Desktop, or `sudo systemctl start docker`';

/** A failure to reach the daemon at all (as opposed to Docker refusing a request). */
export function isDockerConnectionError(err: unknown): boolean {
  const e = err as { code?: string; syscall?: string } | undefined;
  return (
    !!e &&
    (e.code === 'ECONNREFUSED' ||
      e.code === 'EPIPE' ||
      e.code === 'ECONNRESET' ||
      (e.code === 'ENOENT' && e.syscall === 'connect'))
  );
}

/** The error a command gets when the daemon went away under it. */
export const dockerUnavailable = () =>
  new LatticeError('docker_unavailable', `Docker is not running: ${DOCKER_DOWN_HINT}`);

export interface DockerEventMessage {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export class Engine {
  readonly docker: Docker;
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
    opts: { socketPath?: string; host?: string; port?: number } | undefined,
    private readonly logger: Logger,
  ) {
    this.docker = new Docker(opts && (opts.socketPath || opts.host) ? opts : undefined);
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
    if (!this.statusValue.available) throw dockerUnavailable();
    return this.docker;
  }

  /** First probe (awaited), then background probing with backoff while Docker is down. */
  async start(): Promise<void> {
    await this.probe();
  }

  /** Checks now; used at start, by the backoff timer, and when a Docker call fails with a connection error. */
  async probe(): Promise<DockerStatus> {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    let next: DockerStatus;
    try {
      await this.docker.ping();
      const v = await this.docker.version();
      const components = (
        v as { Components?: { Name: string; Version: string; Details?: { GitCommit?: string } }[] }
      ).Components;
      const runc = components?.find((c) => c.Name.toLowerCase() === 'runc');
      next = {
        available: true,
        version: v.Version,
        apiVersion: v.ApiVersion,
        runcVersion: runc?.Version,
        runcVulnerable: isRuncVulnerable(runc?.Version, runc?.Details?.GitCommit),
      };
      if (next.runcVulnerable) {
        next.message = `runc ${runc?.Version} is older than 1.1.12 (CVE-2024-21626): update Docker before running untrusted images`;
      }
    } catch (err) {
      next = {
        available: false,
        message: `Docker is not running (${(err as Error).message}): ${DOCKER_DOWN_HINT}`,
      };
    }
    this.setStatus(next);
    if (!next.available && !this.closed) {
      this.probeTimer = setTimeout(() => void this.probe(), this.probeDelay);
      this.probeTimer.unref();
      this.probeDelay = Math.min(this.probeDelay * 2, 30_000);
    }
    return next;
  }

  /** Called when a Docker call failed in a way that suggests the daemon went away. */
  noteFailure(err: unknown): void {
    if (isDockerConnectionError(err)) void this.probe();
  }

  private setStatus(next: DockerStatus): void {
    const prev = this.statusValue;
    this.statusValue = next;
    if (!next.available && !this.loggedDown) {
      this.loggedDown = true;
      this.logger.warn(
        `Docker is not running: ${DOCKER_DOWN_HINT}. Lattice keeps checking and recovers by itself.`,
      );
    }
    if (next.available) {
      this.probeDelay = 1000;
      if (!prev.available) {
        this.loggedDown = false;
        this.logger.info({ version: next.version, runc: next.runcVersion }, 'Docker is available');
        if (this.eventListener) this.subscribe();
      }
    }
    if (prev.available !== next.available || prev.version !== next.version || prev.message !== next.message) {
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
    this.subscribing = true;
    this.docker.getEvents({ filters: this.eventFilters }, (err, stream) => {
      this.subscribing = false;
      if (err || !stream) {
        this.noteFailure(err);
        return;
      }
      if (this.closed) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
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

  close(): void {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const s = this.eventStream as unknown as { destroy?: () => void } | undefined;
    this.eventStream = undefined;
    s?.destroy?.();
    this.statusListeners.clear();
  }
}
