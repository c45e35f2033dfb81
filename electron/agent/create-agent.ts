// Assembles the agent: data dir, logger, secrets key, store, Docker engine, workloads, reconciler,
// dispatcher, hub link and (when plugged in) sharing. Starts without Docker and recovers by itself.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import {
  DATA_FILES,
  LatticeError,
  TEMPLATES,
  templateImage,
  type AgentEvent,
  type CommandContext,
  type LogLine,
  type SystemInfo,
} from '../../shared';
import type { Agent, AgentOptions } from './agent';
import { createLogger } from './logger';
import { EventBus } from './event-bus';
import { fileKeyProvider, SecretBox } from './secrets';
import { openStore } from './store';
import { SettingsService } from './settings-service';
import { Engine } from './docker/engine';
import { parseExtraLabels } from './docker/container-spec';
import { WorkloadService } from './workloads';
import { Reconciler } from './reconcile';
import { checkDeploy } from './policy';
import { resolveBindSources } from './bind-paths';
import { createDispatcher, type Handlers } from './dispatcher';
import { HubLink, pairWithHub } from './hub-link';
import type { AgentInternals, ShareService } from './share-service';

export const DB_FILE = DATA_FILES.db;

const AGENT_VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const env = opts.env ?? process.env;
  const dataDir = opts.dataDir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logger = createLogger(dataDir, env);
  const bus = new EventBus(logger);
  const keyProvider = opts.keyProvider ?? fileKeyProvider;
  const box = new SecretBox(keyProvider.loadOrCreateKey(dataDir));
  const store = openStore(join(dataDir, DB_FILE));

  let hubLink: HubLink | undefined;
  const hubLinkListeners = new Set<(l: HubLink | undefined) => void>();
  const settings = new SettingsService(store, box, dataDir, () => hubLink?.connected ?? false);
  const ownerId = settings.ownerId();
  store.commands.prune();

  const engine = new Engine(opts.docker, logger);
  const workloads = new WorkloadService({
    store,
    box,
    engine,
    bus,
    logger,
    env,
    labels: { ownerId, extraLabels: parseExtraLabels(env.LATTICE_EXTRA_LABELS) },
    lanAccess: () => settings.plain().lanAccess,
  });
  const reconciler = new Reconciler(store, workloads, engine, ownerId, logger);

  engine.onStatus((docker) => {
    bus.emit({ type: 'docker.status', docker });
    if (docker.available) {
      reconciler.reconcile().catch((err) => logger.warn({ err: (err as Error).message }, 'reconcile failed'));
    }
  });

  // The images the catalog deploys here (defaults and configured overrides) need no approval.
  const catalogImages = Object.values(TEMPLATES)
    .flatMap((t) => [t.defaultImage, templateImage(t, env)])
    .filter((x): x is string => !!x);

  // ---- hub link ----
  const setHubLink = (link: HubLink | undefined) => {
    hubLink = link;
    for (const cb of hubLinkListeners) cb(link);
  };
  const startHubLink = (hubUrl: string, deviceToken: string) => {
    const link = new HubLink({
      hubUrl,
      deviceToken,
      name: hostname(),
      dispatch,
      onEvent: (l) => bus.on(l),
      logger: logger.child({ component: 'hub-link' }),
    });
    link.onStatus((connected) => bus.emit({ type: 'hub.status', connected, url: hubUrl }));
    link.start();
    setHubLink(link);
  };
  const stopHubLink = async () => {
    const link = hubLink;
    setHubLink(undefined);
    await link?.stop();
  };

  // ---- sharing (plugged in) ----
  let shares: ShareService | undefined;
  const noSharing = () => new LatticeError('share_failed', 'Sharing is not available in this agent');

  const systemInfo = (): SystemInfo => ({
    agentVersion: AGENT_VERSION,
    dataDir,
    docker: engine.status,
    keyProtection: keyProvider.protection,
  });

  const handlers: Handlers = {
    'workload.deploy': async (spec, ctx) => {
      const plain = settings.plain();
      checkDeploy(spec, ctx, plain, catalogImages);
      const resolved = resolveBindSources(spec);
      const decision = checkDeploy(resolved, ctx, plain, catalogImages);
      return workloads.deploy(resolved, ctx, decision);
    },
    'workload.list': () => workloads.list(),
    'workload.get': ({ ref }) => workloads.get(ref),
    'workload.start': ({ ref }) => workloads.start(ref),
    'workload.stop': ({ ref }) => workloads.stop(ref),
    'workload.restart': ({ ref }) => workloads.restart(ref),
    'workload.delete': ({ ref, volumes }) => workloads.delete(ref, volumes),
    'workload.logs': async ({ ref, tail }) => ({ lines: await workloads.logs(ref, tail) }),
    'workload.stats': ({ ref }) => workloads.stats(ref),
    'workload.approve': ({ ref }) => workloads.approve(ref),
    'share.create': (args, ctx) => {
      if (!shares) throw noSharing();
      return shares.create(args, ctx);
    },
    'share.revoke': async ({ ref }) => {
      if (!shares) throw noSharing();
      return { revoked: await shares.revoke(ref) };
    },
    'share.list': async () => {
      if (!shares) throw noSharing();
      return shares.list();
    },
    'settings.get': async () => settings.get(),
    'settings.set': async (patch) => {
      const changed = settings.set(patch);
      bus.emit({ type: 'settings.changed', settings: changed });
      return changed;
    },
    'system.info': async () => systemInfo(),
    'hub.pair': async ({ hubUrl, code, name }) => {
      const paired = await pairWithHub({ hubUrl, code, name: name ?? hostname() });
      await stopHubLink();
      settings.setHub({ url: hubUrl, deviceId: paired.deviceId, deviceToken: paired.deviceToken });
      logger.info({ hubUrl, deviceId: paired.deviceId }, 'paired with the hub');
      startHubLink(hubUrl, paired.deviceToken);
      return { deviceId: paired.deviceId, hubUrl };
    },
    'hub.unpair': async () => {
      await stopHubLink();
      settings.setHub(null);
      bus.emit({ type: 'hub.status', connected: false, url: null });
      logger.info('unpaired from the hub');
      return { ok: true as const };
    },
  };

  const dispatch = createDispatcher({
    handlers,
    store,
    box,
    logger,
    onError: (err) => engine.noteFailure(err),
  });

  // ---- start ----
  const internals: AgentInternals = {
    db: store.db,
    box,
    bus,
    logger: logger.child({ component: 'shares' }),
    dataDir,
    ownerId,
    resolveWorkload: (ref) => workloads.resolve(ref),
    ngrokAuthtoken: () => settings.ngrokAuthtoken(),
    settings: () => settings.get(),
    hubLink: () => hubLink,
    onHubLink: (cb) => {
      hubLinkListeners.add(cb);
      return () => hubLinkListeners.delete(cb);
    },
  };
  try {
    await engine.start();
    reconciler.watch();
    if (engine.available) {
      await reconciler
        .reconcile()
        .catch((err) => logger.warn({ err: (err as Error).message }, 'reconcile failed'));
    }
    // Sharing before the hub link, so a share command relayed at once finds it in place.
    if (opts.shareServiceFactory) shares = await opts.shareServiceFactory(internals);
    const hub = settings.hub();
    const hubUrl = opts.hubUrl ?? hub.url;
    if (hubUrl && hub.deviceToken) startHubLink(hubUrl, hub.deviceToken);
    shares
      ?.reopenAll()
      .catch((err) => logger.warn({ err: (err as Error).message }, 'could not re-open shares'));
  } catch (err) {
    // A failed start must not leave a probe timer, an event stream or the database open.
    await stopHubLink().catch(() => undefined);
    await shares?.close().catch(() => undefined);
    reconciler.close();
    engine.close();
    await workloads.close();
    store.close();
    throw err;
  }
  logger.info({ dataDir, ownerId, docker: engine.available }, 'agent started');

  let closed = false;
  const agent: Agent = {
    dataDir,
    ownerId,
    dispatch,
    onEvent: (listener: (e: AgentEvent) => void) => bus.on(listener),
    followLogs: (
      ref: string,
      tail: number,
      onLine: (l: LogLine) => void,
      _ctx: CommandContext,
      onEnd?: () => void,
    ) => workloads.followLogs(ref, tail, onLine, onEnd),
    wake: async () => {
      hubLink?.reconnectNow();
      await engine.probe();
      await shares?.reopenAll();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await stopHubLink();
      await shares?.close().catch(() => undefined);
      reconciler.close();
      engine.close();
      await workloads.close();
      store.close();
      bus.clear();
      logger.info('agent stopped');
      logger.flush?.();
    },
  };
  return agent;
}
