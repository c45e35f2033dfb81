// share.create / share.revoke / share.list, built by createAgent from the agent's own parts.
// A share is: a row (intent first), a tunnel (hub relay or ngrok), and for
// Postgres its own database role (on a server the agent has given TLS), for S3 its own key checked
// by an S3 front in this process. Revoking or expiring one closes the tunnel (cutting every visitor)
// and drops the role or the key; on start and wake the shares that have not expired are re-opened,
// on the same public port where the provider allows it.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  EXPIRY_MS,
  KeyedLock,
  LatticeError,
  timerDelay,
  type Credentials,
  type ParsedArgs,
  type Share,
  type ShareVia,
} from '../../../shared';
import type { EventBus } from '../event-bus';
import type { HubConnection } from '../hub-connection';
import type { HubLink } from '../hub-link';
import type { SecretBox } from '../secrets';
import type { SettingsService } from '../settings-service';
import type { ShareRow, SharesRepo, Store } from '../store';
import type { WorkloadService } from '../workloads';
import { NgrokTunnelProvider, NO_NGROK_TOKEN_MESSAGE, type NgrokForward } from '../tunnels/ngrok-tunnel';
import { RelayTunnelProvider } from '../tunnels/relay-tunnel';
import type {
  TunnelEndpoint,
  TunnelOpenRequest,
  TunnelProvider,
  TunnelUpdate,
} from '../tunnels/tunnel-provider';
import {
  createShareRole,
  dropShareRole,
  serverOffersTls,
  shareRoleName,
  type PgOwner,
} from './postgres-share-role';
import { newS3ShareKey, S3ShareProxy } from './s3-share-proxy';
import { pickShareTarget } from './share-target';
import { shareView, type ShareSecrets } from './share-view';

/** What the share service is built from: the agent's own parts, handed in by createAgent. */
export interface ShareServiceDeps {
  store: Store;
  /** Seals the share's secrets (role password, basic-auth credentials) with the share id as context. */
  box: SecretBox;
  /** `share.changed` / `share.removed` go out here; `workload.removed` comes in. */
  bus: EventBus;
  /** Resolves a workload reference to its view, decrypted credentials and host ports. */
  workloads: Pick<WorkloadService, 'resolve'>;
  /** The ngrok token, when the owner configured one. */
  settings: Pick<SettingsService, 'ngrokAuthtoken'>;
  /** The relay provider rides on the current hub link and follows it through pairing and unpairing. */
  hub: Pick<HubConnection, 'current' | 'onChange'>;
  /** Gives a Postgres workload's server TLS with the agent CA's certificate, if it has none yet. */
  databaseTls: { ensure(workloadId: string): Promise<void> };
  logger: Logger;
}

/** Test knobs, passed through createAgent's `sharing` option. Read at each use, so a test may change them. */
export interface ShareServiceOptions {
  /** Test hook: the clock, in ms since the epoch. */
  now?: () => number;
  /**
   * Test hook: every share expires this long after it is made, whatever `expires` says — so tests
   * can watch an expiry happen. Deliberately not part of the command schema.
   */
  expiresInMs?: number;
  /** Test hook: a stand-in for ngrok.forward. */
  ngrokForward?: NgrokForward;
  ngrokTimeoutMs?: number;
  relayReplyTimeoutMs?: number;
}

const GONE = new Set(['revoked', 'expired']);

const asShareFailed = (err: unknown, what: string) =>
  err instanceof LatticeError ? err : new LatticeError('share_failed', `${what}: ${(err as Error).message}`);

