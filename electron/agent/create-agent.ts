// Assembles the agent: data dir, logger, secrets key, store, Docker engine, workloads, reconciler,
// sharing, dispatcher and hub link. Starts without Docker and recovers by itself.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DATA_FILES,
  TEMPLATES,
  templateImage,
  type AgentEvent,
  type Dispatch,
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
import { discoveryEnvOf, optionHost } from './docker/engine-discovery';
import { parseExtraLabels } from './docker/container-spec';
import { WorkloadService } from './workloads';
import { Reconciler } from './reconcile';
import { createDispatcher } from './dispatcher';
import { createCommandHandlers } from './command-handlers';
import { HubConnection } from './hub-connection';
import { HubInventory } from './hub-inventory';
import { ShareService } from './shares/share-service';
import { DatabaseTls, type DatabaseWorkload } from './tls/database-tls';
import { findOwnedContainer } from './docker/owned-containers';
import { LATTICE_VERSION } from '../../shared/version';

export const DB_FILE = DATA_FILES.db;

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const env = opts.env ?? process.env;
  const dataDir = opts.dataDir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logger = createLogger(dataDir, env);
  const bus = new EventBus(logger);
  const keyProvider = opts.keyProvider ?? fileKeyProvider;
  const box = new SecretBox(keyProvider.loadOrCreateKey(dataDir));
  const store = openStore(join(dataDir, DB_FILE));

  // The hub link carries commands into the dispatcher, which is built below from handlers that
  // themselves pair and unpair the link: the link gets a forwarder, called only once it is dialled.
  const dispatchLater: Dispatch = (name, args, ctx) => dispatch(name, args, ctx);
  const hub = new HubConnection({ dispatch: dispatchLater, bus, logger });
  const settings = new SettingsService(store, box, dataDir, () => hub.connected);
  const ownerId = settings.ownerId();
  store.commands.prune();

  // Found as the docker CLI finds it; the owner's choice in Settings is re-read at every probe.
  const engine = new Engine(
    {
      discovery: discoveryEnvOf(env),
      option: optionHost(opts.docker, opts.dockerHost),
      setting: () => settings.plain(),
    },
    logger,
  );
  // Every Postgres workload serves TLS with a certificate from this computer's own CA.
  const databaseTls: DatabaseTls = new DatabaseTls({
    secrets: store.secrets,
    box,
    logger: logger.child({ component: 'tls' }),
    workload: (id): DatabaseWorkload => {
      const { row, credentials, hostPorts } = workloads.resolve(id);
      return {
        id: row.id,
        name: row.name,
        template: row.template,
        // Another engine's database is not renewed or given TLS from here (its sweep skips it).
        status: workloads.isElsewhere(row) ? 'elsewhere' : row.status,
        credentials,
        hostPorts,
      };
    },
    workloadIds: () => store.workloads.all().map((w) => w.id),
    container: async (id) => {
      const row = store.workloads.byId(id);
      return row ? (await findOwnedContainer(engine.require(), row, ownerId))?.container : undefined;
    },
  });
  const workloads = new WorkloadService({
    store,
    box,
    engine,
    bus,
    logger,
    env,
    labels: { ownerId, extraLabels: parseExtraLabels(env.LATTICE_EXTRA_LABELS) },
    lanAccess: () => settings.plain().lanAccess,
    databaseTls,
  });
  bus.on((event) => {
    if (event.type === 'workload.removed') databaseTls.forget(event.id);
  });
  const reconciler = new Reconciler(store, workloads, engine, ownerId, logger);
  // Built before the hub link starts, so a share command relayed at once finds it in place.
  const shares = new ShareService(
    { store, box, bus, workloads, settings, hub, databaseTls, logger: logger.child({ component: 'shares' }) },
    opts.sharing,
  );

  // Reports to the hub what it keeps of this computer: workloads without secrets, and capacity.
  const inventory = new HubInventory({ hub, bus, workloads, settings, engine, dataDir, logger });

  engine.onStatus((docker) => {
    bus.emit({ type: 'docker.status', docker });
    if (docker.available) {
      reconciler.reconcile().catch((err) => logger.warn({ err: (err as Error).message }, 'reconcile failed'));
    }
  });

  const systemInfo = (): SystemInfo => ({
    agentVersion: LATTICE_VERSION,
    dataDir,
    docker: engine.status,
    dockerContexts: engine.contexts(),
    keyProtection: keyProvider.protection,
  });
  const dispatch = createDispatcher({
    handlers: createCommandHandlers({
      workloads,
      engine,
      shares,
      settings,
      hub,
      inventory,
      bus,
      logger,
      catalogImages: Object.values(TEMPLATES)
        .flatMap((t) => [t.defaultImage, templateImage(t, env)])
        .filter((x): x is string => !!x),
      systemInfo,
    }),
    store,
    box,
    logger,
    onError: (err) => engine.noteFailure(err),
  });

  const closeParts = async () => {
    inventory.stop();
    await hub.stop();
    await shares.close().catch(() => undefined);
    databaseTls.close();
    reconciler.close();
    engine.close();
    await workloads.close();
    store.close();
  };

  try {
    await engine.start();
    reconciler.watch();
    if (engine.available) {
      await reconciler
        .reconcile()
        .catch((err) => logger.warn({ err: (err as Error).message }, 'reconcile failed'));
      // Databases made before TLS existed get it now; certificates due are renewed (then daily).
      databaseTls.start();
    }
    inventory.start();
    const paired = settings.hub();
    const hubUrl = opts.hubUrl ?? paired.url;
    if (hubUrl && paired.deviceToken) hub.start(hubUrl, paired.deviceToken, paired.caPem);
    shares
      .reopenAll()
      .catch((err) => logger.warn({ err: (err as Error).message }, 'could not re-open shares'));
  } catch (err) {
    // A failed start must not leave a probe timer, an event stream or the database open.
    await closeParts().catch(() => undefined);
    throw err;
  }
  logger.info({ dataDir, ownerId, docker: engine.available }, 'agent started');

  let closed = false;
  return {
    dataDir,
    ownerId,
    dispatch,
    onEvent: (listener: (e: AgentEvent) => void) => bus.on(listener),
    followLogs: (ref: string, tail: number, onLine: (l: LogLine) => void, onEnd?: () => void) =>
      workloads.followLogs(ref, tail, onLine, onEnd),
    wake: async () => {
      hub.current?.reconnectNow();
      await engine.probe();
      await shares.reopenAll();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await closeParts();
      bus.clear();
      logger.info('agent stopped');
      logger.flush?.();
    },
  };
}
