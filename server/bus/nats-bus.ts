// Hub processes connected through NATS (`lattice hub --bus nats://…`). Subjects:
// - `lattice.device.<id>.command` — request/reply, subscribed only by the hub holding the device's
//   socket: a command posted to any hub reaches it; no responder means no hub holds the device.
// - `lattice.events` — dashboard events with their user; every hub hands them to its own dashboards.
// - `lattice.presence` — a hub took or lost a device's socket. Taking it (with the time) tells a hub
//   holding an older socket of the same device to close it: one live connection per device.
// - `lattice.device.<id>.stream` — request/reply, like commands: a visitor reached another hub than
//   the one holding the device; the holder has the agent dial a stream to the visitor's hub.
// - `lattice.relay.shares` — a share opened or ended, so every hub listens on every live share's
//   port (the load balancer may send a visitor anywhere); `lattice.relay.hello` — a hub started and
//   asks the others to tell their shares again.
// - `lattice.hubs` — each hub's devices every few seconds, so a hub that died without a word stops
//   counting as holding them, and a hub that starts learns who holds what.
import { randomUUID } from 'node:crypto';
import {
  connect,
  ErrorCode,
  Events,
  JSONCodec,
  type NatsConnection,
  type NatsError,
  type Subscription,
} from 'nats';
import type { Logger } from 'pino';
import type { DashboardEvent, Result } from '../../shared';
import { parseBusUrl } from './bus-url';
import type { BusHandlers, HubBus, RelayShareNotice, RemoteCommand, StreamRequest } from './hub-bus';

const HUB_BEAT_MS = 2_000;
/** A hub not heard from for this long holds nothing. */
const HUB_SILENCE_MS = 3 * HUB_BEAT_MS;

interface EventMessage {
  from: string;
  userId: string;
  event: DashboardEvent;
}
interface PresenceMessage {
  hubId: string;
  deviceId: string;
  online: boolean;
  /** When this hub's socket of the device opened (ms since epoch): the newer socket wins. */
  since: number;
}
interface HubBeat {
  hubId: string;
  devices: string[];
}

/** Device ids are plain tokens; anything else is hex-encoded so it is one subject token. */
const subjectToken = (id: string) =>
  /^[A-Za-z0-9_-]+$/.test(id) ? id : `x${Buffer.from(id).toString('hex')}`;
/** What other hubs ask of a device's hub: `.command`, `.stream`, or `*` (the holder's subscription). */
const deviceSubject = (deviceId: string, what: 'command' | 'stream' | '*') =>
  `lattice.device.${subjectToken(deviceId)}.${what}`;

type ShareMessage = { from: string } & (
  { open: true; notice: RelayShareNotice } | { open: false; shareId: string }
);

const failure = (code: 'timeout' | 'device_offline', message: string): Result<unknown> => ({
  ok: false,
  error: { code, message },
});

