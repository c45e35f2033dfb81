// An agent's control socket after authentication: presence, command results, events fanned out to
// the owner's dashboards, and relay messages handed to the hub's relay.
import type WebSocket from 'ws';
import { AgentToHub, CLOSE_PROTOCOL_VIOLATIONS } from '../../shared';
import type { HubContext } from '../hub-context';
import { AgentConnection } from '../presence';
import type { RelayDevice } from '../relay/hub-relay';
import type { DeviceRow } from '../store/hub-store';
import { readFrame } from './socket-messages';

// A hub holds thousands of idle agents, so what one socket keeps is small: no logger child (log lines
// carry the device id), three listeners sharing one scope with the connection and the device's name,
// `lastSeenAt` and violations written by the module's functions.
export function acceptAgent(ctx: HubContext, ws: WebSocket, device: DeviceRow): void {
  // A device serving a cool-down for bad messages is turned away before it counts as online.
  const cooldown = ctx.violations.cooldownSeconds(device.id);
  if (cooldown > 0) {
    ws.close(CLOSE_PROTOCOL_VIOLATIONS, `too many bad messages; retry in ${cooldown} s`);
    return;
  }
  const conn = new AgentConnection(device.id, device.userId, ws, ctx.limits.maxBufferedBytes);
  const previous = ctx.presence.addAgent(conn);
  if (previous) {
    previous.ws.close(4000, 'replaced by a newer connection');
    ctx.commands.deviceGone(previous.pending, device.name);
  }
  ctx.heartbeat.watch(ws);
  // Back within the relay's grace period: its listeners for this device stay open.
  ctx.relay.agentConnected(device.id);

  const connectedAt = seen(ctx, device.id);
  ctx.presence.publish(device.userId, {
    type: 'presence',
    deviceId: device.id,
    online: true,
    lastSeenAt: connectedAt,
  });
  ctx.logger.info({ deviceId: device.id }, 'agent connected');
  // Commands queued while it was away go out now, in order (command-queue.ts).
  void ctx.queue.deliver(device);

  listen(ctx, ws, conn, device.name);
}

/** The socket's listeners: they keep the connection and the device's name, not the whole row. */
function listen(ctx: HubContext, ws: WebSocket, conn: AgentConnection, deviceName: string): void {
  const { deviceId, userId } = conn;
  ws.on('message', (data, isBinary) => {
    // Frames already queued behind a close are not read.
    if (ws.readyState !== ws.OPEN) return;
    const frame = readFrame(data, isBinary);
    if (!frame.ok) return violation(ctx, ws, deviceId, frame.reason, frame.reason, frame.code);
    const parsed = AgentToHub.safeParse(frame.value);
    if (!parsed.success) {
      // Tolerated up to a bound (a newer agent may know more message or event types), not acted on.
      const type = (frame.value as { type: string }).type.slice(0, 64);
      return violation(ctx, ws, deviceId, 'unknown or malformed message', `type ${JSON.stringify(type)}`);
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'hello':
        ctx.logger.info({ deviceId, agentVersion: msg.agentVersion }, 'agent said hello');
        seen(ctx, deviceId);
        break;
      case 'result': {
        const pending = conn.pending.get(msg.id);
        if (pending) pending.resolve(msg.result);
        else
          violation(
            ctx,
            ws,
            deviceId,
            'result for no pending command',
            `id ${JSON.stringify(msg.id.slice(0, 64))}`,
          );
        break;
      }
      case 'event':
        ctx.presence.publish(userId, { type: 'device.event', deviceId, event: msg.event });
        break;
      case 'inventory.snapshot':
      case 'inventory.changed':
      case 'inventory.removed':
      case 'capacity':
        void ctx.inventory.record({ id: deviceId }, msg);
        break;
      case 'relay.open':
      case 'relay.close': {
        const relayDevice: RelayDevice = { deviceId, userId };
        ctx.relay
          .handleAgentMessage(relayDevice, msg)
          .catch((err: unknown) => ctx.logger.error({ err, deviceId }, 'relay message failed'));
        break;
      }
    }
  });

  ws.on('close', (code) => {
    ctx.commands.deviceGone(conn.pending, deviceName);
    if (!ctx.presence.removeAgent(conn)) return;
    const lastSeenAt = seen(ctx, deviceId);
    ctx.logger.info({ deviceId, code }, 'agent disconnected');
    ctx.presence.publish(userId, { type: 'presence', deviceId, online: false, lastSeenAt });
    ctx.relay.agentDisconnected(deviceId);
  });
  ws.on('error', (err) => ctx.logger.debug({ deviceId, err: err.message }, 'agent socket error'));
}

/** Records that the device was seen now (its `lastSeenAt`); returns the time written. */
function seen(ctx: HubContext, deviceId: string): string {
  const at = new Date().toISOString();
  void ctx.store
    .touchDevice(deviceId, at)
    .catch((err) => ctx.logger.error({ err, deviceId }, 'could not update lastSeenAt'));
  return at;
}

/** Bad messages are counted and sampled into the log (protocol-violations.ts), never one line each. */
function violation(
  ctx: HubContext,
  ws: WebSocket,
  deviceId: string,
  reason: string,
  sample: string,
  closeCode?: number,
): void {
  const verdict = ctx.violations.record(deviceId, reason, sample);
  if (verdict.disconnect) ws.close(CLOSE_PROTOCOL_VIOLATIONS, 'too many bad messages');
  else if (closeCode) ws.close(closeCode, reason);
}
