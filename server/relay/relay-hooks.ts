// Extension point for sharing through the hub (relay ports). The hub core routes to these hooks and
// knows nothing else about relaying:
//   - `relay.open` / `relay.close` messages from an agent's control socket → onAgentMessage();
//   - upgrades on `/agent/stream/:streamId` (already authenticated with the device token, so the
//     hook knows which device dialled) → handleStreamUpgrade(), which owns the socket from then on;
//   - an agent's control socket going away → onDeviceOffline() (close its public ports/connections);
//   - hub shutdown → close().
// A relay module (server/relay/) implements RelayHooks and is passed to startHub({ relay }) as a
// factory receiving RelayContext. Without one, the default below answers every `relay.open` with
// `relay.error` "Relay sharing is not enabled on this hub" and refuses stream upgrades with 404.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AgentToHub, HubToAgent } from '../../shared';

export type RelayMessage = Extract<AgentToHub, { type: 'relay.open' | 'relay.close' }>;

/** An agent's control connection, as the relay sees it. */
export interface RelayDevice {
  deviceId: string;
  userId: string;
  /** Sends on the control socket; false when the agent is not connected (or was dropped as a slow reader). */
  send(msg: HubToAgent): boolean;
}

export interface RelayContext {
  logger: Logger;
  /** `--relay-ports 20000-20099`, parsed; undefined when not configured. */
  relayPorts?: { from: number; to: number };
  /** Host name visitors use for relay ports (`--public-host`); defaults to the public URL's host. */
  publicHost: string;
  /** The hub's public URL (for HTTP routes). */
  publicUrl: string;
  /** The control connection of a device that is online now. */
  device(deviceId: string): RelayDevice | undefined;
}

export interface RelayHooks {
  onAgentMessage(device: RelayDevice, msg: RelayMessage): void;
  handleStreamUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    stream: { deviceId: string; userId: string; streamId: string },
  ): void;
  onDeviceOffline(deviceId: string): void;
  close(): Promise<void>;
}

export type RelayFactory = (ctx: RelayContext) => RelayHooks;

export const relayDisabled: RelayFactory = () => ({
  onAgentMessage(device, msg) {
    if (msg.type === 'relay.open') {
      device.send({
        type: 'relay.error',
        requestId: msg.requestId,
        error: { code: 'share_failed', message: 'Relay sharing is not enabled on this hub' },
      });
    }
  },
  handleStreamUpgrade(_req, socket) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  },
  onDeviceOffline() {},
  async close() {},
});