/** Connects to NATS; an unreachable server fails here, naming it. */
export async function connectNatsBus(busUrl: string, logger: Logger): Promise<HubBus> {
  const url = parseBusUrl(busUrl);
  const hubId = randomUUID();
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: `${url.hostname}:${url.port || 4222}`,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      pass: url.password ? decodeURIComponent(url.password) : undefined,
      tls: url.protocol === 'tls:' ? {} : undefined,
      name: `lattice-hub-${hubId}`,
      timeout: 5_000,
      // Once connected, keep trying for ever: a NATS restart must not take the hub down.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Without it every request captures two stack traces up front (for a timeout error it may
      // never raise): 8% of a hub's CPU per command relayed to another hub (profile of bench/hub).
      noAsyncTraces: true,
    });
  } catch (err) {
    const code = (err as NatsError).code ?? (err as Error).message;
    throw new Error(`cannot reach NATS at ${url.protocol}//${url.host} (${code})`);
  }
  const jc = JSONCodec();
  const log = logger.child({ part: 'bus', hubId });

  /** Devices held here, with the time their socket opened. */
  const local = new Map<string, number>();
  /** Devices held by other hubs: device → its hub and since when. */
  const remote = new Map<string, { hubId: string; since: number }>();
  const hubSeen = new Map<string, number>();
  const deviceSubs = new Map<string, Subscription>();
  let handlers: BusHandlers | undefined;
  const subs: Subscription[] = [];
  let beat: NodeJS.Timeout | undefined;

  const forgetHub = (id: string) => {
    hubSeen.delete(id);
    for (const [deviceId, where] of remote) if (where.hubId === id) remote.delete(deviceId);
  };

  let closing = false;
  // Sockets still closing while the hub shuts down have nothing left to tell the others.
  const publish = (subject: string, data: unknown) => {
    if (closing || nc.isClosed()) return;
    try {
      nc.publish(subject, jc.encode(data));
    } catch (err) {
      log.warn({ err, subject }, 'could not publish on the bus');
    }
  };
  /** This hub's shares, told again (a hub started, or the bus came back). */
  const retellShares = () => {
    for (const notice of handlers?.sharesHere() ?? []) bus.announceShare(notice);
  };
  const publishPresence = (deviceId: string, online: boolean, since: number) =>
    publish('lattice.presence', { hubId, deviceId, online, since } satisfies PresenceMessage);

  const bus: HubBus = {
    hubId,
    async start(h) {
      handlers = h;
      subs.push(
        nc.subscribe('lattice.events', {
          callback: (err, msg) => {
            if (err) return;
            const m = jc.decode(msg.data) as EventMessage;
            if (m.from !== hubId) handlers?.deliverEvent(m.userId, m.event);
          },
        }),
        nc.subscribe('lattice.presence', {
          callback: (err, msg) => {
            if (err) return;
            const m = jc.decode(msg.data) as PresenceMessage;
            if (m.hubId === hubId) return;
            hubSeen.set(m.hubId, Date.now());
            if (m.online) {
              remote.set(m.deviceId, { hubId: m.hubId, since: m.since });
              const mine = local.get(m.deviceId);
              // The newer socket wins (ties by hub id, so both hubs agree on one).
              if (mine !== undefined && (mine < m.since || (mine === m.since && hubId < m.hubId))) {
                log.info(
                  { deviceId: m.deviceId, to: m.hubId },
                  'device connected through another hub; closing ours',
                );
                handlers?.closeAgent(m.deviceId);
              }
            } else if (remote.get(m.deviceId)?.hubId === m.hubId) {
              remote.delete(m.deviceId);
            }
          },
        }),
        nc.subscribe('lattice.relay.shares', {
          callback: (err, msg) => {
            if (err) return;
            const m = jc.decode(msg.data) as ShareMessage;
            if (m.from === hubId) return;
            if (m.open) handlers?.shareOpened(m.notice);
            else handlers?.shareClosed(m.shareId);
          },
        }),
        nc.subscribe('lattice.relay.hello', {
          callback: (err, msg) => {
            if (err || (jc.decode(msg.data) as { from: string }).from === hubId) return;
            retellShares();
          },
        }),
        nc.subscribe('lattice.hubs', {
          callback: (err, msg) => {
            if (err) return;
            const m = jc.decode(msg.data) as HubBeat;
            if (m.hubId === hubId) return;
            hubSeen.set(m.hubId, Date.now());
            const held = new Set(m.devices);
            for (const [deviceId, where] of remote) {
              if (where.hubId === m.hubId && !held.has(deviceId)) remote.delete(deviceId);
            }
            for (const deviceId of held) {
              if (!remote.has(deviceId) && !local.has(deviceId))
                remote.set(deviceId, { hubId: m.hubId, since: 0 });
            }
          },
        }),
      );
      const sendBeat = () => {
        publish('lattice.hubs', { hubId, devices: [...local.keys()] } satisfies HubBeat);
        const now = Date.now();
        for (const [id, seen] of hubSeen) if (now - seen > HUB_SILENCE_MS) forgetHub(id);
      };
      sendBeat();
      publish('lattice.relay.hello', { from: hubId });
      // Shares announced while this hub was cut off from NATS, both ways: told again once it is back.
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type !== Events.Reconnect) continue;
          publish('lattice.relay.hello', { from: hubId });
          retellShares();
        }
      })().catch(() => undefined);
      beat = setInterval(sendBeat, HUB_BEAT_MS);
      beat.unref();
      await nc.flush();
    },
    publishEvent(userId, event) {
      publish('lattice.events', { from: hubId, userId, event } satisfies EventMessage);
    },
    agentConnected(deviceId) {
      const since = Date.now();
      local.set(deviceId, since);
      remote.delete(deviceId);
      deviceSubs.get(deviceId)?.unsubscribe();
      if (closing) return;
      // One subscription for what other hubs ask of the device: `.command` and `.stream`.
      deviceSubs.set(
        deviceId,
        nc.subscribe(deviceSubject(deviceId, '*'), {
          callback: (err, msg) => {
            if (err || !handlers) return;
            if (msg.subject.endsWith('.stream')) {
              const sent = handlers.openStream(jc.decode(msg.data) as StreamRequest);
              msg.respond(jc.encode({ sent }));
              return;
            }
            const req = jc.decode(msg.data) as RemoteCommand;
            void handlers
              .runCommand(req)
              .catch((e: unknown) => failure('device_offline', `The device's hub failed: ${String(e)}`))
              .then((result) => {
                if (!nc.isClosed()) msg.respond(jc.encode(result));
              });
          },
        }),
      );
      publishPresence(deviceId, true, since);
    },
    agentDisconnected(deviceId) {
      const since = local.get(deviceId);
      if (since === undefined) return;
      local.delete(deviceId);
      deviceSubs.get(deviceId)?.unsubscribe();
      deviceSubs.delete(deviceId);
      publishPresence(deviceId, false, since);
    },
    announceShare(notice) {
      publish('lattice.relay.shares', { from: hubId, open: true, notice } satisfies ShareMessage);
    },
    announceShareClosed(shareId) {
      publish('lattice.relay.shares', { from: hubId, open: false, shareId } satisfies ShareMessage);
    },
    async streamElsewhere(req, timeoutMs) {
      if (closing || nc.isClosed()) return false;
      try {
        const reply = await nc.request(deviceSubject(req.deviceId, 'stream'), jc.encode(req), {
          timeout: timeoutMs,
        });
        return (jc.decode(reply.data) as { sent: boolean }).sent === true;
      } catch (err) {
        const code = (err as NatsError).code;
        if (code !== ErrorCode.NoResponders && code !== ErrorCode.Timeout)
          log.warn({ err }, 'stream request over the bus failed');
        return false;
      }
    },
    isOnlineElsewhere(deviceId) {
      const where = remote.get(deviceId);
      return where !== undefined && hubSeen.has(where.hubId);
    },
    async commandElsewhere(req, timeoutMs) {
      try {
        const reply = await nc.request(deviceSubject(req.device.id, 'command'), jc.encode(req), {
          timeout: timeoutMs,
        });
        return jc.decode(reply.data) as Result<unknown>;
      } catch (err) {
        const code = (err as NatsError).code;
        if (code === ErrorCode.NoResponders) return undefined;
        if (code === ErrorCode.Timeout) {
          return failure(
            'timeout',
            `The device did not answer ${req.cmd.name} within ${Math.round(timeoutMs / 1000)} s`,
          );
        }
        log.warn({ err }, 'command over the bus failed');
        return failure('device_offline', `Device "${req.device.name}" could not be reached: ${String(err)}`);
      }
    },
    async close() {
      if (beat) clearInterval(beat);
      for (const deviceId of [...local.keys()]) bus.agentDisconnected(deviceId);
      closing = true;
      for (const s of subs) s.unsubscribe();
      await nc.drain().catch(() => undefined);
    },
  };
  return bus;
}
