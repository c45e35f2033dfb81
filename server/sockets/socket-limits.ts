// Keeping sockets honest: the ping/terminate heartbeat from the ws README, and a bound on what the
// hub buffers for a peer that does not read.
import WebSocket from 'ws';

export interface SocketLimits {
  /** Ping interval; a peer that has not answered the previous ping by the next one is terminated. */
  heartbeatMs: number;
  /** A peer whose unsent bytes pass this is dropped instead of buffered forever. */
  maxBufferedBytes: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = { heartbeatMs: 20_000, maxBufferedBytes: 4 * 1024 * 1024 };

/** Sends a text frame unless the peer is already too far behind, in which case it is dropped. */
export function sendBounded(ws: WebSocket, text: string, maxBufferedBytes: number): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  if (ws.bufferedAmount + Buffer.byteLength(text) > maxBufferedBytes) {
    // A close frame would queue behind the backlog; cut the connection instead.
    ws.terminate();
    return false;
  }
  ws.send(text);
  return true;
}

export class Heartbeat {
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly sockets = new Set<WebSocket>();
  private readonly timer: NodeJS.Timeout;
  // One listener for every socket (an emitter calls its listeners with itself as `this`), not a
  // closure per socket, and none for 'close' (a closed socket leaves at the next beat): a hub holds
  // thousands of idle agents.
  private readonly onPong: (this: WebSocket) => void;

  constructor(private readonly limits: SocketLimits) {
    this.timer = setInterval(() => this.beat(), limits.heartbeatMs);
    this.timer.unref();
    const { alive } = this;
    this.onPong = function () {
      alive.set(this, true);
    };
  }

  watch(ws: WebSocket): void {
    this.alive.set(ws, true);
    this.sockets.add(ws);
    ws.on('pong', this.onPong);
  }

  private beat(): void {
    for (const ws of this.sockets) {
      if (ws.readyState === WebSocket.CLOSED) {
        this.sockets.delete(ws);
        continue;
      }
      if (!this.alive.get(ws) || ws.bufferedAmount > this.limits.maxBufferedBytes) {
        ws.terminate();
        this.sockets.delete(ws);
        continue;
      }
      this.alive.set(ws, false);
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
