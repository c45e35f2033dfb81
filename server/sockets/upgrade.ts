// WebSocket upgrades, authenticated before the handshake completes (ws README, "Client
// authentication"): a failed check answers with an HTTP error (reject-upgrade.ts) and closes the
// socket, so an unauthenticated peer never gets an open WebSocket.
//   /agent                 device token in `Authorization: Bearer`; agents send no Origin
//   /agent/stream/:id      same credential; handed to the relay — a WebSocket, or an upgrade to
//                          BYTE_STREAM_PROTOCOL (hub-relay.ts), checked alike before either switches
//   /api/events            access token as Sec-WebSocket-Protocol `lattice.token.<jwt>` next to
//                          `lattice.v1` (echoed back); an allowed Origin is required
// Tokens in the query string are never read.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES, TOKEN_PROTOCOL_PREFIX } from '../../shared';
import type { HubContext } from '../hub-context';
import { acceptAgent } from './agent-socket';
import { acceptDashboard } from './dashboard-socket';
import { requestPath } from '../http/request-path';
import { rejectUpgrade } from './reject-upgrade';

export const DASHBOARD_PROTOCOL = 'lattice.v1';

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(req.headers.authorization ?? '');
  return m?.[1];
}

function offeredProtocols(req: IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The same listener on every upgraded socket (this socket stays with the WebSocket it becomes). */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

export function createUpgradeHandler(ctx: HubContext) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    // Only the fixed protocol is ever echoed; the token value never goes back out.
    handleProtocols: (protocols) => (protocols.has(DASHBOARD_PROTOCOL) ? DASHBOARD_PROTOCOL : false),
  });

  const handler = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', destroyOnError);
    const path = requestPath(req.url);
    if (path === undefined) return rejectUpgrade(socket, 400, 'The request target is not a valid path');
    const origin = req.headers.origin;
    const originAllowed = origin !== undefined && ctx.allowedOrigins.has(origin);

    if (path === '/agent' || path.startsWith('/agent/stream/')) {
      if (origin !== undefined && !originAllowed) return rejectUpgrade(socket, 403, 'Origin not allowed');
      const token = bearer(req);
      const device = token ? await ctx.accounts.deviceForToken(token) : undefined;
      if (!device) return rejectUpgrade(socket, 401, 'Device token missing, invalid or revoked');
      if (socket.destroyed) return;
      if (path === '/agent') {
        wss.handleUpgrade(req, socket, head, (ws) => acceptAgent(ctx, ws, device));
        return;
      }
      const streamId = decodeURIComponent(path.slice('/agent/stream/'.length));
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(streamId)) return rejectUpgrade(socket, 400, 'Bad stream id');
      ctx.relay.handleStreamUpgrade(device.id, streamId, req, socket, head);
      return;
    }

    if (path === '/api/events') {
      if (!originAllowed) return rejectUpgrade(socket, 403, 'Origin not allowed');
      const protocols = offeredProtocols(req);
      const tokenProtocol = protocols.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
      const token = tokenProtocol?.slice(TOKEN_PROTOCOL_PREFIX.length);
      const user = token ? await ctx.accounts.userForAccessToken(token) : undefined;
      if (!user) return rejectUpgrade(socket, 401, 'Access token missing, invalid or expired');
      if (!protocols.includes(DASHBOARD_PROTOCOL)) {
        return rejectUpgrade(socket, 400, `Offer the "${DASHBOARD_PROTOCOL}" subprotocol`);
      }
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        acceptDashboard(ctx, ws, user).catch((err) => {
          ctx.logger.error({ err }, 'dashboard socket setup failed');
          ws.terminate();
        });
      });
      return;
    }

    rejectUpgrade(socket, 404, 'No WebSocket endpoint here');
  };

  return {
    handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      handler(req, socket, head).catch((err) => {
        ctx.logger.error({ err }, 'upgrade failed');
        rejectUpgrade(socket, 500, 'Internal error');
      });
    },
    close(): void {
      wss.close();
    },
  };
}
