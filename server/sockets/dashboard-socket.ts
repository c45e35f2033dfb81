// A dashboard's event socket (`/api/events`): presence and device events for the user's own
// devices. Dashboards only listen; anything they send closes the socket.
import type WebSocket from 'ws';
import type { HubUser } from '../../shared';
import type { HubContext } from '../hub-context';
import { sendBounded } from './socket-limits';
import { CLOSE, readFrame } from './socket-messages';

export async function acceptDashboard(ctx: HubContext, ws: WebSocket, user: HubUser): Promise<void> {
  ctx.heartbeat.watch(ws);
  ctx.presence.addDashboard(user.id, ws);
  ws.on('message', (data, isBinary) => {
    const frame = readFrame(data, isBinary);
    ws.close(
      frame.ok ? CLOSE.policyViolation : frame.code,
      frame.ok ? 'this socket only carries events from the hub' : frame.reason,
    );
  });
  ws.on('error', () => undefined);
  // A snapshot first, so the dashboard does not wait for the next change to know who is online.
  for (const d of await ctx.store.devicesOfUser(user.id)) {
    sendBounded(
      ws,
      JSON.stringify({
        type: 'presence',
        deviceId: d.id,
        online: ctx.presence.isOnline(d.id),
        lastSeenAt: d.lastSeenAt,
      }),
      ctx.limits.maxBufferedBytes,
    );
  }
}