export class ShareService {
  private readonly repo: SharesRepo;
  private readonly box: SecretBox;
  private readonly bus: EventBus;
  private readonly logger: Logger;
  private readonly workloads: ShareServiceDeps['workloads'];
  private readonly settings: ShareServiceDeps['settings'];
  private readonly hub: ShareServiceDeps['hub'];
  private readonly databaseTls: ShareServiceDeps['databaseTls'];
  /** The S3 fronts of open S3 shares: each listens on loopback and is its share's tunnel end. */
  private readonly s3Fronts = new Map<string, S3ShareProxy>();
  private readonly ngrok: NgrokTunnelProvider;
  private relay: RelayTunnelProvider | undefined;
  private relayUnsubscribe: (() => void)[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Shares whose tunnel this process has open (or, for the relay, keeps wanting open). */
  private readonly open = new Set<string>();
  /** Shares being created now: their `opening` rows are not leftovers of a crash. */
  private readonly creating = new Set<string>();
  /** One operation at a time per share: a command, an expiry timer and a re-open never interleave. */
  private readonly lock = new KeyedLock();
  /** reopenAll runs in flight, awaited by close(). */
  private readonly reopening = new Set<Promise<void>>();
  private closed = false;
  private readonly now: () => number;

  constructor(
    deps: ShareServiceDeps,
    private readonly opts: ShareServiceOptions = {},
  ) {
    this.repo = deps.store.shares;
    this.box = deps.box;
    this.bus = deps.bus;
    this.logger = deps.logger;
    this.workloads = deps.workloads;
    this.settings = deps.settings;
    this.hub = deps.hub;
    this.databaseTls = deps.databaseTls;
    this.now = opts.now ?? Date.now;
    this.ngrok = new NgrokTunnelProvider({
      authtoken: () => this.settings.ngrokAuthtoken(),
      logger: this.logger,
      forward: opts.ngrokForward,
      timeoutMs: opts.ngrokTimeoutMs,
    });
    this.attachRelay(this.hub.current);
    this.unsubscribe.push(
      this.hub.onChange((link) => {
        this.attachRelay(link);
        void this.reopenAll();
      }),
      this.bus.on((event) => {
        if (event.type === 'workload.removed') void this.forgetWorkload(event.id);
      }),
    );
  }

  // ---- commands ----

  async create(args: ParsedArgs<'share.create'>): Promise<Share> {
    if (this.closed) throw new LatticeError('share_failed', 'The agent is stopping');
    const resolved = this.workloads.resolve(args.workload);
    const { workload } = resolved;
    if (workload.status === 'elsewhere') {
      throw new LatticeError('conflict', `Cannot share ${workload.name}: ${workload.message}`);
    }
    if (workload.status !== 'running') {
      throw new LatticeError(
        'share_failed',
        `Workload ${workload.name} is ${workload.status}; start it before sharing it`,
      );
    }
    const target = pickShareTarget(workload, args.port, args.kind);
    if (args.readOnly && target.kind !== 'postgres' && target.kind !== 's3') {
      throw new LatticeError(
        'invalid_argument',
        'Read-only applies to Postgres and S3 shares only',
        'readOnly',
      );
    }
    if (args.bucket !== undefined && target.kind !== 's3') {
      throw new LatticeError('invalid_argument', 'A bucket applies to S3 shares only', 'bucket');
    }
    if (args.plain && target.kind !== 'tcp') {
      throw new LatticeError(
        'invalid_argument',
        `--plain applies to TCP shares only; a ${target.kind} share carries its own protection`,
        'plain',
      );
    }
    if (args.basicAuth && target.kind !== 'http') {
      throw new LatticeError(
        'invalid_argument',
        `Basic auth applies to HTTP shares only; a ${target.kind} share has its own credentials`,
        'basicAuth',
      );
    }
    const via: ShareVia = args.via ?? (this.hub.current ? 'relay' : 'ngrok');
    const provider = this.providerFor(via);
    if (via === 'ngrok' && !this.settings.ngrokAuthtoken()?.trim())
      throw new LatticeError('share_failed', NO_NGROK_TOKEN_MESSAGE);
    if (!provider) {
      throw new LatticeError(
        'share_failed',
        'This computer is not paired with a hub, so it cannot share through the relay; pair it (lattice pair) or share via ngrok',
      );
    }

    const id = `sh_${randomBytes(8).toString('hex')}`;
    const createdAt = new Date(this.now()).toISOString();
    const ms = this.opts.expiresInMs ?? EXPIRY_MS[args.expires];
    const expiresAt = ms === null ? null : new Date(this.now() + ms).toISOString();
    const secrets: ShareSecrets = {};
    if (args.basicAuth === true) {
      secrets.basicAuth = { username: 'visitor', password: randomBytes(18).toString('base64url') };
    } else if (args.basicAuth) {
      secrets.basicAuth = { username: args.basicAuth.username, password: args.basicAuth.password };
    }
    if (target.kind === 's3') secrets.s3 = newS3ShareKey();

    // Intent first: a crash from here on leaves an `opening` row that the next start cleans up.
    this.creating.add(id);
    this.repo.insert({
      id,
      workloadId: workload.id,
      workloadName: workload.name,
      via,
      kind: target.kind,
      status: 'opening',
      portName: target.portName,
      containerPort: target.containerPort,
      url: null,
      publicHost: null,
      publicPort: null,
      readOnly: args.readOnly,
      basicAuth: !!secrets.basicAuth,
      plain: target.kind === 'tcp' && !!args.plain,
      bucket: target.kind === 's3' ? (args.bucket ?? null) : null,
      // Recorded before the role exists, so a crash after CREATE ROLE still finds it to drop.
      roleName: target.kind === 'postgres' ? shareRoleName(id) : null,
      sealed: this.seal(id, secrets),
      message: null,
      createdAt,
      expiresAt,
    });
    let endpoint: TunnelEndpoint | undefined;
    let roleName: string | undefined;
    const owner =
      target.kind === 'postgres' ? this.ownerOf(resolved.credentials, target.hostPort) : undefined;
    try {
      // A database share crosses the internet: its server gets TLS first, or there is no share.
      if (owner) {
        try {
          await this.databaseTls.ensure(workload.id);
        } catch (err) {
          throw asShareFailed(err, `Could not give ${workload.name} TLS for the share`);
        }
      }
      const localPort =
        target.kind === 's3'
          ? await this.startS3Front(id, secrets, resolved.credentials, target.hostPort, {
              readOnly: args.readOnly,
              bucket: args.bucket,
            })
          : target.hostPort;
      endpoint = await provider.open(this.tunnelRequest(id, target.kind, localPort, secrets, expiresAt));
      secrets.hubTls = endpoint.tls;
      this.open.add(id);
      if (owner) {
        try {
          secrets.tls = await serverOffersTls(owner);
          if (!secrets.tls) throw new Error('the server still offers no TLS');
          const role = await createShareRole(owner, {
            shareId: id,
            readOnly: args.readOnly,
            validUntil: expiresAt ? new Date(expiresAt) : null,
          });
          roleName = role.name;
          secrets.password = role.password;
          secrets.database = owner.database;
        } catch (err) {
          throw asShareFailed(err, `Could not create a database role for the share of ${workload.name}`);
        }
      }
      const row = this.repo.update(id, {
        status: 'active',
        url: endpoint.url,
        publicHost: endpoint.publicHost,
        publicPort: endpoint.publicPort ?? null,
        roleName: roleName ?? null,
        sealed: this.seal(id, secrets),
      })!;
      this.armExpiry(row);
      const share = this.view(row);
      this.bus.emit({ type: 'share.changed', share });
      this.logger.info(
        { shareId: id, workload: workload.name, via, url: endpoint.url, expiresAt },
        'share created',
      );
      return share;
    } catch (err) {
      // No half-made share: no tunnel, no front, no role, no row.
      this.open.delete(id);
      await provider.close(id).catch(() => undefined);
      await this.stopS3Front(id);
      if (roleName && owner) await dropShareRole(owner, roleName).catch(() => undefined);
      this.repo.delete(id);
      this.logger.warn({ workload: workload.name, via, err: (err as Error).message }, 'share failed');
      throw asShareFailed(err, `Could not share ${workload.name}`);
    } finally {
      this.creating.delete(id);
    }
  }

  async revoke(ref: string): Promise<string[]> {
    let rows: ShareRow[];
    const byId = this.repo.byId(ref);
    if (byId) {
      rows = [byId];
    } else {
      let workloadId: string | undefined;
      try {
        workloadId = this.workloads.resolve(ref).workload.id;
      } catch {
        // The workload may be gone while rows still name it.
      }
      rows = this.repo.ofWorkload(workloadId ?? ref);
      if (!rows.length && !workloadId) {
        throw new LatticeError('not_found', `No share or workload named or with id "${ref}"`, 'ref');
      }
    }
    const revoked: string[] = [];
    for (const row of rows) {
      if (GONE.has(row.status)) continue;
      await this.lock.run(row.id, () => this.teardown(row.id, 'revoked'));
      revoked.push(row.id);
    }
    return revoked;
  }

  async list(): Promise<Share[]> {
    return this.repo
      .all()
      .filter((r) => !GONE.has(r.status) && !(r.status === 'opening' && !this.creating.has(r.id)))
      .map((r) => this.view(r));
  }

  /** Never rejects: a share that cannot re-open says why in its status. */
  async reopenAll(): Promise<void> {
    if (this.closed) return;
    const run = Promise.all(
      this.repo.all().map((row) => this.lock.run(row.id, () => this.reopenOne(row.id))),
    ).then(
      () => undefined,
      (err: unknown) => {
        if (!this.closed) this.logger.warn({ err: (err as Error).message }, 'could not re-open shares');
      },
    );
    this.reopening.add(run);
    await run.finally(() => this.reopening.delete(run));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const u of this.unsubscribe) u();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // Tunnels close with the agent; the rows stay and re-open (same address) at the next start.
    await this.ngrok.closeAll();
    this.detachRelay();
    // A re-open still under way (its tunnel now failing fast) finishes before the store can close.
    await Promise.allSettled([...this.reopening]);
    await Promise.all([...this.s3Fronts.keys()].map((id) => this.stopS3Front(id)));
    this.open.clear();
  }

