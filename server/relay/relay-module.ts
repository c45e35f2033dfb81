// Plugs the hub relay into the hub: `startHub({ relay: createRelayModule({ dataDir, bindHost }) })`.
// Adapts the hub's RelayHooks seam (relay-hooks.ts) to HubRelay, and keeps the port reservations in
// `<dataDir>/relay.db` so they survive hub restarts.
import { join } from 'node:path';
import { HubRelay } from './hub-relay';
import { DEFAULT_RELAY_PORTS } from './port-range';
import { SqliteRelayAssignments } from './relay-assignments';
import type { RelayFactory, RelayHooks } from './relay-hooks';

export interface RelayModuleOptions {
  /** The hub's data directory; the relay keeps relay.db there. */
  dataDir: string;
  /** Where public relay ports bind; default the same address as the hub (`--host`). */
  bindHost?: string;
  streamClaimTimeoutMs?: number;
  offlineGraceMs?: number;
}

export const RELAY_DB_FILE = 'relay.db';

export function createRelayModule(opts: RelayModuleOptions): RelayFactory {
  return (ctx): RelayHooks => {
    const ports = ctx.relayPorts
      ? { first: ctx.relayPorts.from, last: ctx.relayPorts.to }
      : DEFAULT_RELAY_PORTS;
    const assignments = new SqliteRelayAssignments(join(opts.dataDir, RELAY_DB_FILE));
    const relay = new HubRelay({
      publicHost: ctx.publicHost,
      ports,
      bindHost: opts.bindHost,
      assignments,
      sendToDevice: (deviceId, msg) => ctx.device(deviceId)?.send(msg) ?? false,
      isDeviceOnline: (deviceId) => ctx.device(deviceId) !== undefined,
      logger: ctx.logger,
      streamClaimTimeoutMs: opts.streamClaimTimeoutMs,
      offlineGraceMs: opts.offlineGraceMs,
    });
    ctx.logger.info(
      { ports: `${ports.first}-${ports.last}`, publicHost: ctx.publicHost },
      'relay sharing enabled',
    );
    return {
      onAgentMessage(device, msg) {
        if (msg.type === 'relay.open') relay.agentConnected(device.deviceId);
        void relay.handleAgentMessage(device.deviceId, msg);
      },
      handleStreamUpgrade(req, socket, head, stream) {
        relay.handleStreamUpgrade(stream.deviceId, stream.streamId, req, socket, head);
      },
      onDeviceOffline(deviceId) {
        relay.agentDisconnected(deviceId);
      },
      async close() {
        await relay.close();
        assignments.close();
      },
    };
  };
}
