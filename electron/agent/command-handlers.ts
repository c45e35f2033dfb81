// The handler table: what each command of shared/commands.ts does in this agent. The dispatcher
// (dispatcher.ts) has already checked the door, parsed the arguments and will check the result.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SystemInfo } from '../../shared';
import { resolveBindSources } from './bind-paths';
import { toLatticeError, type Handlers } from './dispatcher';
import type { Engine } from './docker/engine';
import type { EventBus } from './event-bus';
import type { HubConnection } from './hub-connection';
import type { HubInventory } from './hub-inventory';
import { parseHubCa } from './hub-ca';
import { pairWithHub } from './hub-link';
import { checkDeploy } from './policy';
import type { SettingsService } from './settings-service';
import type { ShareService } from './shares/share-service';
import type { WorkloadService } from './workloads';

export interface CommandHandlerDeps {
  workloads: WorkloadService;
  engine: Engine;
  shares: ShareService;
  settings: SettingsService;
  hub: HubConnection;
  /** The remote-deploy memory cap is checked against what remote workloads use now. */
  inventory: HubInventory;
  bus: EventBus;
  logger: Logger;
  /** Images the catalog deploys here (defaults and configured overrides): they need no approval. */
  catalogImages: string[];
  systemInfo(): SystemInfo;
}

export function createCommandHandlers(deps: CommandHandlerDeps): Handlers {
  const { workloads, engine, shares, settings, hub, inventory, bus, logger, catalogImages } = deps;
  return {
    'workload.deploy': async ({ share, ...spec }, ctx) => {
      // Whatever socket the agent reaches its engine through is refused as a bind mount, not only /var/run/docker.sock.
      const plain = { ...settings.plain(), engineSockets: engine.sockets() };
      // Checked as given (a remote bind mount is refused by name), then again with the bind sources
      // resolved through symlinks, so a link cannot lead outside the folders the owner allowed.
      checkDeploy(spec, ctx, plain, catalogImages);
      const resolved = resolveBindSources(spec);
      const decision = checkDeploy(resolved, ctx, plain, catalogImages);
      if (ctx.door === 'remote') {
        await inventory.checkRemoteMemory(spec.template === 'custom' ? (spec.memory ?? 0) : 0);
      }
      const workload = await workloads.deploy(resolved, ctx, decision);
      if (!share) return workload;
      // Deploy and share in one step: the share once the workload is ready. If it cannot be made,
      // the workload stays deployed and the answer says why.
      if (workload.status !== 'running') {
        const why = workload.message ? `: ${workload.message}` : '';
        return {
          ...workload,
          shareError: {
            code: 'share_failed',
            message: `Not shared: the workload is ${workload.status}${why}`,
          },
        };
      }
      try {
        return { ...workload, share: await shares.create({ ...share, workload: workload.id }) };
      } catch (err) {
        logger.warn(
          { workload: workload.name, err: (err as Error).message },
          'deployed, but the share failed',
        );
        return { ...workload, shareError: toLatticeError(err).toBody() };
      }
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
    'share.create': (args) => shares.create(args),
    'share.revoke': async ({ ref }) => ({ revoked: await shares.revoke(ref) }),
    'share.list': () => shares.list(),
    'settings.get': async () => settings.get(),
    'settings.set': async (patch) => {
      const engineChoice = engine.checkChoice(patch);
      const changed = settings.set(engineChoice ? { ...patch, ...engineChoice } : patch);
      // Another engine picked: reconnect now, no restart (the docker.status event tells every console).
      if (engineChoice) await engine.reconnect();
      bus.emit({ type: 'settings.changed', settings: changed });
      return changed;
    },
    'system.info': async () => deps.systemInfo(),
    'hub.pair': async ({ hubUrl, code, name, hubCaPem }) => {
      // A bad CA is refused before the hub is asked, so nothing changes (the code stays unused).
      const caPem = hubCaPem === undefined ? undefined : parseHubCa(hubCaPem);
      const paired = await pairWithHub({
        hubUrl,
        code,
        name: name ?? hostname(),
        ...(caPem ? { caPem } : {}),
      });
      await hub.stop();
      settings.setHub({
        url: hubUrl,
        deviceId: paired.deviceId,
        deviceToken: paired.deviceToken,
        ...(caPem ? { caPem } : {}),
      });
      logger.info({ hubUrl, deviceId: paired.deviceId, privateCa: Boolean(caPem) }, 'paired with the hub');
      hub.start(hubUrl, paired.deviceToken, caPem);
      return { deviceId: paired.deviceId, hubUrl };
    },
    'hub.unpair': async () => {
      await hub.stop();
      settings.setHub(null);
      bus.emit({ type: 'hub.status', connected: false, url: null });
      logger.info('unpaired from the hub');
      return { ok: true as const };
    },
  };
}