  // ---- re-opening ----

  private async reopenOne(id: string): Promise<void> {
    const row = this.repo.byId(id);
    if (!row || this.closed) return;
    if (row.status === 'opening') {
      if (!this.creating.has(id)) await this.teardown(id, 'revoked', 'left half-made by an earlier run');
      return;
    }
    if (GONE.has(row.status)) {
      await this.teardown(id, row.status as 'revoked' | 'expired'); // the role drop that failed before
      return;
    }
    if (row.expiresAt !== null && Date.parse(row.expiresAt) <= this.now()) {
      await this.teardown(id, 'expired');
      return;
    }
    this.armExpiry(row);
    if (this.open.has(id)) return;
    let target;
    let secrets: ShareSecrets;
    let localPort: number;
    try {
      const resolved = this.workloads.resolve(row.workloadId);
      target = pickShareTarget(resolved.workload, String(row.containerPort));
      secrets = this.unseal(row);
      if (row.kind === 'postgres' && row.roleName) await this.reopenDatabaseTls(row, secrets);
      localPort = target.hostPort;
      if (row.kind === 's3') {
        if (!secrets.s3) {
          // A share from before per-share keys handed out the root key: it gets its own key now.
          secrets.s3 = newS3ShareKey();
          this.repo.update(id, { sealed: this.seal(id, secrets) });
          this.logger.warn({ shareId: id }, 'an S3 share made before per-share keys got its own key');
        }
        localPort =
          this.s3Fronts.get(id)?.port ??
          (await this.startS3Front(id, secrets, resolved.credentials, target.hostPort, {
            readOnly: row.readOnly,
            bucket: row.bucket ?? undefined,
          }));
      }
    } catch (err) {
      // Stopping: the row stays as it was and re-opens at the next start.
      if (!this.closed) this.setStatus(id, 'failed', `Cannot re-open: ${(err as Error).message}`);
      return;
    }
    if (this.closed) return;
    const req = this.tunnelRequest(
      id,
      row.kind,
      localPort,
      secrets,
      row.expiresAt,
      row.publicPort ?? undefined,
    );
    if (row.via === 'relay') {
      if (!this.relay) {
        this.setStatus(id, 'reopening', 'Waiting for the hub link to re-open the relay');
        return;
      }
      this.open.add(id);
      this.setStatus(id, 'reopening', null);
      // Non-blocking: the relay opens now if the hub is connected and after every reconnect.
      this.relay.restore(req);
      return;
    }
    try {
      const endpoint = await this.ngrok.open(req);
      if (this.closed) return;
      this.open.add(id);
      this.applyEndpoint(id, endpoint);
    } catch (err) {
      if (!this.closed) this.setStatus(id, 'failed', (err as Error).message);
    }
  }

  /**
   * A database share's string asks for TLS: make sure the server gives it (a share from before TLS
   * existed turns it on here). Failing that, the share still re-opens; its status says why logins fail.
   */
  private async reopenDatabaseTls(row: ShareRow, secrets: ShareSecrets): Promise<void> {
    try {
      await this.databaseTls.ensure(row.workloadId);
      if (!secrets.tls) {
        secrets.tls = true;
        this.repo.update(row.id, { sealed: this.seal(row.id, secrets) });
      }
    } catch (err) {
      this.logger.warn(
        { shareId: row.id, err: (err as Error).message },
        'the shared database could not be given TLS; its connection string asks for it',
      );
    }
  }

  private onRelayUpdate(update: TunnelUpdate): void {
    const row = this.repo.byId(update.shareId);
    if (!row || GONE.has(row.status) || row.status === 'opening') return;
    if (update.state === 'open') this.applyEndpoint(row.id, update.endpoint);
    else this.setStatus(row.id, 'reopening', update.message);
  }

  private applyEndpoint(id: string, endpoint: TunnelEndpoint): void {
    const before = this.repo.byId(id);
    if (!before) return;
    if (before.publicPort !== null && endpoint.publicPort !== before.publicPort) {
      this.logger.warn(
        { shareId: id, was: before.url, now: endpoint.url },
        'share re-opened on another address',
      );
    }
    // How the hub secures the public side may have changed (it got a certificate): the strings follow.
    const secrets = this.unseal(before);
    secrets.hubTls = endpoint.tls;
    const row = this.repo.update(id, {
      status: 'active',
      url: endpoint.url,
      publicHost: endpoint.publicHost,
      publicPort: endpoint.publicPort ?? null,
      message: null,
      sealed: this.seal(id, secrets),
    })!;
    this.bus.emit({ type: 'share.changed', share: this.view(row) });
  }

  // ---- ending ----

  /**
   * Closes the tunnel (and with it every visitor connection), drops the database role and deletes
   * the row. If the role cannot be dropped now (the database is stopped), the row stays, hidden,
   * and the drop is retried at the next start; the role's VALID UNTIL still bounds it.
   */
  private async teardown(id: string, final: 'revoked' | 'expired', why?: string): Promise<void> {
    const row = this.repo.byId(id);
    if (!row) return;
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.open.delete(id);
    await this.providerFor(row.via)
      ?.close(id)
      .catch((err) =>
        this.logger.warn({ shareId: id, err: (err as Error).message }, 'closing the tunnel failed'),
      );
    // The share's S3 key dies with its front.
    await this.stopS3Front(id);
    const wasVisible = !GONE.has(row.status);
    if (row.roleName) {
      try {
        const { workload, credentials } = this.workloads.resolve(row.workloadId);
        const { hostPort } = pickShareTarget(workload, String(row.containerPort));
        await dropShareRole(this.ownerOf(credentials, hostPort), row.roleName);
      } catch (err) {
        if (!(err instanceof LatticeError && err.code === 'not_found')) {
          this.repo.update(id, {
            status: final,
            message: `The database role could not be dropped yet (${(err as Error).message}); retried at the next start`,
          });
          this.logger.warn({ shareId: id, err: (err as Error).message }, 'share role drop deferred');
          if (wasVisible) this.bus.emit({ type: 'share.removed', id });
          return;
        }
      }
    }
    this.repo.delete(id);
    this.logger.info({ shareId: id, workload: row.workloadName, final, why }, `share ${final}`);
    if (wasVisible) this.bus.emit({ type: 'share.removed', id });
  }

  private armExpiry(row: ShareRow): void {
    clearTimeout(this.timers.get(row.id));
    this.timers.delete(row.id);
    if (row.expiresAt === null || this.closed) return;
    const left = Date.parse(row.expiresAt) - this.now();
    const timer = setTimeout(() => {
      this.timers.delete(row.id);
      const current = this.repo.byId(row.id);
      if (!current || GONE.has(current.status)) return;
      if (Date.parse(row.expiresAt!) > this.now()) return this.armExpiry(current);
      void this.lock.run(row.id, () => this.teardown(row.id, 'expired'));
    }, timerDelay(left));
    timer.unref();
    this.timers.set(row.id, timer);
  }

  /** The workload is deleted: its container (and the roles in it) went with it; close the tunnels. */
  private async forgetWorkload(workloadId: string): Promise<void> {
    for (const row of this.repo.ofWorkload(workloadId)) {
      await this.lock.run(row.id, async () => {
        this.repo.update(row.id, { roleName: null });
        await this.teardown(row.id, 'revoked', 'its workload was deleted');
      });
    }
  }

  // ---- plumbing ----

  private attachRelay(link: HubLink | undefined): void {
    this.detachRelay();
    if (!link) return;
    const relay = new RelayTunnelProvider({
      link,
      hubUrl: link.hubUrl,
      deviceToken: link.deviceToken,
      ...(link.trustedCa ? { ca: link.trustedCa } : {}),
      logger: this.logger,
      replyTimeoutMs: this.opts.relayReplyTimeoutMs,
    });
    this.relay = relay;
    this.relayUnsubscribe = [
      relay.onUpdate((u) => this.onRelayUpdate(u)),
      link.onStatus((connected) => {
        if (connected) return;
        for (const row of this.repo.all()) {
          if (row.via === 'relay' && row.status === 'active') {
            this.setStatus(row.id, 'reopening', 'The hub is unreachable; the share comes back when it is');
          }
        }
      }),
    ];
  }

  private detachRelay(): void {
    for (const u of this.relayUnsubscribe) u();
    this.relayUnsubscribe = [];
    const relay = this.relay;
    this.relay = undefined;
    if (!relay) return;
    void relay.closeAll();
    for (const row of this.repo.all()) if (row.via === 'relay') this.open.delete(row.id);
  }

  private providerFor(via: ShareVia): TunnelProvider | undefined {
    return via === 'ngrok' ? this.ngrok : this.relay;
  }

  private tunnelRequest(
    shareId: string,
    kind: ShareRow['kind'],
    localPort: number,
    secrets: ShareSecrets,
    expiresAt: string | null,
    preferredPort?: number,
  ): TunnelOpenRequest {
    return {
      shareId,
      kind: kind === 'http' ? 'http' : 'tcp',
      // Workload ports are published on 127.0.0.1 (or every interface with LAN access): loopback reaches both.
      localHost: '127.0.0.1',
      localPort,
      basicAuth: secrets.basicAuth,
      expiresAt,
      preferredPort,
      // Where the hub has a certificate: Postgres's own TLS negotiation, TLS from the first byte, or
      // plain for a TCP share that asked for it.
      protection:
        kind === 'postgres' ? 'postgres' : kind === 'tcp' && this.repo.byId(shareId)?.plain ? 'plain' : 'tls',
    };
  }

  private ownerOf(creds: Credentials, hostPort: number): PgOwner {
    if (!creds.username || !creds.password || !creds.database) {
      throw new LatticeError(
        'share_failed',
        'The workload has no stored database credentials to create a share role with',
      );
    }
    return {
      host: '127.0.0.1',
      port: hostPort,
      user: creds.username,
      password: creds.password,
      database: creds.database,
    };
  }

  private setStatus(id: string, status: ShareRow['status'], message: string | null): void {
    const before = this.repo.byId(id);
    if (!before || (before.status === status && before.message === message)) return;
    const row = this.repo.update(id, { status, message })!;
    this.bus.emit({ type: 'share.changed', share: this.view(row) });
  }

  private view(row: ShareRow): Share {
    return shareView(row, this.unseal(row));
  }

  /**
   * Starts the S3 front of a share: visitors sign with the share's key, the front re-signs with the
   * workload's root key toward its loopback port. Returns the front's port, the tunnel's local end.
   */
  private async startS3Front(
    id: string,
    secrets: ShareSecrets,
    root: Credentials,
    hostPort: number,
    scope: { readOnly: boolean; bucket?: string },
  ): Promise<number> {
    if (!secrets.s3) throw new LatticeError('internal', 'An S3 share without its key');
    if (!root.username || !root.password) {
      throw new LatticeError('share_failed', 'The workload has no stored S3 root key to sign requests with');
    }
    await this.stopS3Front(id);
    const front = await S3ShareProxy.start({
      key: secrets.s3,
      scope,
      upstream: {
        host: '127.0.0.1',
        port: hostPort,
        key: { accessKeyId: root.username, secretAccessKey: root.password },
      },
      logger: this.logger.child({ shareId: id }),
    });
    this.s3Fronts.set(id, front);
    return front.port;
  }

  private async stopS3Front(id: string): Promise<void> {
    const front = this.s3Fronts.get(id);
    if (!front) return;
    this.s3Fronts.delete(id);
    await front
      .close()
      .catch((err) =>
        this.logger.warn({ shareId: id, err: (err as Error).message }, 'closing the S3 front failed'),
      );
  }

  private seal(id: string, secrets: ShareSecrets): string {
    return this.box.sealJson(secrets, `share:${id}`);
  }

  private unseal(row: ShareRow): ShareSecrets {
    return row.sealed ? this.box.openJson<ShareSecrets>(row.sealed, `share:${row.id}`) : {};
  }
}
